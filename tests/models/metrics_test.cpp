#include "loyalty/models/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace loyalty::models {
namespace {

TEST(MetricsTest, RocAucCountsOrderedPairsAndHalfTies) {
  const std::vector<double> scores = {0.9, 0.8, 0.7, 0.6, 0.5};
  EXPECT_DOUBLE_EQ(RocAuc(scores, std::vector<int>{1, 1, 0, 0, 0}), 1.0);
  EXPECT_DOUBLE_EQ(RocAuc(scores, std::vector<int>{0, 0, 0, 1, 1}), 0.0);
  // Positives at ranks 1 and 3 of 5: 5 of 6 pairs ordered right.
  EXPECT_NEAR(RocAuc(scores, std::vector<int>{1, 0, 1, 0, 0}), 5.0 / 6.0, 1e-12);
  EXPECT_DOUBLE_EQ(RocAuc(std::vector<double>{0.5, 0.5}, std::vector<int>{1, 0}), 0.5);
  EXPECT_DOUBLE_EQ(RocAuc(scores, std::vector<int>{0, 0, 0, 0, 0}), 0.5);
}

TEST(MetricsTest, PrAucIsAveragePrecision) {
  const std::vector<double> scores = {0.9, 0.8, 0.7, 0.6};
  EXPECT_DOUBLE_EQ(PrAuc(scores, std::vector<int>{1, 1, 0, 0}), 1.0);
  // Positives at ranks 1 and 3: (1/1 + 2/3) / 2.
  EXPECT_NEAR(PrAuc(scores, std::vector<int>{1, 0, 1, 0}), (1.0 + 2.0 / 3.0) / 2, 1e-12);
}

TEST(MetricsTest, ProbabilityScoresAndLift) {
  const std::vector<double> p = {0.8, 0.3};
  const std::vector<int> y = {1, 0};
  EXPECT_NEAR(LogLoss(p, y), -(std::log(0.8) + std::log(0.7)) / 2, 1e-12);
  EXPECT_NEAR(BrierScore(p, y), (0.04 + 0.09) / 2, 1e-12);
  EXPECT_TRUE(std::isfinite(LogLoss(std::vector<double>{0.0}, std::vector<int>{1})));  // clipped
  std::vector<double> scores(100);
  std::vector<int> labels(100, 0);
  for (int i = 0; i < 100; ++i) scores[i] = 100 - i;
  for (int i = 0; i < 10; ++i) labels[i] = 1;  // all 10 positives on top
  EXPECT_DOUBLE_EQ(LiftTopDecile(scores, labels), 10.0);
}

TEST(MetricsTest, CalibrationCurveAveragesPerBin) {
  const std::vector<double> p = {0.05, 0.07, 0.92, 0.98};
  const std::vector<int> y = {0, 1, 1, 1};
  const auto curve = CalibrationCurve(p, y, 10);
  ASSERT_EQ(curve.size(), 2u);
  EXPECT_NEAR(curve[0].mean_predicted, 0.06, 1e-12);
  EXPECT_DOUBLE_EQ(curve[0].observed_rate, 0.5);
  EXPECT_EQ(curve[1].count, 2);
}

}  // namespace
}  // namespace loyalty::models
