#include "review_cli.hpp"

#include <memory>
#include <sstream>

namespace loyalty::cli {

using core::Json;
using core::Result;
using Output = Result<std::pair<Json, std::string>>;

namespace {

struct ReviewArgs {
  std::string status;
  std::string sort;
  std::string offer;
  std::string since;
  int limit = 50;
  std::string decision;
  int rank = 0;
  std::string action;
  std::string reason;
  std::string comment;
  std::optional<int64_t> cost_minor;
  std::string substitute;
  std::string channel;
  std::string actor = OperatorName();
};

// One line per offer: where it stands, what it is, what it would cost.
std::string ItemLine(const Json& item) {
  std::ostringstream out;
  out << item["decision"].get<std::string>() << ' ' << item["rank"] << "  " << item["status"].get<std::string>() << " ("
      << item["level"].get<std::string>() << ")  " << item["offer"].get<std::string>() << " for "
      << item["member"].get<std::string>() << " on " << item["channel"].get<std::string>() << ", cost "
      << item["cost_minor"] << ", expected value " << static_cast<int64_t>(item["expected_value_minor"].get<double>())
      << ", expires " << item["expires_at"].get<std::string>();
  return out.str();
}

}  // namespace

void AddReviewCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run) {
  auto args = std::make_shared<ReviewArgs>();
  CLI::App* review = app.add_subcommand("review", "The review queue: offers routed to a person, and their verdicts");
  review->require_subcommand(1);

  CLI::App* list = review->add_subcommand("list", "Routed offers and where they stand");
  list->add_option("--status", args->status, "open (default), pending, escalated, approved, rejected, modified, overridden, expired, all");
  list->add_option("--sort", args->sort, "expiry (default), value or risk");
  list->add_option("--offer", args->offer, "Only this offer");
  list->add_option("--since", args->since, "Decisions made at or after this time (default: the review window)");
  list->add_option("--limit", args->limit, "At most this many (1 to 500)")->capture_default_str();
  list->callback([&options, &run, args] {
    run = Runner(options, [args](Context& c) -> Output {
      Json query{{"limit", args->limit}};
      if (!args->status.empty()) query["status"] = args->status;
      if (!args->sort.empty()) query["sort"] = args->sort;
      if (!args->offer.empty()) query["offer"] = args->offer;
      if (!args->since.empty()) query["since"] = args->since;
      LOYALTY_ASSIGN_OR_RETURN(Json r, c.platform().reviews().List(query));
      std::string text = std::to_string(r["matched"].get<int64_t>()) + " " + r["status"].get<std::string>() +
                         " since " + r["since"].get<std::string>() + " " + r["counts"].dump();
      for (const auto& item : r["items"]) text += "\n" + ItemLine(item);
      return std::pair{r, text};
    });
  });

  CLI::App* show = review->add_subcommand("show", "One routed offer with its decision's explanation");
  show->add_option("--decision", args->decision, "Decision id")->required();
  show->add_option("--rank", args->rank, "The offer's position in the decision")->capture_default_str();
  show->callback([&options, &run, args] {
    run = Runner(options, [args](Context& c) -> Output {
      LOYALTY_ASSIGN_OR_RETURN(Json r, c.platform().reviews().Get(args->decision, args->rank));
      return std::pair{r, ItemLine(r) + "\n" + r["explanation"].dump(2)};
    });
  });

  CLI::App* act = review->add_subcommand(
      "act", "A verdict: approve, reject, modify (a smaller offer), override (another offer instead) or escalate");
  act->add_option("--decision", args->decision, "Decision id")->required();
  act->add_option("--rank", args->rank, "The offer's position in the decision")->capture_default_str();
  act->add_option("--action", args->action, "approve, reject, modify, override or escalate")->required();
  act->add_option("--reason", args->reason,
                  "too_costly, wrong_offer, wrong_member, bad_timing, policy or other (required unless approving)");
  act->add_option("--comment", args->comment, "Free words for the record");
  act->add_option("--cost-minor", args->cost_minor, "modify: the smaller offer's worst-case cost");
  act->add_option("--offer", args->substitute, "override: the offer to make instead");
  act->add_option("--channel", args->channel, "override: its channel (default: the original offer's)");
  act->add_option("--actor", args->actor, "Who decides (recorded with the verdict)")->capture_default_str();
  act->callback([&options, &run, args] {
    run = Change(options, "review act", [args](Context& c) -> Output {
      c.change().actor = args->actor;
      c.change().reason = args->reason;
      Json body{{"action", args->action}};
      if (!args->reason.empty()) body["reason"] = args->reason;
      if (!args->comment.empty()) body["comment"] = args->comment;
      if (args->cost_minor) body["cost_minor"] = *args->cost_minor;
      if (!args->substitute.empty()) body["offer"] = args->substitute;
      if (!args->channel.empty()) body["channel"] = args->channel;
      LOYALTY_ASSIGN_OR_RETURN(Json r, c.platform().reviews().Act(args->decision, args->rank, body,
                                                                  engine::Reviewer{args->actor, ""}));
      std::string text = ItemLine(r);
      if (r.contains("substitute")) {
        const Json& made = r["substitute"];
        text += "\ninstead: " + made["offer"].get<std::string>() + " on " + made["channel"].get<std::string>() +
                " at rank " + made["rank"].dump() + ", cost " + made["cost_minor"].dump() + ", send at " +
                made["send_at"].get<std::string>();
      }
      return std::pair{r, text};
    });
  });

  CLI::App* expire = review->add_subcommand("expire", "Expire offers nobody decided on in time; give back what they reserved");
  expire->callback([&options, &run] {
    run = Change(options, "review expire", [](Context& c) -> Output {
      LOYALTY_ASSIGN_OR_RETURN(Json r, c.platform().reviews().ExpireStale());
      return std::pair{r, "expired " + r["expired"].dump() + " offers, gave back " + r["released_minor"].dump() +
                              " (minor units) of budget"};
    });
  });

  CLI::App* stats = review->add_subcommand("stats", "Acceptance and override rates per strategy, model versions and reviewer");
  stats->add_option("--since", args->since, "Verdicts at or after this time (default: 30 days)");
  stats->callback([&options, &run, args] {
    run = Runner(options, [args](Context& c) -> Output {
      LOYALTY_ASSIGN_OR_RETURN(const auto since, OptionalTime(args->since, "--since"));
      LOYALTY_ASSIGN_OR_RETURN(Json r, c.platform().reviews().Stats(since));
      return std::pair{r, r.dump(2)};
    });
  });
}

}  // namespace loyalty::cli
