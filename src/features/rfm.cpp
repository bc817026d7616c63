#include "loyalty/features/rfm.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace loyalty::features {

namespace {

std::array<double, 4> Quintiles(std::vector<double>& values) {
  std::array<double, 4> out{};
  if (values.empty()) return out;
  std::sort(values.begin(), values.end());
  for (size_t q = 0; q < 4; ++q) {
    // Nearest-rank percentile: the smallest value with at least (q+1)/5 of the population at or below it.
    const size_t rank = static_cast<size_t>(std::ceil(static_cast<double>(values.size()) * (q + 1) / 5.0));
    out[q] = values[std::max<size_t>(rank, 1) - 1];
  }
  return out;
}

// 1 + the number of breakpoints strictly below the value: ties share the lower score.
int ScoreHigherIsBetter(double value, const std::array<double, 4>& breakpoints) {
  return 1 + static_cast<int>(std::count_if(breakpoints.begin(), breakpoints.end(), [&](double b) { return b < value; }));
}

}  // namespace

RfmBreakpoints ComputeRfmBreakpoints(std::span<const FeatureVector* const> population, core::Timestamp as_of) {
  std::vector<double> recency, frequency, monetary;
  for (const FeatureVector* f : population) {
    if ((*f)[Feature::frequency] < 1) continue;
    recency.push_back((*f)[Feature::recency_days]);
    frequency.push_back((*f)[Feature::frequency]);
    monetary.push_back((*f)[Feature::monetary]);
  }
  RfmBreakpoints out;
  out.population = static_cast<int64_t>(recency.size());
  out.as_of = as_of;
  out.recency = Quintiles(recency);
  out.frequency = Quintiles(frequency);
  out.monetary = Quintiles(monetary);
  return out;
}

std::optional<RfmScore> ScoreRfm(const FeatureVector& features, const RfmBreakpoints& breakpoints) {
  if (breakpoints.population == 0 || features[Feature::frequency] < 1) return std::nullopt;
  RfmScore score;
  // Recency: lower is better, so the most recent fifth scores 5.
  score.recency = 6 - ScoreHigherIsBetter(features[Feature::recency_days], breakpoints.recency);
  score.frequency = ScoreHigherIsBetter(features[Feature::frequency], breakpoints.frequency);
  score.monetary = ScoreHigherIsBetter(features[Feature::monetary], breakpoints.monetary);
  score.segment = RfmSegment(score.recency, score.frequency, score.monetary);
  return score;
}

std::string_view RfmSegment(int r, int f, int m) {
  const int fm = (f + m + 1) / 2;  // rounded half up
  if (r >= 4 && fm >= 4) return "Champions";
  if (r >= 3 && fm >= 3) return "Loyal";
  if (r >= 4 && fm == 2) return "Potential";
  if (r >= 4) return "New";
  if (r <= 2 && fm == 5) return "Can't Lose";
  if (r <= 2 && fm >= 3) return "At Risk";
  if (r == 1) return "Lost";
  return "Hibernating";  // r 2-3 with low frequency and spend
}

core::Json ToJson(const RfmScore& score) {
  return core::Json{{"recency", score.recency},
                    {"frequency", score.frequency},
                    {"monetary", score.monetary},
                    {"segment", score.segment}};
}

core::Json ToJson(const RfmBreakpoints& b) {
  return core::Json{{"population", b.population},
                    {"as_of", core::FormatTimestamp(b.as_of)},
                    {"recency_days", b.recency},
                    {"frequency", b.frequency},
                    {"monetary", b.monetary}};
}

}  // namespace loyalty::features
