#include "demo.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "context.hpp"
#include "loyalty/engine/platform.hpp"
#include "loyalty/sim/simulator.hpp"
#include "loyalty/store/sqlite.hpp"

namespace loyalty::cli {

namespace {

using core::Result;
using core::Status;

// Each step prints what happened in words a loyalty manager reads.
class Walkthrough {
 public:
  Walkthrough(engine::Platform& platform, core::ManualClock& clock, std::filesystem::path dir, int members)
      : platform_(platform), ledger_(platform.ledger()), clock_(clock), dir_(std::move(dir)), members_(members) {}

  Status Run() {
    using std::chrono::days;
    const auto ana = *core::MemberId::Parse("ana");
    const auto ben = *core::MemberId::Parse("ben");
    LOYALTY_TRY(ledger_.CreateMember(ana));
    LOYALTY_TRY(ledger_.CreateMember(ben));
    Say("Two members join: ana and ben (tier Member).");

    LOYALTY_TRY(Purchase(ana, "order-1001", {{"SHOE-9", "shoes", 1, "89.90"}, {"SOCK-2", "apparel", 3, "4.50"}}));
    clock_.Advance(days(20));
    LOYALTY_TRY(Purchase(ben, "order-1002", {{"TV-55", "electronics", 1, "699.00"}}));
    clock_.Advance(days(45));
    for (int i = 0; i < 3; ++i) {
      LOYALTY_TRY(Purchase(ana, "order-20" + std::to_string(i), {{"JACKET-1", "apparel", 1, "249.00"}}));
      clock_.Advance(days(30));
    }

    auto coffee = ledger_.RedeemReward({Key("redeem-1"), ana, *core::RewardId::Parse("coffee"), 2});
    if (!coffee) return std::unexpected(coffee.error());
    Say("ana redeems 2 x coffee for " + std::to_string(coffee->points.value()) + " points; balance " +
        std::to_string(coffee->balance.value()) + ", " + std::to_string(*coffee->stock_left) + " coffees left in stock.");
    auto retry = ledger_.RedeemReward({Key("redeem-1"), ana, *core::RewardId::Parse("coffee"), 2});
    if (!retry) return std::unexpected(retry.error());
    Say("The till retries the same request (same idempotency key): same entry #" + std::to_string(retry->entry_id) +
        ", nothing posted twice.");

    auto too_much = ledger_.RedeemPoints({Key("redeem-2"), ben, core::Points(100000)});
    Say("ben tries to spend 100000 points: refused (" + too_much.error().message + ").");

    auto returned = ledger_.Return({Key("return-1"), ben, *core::OrderId::Parse("order-1002"), {}});
    if (!returned) return std::unexpected(returned.error());
    Say("ben returns the TV: " + std::to_string(returned->clawed_back.value()) + " points clawed back; balance " +
        std::to_string(returned->balance.value()) + ".");

    auto discount = ledger_.RedeemPoints({Key("redeem-3"), ana, core::Points(500)});
    if (!discount) return std::unexpected(discount.error());
    Say("ana spends 500 points as a discount of " + discount->discount.ToString() + ".");

    clock_.Advance(days(700));
    auto expired = ledger_.Expire({Key("expire-1")});
    if (!expired) return std::unexpected(expired.error());
    Say("Two years on, the expiry job runs: " + std::to_string(expired->points.value()) + " points of " +
        std::to_string(expired->members) + " member(s) expire, oldest lots first.");
    auto tiers = ledger_.EvaluateTiers({Key("tiers-1"), std::nullopt});
    if (!tiers) return std::unexpected(tiers.error());
    for (const auto& change : tiers->changes) {
      Say("Tier review: " + change.member.str() + " moves from " + change.from + " to " + change.to + ".");
    }

    auto liability = ledger_.GetLiability();
    if (!liability) return std::unexpected(liability.error());
    Say("Program liability: " + std::to_string(liability->outstanding.value()) + " points outstanding, worth " +
        liability->value.ToString() + ".");
    auto report = ledger_.VerifyInvariants();
    if (!report) return std::unexpected(report.error());
    Say(report->ok ? "Verified: the journal balances, every balance equals its postings and lots."
                   : "INVARIANT VIOLATION: " + report->violations.front());
    return {};
  }

  // One person, several profiles: the web shop knew ana only by her e-mail. Then a whole
  // simulated program, segmented.
  Status RunCustomerData() {
    std::cout << "\nCustomer data: identity, live features, segments\n";
    const auto ana = *core::MemberId::Parse("ana");
    const std::string at = core::FormatTimestamp(clock_.Now() - std::chrono::days(3));
    std::vector<core::Result<core::Json>> web = {
        core::Json{{"id", "web-1"}, {"type", "login"}, {"at", at}, {"identifier", "email:Ana@Example.com"}, {"channel", "web"}},
        core::Json{{"id", "web-2"}, {"type", "purchase"}, {"at", at}, {"identifier", "email:ana@example.com "},
                   {"channel", "web"},
                   {"properties", {{"order", "web-order-77"},
                                   {"lines", {{{"sku", "BAG-1"}, {"category", "bags"}, {"quantity", 1}, {"unit_price", "120.00"}}}}}}}};
    LOYALTY_ASSIGN_OR_RETURN(auto report, platform_.ingestor().Ingest(web));
    const auto email = *platform_.identity().normalizer().Normalize(identity::IdentifierKind::kEmail, "ana@example.com");
    LOYALTY_ASSIGN_OR_RETURN(auto web_profile, platform_.members().Lookup(email));
    Say("The web shop sends " + std::to_string(report.accepted) + " events for e-mail Ana@Example.com; nobody holds it, "
        "so they land on a new pseudonymous profile " + web_profile.member.str() + " (" +
        std::to_string(web_profile.balance.total.value()) + " points).");
    LOYALTY_ASSIGN_OR_RETURN(auto added, platform_.members().AddIdentifiers(ana, std::span(&email, 1), "demo"));
    for (const auto& merge : added.merges) {
      Say("ana confirms her e-mail at the till: the profiles share it, so " + merge.absorbed.str() +
          " is merged into ana (" + merge.reason + "); its points move as journal postings. ana now has " +
          std::to_string(added.profile.balance.total.value()) + " points.");
    }
    LOYALTY_ASSIGN_OR_RETURN(auto features, platform_.members().Features(ana, std::nullopt));
    const auto& f = features.features;
    std::ostringstream text;
    text << "ana's live profile, from her events so far: " << f[features::Feature::frequency] << " purchase(s), "
         << f[features::Feature::monetary] << " EUR in all, last one " << std::lround(f[features::Feature::recency_days])
         << " days ago, top category " << f.top_category << ".";
    Say(text.str());

    sim::SimConfig config;
    config.members = members_;
    config.days = 365;
    config.seed = 7;
    config.start = clock_.Now() - std::chrono::days(366);  // a year that runs up to today
    // The simulated members belong to group A or B (B: a protected group that historically
    // saw fewer offers): the program watches how it treats each.
    LOYALTY_TRY(platform_.fairness().PutSettings({{"attribute", "group"}, {"reference", "A"}}, "demo"));
    LOYALTY_ASSIGN_OR_RETURN(auto counts, sim::Simulate(config, dir_ / "sim"));
    LOYALTY_ASSIGN_OR_RETURN(const int64_t accepted, engine::LoadSimulatedProgram(platform_, dir_ / "sim"));
    Say("A simulated program joins: " + std::to_string(counts.members) + " members, " + std::to_string(accepted) +
        " events over a year, each updating its member's live features.");
    LOYALTY_ASSIGN_OR_RETURN(core::Json segments, platform_.members().Segments());
    std::string summary = "RFM segments now:";
    for (const auto& [name, count] : segments["segments"].items()) summary += " " + name + " " + count.dump() + ",";
    summary.back() = '.';
    Say(summary);
    return {};
  }

  // Trains every model on the simulated program and shows what they say about one customer.
  Status RunPredictions() {
    auto& predictions = platform_.predictions();
    engine::TrainOptions options;
    options.creator = "demo";
    LOYALTY_ASSIGN_OR_RETURN(auto churn, predictions.TrainChurn(options));
    std::ostringstream text;
    text << std::fixed << std::setprecision(3) << "Churn model " << churn.version.name() << " trained on features as of "
         << churn.report["data_window"]["cutoff"].get<std::string>().substr(0, 10) << ": ROC AUC "
         << churn.report["model"]["roc_auc"].get<double>() << " on held-out customers, against "
         << churn.report["baseline"]["roc_auc"].get<double>() << " for the RFM recency rule.";
    Say(text.str());
    LOYALTY_ASSIGN_OR_RETURN(auto clv, predictions.TrainClv(options));
    Say("Lifetime value model " + clv.version.name() + ": BG/NBD and Gamma-Gamma " + clv.report["bgnbd"]["status"].get<std::string>() +
        " on " + clv.report["data_window"]["customers"].dump() + " customers.");
    LOYALTY_ASSIGN_OR_RETURN(auto recs, predictions.TrainRecommendations(options));
    LOYALTY_ASSIGN_OR_RETURN(auto segments, predictions.TrainSegments(options));
    Say("Recommendations " + recs.version.name() + " and " + std::to_string(segments.report["segments"].size()) +
        " micro-segments (" + segments.version.name() + ") trained too; every score names the model version.");
    options.breakage_draws = 100;
    LOYALTY_ASSIGN_OR_RETURN(auto breakage, predictions.TrainBreakage(options));
    {
      const core::Json& f = breakage.report["forecast"];
      const core::Json& b = breakage.report["backtest"];
      std::ostringstream line;
      line << std::fixed << std::setprecision(1) << "Breakage model " << breakage.version.name() << ": "
           << 100 * f["breakage_share"]["mean"].get<double>() << "% of the "
           << std::setprecision(0) << f["outstanding_points"].get<double>() << " points members hold will never be redeemed ("
           << std::setprecision(1) << 100 * f["breakage_share"]["low"].get<double>() << "% to "
           << 100 * f["breakage_share"]["high"].get<double>() << "%)";
      if (b.is_object() && b.contains("liability_mape")) {
        line << "; back-tested over " << b["months"].get<int>() << " months, liability off by "
             << 100 * b["liability_mape"].get<double>() << "% against " << 100 * b["run_rate_liability_mape"].get<double>()
             << "% for the run rate";
      }
      line << ".";
      Say(line.str());
    }
    // The customer with the most value at risk among the first forty members.
    std::optional<core::Json> worried;
    for (int i = 0; i < 40; ++i) {
      char id[16];
      std::snprintf(id, sizeof id, "m%07d", i);
      LOYALTY_ASSIGN_OR_RETURN(core::Json scores, predictions.Scores(*core::MemberId::Parse(id)));
      if (!scores["churn"].is_object() || !scores["clv"].is_object()) continue;
      if (!worried || scores["churn"]["probability"].get<double>() *
                              scores["clv"]["value"]["estimate"].get<double>() >
                          (*worried)["churn"]["probability"].get<double>() *
                              (*worried)["clv"]["value"]["estimate"].get<double>()) {
        worried = scores;
      }
    }
    if (!worried) return {};
    const core::Json& w = *worried;
    std::string reasons;  // what raises the risk
    for (const auto& c : w["churn"]["top_contributions"]) {
      if (c["effect"].get<double>() <= 0 || std::count(reasons.begin(), reasons.end(), ';') == 1) continue;
      reasons += (reasons.empty() ? "" : "; ") + c["words"].get<std::string>();
    }
    std::ostringstream about;
    about << std::fixed << std::setprecision(0) << w["member"].get<std::string>() << " has the most value at risk: churn risk "
          << 100 * w["churn"]["probability"].get<double>() << "%" << (reasons.empty() ? "" : " (" + reasons + ")");
    about << ", 12-month value " << w["clv"]["value"]["estimate"].get<double>() << " EUR ("
          << w["clv"]["value"]["low"].get<double>() << " to " << w["clv"]["value"]["high"].get<double>() << ").";
    Say(about.str());
    LOYALTY_ASSIGN_OR_RETURN(auto recommended, predictions.Recommend(*core::MemberId::Parse(w["member"].get<std::string>()), 3));
    std::string items;
    for (const auto& item : recommended["items"]) items += (items.empty() ? "" : ", ") + item["sku"].get<std::string>();
    Say("Recommended for them: " + items + ".");
    worried_member_ = w["member"].get<std::string>();
    return {};
  }

  // What members wrote: sentiment and topics of the last 90 days, and what they add to churn.
  Status RunText() {
    std::cout << "\nText signals: what members write, scored; the words kept in the PII vault\n";
    auto& text = platform_.text();
    LOYALTY_ASSIGN_OR_RETURN(auto report, text.Topics(clock_.Now() - std::chrono::days(90), clock_.Now(), "month"));
    int64_t negative = 0;
    for (const auto& row : report.rows) negative += row.negative;
    std::vector<std::pair<int64_t, std::string>> topics;
    for (const auto& [topic, count] : report.totals) topics.emplace_back(count, topic);
    std::sort(topics.rbegin(), topics.rend());
    std::string top;
    for (size_t i = 0; i < topics.size() && i < 3; ++i) {
      top += (top.empty() ? "" : ", ") + topics[i].second + " (" + std::to_string(topics[i].first) + ")";
    }
    Say(std::to_string(report.texts) + " tickets, reviews and messages in the last 90 days, " +
        std::to_string(report.texts == 0 ? 0 : 100 * negative / report.texts) + "% negative; most talked about: " +
        (top.empty() ? "nothing yet" : top) + ".");
    LOYALTY_ASSIGN_OR_RETURN(auto lift, platform_.predictions().SentimentLift({}, 5));
    std::ostringstream line;
    line << std::fixed << std::setprecision(3) << "Sentiment features move the churn model's cross-validated ROC AUC from "
         << lift.without.roc_auc << " to " << lift.with.roc_auc << " (gain " << std::showpos << lift.auc_gain << ", 95% "
         << lift.ci_low << " to " << lift.ci_high << std::noshowpos << ").";
    Say(line.str());

    // A challenger with a longer churn horizon, promoted: the registry keeps the move, and one
    // rollback (the dashboard's Predictions page, or the CLI) returns to churn@1.
    engine::TrainOptions options;
    options.creator = "demo";
    options.churn_horizon_days = 90;
    LOYALTY_ASSIGN_OR_RETURN(auto challenger, platform_.predictions().TrainChurn(options));
    LOYALTY_ASSIGN_OR_RETURN(auto promoted,
                             platform_.registry().Promote("churn", challenger.version.version, "demo"));
    std::ostringstream retrained;
    retrained << std::fixed << std::setprecision(3) << "A challenger " << promoted.name()
              << " (churn meaning no purchase within 90 days, not 60) scores ROC AUC "
              << challenger.report["model"]["roc_auc"].get<double>()
              << " and is promoted; `loyalty models rollback --kind churn` returns to the previous champion.";
    Say(retrained.str());
    return {};
  }

  // Next best action: a small catalogue, one member's decision with its reasons, a campaign
  // planned over the members at risk.
  Status RunDecisions() {
    std::cout << "\nNext best action: offers, rules, arbitration, caps\n";
    auto& decisions = platform_.decisions();
    const std::vector<core::Json> offers = {
        {{"id", "winback-10"}, {"name", "10 EUR off your next visit"}, {"kind", "discount"}, {"channels", {"email", "push"}},
         {"discount_minor", 1000}, {"eligibility", "churn_risk > 0.5 and not open_ticket"}, {"prior_response_rate", 0.12}},
        {{"id", "double-points"}, {"name", "Double points this week"}, {"kind", "points_multiplier"},
         {"channels", {"push", "in_app"}}, {"multiplier", 2.0}, {"eligibility", "frequency >= 3"}},
        {{"id", "bonus-200"}, {"name", "200 bonus points"}, {"kind", "bonus_points"}, {"channels", {"email"}},
         {"points", 200}, {"eligibility", "segment in ('Champions', 'Loyal')"}},
        {{"id", "sorry-300"}, {"name", "Sorry for the trouble"}, {"kind", "service_recovery"}, {"channels", {"email", "sms"}},
         {"points", 300}, {"eligibility", "open_ticket"}},
    };
    for (const auto& offer : offers) {
      LOYALTY_TRY(decisions.PutOffer(offer["id"].get<std::string>(), offer, "demo"));
    }
    Say("The manager sets up " + std::to_string(offers.size()) +
        " offers with eligibility rules (e.g. winback-10: churn_risk > 0.5 and not open_ticket); the contact policy "
        "caps each member at 2 contacts a day and 5 a week, with quiet hours 21:00-08:00 and a 5% holdout.");
    LOYALTY_TRY(decisions.MoveAutomation({{"phase", "pilot"}, {"reason", "a new catalogue: people check every offer first"}}, "demo"));
    Say("A new catalogue starts in the pilot phase: every offer waits for a person (`loyalty automation show`).");
    if (!worried_member_.empty()) {
      LOYALTY_ASSIGN_OR_RETURN(auto d, decisions.Decide({{"member", worried_member_}, {"k", 2}}));
      std::ostringstream text;
      text << std::fixed << std::setprecision(2) << "Decision for " << worried_member_ << " (" << d["strategy"].get<std::string>()
           << " strategy" << (d["holdout"].get<bool>() ? ", holdout group: no marketing" : "") << "): ";
      if (d["offers"].empty()) text << "no offer now";
      for (size_t i = 0; i < d["offers"].size(); ++i) {
        const auto& o = d["offers"][i];
        text << (i ? "; " : "") << o["offer"].get<std::string>() << " by " << o["channel"].get<std::string>() << " at "
             << o["send_at"].get<std::string>().substr(0, 16) << " (response chance " << o["response_probability"].get<double>()
             << ", expected value " << o["expected_value_minor"].get<double>() / 100 << " EUR, " << o["routing"].get<std::string>()
             << ")";
      }
      for (const auto& c : d["explanation"]["candidates"]) {
        if (c["outcome"] != "chosen") text << "; " << c["offer"].get<std::string>() << ": " << c["outcome"].get<std::string>();
      }
      for (const auto& [reason, excluded] : d["explanation"]["excluded"].items()) {
        for (const auto& offer : excluded) text << "; " << offer.get<std::string>() << ": " << reason;
      }
      Say(text.str() + ".");
    }
    LOYALTY_ASSIGN_OR_RETURN(auto plan, decisions.DecideBatch({{"segment", "churn_risk > 0.3"}, {"dry_run", true}, {"limit", 0}}));
    Say("Campaign plan (dry run) for members with churn risk above 30%: " + plan["matched"].dump() + " members, " +
        plan["with_offers"].dump() + " get an offer (" + plan["by_offer"].dump() + "), " + plan["held_out"].dump() +
        " held out to measure the lift. `loyalty simulate --evaluate-policies` shows what the AI policy earns "
        "against an RFM campaign and random targeting at the same budget.");
    return {};
  }

  Status RunReviews() {
    std::cout << "\nHumans in charge: the review queue\n";
    auto& decisions = platform_.decisions();
    LOYALTY_TRY(decisions.PutPolicy({{"review_cost_minor", 800}}, "demo"));
    LOYALTY_TRY(decisions.MoveAutomation({{"phase", "limited"}, {"reason", "the pilot's offers were sound"}}, "demo"));
    LOYALTY_ASSIGN_OR_RETURN(auto run, decisions.DecideBatch({{"segment", "churn_risk > 0.5"}, {"limit", 0}}));
    auto& reviews = platform_.reviews();
    LOYALTY_ASSIGN_OR_RETURN(auto queue, reviews.List({{"sort", "value"}, {"limit", 500}}));
    std::ostringstream waiting;
    waiting << std::fixed << std::setprecision(2);
    for (const auto& g : queue["groups"]) {
      waiting << (waiting.tellp() > 0 ? ", " : "") << g["offer"].get<std::string>() << " " << g["open"] << " ("
              << g["cost_minor"].get<int64_t>() / 100.0 << " EUR at stake" << (g["level"] == "escalate" ? ", for an admin" : "")
              << ")";
    }
    Say("The pilot went well: an admin moves the program to limited automation, where low-risk offers run on their own "
        "and the manager sends offers costing 8 EUR or more to a person first. The win-back campaign decides for " +
        run["matched"].dump() + " members at risk; " + queue["matched"].dump() + " offers wait for review" +
        (waiting.tellp() > 0 ? ": " + waiting.str() : "") + ".");
    const auto& items = queue["items"];
    if (items.empty()) return {};
    // The manager approves the most valuable offers in one go and turns down the least valuable.
    core::Json bulk{{"action", "approve"}, {"items", core::Json::array()}};
    for (size_t i = 0; i + 1 < items.size() && i < 20; ++i) {
      bulk["items"].push_back({{"decision", items[i]["decision"]}, {"rank", items[i]["rank"]}});
    }
    const engine::Reviewer manager{"maria", "manager"};
    if (!bulk["items"].empty()) LOYALTY_TRY(reviews.Bulk(bulk, manager));
    const auto& last = items.back();
    LOYALTY_ASSIGN_OR_RETURN(
        auto rejected, reviews.Act(last["decision"].get<std::string>(), last["rank"].get<int>(),
                                   {{"action", "reject"}, {"reason", "wrong_member"}, {"comment", "just redeemed a voucher"}},
                                   manager));
    LOYALTY_ASSIGN_OR_RETURN(auto stats, reviews.Stats(std::nullopt));
    Say("maria approves the " + std::to_string(bulk["items"].size()) + " most valuable in one go and rejects " +
        last["offer"].get<std::string>() + " for " + last["member"].get<std::string>() +
        " (wrong_member: just redeemed a voucher): its budget goes back (" +
        std::to_string(rejected["released_minor"].get<int64_t>() / 100) + " EUR) and the bandit counts it as a miss. Acceptance so far " +
        std::to_string(static_cast<int>(std::lround(100 * stats["acceptance_rate"].get<double>()))) +
        "%; the rest expire after 72 hours unless someone decides (`loyalty review list --sort value`).");
    LOYALTY_TRY(decisions.MoveAutomation({{"phase", "dynamic"}, {"reason", "reviews agree with the engine: let the bandits learn"}},
                                         "demo"));
    Say("With reviewers agreeing, the admin moves on to the dynamic phase: experiments run and the AI strategy explores "
        "as its bandits learn; one `loyalty automation rollback` goes back a step.");
    return RunFairness();
  }

  // How the program treats the protected group B against A: offers made, and the churn
  // model's hits among the members who did leave.
  Status RunFairness() {
    LOYALTY_ASSIGN_OR_RETURN(auto report, platform_.fairness().Report(true));
    std::ostringstream text;
    text << std::fixed << std::setprecision(1) << "Fairness by group (B is protected; A the reference): ";
    for (const auto& g : report["parity"]["groups"]) {
      text << g["group"].get<std::string>() << " offered " << 100 * g["offered"]["value"].get<double>() << "% ";
    }
    if (report["churn"]["groups"].is_array()) {
      text << "of members in the last 90 days; the churn model finds";
      for (const auto& g : report["churn"]["groups"]) {
        text << " " << 100 * g["true_positive_rate"]["value"].get<double>() << "% of " << g["group"].get<std::string>()
             << "'s leavers";
      }
    }
    text << ". " << (report["alerts"].empty() ? std::string("No alert: no difference passes its threshold with confidence")
                                              : std::to_string(report["alerts"].size()) +
                                                    " alert(s): the alerted group's decisions now go to review")
         << " (`loyalty fairness report`, the dashboard's Governance page).";
    Say(text.str());
    return {};
  }

 private:
  struct Line {
    const char* sku;
    const char* category;
    int64_t quantity;
    const char* price;
  };

  Status Purchase(const core::MemberId& member, const std::string& order, std::initializer_list<Line> lines) {
    ledger::EarnCommand command{Key("earn-" + order), member, *core::OrderId::Parse(order), {}, std::nullopt};
    for (const auto& l : lines) {
      command.lines.push_back({l.sku, l.category, l.quantity, *core::Money::Parse(l.price, "EUR")});
    }
    LOYALTY_ASSIGN_OR_RETURN(auto r, ledger_.Earn(command));
    std::string text = member.str() + " buys (" + order + "): +" + std::to_string(r.points.value()) +
                       " points at tier " + r.tier + ", balance " + std::to_string(r.balance.value());
    if (r.upgraded_to) text += ", upgraded to " + *r.upgraded_to;
    Say(text + ".");
    return {};
  }

  static core::IdempotencyKey Key(const std::string& text) { return *core::IdempotencyKey::Parse(text); }

  void Say(const std::string& text) {
    std::cout << "[" << core::FormatTimestamp(clock_.Now()).substr(0, 10) << "] " << text << "\n";
  }

  engine::Platform& platform_;
  ledger::Ledger& ledger_;
  core::ManualClock& clock_;
  std::filesystem::path dir_;
  int members_;  // in the simulated program
  std::string worried_member_;  // the customer with the most value at risk
};

}  // namespace

namespace {

// A user with this role and a fresh key for the dashboard; the key (shown once) is returned.
Result<std::string> DashboardKey(engine::Access& access, const std::string& user, engine::Role role) {
  LOYALTY_TRY(access.CreateUser(user, role));
  LOYALTY_ASSIGN_OR_RETURN(auto key, access.IssueKey(user, "dashboard"));
  return key.secret;
}

int ServeDemo(engine::Platform& platform, const ServeOptions& serve, sigset_t stop_signals) {
  auto options = ResolveServerOptions(core::Json(), serve);
  if (!options) return PrintError(options.error());
  auto manager = DashboardKey(platform.access(), "maria", engine::Role::kManager);
  if (!manager) return PrintError(manager.error());
  auto analyst = DashboardKey(platform.access(), "sam", engine::Role::kAnalyst);
  if (!analyst) return PrintError(analyst.error());
  auto admin = DashboardKey(platform.access(), "alex", engine::Role::kAdmin);
  if (!admin) return PrintError(admin.error());
  return ServePlatform(platform, *options, stop_signals, [&](uint16_t port) {
    std::cout << "\nDashboard: http://" << options->address << ":" << port << "/\n"
              << "  sign in as maria (manager) with " << *manager << "\n"
              << "  or as sam (analyst: no personal data) with " << *analyst << "\n"
              << "  or as alex (admin: moves automation phases, reads the audit trail) with " << *admin << "\n"
              << "Press Ctrl-C to stop." << std::endl;
  });
}

}  // namespace

int RunDemo(const std::filesystem::path& dir, int members, const std::optional<ServeOptions>& serve) {
  if (members < 100 || members > 100'000) {
    return PrintError({core::ErrorCode::kInvalidArgument, "--members must be 100 to 100000"});
  }
  // Before any thread starts: serving waits for these signals.
  const sigset_t stop_signals = serve ? BlockStopSignals() : sigset_t{};
  std::error_code ec;
  for (const char* name : {"loyalty.db", "loyalty.db-wal", "loyalty.db-shm"}) std::filesystem::remove(dir / name, ec);
  std::filesystem::remove_all(dir / "sim", ec);
  std::filesystem::create_directories(dir, ec);
  if (ec) return PrintError({core::ErrorCode::kInvalidArgument, "cannot create '" + dir.string() + "': " + ec.message()});

  auto db = store::OpenSqlite({.path = dir / "loyalty.db", .durability = store::Durability::kNormal});
  if (!db) return PrintError(db.error());
  core::ManualClock clock(*core::ParseTimestamp("2025-01-06T10:00:00Z"));
  ledger::ProgramConfig program = ledger::DefaultProgramConfig();
  program.earn.category_multiplier_permille["electronics"] = 2000;
  program.earn.order_bonuses.push_back({.min_spend_minor = 20000, .points = 50});
  program.rewards.push_back({"coffee", "Free coffee", 150, 40});
  auto vault_key = privacy::VaultKey::FromFile(dir / "vault.key", true);
  if (!vault_key) return PrintError(vault_key.error());
  auto platform = engine::Platform::Open(**db, {.program = program, .default_region = "DE", .vault_key = *vault_key}, clock);
  if (!platform) return PrintError(platform.error());
  if (auto ready = (*platform)->members().EnsureLiveFeatures(); !ready) return PrintError(ready.error());

  std::cout << "Loyalty demo: a year in a small program (EUR, 1 point per euro, electronics x2,\n"
               "50 bonus points on orders over 200 EUR, tiers Member/Silver/Gold, points expire after 24 months).\n"
               "Data: " << (dir / "loyalty.db").string() << "\n\n";
  Walkthrough walkthrough(**platform, clock, dir, members);
  if (auto status = walkthrough.Run(); !status) return PrintError(status.error());
  if (auto status = walkthrough.RunCustomerData(); !status) return PrintError(status.error());
  if (auto status = walkthrough.RunPredictions(); !status) return PrintError(status.error());
  if (auto status = walkthrough.RunText(); !status) return PrintError(status.error());
  if (auto status = walkthrough.RunDecisions(); !status) return PrintError(status.error());
  if (auto status = walkthrough.RunReviews(); !status) return PrintError(status.error());
  std::cout << "\nTry: loyalty --data-dir " << dir.string() << " ledger statement --member ana\n"
            << "     loyalty --data-dir " << dir.string() << " members features --member ana\n"
            << "     loyalty --data-dir " << dir.string() << " members segments\n"
            << "     loyalty --data-dir " << dir.string() << " models list\n"
            << "     loyalty --data-dir " << dir.string() << " --now " << core::FormatTimestamp(clock.Now()).substr(0, 10)
            << " scores --member m0000001\n"
            << "     loyalty --data-dir " << dir.string() << " --now " << core::FormatTimestamp(clock.Now()).substr(0, 10)
            << " decide --member m0000001 --dry-run\n"
            << "     loyalty --data-dir " << dir.string() << " --now " << core::FormatTimestamp(clock.Now()).substr(0, 10)
            << " review list --sort value\n"
            << "     loyalty --data-dir " << dir.string() << " text score \"the parcel arrived late and damaged\"\n"
            << "     loyalty simulate --evaluate-policies\n";
  if (serve) {
    // Ctrl-C during the walkthrough waits, blocked, until here: stop instead of serving.
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM)) {
      std::cout << "loyalty stopped" << std::endl;
      return 130;
    }
    return ServeDemo(**platform, *serve, stop_signals);
  }
  return 0;
}

}  // namespace loyalty::cli
