// RFM quintiles over a population and the named segments they map to.

#include "loyalty/features/rfm.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "loyalty/features/feature_store.hpp"

namespace loyalty::features {
namespace {

FeatureVector Member(double recency, double frequency, double monetary) {
  FeatureVector f;
  f.values.fill(std::numeric_limits<double>::quiet_NaN());
  f[Feature::recency_days] = recency;
  f[Feature::frequency] = frequency;
  f[Feature::monetary] = monetary;
  return f;
}

TEST(Rfm, QuintilesSplitAPopulationIntoFifths) {
  std::vector<FeatureVector> population;
  for (int i = 1; i <= 100; ++i) population.push_back(Member(i, i, i * 10.0));
  population.push_back(Member(std::numeric_limits<double>::quiet_NaN(), 0, 0));  // never bought: not ranked
  std::vector<const FeatureVector*> pointers;
  for (const auto& f : population) pointers.push_back(&f);
  const auto breakpoints = ComputeRfmBreakpoints(pointers, core::Timestamp{});
  EXPECT_EQ(breakpoints.population, 100);
  EXPECT_EQ(breakpoints.frequency, (std::array<double, 4>{20, 40, 60, 80}));

  auto best = ScoreRfm(Member(1, 100, 1000), breakpoints).value();
  EXPECT_EQ(best.recency, 5);
  EXPECT_EQ(best.frequency, 5);
  EXPECT_EQ(best.monetary, 5);
  EXPECT_EQ(best.segment, "Champions");
  auto worst = ScoreRfm(Member(100, 1, 10), breakpoints).value();
  EXPECT_EQ(worst.recency, 1);
  EXPECT_EQ(worst.frequency, 1);
  EXPECT_EQ(worst.segment, "Lost");
  EXPECT_EQ(ScoreRfm(Member(20, 20, 200), breakpoints)->frequency, 1);  // at a breakpoint: the lower fifth
  EXPECT_EQ(ScoreRfm(Member(21, 21, 210), breakpoints)->frequency, 2);
  EXPECT_FALSE(ScoreRfm(population.back(), breakpoints));
}

TEST(Rfm, EverySegmentIsReachableAndEveryScoreHasOne) {
  std::set<std::string_view> seen;
  for (int r = 1; r <= 5; ++r) {
    for (int f = 1; f <= 5; ++f) {
      for (int m = 1; m <= 5; ++m) seen.insert(RfmSegment(r, f, m));
    }
  }
  EXPECT_EQ(seen, (std::set<std::string_view>{"Champions", "Loyal", "Potential", "New", "At Risk", "Can't Lose",
                                              "Hibernating", "Lost"}));
  EXPECT_EQ(RfmSegment(5, 1, 1), "New");
  EXPECT_EQ(RfmSegment(1, 5, 5), "Can't Lose");
  EXPECT_EQ(RfmSegment(2, 4, 3), "At Risk");
  EXPECT_EQ(RfmSegment(4, 2, 2), "Potential");
  EXPECT_EQ(RfmSegment(3, 4, 4), "Loyal");
  EXPECT_EQ(RfmSegment(2, 1, 2), "Hibernating");
}

TEST(Rfm, AnEmptyPopulationScoresNobody) {
  const auto breakpoints = ComputeRfmBreakpoints({}, core::Timestamp{});
  EXPECT_FALSE(ScoreRfm(Member(1, 1, 1), breakpoints));
}

}  // namespace
}  // namespace loyalty::features

namespace loyalty::features {
namespace {

TEST(RfmCache, ABulkLoadRefreshesTheBreakpointsAtOnce) {
  FeatureStore store(*core::Currency::FromCode("EUR"));
  const auto at = *core::ParseTimestamp("2026-06-01T00:00:00Z");
  auto purchase = [&](const std::string& member, int n) {
    events::Event e{member + "-" + std::to_string(n), events::EventType::kPurchase, at - std::chrono::hours(24 * n),
                    *core::MemberId::Parse(member), "pos",
                    core::Json{{"order", "o"}, {"lines", {{{"sku", "s"}, {"quantity", 1}, {"unit_price", "5.00"}}}}}, ""};
    store.Apply(e.member, e);
  };
  purchase("first", 1);
  EXPECT_EQ(store.Breakpoints(at, std::chrono::minutes(1)).population, 1);
  for (int i = 0; i < 200; ++i) purchase("m" + std::to_string(i), i % 30 + 1);
  // Same instant, well inside the refresh interval: the membership grew 200-fold, so they are new.
  EXPECT_EQ(store.Breakpoints(at, std::chrono::minutes(1)).population, 201);
  purchase("m0", 3);  // a new event, not a new member: the cached breakpoints stand
  EXPECT_EQ(store.Breakpoints(at, std::chrono::minutes(1)).population, 201);
}

}  // namespace
}  // namespace loyalty::features
