#pragma once
// The decision pipeline: for one member and one context, which offers (if any) to make now,
// on which channel, when — and why.
//
//   eligible offers (active, valid now, eligibility rule)
//   -> suppression (no upsell while a ticket is open; no marketing on a channel without consent)
//   -> score: expected value = P(response) x (value - cost of a response) - message cost,
//             times the offer's priority lever; P(response) from the bandit posterior of the
//             offer in the member's segment (a Thompson draw for the AI strategy)
//   -> contact policy and budgets (caps per member, offer and channel; offer and program
//      budgets), reserved atomically so concurrent decisions never exceed them
//   -> the top k, each with channel, send time (outside quiet hours; ahead of the member's next
//      expected purchase), propensity, a risk class and the routing the automation phase
//      gives it (auto, review, escalate; see automation.hpp).
//
// Thread-safe: Decide may run on many threads at once; the catalogue and policy are swapped
// atomically by Configure.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/decision/bandit.hpp"
#include "loyalty/decision/experiments.hpp"
#include "loyalty/decision/offers.hpp"
#include "loyalty/decision/rules.hpp"

namespace loyalty::decision {

// What the decision knows about the member (assembled by the engine from features, scores,
// tier and consents).
struct MemberView {
  std::string member;
  Facts facts;                 // what eligibility rules read (also: context facts)
  std::string segment;         // the bandit segment (RFM segment; "new" before a purchase)
  double churn_probability = 0;
  double clv_minor = 0;        // expected value of future purchases over the CLV horizon
  double basket_minor = 0;     // expected value of the purchase a response brings
  double basket_points = 0;    // the base points that purchase earns (what a multiplier multiplies)
  std::optional<double> days_to_next_purchase;
  std::vector<std::string> consents;  // granted purposes, sorted
  bool open_ticket = false;
  bool fairness_alert = false;  // the member's group has an active fairness alert
  std::array<double, kChannelCount> channel_affinity{};  // response history per channel, 0..1
  double pre_period_spend_minor = 0;  // the last 90 days' spend: the experiments' covariate
  core::Json model_versions = core::Json::object();
};

struct DecisionContext {
  core::Timestamp at;
  std::optional<Channel> channel = std::nullopt;  // where the member is now, or the only channel to use
  std::optional<int> utc_offset_minutes = std::nullopt;
  int k = 1;                       // offers wanted, 1 to 10
  bool reserve = true;             // false: explain only (caps and budgets checked, nothing taken)
};

struct DecidedOffer {
  std::string offer;
  OfferKind kind = OfferKind::kBonusPoints;
  Channel channel = Channel::kEmail;
  core::Timestamp send_at;
  double response_probability = 0;  // posterior mean
  double expected_value_minor = 0;  // before the lever
  double score = 0;                 // what ranked it
  int64_t cost_minor = 0;           // worst case: message plus a response's cost (reserved)
  double propensity = 1;            // the chance this strategy picks this offer first here
  std::string bandit_arm;           // "offer|segment"
  RiskClass risk = RiskClass::kLow;
  std::vector<std::string> risk_reasons;  // the factors behind a medium or high risk
  std::string routing = "auto";     // auto | review | escalate
  std::string sku;                  // product recommendations: the product (the offer's, or the member's top pick)
};

// What happened to one offer in a decision, for the explanation.
struct CandidateNote {
  std::string offer;
  std::string outcome;        // "chosen", "eligibility rule not met", a cap's reason, ...
  bool scored = false;        // the fields below are set
  double response_probability = 0;
  double value_minor = 0;
  double response_cost_minor = 0;
  double expected_value_minor = 0;
  double priority = 1;
  double score = 0;
};

struct Decision {
  std::string member;
  core::Timestamp at;
  Strategy strategy = Strategy::kAi;
  AutomationPhase phase = AutomationPhase::kDynamic;  // the strategy's phase when it was made
  bool holdout = false;
  std::vector<DecidedOffer> offers;
  // The explanation, kept as data (ExplanationJson renders it): every candidate's fate, the
  // facts the rules read, the scores that drove the choice and the model versions.
  std::vector<CandidateNote> candidates;
  std::vector<std::pair<std::string, FactValue>> facts_used;
  std::string segment;
  double churn_probability = 0;
  double clv_minor = 0;
  double basket_minor = 0;
  std::optional<double> days_to_next_purchase;
  core::Json models = core::Json::object();
};

class ContactLedger;

class Decider {
 public:
  explicit Decider(uint64_t seed = 1);
  ~Decider();

  // Replaces the catalogue, the policy and the automation phases (new decisions see all at once).
  void Configure(std::vector<Offer> offers, ContactPolicy policy, AutomationSettings automation = FullAutomation());
  std::shared_ptr<const std::vector<Offer>> offers() const;
  std::shared_ptr<const ContactPolicy> policy() const;
  AutomationSettings automation() const;

  // The decision for one member under `strategy`. Members of the policy's holdout get no
  // marketing offer (service messages only) whatever the strategy.
  Decision Decide(const MemberView& member, const DecisionContext& context, Strategy strategy);

  // Gives back what a decision reserved (its record could not be stored).
  void Release(const Decision& decision);
  // Reloading the decision log at start: a past contact counts against the member's caps;
  // past commitments count against the budgets.
  void RestoreContact(const std::string& member, const std::string& offer, Channel channel, core::Timestamp at);
  void RestoreSpend(const std::string& offer, int64_t cost_minor);

  // What a person's substitute replaces: an offer a decision made, with its contact and cost.
  struct Replaced {
    std::string member;  // as the decision named the member
    std::string offer;
    Channel channel = Channel::kEmail;
    core::Timestamp at;  // when the decision was made
    int64_t cost_minor = 0;
    Strategy strategy = Strategy::kAi;  // the decision's: a control arm gets no marketing offer
    bool holdout = false;               // the decision's member was held out of marketing
  };
  // A person's choice in place of an offer a decision routed to review: `offer` for the member
  // on `channel`, checked as the decision checked its offers (active and valid at `at`,
  // eligibility rule, the decision's holdout and control arm, open ticket, the channel's
  // marketing consent, the caps as they stand at `at`, budgets) and reserved in place of
  // `replaced`, which first gives back its place under the caps and its budget (the
  // substitute's contact is kept at the decision's time, as a restart counts it). Its routing
  // is what the strategy's phase gives its risk class (the caller decides whether the person
  // may choose it); propensity 1. Fails (422) with the reason the offer cannot be made; then
  // nothing changed.
  [[nodiscard]] core::Result<DecidedOffer> Substitute(const MemberView& member, const std::string& offer, Channel channel,
                                                      core::Timestamp at, const Replaced& replaced);
  // Undoes a Substitute (made for `member`) whose record could not be stored.
  void UndoSubstitute(const std::string& member, const DecidedOffer& chosen, const Replaced& replaced);
  // Erasure: the member's recent contacts count under the pseudonym from now on.
  void RenameMember(const std::string& from, const std::string& to);

  BetaArms& arms() { return arms_; }
  // Budget committed so far: per offer and for the whole program.
  core::Json BudgetReport() const;

 private:
  struct Snapshot {
    std::shared_ptr<const std::vector<Offer>> offers;
    std::shared_ptr<const ContactPolicy> policy;
    AutomationSettings automation;
  };
  Snapshot Current() const;

  mutable std::mutex config_mutex_;
  Snapshot config_;
  BetaArms arms_;
  std::unique_ptr<ContactLedger> contacts_;
  const uint64_t seed_;
  std::atomic<uint64_t> draws_{0};
};

// {"segment", "churn_probability", "clv_minor", "basket_minor", "days_to_next_purchase",
//  "facts": {name: value}, "candidates": [{"offer", "outcome", scores...}] (those scored),
//  "excluded": {reason: [offer, ...]} (the others), "models"}
core::Json ExplanationJson(const Decision& decision);
// The decision with its explanation.
core::Json ToJson(const Decision& decision);
core::Json ToJson(const DecidedOffer& offer);

}  // namespace loyalty::decision
