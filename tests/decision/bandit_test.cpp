// Bandits learn the best arm; off-policy estimators are unbiased on simulated logs and
// recover a real policy's click rate from uniform-random logs (Open Bandit Dataset).

#include "loyalty/decision/bandit.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <numeric>
#include <random>

#include "loyalty/core/csv.hpp"
#include "loyalty/decision/ope.hpp"
#include "support/shared_data.hpp"

namespace loyalty::decision {
namespace {

TEST(BetaArms, ThompsonSamplingConvergesToTheBestArm) {
  const std::vector<double> truth = {0.04, 0.06, 0.10, 0.05};
  BetaArms arms(10);
  core::FastRng rng(3);
  std::vector<int> pulls(truth.size(), 0);
  const int rounds = 6000;
  for (int t = 0; t < rounds; ++t) {
    size_t best = 0;
    double best_draw = -1;
    for (size_t a = 0; a < truth.size(); ++a) {
      const double draw = SampleBeta(arms.Posterior("arm" + std::to_string(a), 0.05), rng);
      if (draw > best_draw) {
        best_draw = draw;
        best = a;
      }
    }
    ++pulls[best];
    const bool reward = std::bernoulli_distribution(truth[best])(rng);
    arms.Record("arm" + std::to_string(best), 1, reward ? 1 : 0);
  }
  EXPECT_GT(pulls[2], rounds * 6 / 10) << pulls[0] << " " << pulls[1] << " " << pulls[2] << " " << pulls[3];
  EXPECT_NEAR(arms.Posterior("arm2", 0.05).Mean(), 0.10, 0.02);
}

TEST(BetaArms, SnapshotAndRestoreKeepTheEvidence) {
  BetaArms arms(20);
  arms.Record("x", 10, 4);
  arms.Record("x", 0, 1);
  BetaArms again(20);
  again.Restore(arms.Snapshot());
  EXPECT_DOUBLE_EQ(again.Posterior("x", 0.1).alpha, 2 + 5);
  EXPECT_DOUBLE_EQ(again.Posterior("x", 0.1).beta, 18 + 5);
}

TEST(SampleBeta, MatchesTheBetaMeanAndVarianceOnBothPaths) {
  core::FastRng rng(11);
  for (BetaPosterior p : {BetaPosterior{2, 8}, BetaPosterior{300, 700}}) {
    double sum = 0, sum_sq = 0;
    const int n = 20000;
    for (int i = 0; i < n; ++i) {
      const double x = SampleBeta(p, rng);
      sum += x;
      sum_sq += x * x;
    }
    const double mean = sum / n, var = sum_sq / n - mean * mean;
    const double s = p.alpha + p.beta;
    EXPECT_NEAR(mean, p.Mean(), 0.005);
    EXPECT_NEAR(var, p.alpha * p.beta / (s * s * (s + 1)), 0.1 * p.alpha * p.beta / (s * s * (s + 1)));
  }
}

TEST(LinearThompson, LearnsWhichArmSuitsWhichContext) {
  // Arm "young" pays in context (1, 1), arm "old" in context (1, 0).
  LinearThompson bandit(2, 0.3, 1.0);
  std::mt19937_64 rng(5);
  int right = 0, late_rounds = 0;
  for (int t = 0; t < 3000; ++t) {
    const double young = std::bernoulli_distribution(0.5)(rng) ? 1.0 : 0.0;
    const std::array<double, 2> x = {1.0, young};
    const double a = bandit.Sample("young", x, rng);
    const double b = bandit.Sample("old", x, rng);
    const bool pick_young = a > b;
    const double p = pick_young ? (young > 0 ? 0.3 : 0.05) : (young > 0 ? 0.05 : 0.3);
    bandit.Record(pick_young ? "young" : "old", x, std::bernoulli_distribution(p)(rng) ? 1.0 : 0.0);
    if (t >= 2000) {
      ++late_rounds;
      right += (pick_young == (young > 0)) ? 1 : 0;
    }
  }
  EXPECT_GT(right, late_rounds * 85 / 100);
  const std::array<double, 2> young_ctx = {1.0, 1.0};
  EXPECT_NEAR(bandit.Mean("young", young_ctx), 0.3, 0.06);
}

// Logs from a known uniform policy, a target policy that prefers arm 0: the estimators'
// average over many logs sits on the target's true value.
TEST(OffPolicy, EstimatorsAreUnbiasedOnSimulatedLogs) {
  const std::vector<double> truth = {0.3, 0.1, 0.2};
  const std::vector<double> target = {0.7, 0.1, 0.2};
  double true_value = 0;
  for (size_t a = 0; a < truth.size(); ++a) true_value += target[a] * truth[a];
  std::mt19937_64 rng(17);
  double ips = 0, snips = 0, dr = 0;
  int covered = 0;
  const int logs = 300;
  for (int run = 0; run < logs; ++run) {
    std::vector<LoggedRound> rounds;
    for (int i = 0; i < 500; ++i) {
      const size_t a = std::uniform_int_distribution<size_t>(0, 2)(rng);
      LoggedRound r;
      r.reward = std::bernoulli_distribution(truth[a])(rng) ? 1 : 0;
      r.propensity = 1.0 / 3;
      r.target_probability = target[a];
      // A deliberately wrong reward model: DR stays unbiased through the propensities.
      r.predicted_reward = 0.15;
      r.target_value = 0.15;
      rounds.push_back(r);
    }
    const Estimate e = InversePropensity(rounds);
    ips += e.value;
    snips += SelfNormalisedInversePropensity(rounds).value;
    dr += DoublyRobust(rounds).value;
    covered += (e.ci_low <= true_value && true_value <= e.ci_high) ? 1 : 0;
  }
  EXPECT_NEAR(ips / logs, true_value, 0.004);
  EXPECT_NEAR(snips / logs, true_value, 0.004);
  EXPECT_NEAR(dr / logs, true_value, 0.004);
  EXPECT_NEAR(covered / static_cast<double>(logs), 0.95, 0.04);
}

// --- Open Bandit Dataset ("men" campaign, 10,000 rounds per policy) -------------------------

struct ObdRound {
  int item = 0;
  int position = 0;  // 1..3
  int click = 0;
  double propensity = 0;
};

std::vector<ObdRound> ReadObd(const std::filesystem::path& path) {
  std::ifstream in(path);
  core::CsvReader reader(in);
  auto header = reader.Next();
  EXPECT_TRUE(header && *header);
  const core::CsvHeader columns(**header);
  const size_t item = *columns.Find({"item_id"}), position = *columns.Find({"position"}),
               click = *columns.Find({"click"}), propensity = *columns.Find({"propensity_score"});
  std::vector<ObdRound> out;
  while (true) {
    auto record = reader.Next();
    EXPECT_TRUE(record.has_value());
    if (!record || !*record) break;
    const auto& r = **record;
    out.push_back({std::stoi(r[item]), std::stoi(r[position]), std::stoi(r[click]), std::stod(r[propensity])});
  }
  return out;
}

// The production Bernoulli TS's Beta parameters for the campaign (prior_bts.yaml).
std::pair<std::vector<double>, std::vector<double>> ReadBtsPrior(const std::filesystem::path& path,
                                                                 const std::string& campaign) {
  std::ifstream in(path);
  std::string line, section, list;
  std::vector<double> alpha, beta;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line[0] != ' ') {
      section = line.substr(0, line.find(':'));
    } else if (line.find("alpha:") != std::string::npos) {
      list = "alpha";
    } else if (line.find("beta:") != std::string::npos) {
      list = "beta";
    } else if (section == campaign && line.find("- ") != std::string::npos) {
      (list == "alpha" ? alpha : beta).push_back(std::stod(line.substr(line.find("- ") + 2)));
    }
  }
  return {alpha, beta};
}

TEST(OffPolicy, RecoversTheThompsonPolicysClickRateFromUniformRandomLogs) {
  SKIP_WITHOUT_SHARED_DATA("open_bandit_dataset/random/men/men.csv");
  const auto dir = testing::SharedData("open_bandit_dataset");
  const auto random_logs = ReadObd(dir / "random/men/men.csv");
  const auto bts_logs = ReadObd(dir / "bts/men/men.csv");
  const auto [alpha, beta] = ReadBtsPrior(dir / "prior_bts.yaml", "men");
  ASSERT_EQ(alpha.size(), 34u);
  ASSERT_EQ(beta.size(), 34u);

  // The BTS policy's probability of showing each item in each of the 3 slots: draw from every
  // item's Beta, the top three draws fill the slots in order (Monte Carlo).
  const size_t items = alpha.size();
  std::vector<std::array<double, 3>> target(items, {0, 0, 0});
  core::FastRng rng(2019);
  const int sims = 100000;
  std::vector<std::pair<double, size_t>> draws(items);
  for (int s = 0; s < sims; ++s) {
    for (size_t i = 0; i < items; ++i) draws[i] = {SampleBeta({alpha[i], beta[i]}, rng), i};
    std::partial_sort(draws.begin(), draws.begin() + 3, draws.end(), std::greater<>());
    for (int slot = 0; slot < 3; ++slot) target[draws[static_cast<size_t>(slot)].second][static_cast<size_t>(slot)] += 1.0 / sims;
  }
  // A reward model for DR: each item's click rate in the random logs, shrunk to the mean.
  std::vector<double> clicks(items, 0), shown(items, 0);
  double total_clicks = 0;
  for (const auto& r : random_logs) {
    clicks[static_cast<size_t>(r.item)] += r.click;
    shown[static_cast<size_t>(r.item)] += 1;
    total_clicks += r.click;
  }
  const double base = total_clicks / static_cast<double>(random_logs.size());
  std::vector<double> q(items);
  for (size_t i = 0; i < items; ++i) q[i] = (clicks[i] + 100 * base) / (shown[i] + 100);

  std::vector<LoggedRound> rounds;
  for (const auto& r : random_logs) {
    LoggedRound l;
    l.reward = r.click;
    l.propensity = r.propensity;
    const size_t slot = static_cast<size_t>(r.position - 1);
    l.target_probability = target[static_cast<size_t>(r.item)][slot];
    l.predicted_reward = q[static_cast<size_t>(r.item)];
    for (size_t i = 0; i < items; ++i) l.target_value += target[i][slot] * q[i];
    rounds.push_back(l);
  }
  double bts_clicks = 0;
  for (const auto& r : bts_logs) bts_clicks += r.click;
  const double observed = bts_clicks / static_cast<double>(bts_logs.size());

  // Percentile bootstrap intervals: 46 clicks carry the whole estimate, so its sampling
  // distribution is skewed to the right, which a symmetric normal interval ignores.
  const IntervalOptions bootstrap{.bootstrap_resamples = 2000, .seed = 7};
  const Estimate ips = InversePropensity(rounds, bootstrap);
  const Estimate snips = SelfNormalisedInversePropensity(rounds, bootstrap);
  const Estimate dr = DoublyRobust(rounds, bootstrap);
  std::printf("BTS click rate observed %.5f; from random logs: IPS %.5f [%.5f, %.5f], SNIPS %.5f [%.5f, %.5f], "
              "DR %.5f [%.5f, %.5f]; random policy %.5f\n",
              observed, ips.value, ips.ci_low, ips.ci_high, snips.value, snips.ci_low, snips.ci_high, dr.value, dr.ci_low,
              dr.ci_high, base);
  for (const Estimate& e : {ips, snips, dr}) {
    EXPECT_LE(e.ci_low, observed);
    EXPECT_GE(e.ci_high, observed);
  }
}

}  // namespace
}  // namespace loyalty::decision
