#pragma once
// Fairness for one protected attribute (e.g. an age band): the members' values, kept in the PII
// vault and never a model input nor a fact that rules can read; how the program treats each
// group (offers made and value granted, the churn model's error rates), each figure with a 95%
// interval against a reference group; alerts where a difference passes the manager's
// threshold and its interval excludes no difference, which send the decisions of the alerted
// groups' members to a person; and the mitigations: reweighing churn training and per-group
// churn thresholds (see oversight/fairness.hpp for the arithmetic).

#include <map>
#include <memory>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/engine/decisions.hpp"
#include "loyalty/engine/predictions.hpp"
#include "loyalty/privacy/vault.hpp"
#include "loyalty/store/database.hpp"

namespace loyalty::engine {

struct FairnessSettings {
  std::string attribute;        // e.g. "age_band"; empty: no protected attribute configured
  std::string reference;        // the group the others are compared with
  int window_days = 90;         // offers made in this window count
  double churn_threshold = 0.5; // flagged at risk from this churn probability
  double max_parity_difference = 0.1;  // share of members offered, against the reference
  double min_parity_ratio = 0.8;       // the four-fifths rule
  double max_equal_opportunity_difference = 0.1;
  double max_equalized_odds_difference = 0.1;
  bool route_alerts_to_review = true;
  bool reweigh_training = false;                   // mitigation: churn training reweighs by group
  // The attribute is never a model input unless a manager sets this: churn training then gets
  // one indicator per group (explanations leave them out). Off by default.
  bool attribute_as_model_input = false;
  std::map<std::string, double> group_thresholds;  // mitigation: each group's churn threshold ...
  std::string thresholds_model;                    // ... for this churn model (another: not applied)
};
[[nodiscard]] core::Result<FairnessSettings> ParseFairnessSettings(const core::Json& object);
core::Json ToJson(const FairnessSettings& settings);

class Fairness {
 public:
  // Everything passed must outlive this object. Registers its lookup with `decisions`.
  [[nodiscard]] static core::Result<std::unique_ptr<Fairness>> Open(store::Database& db, privacy::Vault& vault,
                                                                    Decisions& decisions, Predictions& predictions,
                                                                    const core::Clock& clock);

  FairnessSettings settings() const;
  [[nodiscard]] core::Result<core::Json> Settings();
  // Replaces the settings (errors name the field); the per-group thresholds stay unless the
  // body names them. A new attribute starts with no values.
  [[nodiscard]] core::Result<core::Json> PutSettings(const core::Json& body, const std::string& actor);

  // Members' values of the configured attribute (1 to 100 characters); 422 when none is
  // configured. Replaces what a member had.
  [[nodiscard]] core::Status SetAttributes(std::span<const std::pair<core::MemberId, std::string>> values);
  // The member's value of the configured attribute (nullopt: none configured or none kept).
  std::optional<std::string> ValueOf(const core::MemberId& member) const;
  // Erasure: forgets the values of these profiles held in memory (the vault's entries go with
  // the member's other entries).
  void Forget(std::span<const core::MemberId> profiles);
  // Every member's value, by member id.
  [[nodiscard]] core::Result<std::map<std::string, std::string>> Groups();
  // Churn training options with the groups (error rates per group in the report) and, when
  // the settings ask for it, reweighing. Unchanged without a configured attribute.
  [[nodiscard]] core::Result<TrainOptions> ForTraining(TrainOptions options);

  // Parity of offers and value over the window and the champion's error rates per group, with
  // the alerts they raise. With `keep_alerts` the alerts become the ones decisions see.
  [[nodiscard]] core::Result<core::Json> Report(bool keep_alerts);
  // The per-group churn thresholds that give each group the reference's true-positive rate on
  // the champion's latest known outcomes; kept as the mitigation in force.
  [[nodiscard]] core::Result<core::Json> SetGroupThresholds(const std::string& actor);
  // What the two mitigations change, each beside the champion as it is: a churn model trained
  // with reweighing, compared on the same held-out members (registered as the challenger, for
  // a person to promote), and the per-group thresholds on the champion's known outcomes.
  [[nodiscard]] core::Result<core::Json> Mitigations(const TrainOptions& options);

 private:
  Fairness(store::Database& db, privacy::Vault& vault, Decisions& decisions, Predictions& predictions,
           const core::Clock& clock)
      : db_(db), vault_(vault), decisions_(decisions), predictions_(predictions), clock_(clock) {}
  [[nodiscard]] core::Status Load();
  [[nodiscard]] core::Status StoreSettings(const FairnessSettings& settings, const std::string& actor);
  Decisions::MemberFairness ForMember(const std::string& member) const;

  store::Database& db_;
  privacy::Vault& vault_;
  Decisions& decisions_;
  Predictions& predictions_;
  const core::Clock& clock_;

  mutable std::shared_mutex mutex_;  // what decisions read: settings, groups, alerted groups
  FairnessSettings settings_;
  std::unordered_map<std::string, std::string> groups_;
  std::set<std::string> alerted_;
};

}  // namespace loyalty::engine
