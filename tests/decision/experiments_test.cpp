// Assignment is stable, balanced and exclusive within a namespace; the tests give the
// textbook answers.

#include "loyalty/decision/experiments.hpp"

#include <gtest/gtest.h>

#include <numeric>
#include <random>

namespace loyalty::decision {
namespace {

Experiment Parse(core::Json doc) {
  auto e = ParseExperiment(doc);
  EXPECT_TRUE(e.has_value()) << (e ? "" : e.error().message);
  return e.value_or(Experiment{});
}

TEST(Assignment, IsStableAndBalanced) {
  Experiment e = Parse({{"id", "spring"},
                        {"arms", {{{"name", "control"}, {"strategy", "rules"}}, {{"name", "ai"}, {"strategy", "ai"}, {"weight", 3}}}}});
  auto placed = PlaceExperiment(e, {});
  ASSERT_TRUE(placed);
  std::array<int, 2> counts{};
  for (int i = 0; i < 20000; ++i) {
    const std::string member = "m" + std::to_string(i);
    auto arm = AssignArm(*placed, member);
    ASSERT_TRUE(arm);
    EXPECT_EQ(AssignArm(*placed, member), arm);  // stable
    ++counts[*arm];
  }
  // 1:3 split within two standard deviations (sd ~ 61).
  EXPECT_NEAR(counts[0], 5000, 150);
  EXPECT_EQ(Bucket("salt", "ann"), Bucket("salt", "ann"));
  EXPECT_NE(Bucket("salt-a", "ann") * 10000 + Bucket("salt-a", "bob"), Bucket("salt-b", "ann") * 10000 + Bucket("salt-b", "bob"));
}

TEST(Assignment, ExperimentsInOneNamespaceNeverShareAMember) {
  const core::Json arms = {{{"name", "c"}, {"strategy", "control"}}, {{"name", "t"}, {"strategy", "ai"}}};
  std::vector<Experiment> placed;
  for (const char* id : {"one", "two", "three"}) {
    auto p = PlaceExperiment(Parse({{"id", id}, {"namespace", "home"}, {"traffic_percent", 30}, {"arms", arms}}), placed);
    ASSERT_TRUE(p) << p.error().message;
    placed.push_back(*p);
  }
  auto full = PlaceExperiment(Parse({{"id", "four"}, {"namespace", "home"}, {"traffic_percent", 30}, {"arms", arms}}), placed);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, core::ErrorCode::kConflict);
  // Another namespace is independent.
  EXPECT_TRUE(PlaceExperiment(Parse({{"id", "four"}, {"namespace", "email"}, {"traffic_percent", 30}, {"arms", arms}}), placed));
  // A stopped experiment frees its range.
  placed[1].running = false;
  EXPECT_TRUE(PlaceExperiment(Parse({{"id", "four"}, {"namespace", "home"}, {"traffic_percent", 30}, {"arms", arms}}), placed));
  placed[1].running = true;
  int in_any = 0;
  for (int i = 0; i < 5000; ++i) {
    int in = 0;
    for (const auto& e : placed) in += AssignArm(e, "m" + std::to_string(i)) ? 1 : 0;
    EXPECT_LE(in, 1);
    in_any += in;
  }
  EXPECT_NEAR(in_any, 4500, 120);
}

TEST(Assignment, ParseErrorsNameTheField) {
  auto error = [](core::Json doc) {
    auto e = ParseExperiment(doc);
    return e ? std::string() : e.error().message;
  };
  EXPECT_NE(error({{"id", "x"}, {"arms", {{{"name", "only"}, {"strategy", "ai"}}}}}).find("2 to 10 arms"), std::string::npos);
  EXPECT_NE(error({{"id", "x"}, {"arms", {{{"name", "a"}, {"strategy", "ai"}}, {{"name", "b"}, {"strategy", "magic"}}}}})
                .find("arms[1].strategy"),
            std::string::npos);
  EXPECT_NE(error({{"id", "x"}, {"traffic_percent", 0}, {"arms", {{{"name", "a"}, {"strategy", "ai"}}, {{"name", "b"}, {"strategy", "ai"}}}}})
                .find("traffic_percent"),
            std::string::npos);
}

TEST(Statistics, TwoProportionTestMatchesTheTextbook) {
  // 200/1000 against 250/1000: z = 2.68, p = 0.0073.
  const Comparison c = TwoProportionTest(200, 1000, 250, 1000);
  EXPECT_DOUBLE_EQ(c.difference, 0.05);
  EXPECT_NEAR(c.p_value, 0.0073, 0.0003);
  EXPECT_NEAR(c.ci_low, 0.05 - 1.96 * std::sqrt(0.2 * 0.8 / 1000 + 0.25 * 0.75 / 1000), 1e-4);
  EXPECT_NEAR(TwoProportionTest(100, 1000, 100, 1000).p_value, 1.0, 1e-12);
}

TEST(Statistics, WelchTestMatchesAWorkedExample) {
  // Means 3 and 5, variances 2.5 and 2.5, n = 5 each: se = 1, t = 2, df = 8; P(|T8| > 2) = 0.0805
  // and the 97.5% quantile of T8 is 2.306.
  const std::vector<double> a = {1, 2, 3, 4, 5};
  const std::vector<double> b = {3, 4, 5, 6, 7};
  const Comparison c = WelchTest(a, b);
  EXPECT_DOUBLE_EQ(c.difference, 2.0);
  EXPECT_NEAR(c.p_value, 0.0805, 0.0005);
  EXPECT_NEAR(c.ci_low, 2.0 - 2.306, 0.001);
  EXPECT_NEAR(c.ci_high, 2.0 + 2.306, 0.001);
}

TEST(Statistics, CupedKeepsTheMeanAndCutsTheVariance) {
  std::mt19937_64 rng(8);
  std::normal_distribution<double> normal(0, 1);
  std::vector<double> x, y;
  for (int i = 0; i < 5000; ++i) {
    const double pre = 100 + 20 * normal(rng);
    x.push_back(pre);
    y.push_back(0.8 * pre + 5 * normal(rng));
  }
  const auto adjusted = CupedAdjust(y, x);
  auto mean = [](const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()); };
  auto var = [&](const std::vector<double>& v) {
    const double m = mean(v);
    double s = 0;
    for (double d : v) s += (d - m) * (d - m);
    return s / static_cast<double>(v.size() - 1);
  };
  EXPECT_NEAR(mean(adjusted), mean(y), 1e-9);
  EXPECT_LT(var(adjusted), var(y) / 10);
}

}  // namespace
}  // namespace loyalty::decision
