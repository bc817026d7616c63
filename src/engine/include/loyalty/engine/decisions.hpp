#pragma once
// Next best action for the program: assembles what a decision knows about a member (live
// features, the champions' scores, RFM segment, tier, consents, open tickets, the context),
// picks the strategy (a running experiment's arm, else the strategy flag), asks the decider,
// and logs every decision with its explanation. Offers, policy, flag and experiments are
// edited here; the decider sees each change at once.
//
// Logging: with a buffered log (the default) a decision is answered as soon as its caps and
// budget are reserved, and a background writer stores decisions in batches a few milliseconds
// later (a crash can lose those milliseconds of decision records, never ledger postings). Reads
// of the log (a decision, outcomes, results, evaluation) wait for what is buffered. A durable
// log stores each decision before answering.
//
// Thread-safe: decisions run concurrently; catalogue edits are serialised.

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/decision/decider.hpp"
#include "loyalty/decision/decision_log.hpp"
#include "loyalty/engine/members.hpp"
#include "loyalty/engine/predictions.hpp"
#include "loyalty/ledger/ledger.hpp"

namespace loyalty::engine {

class Decisions {
 public:
  // Everything passed must outlive this object. `seed` fixes the bandits' draws.
  [[nodiscard]] static core::Result<std::unique_ptr<Decisions>> Open(store::Database& db, Members& members,
                                                                     Predictions& predictions, ledger::Ledger& ledger,
                                                                     const core::Clock& clock, uint64_t seed = 1,
                                                                     bool buffered_log = true);
  ~Decisions();

  // The facts eligibility rules may read, with what each means.
  core::Json Facts() const;

  // --- Catalogue, policy, strategy, experiments (JSON in, JSON out; errors say what to fix)
  [[nodiscard]] core::Result<core::Json> ListOffers();
  [[nodiscard]] core::Result<core::Json> GetOffer(const std::string& id);
  // Creates or replaces the offer `id` (the body's id, when given, must match).
  [[nodiscard]] core::Result<core::Json> PutOffer(const std::string& id, const core::Json& body, const std::string& actor);
  [[nodiscard]] core::Status DeleteOffer(const std::string& id);
  [[nodiscard]] core::Result<core::Json> Policy();
  [[nodiscard]] core::Result<core::Json> PutPolicy(const core::Json& body, const std::string& actor);
  [[nodiscard]] core::Result<core::Json> Strategy();
  [[nodiscard]] core::Result<core::Json> PutStrategy(const core::Json& body, const std::string& actor);
  [[nodiscard]] core::Result<core::Json> RollbackStrategy(const std::string& actor);
  [[nodiscard]] core::Result<core::Json> ListExperiments();
  [[nodiscard]] core::Result<core::Json> CreateExperiment(const core::Json& body);
  [[nodiscard]] core::Status StopExperiment(const std::string& id);
  [[nodiscard]] core::Result<core::Json> ExperimentResults(const std::string& id);
  // Budget committed per offer and for the program, beside the budgets set.
  [[nodiscard]] core::Result<core::Json> Budgets();

  // --- Automation phases (see decision/automation.hpp)
  // The phases in force, what each strategy runs in, the retraining guardrails, the risk
  // thresholds of the policy, and the latest changes.
  [[nodiscard]] core::Result<core::Json> Automation();
  decision::AutomationSettings AutomationInForce() const;
  // {"phase", "strategies", "retraining", "reason"}: moves the program (a reason is required).
  [[nodiscard]] core::Result<core::Json> MoveAutomation(const core::Json& body, const std::string& actor);
  // {"reason"}: back to the phases before the latest move.
  [[nodiscard]] core::Result<core::Json> RollbackAutomation(const core::Json& body, const std::string& actor);

  // --- Decisions
  // One member, now: {"member", "channel", "k", "utc_offset_minutes", "cart_minor",
  // "location", "dry_run", "explain"}. Returns the decision with its id, offers and (unless
  // "explain" is false) explanation; the log keeps the explanation either way.
  [[nodiscard]] core::Result<core::Json> Decide(const core::Json& request);
  // A decision the event `event` (its id) triggered, as Decide, stored before it returns: a
  // worker acknowledges the event after. The same event again returns the decision it
  // triggered the first time, with "repeated": true, and reserves nothing.
  [[nodiscard]] core::Result<core::Json> DecideOnEvent(const core::Json& request, const std::string& event);
  // A campaign: every member whose facts match "segment" (a rule; empty: everyone), or the
  // listed "members"; {"channel", "k", "dry_run", "limit"}. Returns counts per offer, channel
  // and routing and the first decisions.
  [[nodiscard]] core::Result<core::Json> DecideBatch(const core::Json& request);
  [[nodiscard]] core::Result<core::Json> Get(const std::string& id);
  // Every decision made for these member profiles, with its explanation and outcomes.
  [[nodiscard]] core::Result<core::Json> ForMembers(std::span<const core::MemberId> members);
  [[nodiscard]] core::Result<core::Json> RecordOutcome(const std::string& decision, const core::Json& body);
  // Off-policy estimates, from the logged decisions, of what each strategy's offers would
  // have drawn (response rate), beside what the logged policy drew.
  [[nodiscard]] core::Result<core::Json> Evaluate(std::optional<core::Timestamp> since);

  // What a decision would know about the member now, on `channel` (a reviewer's substitute
  // offer is checked against it).
  [[nodiscard]] core::Result<decision::MemberView> ViewNow(const core::MemberId& member, decision::Channel channel);

  // Offers routed to a person in decisions made at or after `since` (buffered decisions are
  // stored first).
  [[nodiscard]] core::Result<std::vector<decision::DecisionLog::RoutedOffer>> RoutedOffers(core::Timestamp since);

  // --- Fairness (engine/fairness.hpp sets these once, before decisions are served)
  struct MemberFairness {
    bool alert = false;            // the member's group has an active fairness alert
    double churn_threshold = 0.5;  // where churn_flagged starts: the group's own (the mitigation) ...
    std::string threshold_model;   // ... for this churn model (empty: the base threshold, any model)
    double base_threshold = 0.5;   // the base threshold, for other models
  };
  using FairnessLookup = std::function<MemberFairness(const std::string& member)>;
  void SetFairnessLookup(FairnessLookup lookup) { fairness_ = std::move(lookup); }
  // Offers made per member in decisions since `since`, less those reviewers rejected or let
  // expire: how many, and their worst-case cost.
  struct MemberOffers {
    int64_t offers = 0;
    int64_t value_minor = 0;
  };
  [[nodiscard]] core::Result<std::unordered_map<std::string, MemberOffers>> OffersByMember(core::Timestamp since);

  decision::Decider& decider() { return decider_; }
  decision::DecisionLog& log() { return *log_; }
  // Waits until every buffered decision is stored.
  void Flush();
  // True when decisions are answered before they are stored (they never wait for a commit).
  bool buffered() const { return writer_ != nullptr; }

 private:
  Decisions(std::unique_ptr<decision::DecisionLog> log, Members& members, Predictions& predictions, ledger::Ledger& ledger,
            const core::Clock& clock, uint64_t seed);
  class Writer;

  struct Request {
    decision::DecisionContext context;
    std::optional<int64_t> cart_minor;
    std::string location;
  };
  [[nodiscard]] core::Result<Request> ParseRequest(const core::Json& body) const;
  // Decide, triggered by the event `trigger` when not empty.
  [[nodiscard]] core::Result<core::Json> DecideFor(const core::Json& body, const std::string& trigger);
  // The stored decision `id`, marked as answering a repeated trigger.
  [[nodiscard]] core::Result<core::Json> AlreadyDecided(const std::string& id);
  // What the decision knows about the member now.
  [[nodiscard]] core::Result<decision::MemberView> View(const core::MemberId& member, const Request& request);
  // A running experiment's arm for the member, else the strategy flag.
  struct Choice {
    decision::Strategy strategy = decision::Strategy::kAi;
    decision::DecisionLog::Assignment assignment;
  };
  Choice ChooseStrategy(const std::string& member) const;
  // True when every arm's strategy is in the expanded phase or later.
  static bool ExperimentRuns(const decision::Experiment& e, const decision::AutomationSettings& settings);
  // Names the product of each recommendation offer without one: the member's top pick from the
  // champion recommender (left empty when none is trained).
  [[nodiscard]] core::Status RecommendProducts(decision::Decision& decision);
  // Re-reads offers, policy, flag and experiments into the decider and the caches.
  [[nodiscard]] core::Status Reload();

  std::unique_ptr<decision::DecisionLog> log_;
  Members& members_;
  Predictions& predictions_;
  ledger::Ledger& ledger_;
  const core::Clock& clock_;
  decision::Decider decider_;
  std::vector<std::string> known_facts_;

  std::mutex edit_mutex_;  // catalogue and settings edits, one at a time
  mutable std::mutex state_mutex_;
  decision::StrategyFlag flag_;
  std::vector<decision::Experiment> running_;
  decision::AutomationSettings automation_;
  std::unique_ptr<Writer> writer_;  // null: every decision is stored before it is answered
  FairnessLookup fairness_;
};

}  // namespace loyalty::engine
