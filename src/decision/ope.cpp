#include "loyalty/decision/ope.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace loyalty::decision {

namespace {

constexpr double kZ95 = 1.959963984540054;

double Weight(const LoggedRound& r) { return r.target_probability / r.propensity; }

double EffectiveSampleSize(std::span<const LoggedRound> rounds) {
  double sum = 0, sum_sq = 0;
  for (const auto& r : rounds) {
    sum += Weight(r);
    sum_sq += Weight(r) * Weight(r);
  }
  return sum_sq > 0 ? sum * sum / sum_sq : 0;
}

// The percentile bootstrap of a statistic of (numerator, denominator) sums over resampled
// rounds: the mean is numerator/n (denominators 1), SNIPS is sum(w r)/sum(w).
void BootstrapInterval(const std::vector<double>& numerators, const std::vector<double>& denominators,
                       const IntervalOptions& options, Estimate& e) {
  const size_t n = numerators.size();
  std::mt19937_64 rng(options.seed);
  std::uniform_int_distribution<size_t> pick(0, n - 1);
  std::vector<double> stats;
  stats.reserve(static_cast<size_t>(options.bootstrap_resamples));
  for (int b = 0; b < options.bootstrap_resamples; ++b) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; ++i) {
      const size_t j = pick(rng);
      num += numerators[j];
      den += denominators[j];
    }
    stats.push_back(den > 0 ? num / den : 0);
  }
  std::sort(stats.begin(), stats.end());
  auto quantile = [&](double q) {
    const size_t index = std::min(stats.size() - 1, static_cast<size_t>(q * static_cast<double>(stats.size())));
    return stats[index];
  };
  e.ci_low = quantile(0.025);
  e.ci_high = quantile(0.975);
}

// The mean of per-round terms with its interval.
Estimate MeanOf(const std::vector<double>& terms, const IntervalOptions& options) {
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
  if (options.bootstrap_resamples > 0) BootstrapInterval(terms, std::vector<double>(terms.size(), 1.0), options, e);
  return e;
}

}  // namespace

Estimate InversePropensity(std::span<const LoggedRound> rounds, const IntervalOptions& options) {
  std::vector<double> terms;
  terms.reserve(rounds.size());
  for (const auto& r : rounds) terms.push_back(Weight(r) * r.reward);
  Estimate e = MeanOf(terms, options);
  e.effective_sample_size = EffectiveSampleSize(rounds);
  return e;
}

Estimate SelfNormalisedInversePropensity(std::span<const LoggedRound> rounds, const IntervalOptions& options) {
  Estimate e;
  if (rounds.empty()) return e;
  std::vector<double> weighted, weights;
  double sum_w = 0, sum_wr = 0;
  for (const auto& r : rounds) {
    weights.push_back(Weight(r));
    weighted.push_back(Weight(r) * r.reward);
    sum_w += weights.back();
    sum_wr += weighted.back();
  }
  if (sum_w <= 0) return e;
  e.value = sum_wr / sum_w;
  // Delta method: the ratio's variance from the terms w * (r - value), scaled by mean w.
  const double n = static_cast<double>(rounds.size());
  const double mean_w = sum_w / n;
  double ss = 0;
  for (const auto& r : rounds) {
    const double t = Weight(r) * (r.reward - e.value);
    ss += t * t;
  }
  e.standard_error = rounds.size() > 1 ? std::sqrt(ss / (n - 1) / n) / mean_w : 0;
  e.ci_low = e.value - kZ95 * e.standard_error;
  e.ci_high = e.value + kZ95 * e.standard_error;
  if (options.bootstrap_resamples > 0) BootstrapInterval(weighted, weights, options, e);
  e.effective_sample_size = EffectiveSampleSize(rounds);
  return e;
}

Estimate DoublyRobust(std::span<const LoggedRound> rounds, const IntervalOptions& options) {
  std::vector<double> terms;
  terms.reserve(rounds.size());
  for (const auto& r : rounds) terms.push_back(r.target_value + Weight(r) * (r.reward - r.predicted_reward));
  Estimate e = MeanOf(terms, options);
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
