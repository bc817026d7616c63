#pragma once
// Predictions for members: training the churn and CLV models on the program's own history
// (point-in-time features, labels after the cutoff), registering them, and scoring members
// with the champion models — each score with its interval or explanation and the model
// version that produced it. A challenger, when one is registered, is scored beside the
// champion (shadow scoring) so the two can be compared before a promotion.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/core/money.hpp"
#include "loyalty/engine/members.hpp"
#include "loyalty/models/breakage.hpp"
#include "loyalty/models/churn.hpp"
#include "loyalty/models/clv.hpp"
#include "loyalty/models/recommender.hpp"
#include "loyalty/models/registry.hpp"
#include "loyalty/models/segments.hpp"

namespace loyalty::engine {

struct TrainOptions {
  std::string creator = "cli";
  int churn_horizon_days = 60;  // churned: no purchase within this many days after the cutoff
  int clv_holdout_days = 91;    // the CLV report compares predictions with this last stretch
  double test_share = 0.2;      // members kept out of churn training for the holdout report
  int segments = 12;            // micro-segments (k of k-means)
  int recs_holdout_days = 30;   // recommendations are checked on purchases in this last stretch
  int breakage_draws = 200;     // simulated futures per member in the breakage forecast
  uint64_t seed = 1;
  models::ClvOptions clv;
  std::function<void(std::string_view stage)> progress;
  // Fairness: members' groups of the protected attribute (by member id). When given, the churn
  // report shows the error rates per group on the holdout, for the new model and the champion;
  // with `reweigh`, training rows are reweighed so that churn is independent of the group
  // (Kamiran & Calders). The attribute is never a feature unless a manager allowed it
  // (`group_as_input`): then churn gets one indicator column per group, "protected:<group>".
  std::map<std::string, std::string> groups;
  bool reweigh = false;
  bool group_as_input = false;
  double fairness_threshold = 0.5;  // flagged at risk from this churn probability
  std::string fairness_reference;   // the group the others are compared with
};

struct TrainResult {
  models::ModelVersion version;
  core::Json report;
};

// Churn training rows at a cutoff: features as of the cutoff, labels from what came after.
struct ChurnTrainingSet {
  core::Timestamp cutoff;
  int horizon_days = 0;
  models::Dataset data;
};

class Predictions {
 public:
  // Everything passed must outlive this object.
  Predictions(Members& members, features::FeatureStore& features, events::EventLog& log,
              const identity::IdentityGraph& identity, ledger::Ledger& ledger, models::ModelRegistry& registry,
              const core::Currency& currency, const core::Clock& clock)
      : members_(members),
        features_(features),
        log_(log),
        identity_(identity),
        ledger_(ledger),
        registry_(registry),
        currency_(currency),
        clock_(clock) {}

  // Every member with a purchase before `cutoff` (rounded down to midnight UTC), labelled 1
  // when they made no purchase in the `horizon_days` after it. Only events before the cutoff
  // reach the features.
  [[nodiscard]] core::Result<ChurnTrainingSet> BuildChurnTrainingSet(core::Timestamp cutoff, int horizon_days);

  // The champion churn model on the members it held out when it was trained (features at its
  // cutoff, what happened in its horizon): scores beside labels, by member. Remembered per
  // champion version. 404 without a champion.
  struct ScoredOutcomes {
    std::string model;
    core::Timestamp cutoff;
    std::vector<std::string> members;
    std::vector<double> scores;
    std::vector<int> labels;
  };
  [[nodiscard]] core::Result<std::shared_ptr<const ScoredOutcomes>> ChampionChurnOutcomes();

  // Trains on the history up to now minus the horizon, reports on held-out members beside the
  // RFM recency rule, and registers the model.
  [[nodiscard]] core::Result<TrainResult> TrainChurn(const TrainOptions& options);
  // What the sentiment features (sentiment_last, sentiment_mean_90d, sentiment_trend) add to
  // the churn model: cross-validated ROC AUC on the churn training set with and without them.
  [[nodiscard]] core::Result<models::FeatureAblation> SentimentLift(const TrainOptions& options, int folds);
  // Fits BG/NBD + Gamma-Gamma on every member's purchase history, reports a holdout check of
  // the last `clv_holdout_days`, and registers the model.
  [[nodiscard]] core::Result<TrainResult> TrainClv(const TrainOptions& options);

  // Micro-segments of every customer's live behaviour (mini-batch k-means), described.
  [[nodiscard]] core::Result<TrainResult> TrainSegments(const TrainOptions& options);

  // Implicit-feedback ALS over purchases (weight 1) and product views (0.25); checked on a
  // time split against popularity, then trained on everything.
  [[nodiscard]] core::Result<TrainResult> TrainRecommendations(const TrainOptions& options);
  // The member's top `n` items (bought ones left out); popularity in their RFM segment when
  // the model knows none of their items.
  [[nodiscard]] core::Result<core::Json> Recommend(const core::MemberId& member, size_t n);
  [[nodiscard]] core::Result<core::Json> SimilarItems(const std::string& sku, size_t n);

  // Points breakage: back-tested at a cutoff a year ago (or halfway through a shorter
  // history) against what members then did, beside the run-rate rule; then fitted on all of
  // the ledger's history and registered with its forecast.
  [[nodiscard]] core::Result<TrainResult> TrainBreakage(const TrainOptions& options);
  // The champion breakage model's forecast from the ledger as it stands: share of today's
  // points never to be redeemed and liability per month, each with a 90% band.
  [[nodiscard]] core::Result<core::Json> Breakage(int horizon_months, int draws);

  // Predictions held to account. Keeps what the champion and challenger churn and CLV models
  // predict for every customer as of `at` (now when not given; an earlier time uses the
  // features as they were then): churn probability over the model's horizon, purchases
  // expected in the next `clv_horizon_days`.
  [[nodiscard]] core::Result<core::Json> KeepPredictions(std::optional<core::Timestamp> at, int clv_horizon_days = 91);
  // How each kept snapshot of a kind ("churn" or "clv") compared with what happened, for the
  // snapshots whose horizon has passed, and per model version.
  [[nodiscard]] core::Result<core::Json> Accuracy(const std::string& kind);

  // What decisions weigh, without explanations (fast): the champions' churn probability, CLV
  // (in minor units), expected purchases and median days to the next purchase. Each is
  // nullopt when no champion is trained or the member has not bought yet.
  struct DecisionScores {
    std::optional<double> churn_probability;
    std::optional<double> clv_minor;
    std::optional<double> expected_purchases;
    std::optional<double> days_to_next_purchase;
    core::Json models = core::Json::object();  // {"churn": "churn@3", "clv": "clv@2"}
  };
  [[nodiscard]] core::Result<DecisionScores> ScoresForDecision(const FeatureReport& report);

  // Churn risk with its top contributions, CLV and next purchase with intervals, RFM segment.
  [[nodiscard]] core::Result<core::Json> Scores(const core::MemberId& member);
  // The churn prediction again with some features overridden ({"recency_days": 5, ...}).
  [[nodiscard]] core::Result<core::Json> WhatIf(const core::MemberId& member, const core::Json& overrides);

  // Scores every member with live features: the distributions managers watch.
  [[nodiscard]] core::Result<core::Json> Distributions();
  // PSI of each feature and of the churn score between the champion's training window and
  // the customers now.
  [[nodiscard]] core::Result<core::Json> Drift();
  // The champion micro-segments: sizes and descriptions.
  [[nodiscard]] core::Result<core::Json> MicroSegments();

  // Members' groups of the protected attribute, for churn models trained with it as an input
  // (Fairness registers it; set before serving). Unset: no member has a group.
  using GroupLookup = std::function<std::optional<std::string>(const core::MemberId&)>;
  void SetGroupLookup(GroupLookup lookup) { group_lookup_ = std::move(lookup); }

 private:
  std::mutex outcomes_mutex_;
  std::shared_ptr<const ScoredOutcomes> outcomes_;  // the last ChampionChurnOutcomes answer
  struct LoadedChurn {
    std::string name;
    models::ChurnModel model;
  };
  struct LoadedClv {
    std::string name;
    models::ClvModel model;
  };
  struct LoadedSegments {
    std::string name;
    models::SegmentModel model;
  };
  struct Recommender {
    models::ImplicitAls als;
    std::vector<std::string> skus;
    std::map<std::string, uint32_t> index;
    std::vector<std::string> popular;                           // overall
    std::map<std::string, std::vector<std::string>> by_segment;  // RFM segment -> popular skus
  };
  struct LoadedRecommender {
    std::string name;
    Recommender model;
  };
  [[nodiscard]] core::Result<std::shared_ptr<const LoadedChurn>> Churn(const std::string& alias);
  [[nodiscard]] core::Result<std::shared_ptr<const LoadedClv>> Clv(const std::string& alias);
  [[nodiscard]] core::Result<std::shared_ptr<const LoadedSegments>> Segments(const std::string& alias);
  [[nodiscard]] core::Result<std::shared_ptr<const LoadedRecommender>> Recommendations(const std::string& alias);
  // Live features of every member who has bought something (and whom `consent` allows, when
  // given: for training), in member order.
  // A churn model's input for these rows: `base` (the feature columns) as it is, or, for a
  // model trained with the protected attribute as an input, a copy in `storage` with the
  // model's group indicators added from the group lookup.
  [[nodiscard]] const models::Dataset& ChurnInput(const models::ChurnModel& model, const models::Dataset& base,
                                                  std::span<const core::MemberId> members,
                                                  models::Dataset& storage) const;
  GroupLookup group_lookup_;
  struct CustomerRows {
    std::vector<core::MemberId> members;
    models::Dataset data;
  };
  [[nodiscard]] core::Result<CustomerRows> CustomerFeatures(const Members::TrainingConsent* consent = nullptr);
  [[nodiscard]] core::Result<features::FeatureVector> LiveFeatures(const core::MemberId& member,
                                                                   std::optional<features::MemberState>* state);
  // Stores a trained model and completes its report with the version it got.
  [[nodiscard]] core::Result<TrainResult> Register(const models::NewModel& entry, core::Json report);
  // Each customer's purchase days as of `at`: read from the live state when `at` falls today
  // or later (today's purchases then count too), else replayed from the log.
  [[nodiscard]] core::Result<std::map<core::MemberId, features::MemberState::PurchaseDays>> PurchaseDaysAt(
      core::Timestamp at);
  // Every member's points movements from the ledger, in days since the epoch (those `consent`
  // allows, when given: for training).
  [[nodiscard]] core::Result<std::vector<models::MemberPoints>> PointsMoves(
      const Members::TrainingConsent* consent = nullptr);
  models::ExpiryRule ProgramExpiry() const;
  models::CustomerHistory HistoryAt(const core::MemberId& member, const features::MemberState::PurchaseDays& days,
                                    core::Timestamp at) const;

  Members& members_;
  features::FeatureStore& features_;
  events::EventLog& log_;
  const identity::IdentityGraph& identity_;
  ledger::Ledger& ledger_;
  models::ModelRegistry& registry_;
  const core::Currency currency_;
  const core::Clock& clock_;
  std::mutex cache_mutex_;  // loaded models by name ("churn@3"): artifacts parse once
  std::map<std::string, std::shared_ptr<const LoadedChurn>> churn_cache_;
  std::map<std::string, std::shared_ptr<const LoadedClv>> clv_cache_;
  std::map<std::string, std::shared_ptr<const LoadedSegments>> segments_cache_;
  std::map<std::string, std::shared_ptr<const LoadedRecommender>> recs_cache_;
};

// One row of model input from a member's features, in FeatureName order.
models::Dataset FeatureRows(std::span<const features::FeatureVector* const> rows);

}  // namespace loyalty::engine
