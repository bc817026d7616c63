#pragma once
// Proof on the simulator: the same simulated program run under three targeting policies at
// the same budget, each against one holdout group, with what each earned beyond the holdout.
//
// The world (known ground truth): members of four hidden kinds (deal seekers, points
// collectors, service-sensitive, indifferent) who buy at their own rate and basket, lapse at
// their own hazard, and answer each kind of offer at the rate their kind answers it. A
// response brings a purchase and lowers the member's lapse hazard for 90 days (a lapsed
// member may come back). Policies see only what a program sees: recency, frequency, spend,
// app logins, cart abandons, open tickets and consents.
//
//   ai      the decision engine's AI strategy: Thompson sampling per offer and segment,
//           learning from every response, expected value from the member's value and risk
//   rfm     the static RFM campaign: a win-back discount for lapsing members, bonus points for
//           the best, service recovery on a ticket; most valuable members first
//   random  a random eligible offer to members in random order
//
// Members are split at random into four equal groups (ai, rfm, random, holdout). After a
// warm-up with no offers, each policy decides weekly for its group within a weekly budget.
// Incremental revenue is each group's net revenue per member (purchases less discounts, points
// and message costs) less the holdout's, CUPED-adjusted with the warm-up revenue; retention
// is the share not lapsed at the end. Intervals are 95% (Welch; two-proportion).

#include <cstdint>
#include <string>
#include <vector>

#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"

namespace loyalty::sim {

struct PolicyEvaluationConfig {
  int members = 40000;    // split evenly over ai, rfm, random and the holdout
  int days = 182;         // the period under the policies
  int warmup_days = 182;  // history before it, with no offers
  uint64_t seed = 42;
  int64_t weekly_budget_minor_per_member = 40;  // each policy's weekly budget per member of its group
};

struct Interval {
  double mean = 0;
  double ci_low = 0;
  double ci_high = 0;
};

struct PolicyOutcome {
  std::string name;
  int64_t members = 0;
  Interval incremental_revenue;  // per member, currency units, against the holdout
  Interval retention_lift;       // share not lapsed at the end, less the holdout's
  double revenue_per_member = 0; // net, currency units, before adjustment
  double retention = 0;
  double spend_per_member = 0;   // offer costs, currency units
  int64_t offers = 0;
  int64_t responses = 0;
};

struct PolicyEvaluation {
  PolicyEvaluationConfig config;
  std::vector<PolicyOutcome> policies;  // ai, rfm, random
  double holdout_revenue_per_member = 0;
  double holdout_retention = 0;
  Interval ai_vs_rfm_revenue;  // per member: ai less rfm
  Interval ai_vs_random_revenue;
  Interval ai_vs_rfm_retention;
  Interval ai_vs_random_retention;
};

[[nodiscard]] core::Result<PolicyEvaluation> EvaluatePolicies(const PolicyEvaluationConfig& config);

// {"policies": {"ai": {"incremental_revenue": {"mean", "ci_low", "ci_high"}, "retention_lift":
// {...}, ...}, "rfm": {...}, "random": {...}}, "ai_vs_rfm": {...}, "ai_vs_random": {...}, ...}
core::Json ToJson(const PolicyEvaluation& evaluation);

}  // namespace loyalty::sim
