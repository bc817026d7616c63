#include "decision_cli.hpp"

#include <fstream>
#include <iomanip>
#include <memory>
#include <sstream>

#include "loyalty/decision/automation.hpp"
#include "loyalty/oversight/audit_log.hpp"

namespace loyalty::cli {

namespace {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;
using Output = Result<std::pair<Json, std::string>>;

struct DecisionArgs {
  std::string member;
  std::string channel;
  int k = 1;
  bool dry_run = false;
  std::optional<int> utc_offset;
  std::optional<int64_t> cart_minor;
  std::string segment;
  int limit = 20;
  std::string file;
  std::string id;
  std::string decision;
  std::string offer;
  std::string type;
  std::optional<int64_t> value_minor;
  std::string strategy;
  std::string fallback;
  std::optional<double> share;
  std::string since;
  // automation
  std::string phase;
  std::vector<std::string> strategy_phases;  // "ai=pilot", "ai=program"
  std::optional<int> retrain_every_days;
  std::optional<double> min_auc;
  std::optional<double> max_auc_drop;
  std::optional<double> max_brier_rise;
  std::string reason;
  std::string actor = OperatorName();
};

std::string DecisionText(const Json& d) {
  std::ostringstream text;
  text << d.value("member", "") << " (" << d["explanation"].value("segment", "") << ", strategy "
       << d.value("strategy", "") << (d.value("holdout", false) ? ", holdout group" : "") << ")";
  if (d.contains("id") && d["id"].is_string()) text << "  decision " << d["id"].get<std::string>();
  text << "\n";
  if (d["offers"].empty()) text << "  no offer now\n";
  for (const auto& o : d["offers"]) {
    text << "  " << std::left << std::setw(22) << o["offer"].get<std::string>() << " on " << std::setw(7)
         << o["channel"].get<std::string>() << " at " << o["send_at"].get<std::string>() << "  p(response) "
         << std::fixed << std::setprecision(3) << o["response_probability"].get<double>() << "  EV "
         << std::setprecision(0) << o["expected_value_minor"].get<double>() << " minor  cost "
         << o["cost_minor"].get<int64_t>() << "  " << o["routing"].get<std::string>() << "\n";
  }
  for (const auto& c : d["explanation"]["candidates"]) {
    if (c.value("outcome", "") == "chosen") continue;
    text << "  - " << c["offer"].get<std::string>() << ": " << c.value("outcome", "") << "\n";
  }
  for (const auto& [reason, offers] : d["explanation"]["excluded"].items()) {
    std::string names;
    for (const auto& o : offers) names += (names.empty() ? "" : ", ") + o.get<std::string>();
    text << "  - " << reason << ": " << names << "\n";
  }
  return text.str();
}

Json Counts(const Json& object) {
  Json out = Json::object();
  for (auto it = object.begin(); it != object.end(); ++it) out[it.key()] = it.value();
  return out;
}

std::string AutomationText(const Json& a) {
  std::ostringstream text;
  text << "phase " << a["phase"].get<std::string>() << "\n  strategies:";
  for (const auto& [name, phase] : a["effective"].items()) {
    text << " " << name << " " << phase.get<std::string>() << (a["strategies"].contains(name) ? " (own)" : "") << ";";
  }
  const Json& r = a["retraining"];
  text << "\n  retraining (continuous phase): every " << r["every_days"] << " days; ROC AUC at least " << r["min_auc"]
       << ", at most " << r["max_auc_drop"] << " below the champion; Brier at most " << r["max_brier_rise"] << " above it";
  text << "\n  history:";
  if (a["history"].empty()) text << " none (limited is the default)";
  for (const auto& h : a["history"]) {
    text << "\n    " << h["at"].get<std::string>() << "  " << std::left << std::setw(8) << h["action"].get<std::string>()
         << std::setw(11) << h["phase"].get<std::string>() << " by " << h["actor"].get<std::string>() << ": "
         << h["reason"].get<std::string>();
  }
  return text.str();
}

}  // namespace

void AddDecisionCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run) {
  auto args = std::make_shared<DecisionArgs>();

  CLI::App* decide = app.add_subcommand("decide", "The next best action for one member, now, with its explanation");
  decide->add_option("--member", args->member, "Member id")->required();
  decide->add_option("--channel", args->channel, "Where the member is or the channel to use (email, sms, push, in_app, pos, web)");
  decide->add_option("--k", args->k, "How many offers (1 to 10)")->capture_default_str();
  decide->add_option("--utc-offset", args->utc_offset, "The member's UTC offset in minutes (quiet hours)");
  decide->add_option("--cart-minor", args->cart_minor, "The cart's value in minor units");
  decide->add_flag("--dry-run", args->dry_run, "Explain only: nothing is logged or counted against caps and budgets");
  decide->callback([&options, &run, args] {
    run = Change(options, "decide", [args](Context& context) -> Output {
      context.change().member = args->member;
      Json body{{"member", args->member}, {"k", args->k}, {"dry_run", args->dry_run}};
      if (!args->channel.empty()) body["channel"] = args->channel;
      if (args->utc_offset) body["utc_offset_minutes"] = *args->utc_offset;
      if (args->cart_minor) body["cart_minor"] = *args->cart_minor;
      LOYALTY_ASSIGN_OR_RETURN(auto d, context.platform().decisions().Decide(body));
      return std::pair{d, DecisionText(d)};
    });
  });

  CLI::App* campaign = app.add_subcommand("campaign", "Decide for every member of a segment (a rule over member facts)");
  campaign->add_option("--segment", args->segment, "Eligibility rule, e.g. \"churn_risk > 0.5\" (default: everyone)");
  campaign->add_option("--channel", args->channel, "Only this channel");
  campaign->add_option("--k", args->k, "Offers per member (1 to 10)")->capture_default_str();
  campaign->add_option("--limit", args->limit, "Decisions to show (0 to 1000)")->capture_default_str();
  campaign->add_flag("--dry-run", args->dry_run, "Plan only: nothing is logged or counted against caps and budgets");
  campaign->callback([&options, &run, args] {
    run = Change(options, "campaign", [args](Context& context) -> Output {
      Json body{{"segment", args->segment}, {"k", args->k}, {"dry_run", args->dry_run}, {"limit", args->limit}};
      if (!args->channel.empty()) body["channel"] = args->channel;
      LOYALTY_ASSIGN_OR_RETURN(auto r, context.platform().decisions().DecideBatch(body));
      std::ostringstream text;
      text << (args->dry_run ? "planned: " : "decided: ") << r["matched"] << " of " << r["considered"]
           << " members matched; " << r["with_offers"] << " get an offer, " << r["held_out"]
           << " held out; committed " << r["committed_minor"] << " minor units\n";
      text << "  by offer " << Counts(r["by_offer"]).dump() << "\n  by channel " << Counts(r["by_channel"]).dump()
           << "\n  by routing " << Counts(r["by_routing"]).dump() << "\n  by strategy " << Counts(r["by_strategy"]).dump();
      return std::pair{r, text.str()};
    });
  });

  CLI::App* outcome = app.add_subcommand("outcome", "Report what happened after a decision (teaches the bandits)");
  outcome->add_option("--decision", args->decision, "Decision id (dec_...)")->required();
  outcome->add_option("--offer", args->offer, "The offer it made")->required();
  outcome->add_option("--type", args->type, "impression, click, redemption, purchase or dismiss")->required();
  outcome->add_option("--value-minor", args->value_minor, "A purchase's value in minor units");
  outcome->add_option("--id", args->id, "Your id for this outcome (a resend with it is ignored)");
  outcome->callback([&options, &run, args] {
    run = Change(options, "outcome", [args](Context& context) -> Output {
      Json body{{"offer", args->offer}, {"type", args->type}};
      if (args->value_minor) body["value_minor"] = *args->value_minor;
      if (!args->id.empty()) body["id"] = args->id;
      LOYALTY_ASSIGN_OR_RETURN(auto r, context.platform().decisions().RecordOutcome(args->decision, body));
      return std::pair{r, r["duplicate"].get<bool>() ? std::string("already recorded")
                                                     : std::string("recorded") + (r["counted_as_response"].get<bool>()
                                                                                      ? " (a response for " + r["bandit_arm"].get<std::string>() + ")"
                                                                                      : "")};
    });
  });

  CLI::App* offers = app.add_subcommand("offers", "The offer catalogue");
  offers->require_subcommand(1);
  offers->add_subcommand("list", "List offers")->callback([&options, &run] {
    run = Runner(options, [](Context& context) -> Output {
      LOYALTY_ASSIGN_OR_RETURN(auto r, context.platform().decisions().ListOffers());
      std::ostringstream text;
      for (const auto& o : r["offers"]) {
        text << std::left << std::setw(24) << o["id"].get<std::string>() << std::setw(24) << o["kind"].get<std::string>()
             << (o["active"].get<bool>() ? "active  " : "paused  ") << o["eligibility"].get<std::string>() << "\n";
      }
      if (r["offers"].empty()) text << "no offers yet: loyalty offers put --file offer.json";
      return std::pair{r, text.str()};
    });
  });
  CLI::App* put = offers->add_subcommand("put", "Create or replace an offer from a JSON file (see docs/decisions.md)");
  put->add_option("--file", args->file, "The offer document")->required();
  put->callback([&options, &run, args] {
    run = Change(options, "offers put", [args](Context& context) -> Output {
      context.change().actor = args->actor;
      LOYALTY_ASSIGN_OR_RETURN(auto doc, ReadJsonFile(args->file));
      if (!doc.is_object() || !doc.contains("id") || !doc["id"].is_string()) {
        return Fail(ErrorCode::kInvalidArgument, args->file + ": the offer needs a string 'id'");
      }
      LOYALTY_ASSIGN_OR_RETURN(auto r, context.platform().decisions().PutOffer(doc["id"].get<std::string>(), doc, args->actor));
      return std::pair{r["offer"], std::string(r["created"].get<bool>() ? "created " : "replaced ") + r["offer"]["id"].get<std::string>()};
    });
  });
  CLI::App* remove = offers->add_subcommand("delete", "Remove an offer from the catalogue");
  remove->add_option("--id", args->id, "Offer id")->required();
  remove->callback([&options, &run, args] {
    run = Change(options, "offers delete", [args](Context& context) -> Output {
      context.change().actor = args->actor;
      LOYALTY_TRY(context.platform().decisions().DeleteOffer(args->id));
      return std::pair{Json{{"deleted", args->id}}, "deleted " + args->id};
    });
  });

  CLI::App* policy = app.add_subcommand("policy", "The contact policy: caps, quiet hours, budgets, review thresholds, holdout");
  policy->require_subcommand(1);
  policy->add_subcommand("show", "Show the policy")->callback([&options, &run] {
    run = Runner(options, [](Context& context) -> Output {
      LOYALTY_ASSIGN_OR_RETURN(auto r, context.platform().decisions().Policy());
      return std::pair{r, r.dump(2)};
    });
  });
  CLI::App* set_policy = policy->add_subcommand("set", "Replace the policy from a JSON file");
  set_policy->add_option("--file", args->file, "The policy document")->required();
  set_policy->callback([&options, &run, args] {
    run = Change(options, "policy set", [args](Context& context) -> Output {
      context.change().actor = args->actor;
      LOYALTY_ASSIGN_OR_RETURN(auto doc, ReadJsonFile(args->file));
      LOYALTY_ASSIGN_OR_RETURN(auto r, context.platform().decisions().PutPolicy(doc, args->actor));
      return std::pair{r, "policy set"};
    });
  });

  CLI::App* strategy = app.add_subcommand("strategy", "Which strategy members get: ai, rules, random or control");
  strategy->require_subcommand(1);
  strategy->add_subcommand("show", "Show the strategy flag")->callback([&options, &run] {
    run = Runner(options, [](Context& context) -> Output {
      LOYALTY_ASSIGN_OR_RETURN(auto r, context.platform().decisions().Strategy());
      return std::pair{r, r.dump()};
    });
  });
  CLI::App* set_strategy = strategy->add_subcommand("set", "Switch a strategy on for a share of members");
  set_strategy->add_option("--strategy", args->strategy, "ai, rules, random or control")->required();
  set_strategy->add_option("--fallback", args->fallback, "What the other members get (default rules)");
  set_strategy->add_option("--share", args->share, "Percent of members (default 100)");
  set_strategy->callback([&options, &run, args] {
    run = Change(options, "strategy set", [args](Context& context) -> Output {
      context.change().actor = args->actor;
      Json body{{"strategy", args->strategy}};
      if (!args->fallback.empty()) body["fallback"] = args->fallback;
      if (args->share) body["share_percent"] = *args->share;
      LOYALTY_ASSIGN_OR_RETURN(auto r, context.platform().decisions().PutStrategy(body, args->actor));
      return std::pair{r, "strategy " + r.dump()};
    });
  });
  strategy->add_subcommand("rollback", "Put the strategy flag back as it was before its last change")->callback([&options, &run] {
    run = Change(options, "strategy rollback", [](Context& context) -> Output {
      LOYALTY_ASSIGN_OR_RETURN(auto r, context.platform().decisions().RollbackStrategy(context.change().actor));
      return std::pair{r, "rolled back to " + r.dump()};
    });
  });

  CLI::App* experiments = app.add_subcommand("experiments", "Experiments: create, list, stop, results");
  experiments->require_subcommand(1);
  experiments->add_subcommand("list", "List experiments")->callback([&options, &run] {
    run = Runner(options, [](Context& context) -> Output {
      LOYALTY_ASSIGN_OR_RETURN(auto r, context.platform().decisions().ListExperiments());
      std::ostringstream text;
      for (const auto& e : r["experiments"]) {
        text << std::left << std::setw(20) << e["id"].get<std::string>() << std::setw(12) << e["namespace"].get<std::string>()
             << std::setw(10) << e["status"].get<std::string>() << e["traffic_percent"] << "% of members\n";
      }
      if (r["experiments"].empty()) text << "no experiments";
      return std::pair{r, text.str()};
    });
  });
  CLI::App* create = experiments->add_subcommand("create", "Create an experiment from a JSON file");
  create->add_option("--file", args->file, "The experiment document")->required();
  create->callback([&options, &run, args] {
    run = Change(options, "experiments create", [args](Context& context) -> Output {
      context.change().actor = args->actor;
      LOYALTY_ASSIGN_OR_RETURN(auto doc, ReadJsonFile(args->file));
      LOYALTY_ASSIGN_OR_RETURN(auto r, context.platform().decisions().CreateExperiment(doc));
      return std::pair{r, "created " + r["id"].get<std::string>() + " in buckets " + r["buckets"].dump()};
    });
  });
  CLI::App* stop = experiments->add_subcommand("stop", "Stop an experiment (its members return to the strategy flag)");
  stop->add_option("--id", args->id, "Experiment id")->required();
  stop->callback([&options, &run, args] {
    run = Change(options, "experiments stop", [args](Context& context) -> Output {
      context.change().actor = args->actor;
      LOYALTY_TRY(context.platform().decisions().StopExperiment(args->id));
      return std::pair{Json{{"id", args->id}, {"status", "stopped"}}, "stopped " + args->id};
    });
  });
  CLI::App* results = experiments->add_subcommand("results", "Per arm against the control, with 95% intervals");
  results->add_option("--id", args->id, "Experiment id")->required();
  results->callback([&options, &run, args] {
    run = Runner(options, [args](Context& context) -> Output {
      LOYALTY_ASSIGN_OR_RETURN(auto r, context.platform().decisions().ExperimentResults(args->id));
      return std::pair{r, r["results"].dump(2)};
    });
  });

  CLI::App* automation = app.add_subcommand("automation", "Automation phases: what runs without a person");
  automation->require_subcommand(1);
  automation->add_subcommand("show", "Show the phases in force, the guardrails and the latest changes")->callback([&options, &run] {
    run = Runner(options, [](Context& context) -> Output {
      LOYALTY_ASSIGN_OR_RETURN(auto r, context.platform().decisions().Automation());
      return std::pair{r, AutomationText(r)};
    });
  });
  CLI::App* set_automation = automation->add_subcommand("set", "Move the program to another phase (recorded with the reason)");
  set_automation->add_option("--phase", args->phase, "pilot, limited, expanded, dynamic or continuous")->required();
  set_automation->add_option("--strategy-phase", args->strategy_phases,
                             "A strategy's own phase, e.g. ai=pilot; ai=program follows the program again (repeatable)");
  set_automation->add_option("--retrain-every-days", args->retrain_every_days, "Continuous phase: retrain every N days");
  set_automation->add_option("--min-auc", args->min_auc, "Continuous phase: lowest ROC AUC a retrained model may have");
  set_automation->add_option("--max-auc-drop", args->max_auc_drop, "Continuous phase: how far below the champion's AUC");
  set_automation->add_option("--max-brier-rise", args->max_brier_rise, "Continuous phase: how far above the champion's Brier");
  set_automation->add_option("--reason", args->reason, "Why (recorded with the change and in the audit trail)")->required();
  set_automation->add_option("--actor", args->actor, "Who decided")->capture_default_str();
  set_automation->callback([&options, &run, args] {
    run = Change(options, "automation set", [args](Context& context) -> Output {
      context.change().actor = args->actor;
      context.change().reason = args->reason;
      context.change().target = "automation";
      auto& decisions = context.platform().decisions();
      // Starts from the settings in force and changes what the flags name.
      Json body = decision::ToJson(decisions.AutomationInForce());
      body["phase"] = args->phase;
      for (const auto& pair : args->strategy_phases) {
        const auto eq = pair.find('=');
        if (eq == std::string::npos) {
          return Fail(ErrorCode::kInvalidArgument, "--strategy-phase takes strategy=phase, e.g. ai=pilot; not '" + pair + "'");
        }
        const std::string name = pair.substr(0, eq);
        const std::string phase = pair.substr(eq + 1);
        if (phase == "program") {
          body["strategies"].erase(name);
        } else {
          body["strategies"][name] = phase;
        }
      }
      if (args->retrain_every_days) body["retraining"]["every_days"] = *args->retrain_every_days;
      if (args->min_auc) body["retraining"]["min_auc"] = *args->min_auc;
      if (args->max_auc_drop) body["retraining"]["max_auc_drop"] = *args->max_auc_drop;
      if (args->max_brier_rise) body["retraining"]["max_brier_rise"] = *args->max_brier_rise;
      body["reason"] = args->reason;
      LOYALTY_ASSIGN_OR_RETURN(auto r, decisions.MoveAutomation(body, args->actor));
      return std::pair{r, AutomationText(r)};
    });
  });
  CLI::App* rollback_automation = automation->add_subcommand("rollback", "Go back to the phases before the latest move");
  rollback_automation->add_option("--reason", args->reason, "Why (recorded with the change and in the audit trail)")->required();
  rollback_automation->add_option("--actor", args->actor, "Who decided")->capture_default_str();
  rollback_automation->callback([&options, &run, args] {
    run = Change(options, "automation rollback", [args](Context& context) -> Output {
      context.change().actor = args->actor;
      context.change().reason = args->reason;
      context.change().target = "automation";
      LOYALTY_ASSIGN_OR_RETURN(auto r, context.platform().decisions().RollbackAutomation(Json{{"reason", args->reason}}, args->actor));
      return std::pair{r, AutomationText(r)};
    });
  });

  CLI::App* decisions = app.add_subcommand("decisions", "The decision log: off-policy evaluation");
  decisions->require_subcommand(1);
  CLI::App* evaluate = decisions->add_subcommand("evaluate", "Estimate from logged decisions how a greedy policy would do");
  evaluate->add_option("--since", args->since, "Only decisions at or after this time");
  evaluate->callback([&options, &run, args] {
    run = Runner(options, [args](Context& context) -> Output {
      LOYALTY_ASSIGN_OR_RETURN(const auto since, OptionalTime(args->since, "--since"));
      LOYALTY_ASSIGN_OR_RETURN(auto r, context.platform().decisions().Evaluate(since));
      return std::pair{r, r.dump(2)};
    });
  });
}

}  // namespace loyalty::cli
