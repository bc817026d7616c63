#pragma once
// Off-policy evaluation: what a new policy would have earned, estimated from the decisions an
// older policy logged (with the propensity of each choice). Pure functions.
//
//   IPS:   mean of w * r, with w = target(a|x) / logged propensity(a|x)
//   SNIPS: sum(w * r) / sum(w)  (self-normalised: less variance, slightly biased)
//   DR:    mean of [sum_a target(a|x) q(x,a)] + w * (r - q(x,a)), with q a reward model
//          (unbiased when either the propensities or the reward model are right)
//
// Each comes with a 95% interval: by default a normal approximation from the per-round terms
// (the delta method for SNIPS); with `bootstrap_resamples` > 0 the percentile bootstrap, which
// follows the right skew of rare rewards with large weights (the usual case with clicks).

#include <cstdint>
#include <span>

#include "loyalty/core/json.hpp"

namespace loyalty::decision {

struct LoggedRound {
  double reward = 0;
  double propensity = 1;         // the logging policy's probability of the logged action
  double target_probability = 0; // the evaluated policy's probability of the logged action
  double predicted_reward = 0;   // q(x, logged action), for DR
  double target_value = 0;       // sum over actions of target(a|x) * q(x, a), for DR
};

struct Estimate {
  double value = 0;
  double ci_low = 0;
  double ci_high = 0;
  double standard_error = 0;
  double effective_sample_size = 0;  // (sum w)^2 / sum w^2
};

struct IntervalOptions {
  int bootstrap_resamples = 0;  // 0: normal approximation
  uint64_t seed = 1;
};

// REQUIRES: every propensity > 0. Empty input gives a zero estimate.
Estimate InversePropensity(std::span<const LoggedRound> rounds, const IntervalOptions& options = {});
Estimate SelfNormalisedInversePropensity(std::span<const LoggedRound> rounds, const IntervalOptions& options = {});
Estimate DoublyRobust(std::span<const LoggedRound> rounds, const IntervalOptions& options = {});

core::Json ToJson(const Estimate& estimate);

}  // namespace loyalty::decision
