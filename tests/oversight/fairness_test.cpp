// Fairness metrics against values worked out by hand (the arithmetic is in the comments):
// Wilson intervals, parity differences and ratios with their intervals, error rates per group,
// reweighing weights and equal-opportunity thresholds.

#include "loyalty/oversight/fairness.hpp"

#include <gtest/gtest.h>

namespace loyalty::oversight {
namespace {

// 40 of 100 in group A and 20 of 80 in group B made an offer worth 5.00 each.
std::vector<GroupOutcomes> Offers() {
  GroupOutcomes a{"A", std::vector<double>(100, 0.0), 40};
  GroupOutcomes b{"B", std::vector<double>(80, 0.0), 20};
  for (int i = 0; i < 40; ++i) a.value_granted[static_cast<size_t>(i)] = 500;
  for (int i = 0; i < 20; ++i) b.value_granted[static_cast<size_t>(i)] = 500;
  return {b, a};  // out of order: the reference comes first all the same
}

TEST(Fairness, WilsonIntervalsMatchTheFormula) {
  // p = 0.4, z = 1.96: centre (p + z²/2n) / (1 + z²/n) = 0.40370, half-width
  // z sqrt(p(1-p)/n + z²/4n²) / (1 + z²/n) = 0.09430.
  const Rate r = WilsonRate(40, 100);
  EXPECT_DOUBLE_EQ(r.value, 0.4);
  EXPECT_NEAR(r.ci_low, 0.309401, 1e-6);
  EXPECT_NEAR(r.ci_high, 0.497997, 1e-6);
  // None of 10: the interval still has width (not the Wald interval's [0, 0]).
  const Rate none = WilsonRate(0, 10);
  EXPECT_DOUBLE_EQ(none.ci_low, 0);
  EXPECT_NEAR(none.ci_high, 0.277533, 1e-6);
  EXPECT_DOUBLE_EQ(WilsonRate(0, 0).ci_high, 1);  // nothing known
}

TEST(Fairness, DemographicParityDifferenceAndRatioWithIntervals) {
  const auto offers = Offers();
  const auto rows = DemographicParity(offers, "A");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].group, "A");
  const ParityRow& b = rows[1];
  EXPECT_EQ(b.members, 80);
  EXPECT_NEAR(b.offered.ci_low, 0.168062, 1e-6);
  EXPECT_NEAR(b.offered.ci_high, 0.354847, 1e-6);
  // 0.25 - 0.40 = -0.15; Newcombe: -0.15 - sqrt((0.25 - 0.168062)² + (0.497997 - 0.4)²) and
  // -0.15 + sqrt((0.354847 - 0.25)² + (0.4 - 0.309401)²).
  EXPECT_NEAR(b.offered_difference.difference, -0.15, 1e-12);
  EXPECT_NEAR(b.offered_difference.ci_low, -0.277739, 1e-6);
  EXPECT_NEAR(b.offered_difference.ci_high, -0.011432, 1e-6);
  // 0.25 / 0.40 = 0.625; Katz: se of the log sqrt(1/20 - 1/80 + 1/40 - 1/100) = 0.229129.
  EXPECT_NEAR(b.offered_ratio.value, 0.625, 1e-12);
  EXPECT_NEAR(b.offered_ratio.ci_low, 0.398883, 1e-6);
  EXPECT_NEAR(b.offered_ratio.ci_high, 0.979298, 1e-6);
  // Value: 20 x 500 / 80 = 125 against 40 x 500 / 100 = 200.
  EXPECT_DOUBLE_EQ(b.value_per_member, 125);
  EXPECT_DOUBLE_EQ(b.value_difference.difference, -75);
  EXPECT_LT(b.value_difference.ci_high, 0);
  EXPECT_DOUBLE_EQ(b.value_ratio, 0.625);
  // Against itself the reference shows no difference.
  EXPECT_DOUBLE_EQ(rows[0].offered_difference.difference, 0);
  EXPECT_DOUBLE_EQ(rows[0].offered_ratio.value, 1);
}

TEST(Fairness, ARatioWithAZeroCountStillHasAFiniteInterval) {
  // 0 of 50 against 10 of 50: half a member added to each count, (0.5/50.5) / (10.5/50.5),
  // se of the log sqrt(1/0.5 - 1/50.5 + 1/10.5 - 1/50.5).
  const RatioEstimate none = RateRatio(WilsonRate(0, 50), WilsonRate(10, 50));
  EXPECT_DOUBLE_EQ(none.value, 0);
  EXPECT_NEAR(none.ci_low, 0.002867, 1e-6);
  EXPECT_NEAR(none.ci_high, 0.791024, 1e-6);
  EXPECT_TRUE(std::isinf(RateRatio(WilsonRate(5, 50), WilsonRate(0, 50)).value));
  EXPECT_TRUE(ToJson(RateRatio(WilsonRate(5, 50), WilsonRate(0, 50)))["value"].is_null());
}

TEST(Fairness, ASmallGroupWithNothingIsNotCertainlyWorseOff) {
  // 0 of 2 against 60 of 100: the Wald interval would be [-0.70, -0.50]; Newcombe's reaches
  // well towards zero.
  const auto rows = DemographicParity(
      std::vector<GroupOutcomes>{{"A", std::vector<double>(100, 0.0), 60}, {"B", std::vector<double>(2, 0.0), 0}}, "A");
  EXPECT_GT(rows[1].offered_difference.ci_high, -0.25);
}

// Group A: positives scored .9 .8 .7 .6 .4, negatives .55 .3 .2 .1 .45.
// Group B: positives .7 .45 .4 .35 .2, negatives .6 .52 .1 .05 .3.
std::vector<GroupPredictions> Predictions() {
  return {{"A", {0.9, 0.8, 0.7, 0.6, 0.4, 0.55, 0.3, 0.2, 0.1, 0.45}, {1, 1, 1, 1, 1, 0, 0, 0, 0, 0}},
          {"B", {0.7, 0.45, 0.4, 0.35, 0.2, 0.6, 0.52, 0.1, 0.05, 0.3}, {1, 1, 1, 1, 1, 0, 0, 0, 0, 0}}};
}

TEST(Fairness, EqualOpportunityAndEqualizedOddsAtOneThreshold) {
  const auto predictions = Predictions();
  const auto rows = ErrorRates(predictions, "A", 0.5);
  ASSERT_EQ(rows.size(), 2u);
  // A at 0.5: TPR 4/5, FPR 1/5. B: TPR 1/5, FPR 2/5.
  EXPECT_DOUBLE_EQ(rows[0].true_positive.value, 0.8);
  EXPECT_DOUBLE_EQ(rows[0].false_positive.value, 0.2);
  EXPECT_DOUBLE_EQ(rows[1].true_positive.value, 0.2);
  EXPECT_DOUBLE_EQ(rows[1].false_positive.value, 0.4);
  EXPECT_NEAR(rows[1].tpr_difference.difference, -0.6, 1e-12);
  // Newcombe from the Wilson intervals of 4/5 and 1/5: about -0.832 to +0.0003.
  EXPECT_NEAR(rows[1].tpr_difference.ci_low, -0.831614, 1e-6);
  EXPECT_NEAR(rows[1].tpr_difference.ci_high, 0.000285, 1e-6);
  EXPECT_NEAR(rows[1].fpr_difference.difference, 0.2, 1e-12);
  EXPECT_NEAR(rows[1].equalized_odds_difference, 0.6, 1e-12);
  // Flagged: A 5 of 10, B 3 of 10.
  EXPECT_DOUBLE_EQ(rows[0].flagged.value, 0.5);
  EXPECT_DOUBLE_EQ(rows[1].flagged.value, 0.3);
  EXPECT_NEAR(rows[1].flagged_difference.difference, -0.2, 1e-12);
}

TEST(Fairness, PerGroupThresholdsEqualiseTheTruePositiveRate) {
  const auto predictions = Predictions();
  // B needs 4 of its 5 positives flagged (A's 0.8): its 4th highest positive score, 0.35.
  const auto thresholds = EqualOpportunityThresholds(predictions, "A", 0.5);
  EXPECT_DOUBLE_EQ(thresholds.at("A"), 0.5);
  EXPECT_DOUBLE_EQ(thresholds.at("B"), 0.35);
  const auto rows = ErrorRates(predictions, "A", 0.5, thresholds);
  EXPECT_DOUBLE_EQ(rows[1].threshold, 0.35);
  EXPECT_DOUBLE_EQ(rows[1].true_positive.value, 0.8);
  EXPECT_DOUBLE_EQ(rows[1].tpr_difference.difference, 0);
  EXPECT_DOUBLE_EQ(rows[1].false_positive.value, 0.4);  // .6 and .52 of B's negatives stay flagged
}

TEST(Fairness, ReweighingMakesTheLabelIndependentOfTheGroup) {
  // N = 7: A holds labels 1, 0, 0, 0; B holds 1, 1, 0. n_A = 4, n_B = 3, n_1 = 3, n_0 = 4.
  // w(A,1) = 4 x 3 / (7 x 1) = 12/7; w(A,0) = 4 x 4 / (7 x 3) = 16/21;
  // w(B,1) = 3 x 3 / (7 x 2) = 9/14; w(B,0) = 3 x 4 / (7 x 1) = 12/7.
  const std::vector<std::string> groups = {"A", "A", "A", "A", "B", "B", "B"};
  const std::vector<int> labels = {1, 0, 0, 0, 1, 1, 0};
  const auto w = ReweighingWeights(groups, labels);
  ASSERT_EQ(w.size(), 7u);
  EXPECT_DOUBLE_EQ(w[0], 12.0 / 7.0);
  EXPECT_DOUBLE_EQ(w[1], 16.0 / 21.0);
  EXPECT_DOUBLE_EQ(w[4], 9.0 / 14.0);
  EXPECT_DOUBLE_EQ(w[6], 12.0 / 7.0);
  // Weighted, each group's positive share is the overall 3/7, and the weights sum to N.
  EXPECT_NEAR(w[0] / (w[0] + w[1] + w[2] + w[3]), 3.0 / 7.0, 1e-12);
  EXPECT_NEAR((w[4] + w[5]) / (w[4] + w[5] + w[6]), 3.0 / 7.0, 1e-12);
  double total = 0;
  for (double x : w) total += x;
  EXPECT_NEAR(total, 7.0, 1e-12);
}

}  // namespace
}  // namespace loyalty::oversight
