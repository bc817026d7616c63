#include "loyalty/decision/ope.hpp"

#include <cmath>
#include <vector>

namespace loyalty::decision {

namespace {

constexpr double kZ95 = 1.959963984540054;

double EffectiveSampleSize(std::span<const LoggedRound> rounds) {
  double sum = 0, sum_sq = 0;
  for (const auto& r : rounds) {
    const double w = r.target_probability / r.propensity;
    sum += w;
    sum_sq += w * w;
  }
  return sum_sq > 0 ? sum * sum / sum_sq : 0;
}

// The mean of per-round terms with its normal interval.
Estimate MeanOf(const std::vector<double>& terms) {
  Estimate e;
  const double n = static_cast<double>(terms.size());
  if (terms.empty()) return e;
  double sum = 0;
  for (double t : terms) sum += t;
  e.value = sum / n;
  double ss = 0;
  for (double t : terms) ss += (t - e.value) * (t - e.value);
  e.standard_error = terms.size() > 1 ? std::sqrt(ss / (n - 1) / n) : 0;
  e.ci_low = e.value - kZ95 * e.standard_error;
  e.ci_high = e.value + kZ95 * e.standard_error;
  return e;
}

}  // namespace

Estimate InversePropensity(std::span<const LoggedRound> rounds) {
  std::vector<double> terms;
  terms.reserve(rounds.size());
  for (const auto& r : rounds) terms.push_back(r.target_probability / r.propensity * r.reward);
  Estimate e = MeanOf(terms);
  e.effective_sample_size = EffectiveSampleSize(rounds);
  return e;
}

Estimate SelfNormalisedInversePropensity(std::span<const LoggedRound> rounds) {
  Estimate e;
  if (rounds.empty()) return e;
  double sum_w = 0, sum_wr = 0;
  for (const auto& r : rounds) {
    const double w = r.target_probability / r.propensity;
    sum_w += w;
    sum_wr += w * r.reward;
  }
  if (sum_w <= 0) return e;
  e.value = sum_wr / sum_w;
  // Delta method: the ratio's variance from the terms w * (r - value), scaled by mean w.
  const double n = static_cast<double>(rounds.size());
  const double mean_w = sum_w / n;
  double ss = 0;
  for (const auto& r : rounds) {
    const double w = r.target_probability / r.propensity;
    const double t = w * (r.reward - e.value);
    ss += t * t;
  }
  e.standard_error = rounds.size() > 1 ? std::sqrt(ss / (n - 1) / n) / mean_w : 0;
  e.ci_low = e.value - kZ95 * e.standard_error;
  e.ci_high = e.value + kZ95 * e.standard_error;
  e.effective_sample_size = EffectiveSampleSize(rounds);
  return e;
}

Estimate DoublyRobust(std::span<const LoggedRound> rounds) {
  std::vector<double> terms;
  terms.reserve(rounds.size());
  for (const auto& r : rounds) {
    terms.push_back(r.target_value + r.target_probability / r.propensity * (r.reward - r.predicted_reward));
  }
  Estimate e = MeanOf(terms);
  e.effective_sample_size = EffectiveSampleSize(rounds);
  return e;
}

core::Json ToJson(const Estimate& e) {
  return {{"value", e.value},
          {"ci_low", e.ci_low},
          {"ci_high", e.ci_high},
          {"standard_error", e.standard_error},
          {"effective_sample_size", e.effective_sample_size}};
}

}  // namespace loyalty::decision
