#include "loyalty/models/breakage.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace loyalty::models {
namespace {

// Members who buy as in a BG/NBD world, earn `points_per_unit` points per purchase and, at a
// purchase that leaves them at least `block` points, redeem whole blocks with a personal
// propensity ~ Beta(redeem_a, redeem_b). Days run from 0 to `days`.
struct World {
  int members = 4000;
  double days = 730;
  double r = 0.8, alpha = 25, a = 0.8, b = 4;
  double redeem_a = 0.6, redeem_b = 1.0;
  int64_t block = 250;
  uint64_t seed = 7;
};

double BetaDraw(std::mt19937_64& rng, double a, double b) {
  const double x = std::gamma_distribution<double>(a, 1)(rng), y = std::gamma_distribution<double>(b, 1)(rng);
  return x / (x + y);
}

std::vector<MemberPoints> Simulate(const World& w) {
  std::mt19937_64 rng(w.seed);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<MemberPoints> out;
  for (int i = 0; i < w.members; ++i) {
    MemberPoints m{"m" + std::to_string(i), {}};
    const double rate = std::gamma_distribution<double>(w.r, 1 / w.alpha)(rng);
    const double dropout = BetaDraw(rng, w.a, w.b);
    const double propensity = BetaDraw(rng, w.redeem_a, w.redeem_b);
    double t = unit(rng) * w.days / 2;
    int64_t held = 0;
    while (true) {
      m.moves.push_back({t, 0, PointsMoveKind::kEarn});
      const auto earned = static_cast<int64_t>(std::gamma_distribution<double>(6, 8)(rng));
      m.moves.back().points = std::max<int64_t>(1, earned);
      held += m.moves.back().points;
      if (held >= w.block && unit(rng) < propensity) {
        const int64_t spend = held / w.block * w.block;
        held -= spend;
        m.moves.push_back({t + 0.001, -spend, PointsMoveKind::kRedeem});
      }
      if (unit(rng) < dropout) break;
      t += std::exponential_distribution<double>(rate)(rng);
      if (t >= w.days) break;
    }
    out.push_back(std::move(m));
  }
  return out;
}

TEST(BreakageTest, RecoversTheRedemptionPropensityOfTheSimulatedMembers) {
  const World world;
  const auto members = Simulate(world);
  auto fit = FitBreakage(members, world.days, {});
  ASSERT_TRUE(fit) << fit.error().message;
  EXPECT_TRUE(fit->redemption_report.converged) << fit->redemption_report.status;
  EXPECT_EQ(fit->members, world.members);
  EXPECT_NEAR(fit->params.min_redemption, 250, 1e-9);
  // Prior mean and shape near the truth (Beta(0.6, 1.0): mean 0.375).
  const double mean = fit->params.redeem_alpha / (fit->params.redeem_alpha + fit->params.redeem_beta);
  EXPECT_NEAR(mean, 0.375, 0.05);
  EXPECT_NEAR(fit->params.redeem_alpha, 0.6, 0.2);
  EXPECT_NEAR(fit->params.redeem_beta, 1.0, 0.35);
  EXPECT_NEAR(fit->params.points_per_purchase, 48, 3);
  // The mean purchase rate (r / alpha) of the purchase model behind it (days merge purchases).
  EXPECT_NEAR(fit->params.purchases.r / fit->params.purchases.alpha / (world.r / world.alpha), 1.0, 0.25);
}

TEST(BreakageTest, BackTestTracksWhatMembersDidAndBeatsTheRunRate) {
  const World world;
  const auto members = Simulate(world);
  const double cutoff = world.days - 365.25;
  auto fit = FitBreakage(members, cutoff, {});
  ASSERT_TRUE(fit) << fit.error().message;
  BreakageOptions options;
  options.draws = 100;
  auto forecast = ForecastBreakage(fit->params, members, cutoff, options);
  ASSERT_TRUE(forecast) << forecast.error().message;
  const auto actual = ObserveBreakage(members, cutoff, world.days, 12);
  ASSERT_EQ(actual.liability.size(), 12u);
  EXPECT_EQ(forecast->members, actual.members);
  EXPECT_DOUBLE_EQ(forecast->outstanding, actual.outstanding);

  const auto run_rate = RunRateLiability(members, cutoff, 12);
  double model_error = 0, run_rate_error = 0;
  for (size_t m = 0; m < 12; ++m) {
    model_error += std::abs(forecast->liability[m].mean - actual.liability[m]) / actual.liability[m];
    run_rate_error += std::abs(run_rate[m] - actual.liability[m]) / actual.liability[m];
  }
  EXPECT_LT(model_error / 12, 0.06);
  EXPECT_LT(model_error, run_rate_error);
  // The year's redemptions of the points held at the cutoff: near what happened.
  EXPECT_NEAR(forecast->outstanding_redeemed.mean / actual.outstanding_redeemed, 1.0, 0.1);
  EXPECT_NEAR(forecast->redeemed.mean / actual.redeemed, 1.0, 0.12);
  EXPECT_LE(forecast->breakage_share.low, forecast->breakage_share.mean);
  EXPECT_LE(forecast->breakage_share.mean, forecast->breakage_share.high);
  EXPECT_GT(forecast->breakage_share.mean, 0.0);
  EXPECT_LT(forecast->breakage_share.mean, 1.0);
}

TEST(BreakageTest, ObservedFiguresSpendThePointsHeldAtTheCutoffFirst) {
  // 100 points before the cutoff (day 10); after it, 50 more, then 120 redeemed: 100 of them
  // were held at the cutoff. Months are 30.44 days long.
  const std::vector<MemberPoints> members = {
      {"ann",
       {{1, 100, PointsMoveKind::kEarn}, {12, 50, PointsMoveKind::kEarn}, {45, -120, PointsMoveKind::kRedeem}}},
      {"late", {{20, 70, PointsMoveKind::kEarn}}},  // joined after the cutoff: not counted
  };
  const auto out = ObserveBreakage(members, 10, 80, 12);
  EXPECT_EQ(out.members, 1);
  EXPECT_DOUBLE_EQ(out.outstanding, 100);
  ASSERT_EQ(out.liability.size(), 2u);  // two whole months end by day 80
  EXPECT_DOUBLE_EQ(out.liability[0], 150);
  EXPECT_DOUBLE_EQ(out.liability[1], 30);
  EXPECT_DOUBLE_EQ(out.issued, 50);
  EXPECT_DOUBLE_EQ(out.redeemed, 120);
  EXPECT_DOUBLE_EQ(out.outstanding_redeemed, 100);
}

TEST(BreakageTest, WithoutRedemptionsEveryPointBreaksAndExpiresOnTime) {
  World world;
  world.redeem_a = 1e-6;  // nobody redeems
  world.members = 500;
  auto members = Simulate(world);
  for (auto& m : members) std::erase_if(m.moves, [](const PointsMove& move) { return move.points < 0; });
  const ExpiryRule expiry{PointsExpiry::kAfterEarn, 365};
  auto fit = FitBreakage(members, world.days, expiry);
  ASSERT_TRUE(fit) << fit.error().message;
  EXPECT_EQ(fit->params.redemptions_seen, 0);
  BreakageOptions options;
  options.draws = 20;
  auto forecast = ForecastBreakage(fit->params, members, world.days, options);
  ASSERT_TRUE(forecast) << forecast.error().message;
  EXPECT_DOUBLE_EQ(forecast->breakage_share.mean, 1.0);
  EXPECT_DOUBLE_EQ(forecast->redeemed.high, 0.0);
  // Points expire a year after they were earned: all of today's points within the next
  // twelve months, none of those earned in them.
  EXPECT_NEAR(forecast->expired.mean, forecast->outstanding, 0.01 * forecast->outstanding);
  // Nothing redeemed: what was held plus what was earned either expired or is still held.
  EXPECT_NEAR(forecast->expired.mean + forecast->liability.back().mean, forecast->outstanding + forecast->issued.mean,
              1e-9 * forecast->outstanding);
}

TEST(BreakageTest, ParametersSurviveTheirJsonForm) {
  const auto members = Simulate(World{});
  auto fit = FitBreakage(members, 730, {PointsExpiry::kInactivity, 400});
  ASSERT_TRUE(fit) << fit.error().message;
  auto back = BreakageParamsFromJson(core::ParseJson(core::Dump(ToJson(fit->params))).value());
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_DOUBLE_EQ(back->redeem_alpha, fit->params.redeem_alpha);
  EXPECT_DOUBLE_EQ(back->purchases.b, fit->params.purchases.b);
  EXPECT_EQ(back->expiry.mode, PointsExpiry::kInactivity);
  EXPECT_DOUBLE_EQ(back->expiry.days, 400);
  EXPECT_FALSE(BreakageParamsFromJson(core::Json{{"purchases", 1}}));
  // A forecast is a pure function of parameters, moves and seed.
  BreakageOptions options;
  options.draws = 20;
  auto one = ForecastBreakage(fit->params, members, 730, options);
  auto two = ForecastBreakage(*back, members, 730, options);
  ASSERT_TRUE(one && two);
  EXPECT_DOUBLE_EQ(one->breakage_share.mean, two->breakage_share.mean);
}

TEST(BreakageTest, RefusesTooLittleHistoryAndBadOptions) {
  World small;
  small.members = 10;
  EXPECT_EQ(FitBreakage(Simulate(small), 730, {}).error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_EQ(FitBreakage(Simulate(World{}), 730, {PointsExpiry::kAfterEarn, 0}).error().code,
            core::ErrorCode::kInvalidArgument);
  const BreakageParams params{{0.8, 25, 0.8, 4}, 0.6, 1, 250, 0.8, 48, {}, 10};
  BreakageOptions bad;
  bad.draws = 5;
  EXPECT_EQ(ForecastBreakage(params, {}, 730, bad).error().code, core::ErrorCode::kInvalidArgument);
  bad = {};
  bad.horizon_months = 0;
  EXPECT_EQ(ForecastBreakage(params, {}, 730, bad).error().code, core::ErrorCode::kInvalidArgument);
  // Nobody before the cutoff: an empty, finite forecast.
  auto empty = ForecastBreakage(params, {}, 730, BreakageOptions{});
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->members, 0);
  EXPECT_DOUBLE_EQ(empty->breakage_share.mean, 0.0);
}

}  // namespace
}  // namespace loyalty::models
