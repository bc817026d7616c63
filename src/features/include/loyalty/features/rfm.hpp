#pragma once
// RFM: recency, frequency and monetary value scored 1-5 by quintile among the members who
// have bought, and the named segment the scores place a member in.

#include <array>
#include <optional>
#include <span>
#include <string_view>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/features/member_state.hpp"

namespace loyalty::features {

// The 20th, 40th, 60th and 80th percentiles of each measure over a population.
struct RfmBreakpoints {
  std::array<double, 4> recency{};    // days since last purchase (lower is better)
  std::array<double, 4> frequency{};  // lifetime purchases
  std::array<double, 4> monetary{};   // lifetime spend
  int64_t population = 0;             // members with at least one purchase
  core::Timestamp as_of;
};

struct RfmScore {
  int recency = 0;    // 1 (long ago) .. 5 (most recent fifth)
  int frequency = 0;  // 1 .. 5
  int monetary = 0;   // 1 .. 5
  std::string_view segment;
};

// Percentiles of the purchasers among `population` (feature vectors computed as of one time).
RfmBreakpoints ComputeRfmBreakpoints(std::span<const FeatureVector* const> population, core::Timestamp as_of);

// nullopt for a member without purchases or an empty population.
std::optional<RfmScore> ScoreRfm(const FeatureVector& features, const RfmBreakpoints& breakpoints);

// Champions, Loyal, Potential, New, At Risk, Can't Lose, Hibernating, Lost — from recency and
// the mean of frequency and monetary scores.
std::string_view RfmSegment(int recency, int frequency, int monetary);

core::Json ToJson(const RfmScore& score);
core::Json ToJson(const RfmBreakpoints& breakpoints);

}  // namespace loyalty::features
