#pragma once
// Where decisions live: the offer catalogue, the contact policy and strategy settings (with
// their history, for rollback), experiments, every decision made (with its explanation and
// each offer's propensity) and the outcomes reported for them. The bandits' evidence and the
// caps and budgets committed are rebuilt from this log when the program opens.
//
// Thread-safe (the store serialises writes).

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/decision/automation.hpp"
#include "loyalty/decision/decider.hpp"
#include "loyalty/decision/experiments.hpp"
#include "loyalty/decision/offers.hpp"
#include "loyalty/decision/ope.hpp"
#include "loyalty/store/database.hpp"

namespace loyalty::decision {

enum class OutcomeType { kImpression, kClick, kRedemption, kPurchase, kDismiss };
std::string_view OutcomeTypeName(OutcomeType type);
[[nodiscard]] core::Result<OutcomeType> ParseOutcomeType(std::string_view name);
// A response is what the bandits learn from: a click, a redemption or a purchase.
bool IsResponse(OutcomeType type);

struct Outcome {
  std::string id;  // the reporter's id; a resent outcome with the same id is ignored
  std::string decision;
  std::string offer;
  OutcomeType type = OutcomeType::kImpression;
  core::Timestamp at;
  int64_t value_minor = 0;  // purchases: the sale's value
};

// Parses {"id", "offer", "type", "at", "value_minor"} for decision `decision`; `now` is the
// default time.
[[nodiscard]] core::Result<Outcome> ParseOutcome(const core::Json& object, const std::string& decision,
                                                 core::Timestamp now);

struct OutcomeReceipt {
  bool duplicate = false;       // the same outcome was recorded before
  bool counted_as_response = false;  // the first response to this offer of this decision
  std::string bandit_arm;
};

// The strategy switch: `share_percent` of members (by salted hash) get `strategy`, the others
// `fallback`. Experiments override it for their members.
struct StrategyFlag {
  Strategy strategy = Strategy::kAi;
  Strategy fallback = Strategy::kRules;
  double share_percent = 100;
  std::string salt = "strategy";
};
[[nodiscard]] core::Result<StrategyFlag> ParseStrategyFlag(const core::Json& object);
core::Json ToJson(const StrategyFlag& flag);

// "churn@3, clv@2": the model versions behind a decision, from its explanation's "models".
std::string ModelVersionsText(const core::Json& models);

class DecisionLog {
 public:
  // Migrates the schema. `db` and `clock` must outlive this object.
  [[nodiscard]] static core::Result<std::unique_ptr<DecisionLog>> Open(store::Database& db, const core::Clock& clock);

  // --- Catalogue and settings -------------------------------------------------------------
  // Every offer, parsed again (rules against `known_facts`; an offer that no longer parses
  // is an internal error naming it).
  [[nodiscard]] core::Result<std::vector<Offer>> Offers(const std::vector<std::string>& known_facts);
  // Creates or replaces; returns true when it was created.
  [[nodiscard]] core::Result<bool> PutOffer(const Offer& offer, const std::string& actor);
  [[nodiscard]] core::Status DeleteOffer(const std::string& id);

  // The policy (defaults when never set).
  [[nodiscard]] core::Result<ContactPolicy> Policy();
  [[nodiscard]] core::Status PutPolicy(const ContactPolicy& policy, const std::string& actor);
  [[nodiscard]] core::Result<StrategyFlag> Flag();
  [[nodiscard]] core::Status PutFlag(const StrategyFlag& flag, const std::string& actor);
  // Puts back the strategy flag as it was before its latest change; fails (409) when it
  // never changed.
  [[nodiscard]] core::Result<StrategyFlag> RollbackFlag(const std::string& actor);

  // --- Automation phases ------------------------------------------------------------------
  struct AutomationChange {
    core::Timestamp at;
    std::string actor;
    std::string action;  // move | rollback
    AutomationSettings settings;  // in force after the change
    std::string reason;
  };
  // The phases in force (limited, program-wide, when never set).
  [[nodiscard]] core::Result<AutomationSettings> Automation();
  // How many moves a rollback could still undo.
  [[nodiscard]] core::Result<size_t> AutomationMovesLeft();
  // The changes, newest first, at most `limit`.
  [[nodiscard]] core::Result<std::vector<AutomationChange>> AutomationHistory(size_t limit);
  // Moves to `settings`; 409 when they are the ones in force.
  [[nodiscard]] core::Status MoveAutomation(const AutomationSettings& settings, const std::string& actor,
                                            const std::string& reason);
  // Puts back the settings in force before the latest move not yet rolled back (rolling back
  // twice undoes two moves); 409 when no move is left to undo.
  [[nodiscard]] core::Result<AutomationSettings> RollbackAutomation(const std::string& actor, const std::string& reason);

  // --- Experiments ------------------------------------------------------------------------
  [[nodiscard]] core::Result<std::vector<Experiment>> Experiments();
  // Places the experiment beside the running ones of its namespace and stores it; 409 when
  // the id is taken or the namespace has no room.
  [[nodiscard]] core::Result<Experiment> CreateExperiment(Experiment experiment);
  [[nodiscard]] core::Status StopExperiment(const std::string& id);
  // Per arm: members, response rate and revenue per member against the control arm, with
  // CUPED-adjusted revenue (pre-period spend as the covariate).
  [[nodiscard]] core::Result<core::Json> ExperimentResults(const std::string& id);

  // --- Decisions and outcomes -------------------------------------------------------------
  struct Assignment {
    std::string experiment;  // empty: not in an experiment
    std::string arm;
  };
  // A new decision id: "dec_" and 24 hex digits, the first 12 the time in milliseconds (ids
  // sort by time), the last 12 random.
  static std::string NewId();
  // Stores a decision; returns its id.
  [[nodiscard]] core::Result<std::string> Record(const Decision& decision, const Assignment& assignment,
                                                 double covariate, const std::string& trigger = "");
  struct Entry {
    std::string id;  // from NewId()
    Decision decision;
    Assignment assignment;
    double covariate = 0;
    // The explanation as JSON text when the caller has rendered it already (an answered
    // decision); empty: rendered from `decision`.
    std::string explanation;
    // The id of the event that triggered the decision, if one did: a second decision for the
    // same event is refused as a conflict.
    std::string trigger;
  };
  // Stores many decisions in one transaction (all or none).
  [[nodiscard]] core::Status RecordBatch(const std::vector<Entry>& entries);
  // Called inside every transaction that stores decisions, with those decisions and, for each,
  // the decision as stored in one text (id, member, time, strategy, holdout, experiment arm,
  // each offer's choice and cost, the explanation text): the engine appends them to the audit
  // trail there, so a decision is stored with its audit entry or not at all. Set once, before
  // decisions are stored.
  using Trail =
      std::function<core::Status(store::Transaction&, std::span<const Entry>, std::span<const std::string> stored)>;
  void SetTrail(Trail trail) { trail_ = std::move(trail); }
  // The decision as made, with its outcomes. 404 when unknown.
  [[nodiscard]] core::Result<core::Json> Get(const std::string& id);
  // The id of the decision the event `event` triggered, if any.
  [[nodiscard]] core::Result<std::optional<std::string>> TriggeredBy(const std::string& event);
  // Every decision made for the given members, as Get shows them: each member's in time order.
  [[nodiscard]] core::Result<core::Json> ForMembers(std::span<const std::string> members);
  // Records an outcome and tells the bandits (through `decider`). 404 for an unknown
  // decision or an offer it did not make; 422 outside the attribution window.
  [[nodiscard]] core::Result<OutcomeReceipt> RecordOutcome(const Outcome& outcome, Decider& decider);

  // Offers made per member in decisions at or after `since`, less those a reviewer rejected
  // or let expire (given back whole): how many and their worst-case cost.
  struct MemberOffers {
    std::string member;
    int64_t offers = 0;
    int64_t value_minor = 0;
  };
  [[nodiscard]] core::Result<std::vector<MemberOffers>> OffersByMember(core::Timestamp since);

  // --- Offers routed to a person ----------------------------------------------------------
  // An offer a decision routed to review or escalation, as logged.
  struct RoutedOffer {
    std::string decision;
    int rank = 0;
    std::string member;
    core::Timestamp at;
    std::string strategy;
    std::string offer;
    std::string channel;
    double propensity = 1;
    double response_probability = 0;
    double expected_value_minor = 0;
    int64_t cost_minor = 0;
    std::string arm;
    std::string routing;                          // review | escalate
    std::string risk;                             // low | medium | high; empty: logged before risk classes
    std::vector<std::string> risk_reasons;
    std::optional<int64_t> released_minor = std::nullopt;  // budget given back, once released
    bool holdout = false;                                   // the decision's member was held out
  };
  // The routed offers of decisions made at or after `since`, oldest first.
  [[nodiscard]] core::Result<std::vector<RoutedOffer>> RoutedOffers(core::Timestamp since);
  // One routed offer; 404 when the decision made no offer at `rank`, 422 when it ran
  // automatically.
  [[nodiscard]] core::Result<RoutedOffer> FindRouted(store::Transaction& tx, const std::string& decision, int rank);
  // Gives back, for good, `cost_minor` of the budget the offer reserved and, with `contact`,
  // its place under the contact caps (a restart does not count them again; the caller frees
  // them in the decider's memory after the commit). Once per offer: a second release fails.
  [[nodiscard]] core::Status ReleaseRouted(store::Transaction& tx, const RoutedOffer& offer, std::string_view reason,
                                           int64_t cost_minor, bool contact, core::Timestamp at);
  // Records that a person turned the offer down: a trial without a response for its bandit
  // arm, a label the bandits learn from. True when recorded now (the caller then tells the
  // decider's arms, after the commit); false when it was recorded before.
  [[nodiscard]] core::Result<bool> RecordRejection(store::Transaction& tx, const RoutedOffer& offer);

  // Adds the offer a reviewer chose in place of `replaced` to its decision (the next rank, routed
  // "auto", naming the rank it replaces), inside a caller's transaction; returns its rank. 409
  // when the decision made that offer already (outcomes name the offer, so it must be unique).
  [[nodiscard]] core::Result<int> RecordSubstitute(store::Transaction& tx, const RoutedOffer& replaced,
                                                   const DecidedOffer& chosen);

  // Erasure: files the member's decisions under `pseudonym` (inside a caller's transaction);
  // returns how many.
  [[nodiscard]] core::Result<int64_t> PseudonymiseIn(store::Transaction& tx, const std::string& member,
                                                     const std::string& pseudonym) const;

  // Rebuilds the decider's memory from the log: bandit evidence, caps and budgets.
  [[nodiscard]] core::Status Restore(Decider& decider);

  // The logged offers of the AI strategy with their propensities and whether they drew a
  // response: the data off-policy evaluation needs (`since`: decisions at or after).
  struct LoggedOffer {
    std::string member;
    std::string offer;
    std::string arm;
    double propensity = 1;
    double response_probability = 0;
    bool responded = false;
    Strategy strategy = Strategy::kAi;
  };
  [[nodiscard]] core::Result<std::vector<LoggedOffer>> Logged(std::optional<core::Timestamp> since);

  // Each member's first decision in [from, to) and whether the member is in the holdout
  // group (measuring the program's lift against the holdout).
  struct FirstDecision {
    std::string member;
    core::Timestamp at;
    bool holdout = false;
  };
  [[nodiscard]] core::Result<std::vector<FirstDecision>> FirstDecisions(core::Timestamp from, core::Timestamp to);
  // How many decisions the log holds.
  [[nodiscard]] core::Result<int64_t> Count();

 private:
  DecisionLog(store::Database& db, const core::Clock& clock) : db_(db), clock_(clock) {}
  [[nodiscard]] core::Status PutSetting(std::string_view name, const core::Json& doc, const std::string& actor);
  [[nodiscard]] core::Result<std::optional<core::Json>> Setting(std::string_view name);

  store::Database& db_;
  const core::Clock& clock_;
  Trail trail_;
};

}  // namespace loyalty::decision
