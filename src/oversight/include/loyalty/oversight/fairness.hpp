#pragma once
// Fairness across the groups of a protected attribute, each figure with a 95% interval and
// compared with a reference group:
//   demographic parity  how often each group is made an offer and how much value it is
//                       granted (difference and ratio to the reference group);
//   equal opportunity   the churn model's true-positive rate per group (difference);
//   equalized odds      the larger of the true- and false-positive rate differences.
// And the two mitigations: reweighing training rows (Kamiran & Calders) so that group and label
// are independent, and per-group decision thresholds that give every group the reference
// group's true-positive rate (Hardt et al.'s equal-opportunity post-processing).
//
// Pure functions over counts and scores: the engine gathers them from the decision log, the
// protected attribute and the churn model.

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/core/json.hpp"
#include "loyalty/decision/experiments.hpp"

namespace loyalty::oversight {

// x of n, with the Wilson score interval.
struct Rate {
  int64_t x = 0;
  int64_t n = 0;
  double value = 0;
  double ci_low = 0;
  double ci_high = 0;
};
Rate WilsonRate(int64_t x, int64_t n);

// A ratio of two rates with the Katz log interval (group ÷ reference; with a zero count, half a
// member is added to every count for the interval).
struct RatioEstimate {
  double value = 0;
  double ci_low = 0;
  double ci_high = 0;
};
RatioEstimate RateRatio(const Rate& group, const Rate& reference);

// What each group's members were given over a window.
struct GroupOutcomes {
  std::string group;
  std::vector<double> value_granted;  // per member: the cost of the offers made (0 without any)
  int64_t members_offered = 0;        // members with at least one offer
};

struct ParityRow {
  std::string group;
  int64_t members = 0;
  Rate offered;                               // share of the group's members made an offer
  decision::Comparison offered_difference;    // against the reference (treatment = this group), Newcombe interval
  RatioEstimate offered_ratio;
  double value_per_member = 0;
  decision::Comparison value_difference;      // Welch, against the reference
  double value_ratio = 0;                     // value per member ÷ the reference's (0 when it has none)
};
// One row per group, the reference first. Groups without members are left out.
std::vector<ParityRow> DemographicParity(std::span<const GroupOutcomes> groups, std::string_view reference);

// A group's churn predictions with what happened (1: churned).
struct GroupPredictions {
  std::string group;
  std::vector<double> scores;
  std::vector<int> labels;
};

struct OddsRow {
  std::string group;
  double threshold = 0.5;
  Rate flagged;         // of the group, flagged at risk (score >= threshold)
  Rate true_positive;   // of those who churned, flagged
  Rate false_positive;  // of those who stayed, flagged
  decision::Comparison flagged_difference;  // parity of the flags, against the reference
  decision::Comparison tpr_difference;  // equal opportunity difference, against the reference
  decision::Comparison fpr_difference;
  double equalized_odds_difference = 0;  // max(|tpr difference|, |fpr difference|)
};
// Error rates per group at `threshold`, or at a group's own threshold when `per_group` names one.
std::vector<OddsRow> ErrorRates(std::span<const GroupPredictions> groups, std::string_view reference, double threshold,
                                const std::map<std::string, double>& per_group = {});

// Kamiran & Calders: the weight of a row of group g and label y is P(g) P(y) / P(g, y), so the
// weighted data shows no dependence of the label on the group. Same order as the inputs.
std::vector<double> ReweighingWeights(std::span<const std::string> groups, std::span<const int> labels);

// Per-group thresholds at which each group's true-positive rate reaches the reference group's
// at `threshold` (the highest threshold that does, so no more members are flagged than needed;
// the reference, and a group without positives, keep `threshold`).
std::map<std::string, double> EqualOpportunityThresholds(std::span<const GroupPredictions> groups,
                                                         std::string_view reference, double threshold);

core::Json ToJson(const Rate& rate);
core::Json ToJson(const RatioEstimate& ratio);
core::Json ToJson(const ParityRow& row);
core::Json ToJson(const OddsRow& row);

}  // namespace loyalty::oversight
