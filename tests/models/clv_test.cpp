#include "loyalty/models/clv.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

#include "support/shared_data.hpp"

namespace loyalty::models {
namespace {

std::vector<CustomerHistory> Simulate(const BgNbdParams& bg, const GammaGammaParams& gg, int n, uint64_t seed) {
  return SimulateHistories(bg, gg, n, 20.0, 52.0, seed);
}

// FHL (2005) eq. 10 with Gauss' series summed term by term: an independent check of the
// Boost.Math hypergeometric the model uses.
double SeriesConditionalExpectedPurchases(const BgNbdParams& p, double t, double x, double t_x, double T) {
  const double A = p.r + x, B = p.b + x, C = p.a + p.b + x - 1, z = t / (p.alpha + T + t);
  double sum = 1, term = 1;
  for (int n = 0; n < 100000 && std::abs(term) > 1e-17 * sum; ++n) {
    term *= (A + n) * (B + n) / ((C + n) * (n + 1)) * z;
    sum += term;
  }
  const double tail = 1 - std::pow((p.alpha + T) / (p.alpha + T + t), A) * sum;
  const double odds = x > 0 ? p.a / (p.b + x - 1) * std::pow((p.alpha + T) / (p.alpha + t_x), A) : 0;
  return (p.a + p.b + x - 1) / (p.a - 1) * tail / (1 + odds);
}

// The 1/10 CDNOW sample (master id, sample id, date, CDs, dollars; no header) as purchases.
std::vector<Purchase> ReadCdnowSample() {
  std::ifstream in(testing::SharedData("cdnow/CDNOW_sample.txt"));
  std::vector<Purchase> out;
  std::string master, id, date;
  int cds = 0;
  double dollars = 0;
  while (in >> master >> id >> date >> cds >> dollars) out.push_back({id, *ParseDay(date), dollars});
  return out;
}

TEST(ClvTest, ReproducesThePublishedCdnowEstimates) {
  SKIP_WITHOUT_SHARED_DATA("cdnow/CDNOW_sample.txt");
  auto customers = Summarize(ReadCdnowSample(), {*ParseDay("1997-09-30"), *ParseDay("1998-06-30"), 7.0});
  ASSERT_TRUE(customers) << customers.error().message;
  ASSERT_EQ(customers->size(), 2357u);
  int64_t repeats = 0;
  for (const auto& c : *customers) repeats += c.frequency;
  EXPECT_EQ(repeats, 2457);

  auto bg = FitBgNbd(*customers);
  ASSERT_TRUE(bg) << bg.error().message;
  EXPECT_TRUE(bg->report.converged) << bg->report.status;
  // Fader, Hardie & Lee (2005): r 0.243, alpha 4.414, a 0.793, b 2.426, LL -9582.4.
  EXPECT_NEAR(bg->params.r, 0.243, 0.0005);
  EXPECT_NEAR(bg->params.alpha, 4.414, 0.0005);
  EXPECT_NEAR(bg->params.a, 0.793, 0.0005);
  EXPECT_NEAR(bg->params.b, 2.426, 0.0005);
  EXPECT_NEAR(bg->report.log_likelihood, -9582.4, 0.05);
  for (double se : bg->report.std_errors) EXPECT_TRUE(std::isfinite(se) && se > 0);

  auto gg = FitGammaGamma(*customers);
  ASSERT_TRUE(gg) << gg.error().message;
  EXPECT_TRUE(gg->report.converged) << gg->report.status;
  EXPECT_EQ(gg->customers, 946);
  // Fader & Hardie, "The Gamma-Gamma model of monetary value": p 6.25, q 3.74, gamma 15.44.
  EXPECT_NEAR(gg->params.p, 6.25, 0.005);
  EXPECT_NEAR(gg->params.q, 3.74, 0.005);
  EXPECT_NEAR(gg->params.gamma, 15.44, 0.005);

  // The holdout (weeks 40-78): 1,882 repeat transactions.
  const HoldoutReport holdout = CompareHoldout(bg->params, *customers, 39.0);
  EXPECT_EQ(holdout.actual_total, 1882);
  EXPECT_EQ(holdout.groups[0].customers, 1411);
  EXPECT_NEAR(holdout.predicted_total / holdout.actual_total, 1.0, 0.15);
  // FHL's customer 1516 (x 26, t_x 30.86, T 31), against a plain series sum of FHL eq. 10.
  EXPECT_NEAR(ConditionalExpectedPurchases(bg->params, 39, 26, 30.86, 31),
              SeriesConditionalExpectedPurchases(bg->params, 39, 26, 30.86, 31), 1e-6);
}

TEST(ClvTest, RecoversTheParametersItSimulatedFrom) {
  const BgNbdParams bg_truth{0.6, 8.0, 0.7, 3.0};
  const GammaGammaParams gg_truth{5.0, 4.0, 20.0};
  const auto customers = Simulate(bg_truth, gg_truth, 20000, 7);
  auto bg = FitBgNbd(customers);
  ASSERT_TRUE(bg) << bg.error().message;
  ASSERT_TRUE(bg->report.converged) << bg->report.status;
  const double truth[] = {bg_truth.r, bg_truth.alpha, bg_truth.a, bg_truth.b};
  const double fitted[] = {bg->params.r, bg->params.alpha, bg->params.a, bg->params.b};
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(fitted[i], truth[i], 4 * bg->report.std_errors[i]) << "parameter " << i;
  }
  auto gg = FitGammaGamma(customers);
  ASSERT_TRUE(gg) << gg.error().message;
  ASSERT_TRUE(gg->report.converged) << gg->report.status;
  const double gg_true[] = {gg_truth.p, gg_truth.q, gg_truth.gamma};
  const double gg_fit[] = {gg->params.p, gg->params.q, gg->params.gamma};
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(gg_fit[i], gg_true[i], 4 * gg->report.std_errors[i]) << "parameter " << i;
}

TEST(ClvTest, AnalyticGradientsMatchFiniteDifferences) {
  const auto customers = Simulate({0.5, 6.0, 0.9, 2.5}, {4.0, 3.0, 10.0}, 500, 3);
  const BgNbdParams bg{0.7, 5.0, 1.2, 2.0};
  std::vector<double> grad;
  BgNbdLogLikelihood(bg, customers, &grad);
  const double h = 1e-6;
  auto bg_at = [&](int i, double d) {
    double v[] = {std::log(bg.r), std::log(bg.alpha), std::log(bg.a), std::log(bg.b)};
    v[i] += d;
    return BgNbdLogLikelihood({std::exp(v[0]), std::exp(v[1]), std::exp(v[2]), std::exp(v[3])}, customers);
  };
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(grad[i], (bg_at(i, h) - bg_at(i, -h)) / (2 * h), 1e-3 * (1 + std::abs(grad[i]))) << i;
  }
  const GammaGammaParams gg{3.0, 2.5, 12.0};
  GammaGammaLogLikelihood(gg, customers, &grad);
  auto gg_at = [&](int i, double d) {
    double v[] = {std::log(gg.p), std::log(gg.q), std::log(gg.gamma)};
    v[i] += d;
    return GammaGammaLogLikelihood({std::exp(v[0]), std::exp(v[1]), std::exp(v[2])}, customers);
  };
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(grad[i], (gg_at(i, h) - gg_at(i, -h)) / (2 * h), 1e-3 * (1 + std::abs(grad[i]))) << i;
  }
}

TEST(ClvTest, StaysFiniteForLargeFrequenciesAndLongHistories) {
  auto customers = Simulate({0.6, 8.0, 0.7, 3.0}, {5.0, 4.0, 20.0}, 2000, 11);
  customers.push_back({"heavy", 20000, 5199.0, 5200.0, 35.0, 0});  // daily for 14 years
  customers.push_back({"long", 3, 10.0, 9000.0, 20.0, 0});
  auto bg = FitBgNbd(customers);
  ASSERT_TRUE(bg) << bg.error().message;
  EXPECT_TRUE(bg->report.converged) << bg->report.status;
  EXPECT_TRUE(std::isfinite(bg->report.log_likelihood));
  const double alive = ProbabilityAlive(bg->params, 20000, 5199.0, 5200.0);
  EXPECT_GT(alive, 0.5);
  EXPECT_LE(alive, 1.0);
  EXPECT_LT(ProbabilityAlive(bg->params, 3, 10.0, 9000.0), 1e-6);
  EXPECT_TRUE(std::isfinite(ConditionalExpectedPurchases(bg->params, 52, 20000, 5199.0, 5200.0)));
}

TEST(ClvTest, ReportsWhenItDoesNotConverge) {
  const auto customers = Simulate({0.6, 8.0, 0.7, 3.0}, {5.0, 4.0, 20.0}, 1000, 5);
  auto bg = FitBgNbd(customers, {.max_evaluations = 3});
  ASSERT_TRUE(bg);
  EXPECT_FALSE(bg->report.converged);
  EXPECT_NE(bg->report.status.find("evaluation limit"), std::string::npos) << bg->report.status;
  EXPECT_FALSE(FitBgNbd(std::vector<CustomerHistory>{}));
  EXPECT_FALSE(FitBgNbd(std::vector<CustomerHistory>{{"bad", 2, 5.0, 3.0, 1.0, 0}}));  // recency > age
  EXPECT_FALSE(FitGammaGamma(std::vector<CustomerHistory>{{"one", 0, 0.0, 3.0, 0.0, 0}}));
}

TEST(ClvTest, PredictionsBehave) {
  const BgNbdParams p{0.243, 4.414, 0.793, 2.426};
  // A customer who just arrived is a customer picked at random from the population.
  EXPECT_NEAR(ConditionalExpectedPurchases(p, 39, 0, 0, 0), ExpectedPurchases(p, 39), 1e-9);
  // Expected purchases grow with the horizon.
  double before = 0;
  for (double t : {1.0, 10.0, 39.0, 78.0, 200.0}) {
    const double e = ExpectedPurchases(p, t);
    EXPECT_GT(e, before);
    before = e;
  }
  EXPECT_DOUBLE_EQ(ProbabilityAlive(p, 0, 0, 30), 1.0);
  // A recent buyer is more likely alive than one who went quiet long ago.
  EXPECT_GT(ProbabilityAlive(p, 4, 30, 32), ProbabilityAlive(p, 4, 5, 32));
  // Gamma-Gamma: with no repeats, the population mean; with many, close to the customer's own.
  const GammaGammaParams g{6.25, 3.74, 15.44};
  EXPECT_NEAR(ConditionalExpectedSpend(g, 0, 0), 6.25 * 15.44 / 2.74, 1e-9);
  EXPECT_NEAR(ConditionalExpectedSpend(g, 1000, 40.0), 40.0, 0.5);
}

TEST(ClvTest, ForecastIntervalsBracketTheEstimateAndSurviveStorage) {
  const auto customers = Simulate({0.6, 8.0, 0.7, 3.0}, {5.0, 4.0, 20.0}, 3000, 9);
  auto bg = FitBgNbd(customers);
  auto gg = FitGammaGamma(customers);
  ASSERT_TRUE(bg && gg);
  const ClvModel model(*bg, *gg, ClvOptions{});
  for (const auto& c : {customers[0], customers[1], customers[2], CustomerHistory{"x", 5, 30.0, 40.0, 25.0, 0}}) {
    const CustomerForecast f = model.Forecast(c);
    for (const Interval& i : {f.probability_alive, f.expected_purchases, f.expected_spend, f.clv}) {
      EXPECT_LE(i.low, i.estimate);
      EXPECT_GE(i.high, i.estimate);
      EXPECT_GE(i.low, 0);
    }
    EXPECT_LE(f.probability_alive.high, 1.0);
    EXPECT_GT(f.clv.estimate, 0);
    EXPECT_LT(f.clv.low, f.clv.high);
  }
  auto restored = ClvModel::FromJson(model.ToJson());
  ASSERT_TRUE(restored) << restored.error().message;
  const auto a = model.Forecast(customers[3]);
  const auto b = restored->Forecast(customers[3]);
  EXPECT_DOUBLE_EQ(a.clv.estimate, b.clv.estimate);
  EXPECT_DOUBLE_EQ(a.clv.high, b.clv.high);
  EXPECT_FALSE(ClvModel::FromJson(core::Json{{"bgnbd", 1}}));
}

}  // namespace
}  // namespace loyalty::models

namespace loyalty::models {
namespace {

TEST(NextPurchaseTest, QuantilesOrderAndShrinkForFrequentBuyers) {
  const BgNbdParams p{0.243, 4.414, 0.793, 2.426};
  const NextPurchase rare = ForecastNextPurchase(p, {"rare", 1, 10.0, 30.0, 20.0, 0}, 7.0);
  const NextPurchase often = ForecastNextPurchase(p, {"often", 20, 29.0, 30.0, 20.0, 0}, 7.0);
  for (const auto& n : {rare, often}) {
    EXPECT_LT(n.low_days, n.median_days);
    EXPECT_LT(n.median_days, n.high_days);
    EXPECT_GE(n.probability_within_30_days, 0);
    EXPECT_LE(n.probability_within_30_days, n.probability_alive);
  }
  EXPECT_LT(often.median_days, rare.median_days);
  EXPECT_GT(often.probability_within_30_days, rare.probability_within_30_days);
  // About 20 purchases in 30 weeks: the median wait is about a week and a half.
  EXPECT_NEAR(often.median_days, 7.0 * (p.alpha + 30.0) * (std::pow(0.5, -1 / (p.r + 20)) - 1), 1e-9);
}

}  // namespace
}  // namespace loyalty::models
