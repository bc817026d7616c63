#pragma once
// Experiments and flags: who gets which strategy, decided by a salted hash of the member id so
// the same member always lands in the same group without storing assignments; and the tests
// that say whether a difference between groups is real.
//
// A namespace spreads its members over 10,000 buckets (hash of namespace and member);
// experiments in one namespace hold disjoint bucket ranges, so they never share a member.
// Inside its range an experiment splits members over its arms by weight with a second hash
// salted by the experiment id. Holdout groups and flags are bucket ranges of their own salt.
// Pure functions and value types; thread-safe.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"

namespace loyalty::decision {

inline constexpr uint32_t kBuckets = 10000;

// The member's bucket in [0, kBuckets) under `salt` (BLAKE2b of salt, a separator, member).
uint32_t Bucket(std::string_view salt, std::string_view member);
// True for `percent` percent of members under `salt` (holdout groups, flags).
bool InShare(std::string_view salt, std::string_view member, double percent);

// Strategies an arm or flag can switch on: the AI policy (models and bandits), the static
// rule campaign (the highest-priority eligible offer), random choice among eligible offers,
// or no offer at all (control).
enum class Strategy { kAi, kRules, kRandom, kControl };
inline constexpr size_t kStrategyCount = 4;
std::string_view StrategyName(Strategy strategy);
[[nodiscard]] core::Result<Strategy> ParseStrategy(std::string_view name);

struct ExperimentArm {
  std::string name;
  Strategy strategy = Strategy::kAi;
  int weight = 1;
};

struct Experiment {
  std::string id;
  std::string name;
  std::string ns = "default";  // mutually exclusive with the other experiments of the namespace
  double traffic_percent = 100;  // share of the namespace's members it takes
  uint32_t bucket_start = 0;   // [start, end) of the namespace's buckets
  uint32_t bucket_end = 0;
  std::vector<ExperimentArm> arms;  // the first is the control the others are compared with
  bool running = true;
};

// Parses POST /v1/experiments: {"id", "name", "namespace", "traffic_percent", "arms": [{"name",
// "strategy", "weight"}]}. The bucket range is placed by PlaceExperiment.
[[nodiscard]] core::Result<Experiment> ParseExperiment(const core::Json& object);
// Places `experiment` in the first free range of its traffic share of its namespace's buckets,
// beside the running experiments `others`; fails (409) when the namespace has no room.
[[nodiscard]] core::Result<Experiment> PlaceExperiment(Experiment experiment, std::span<const Experiment> others);
// The arm the member is in, or nullopt when the member falls outside the experiment.
std::optional<size_t> AssignArm(const Experiment& experiment, std::string_view member);

core::Json ToJson(const Experiment& experiment);

// --- Tests --------------------------------------------------------------------------------

struct Comparison {
  double control = 0;      // rate or mean of the control
  double treatment = 0;
  double difference = 0;   // treatment - control
  double ci_low = 0;       // 95% interval of the difference
  double ci_high = 0;
  double p_value = 1;      // two-sided
};

// Response rates: x successes of n in each group (unpooled interval, pooled z test).
Comparison TwoProportionTest(int64_t control_x, int64_t control_n, int64_t treatment_x, int64_t treatment_n);
// Means with unequal variances (Welch-Satterthwaite degrees of freedom).
Comparison WelchTest(std::span<const double> control, std::span<const double> treatment);
// CUPED: the outcomes less theta * (covariate - its mean), theta = cov(y, x) / var(x) over all
// groups together: the same means, less variance when the pre-period covariate predicts y.
std::vector<double> CupedAdjust(std::span<const double> outcomes, std::span<const double> covariates);

core::Json ToJson(const Comparison& comparison);

}  // namespace loyalty::decision
