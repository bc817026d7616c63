// Model training and scoring, each beside a baseline measured in the same run:
//   CLV    BG/NBD + Gamma-Gamma fit on N simulated customers (default 1,000,000) and on CDNOW,
//          against one naive pass of the BG/NBD log-likelihood (one lgamma-heavy evaluation per
//          customer, no compression) - the fit costs this many naive passes; peak memory growth.
//   ALS    100,000 members x 10,000 items against the textbook exact per-member solve.
//   churn  gradient-boosted trees trained on 200,000 rows x 33 features against a logistic
//          regression fitted by 100 full-batch gradient steps on the same rows; batch scoring of
//          1,000,000 members against a dense dot product (a linear model's scoring); SHAP rows/s.
//   breakage  fit and 12-month forecast (100 simulated futures) for 100,000 members' points
//          movements against the run-rate rule (one pass over the same movements).
// Run: build/release/bin/models_bench [CUSTOMERS]   (see BENCHMARKS.md)

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

#include "loyalty/models/breakage.hpp"
#include "loyalty/models/churn.hpp"
#include "loyalty/models/clv.hpp"
#include "loyalty/models/recommender.hpp"
#include "support/process_memory.hpp"

#include <Eigen/Dense>

namespace {

using namespace loyalty;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

using bench::ResidentBytes;

int64_t PeakResidentBytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;
}

// The textbook BG/NBD log-likelihood, one customer at a time.
double NaiveBgNbd(const models::BgNbdParams& p, const std::vector<models::CustomerHistory>& customers) {
  double ll = 0;
  for (const auto& c : customers) {
    const double x = static_cast<double>(c.frequency);
    const double a1 = std::lgamma(p.r + x) - std::lgamma(p.r) + p.r * std::log(p.alpha);
    const double a2 = std::lgamma(p.a + p.b) + std::lgamma(p.b + x) - std::lgamma(p.b) - std::lgamma(p.a + p.b + x);
    const double a3 = -(p.r + x) * std::log(p.alpha + c.age);
    double a4 = 0;
    if (x > 0) {
      a4 = std::log(p.a) - std::log(p.b + x - 1) - (p.r + x) * std::log(p.alpha + c.recency);
    }
    ll += a1 + a2 + std::log(std::exp(a3) + (x > 0 ? std::exp(a4) : 0.0));
  }
  return ll;
}

void ClvBench(const std::vector<models::CustomerHistory>& customers, const char* label) {
  const models::BgNbdParams guess{0.5, 5.0, 0.8, 2.5};
  const auto n0 = Clock::now();
  volatile double sink = NaiveBgNbd(guess, customers);
  const auto n1 = Clock::now();
  (void)sink;
  const int64_t rss_before = ResidentBytes();
  const auto f0 = Clock::now();
  auto bg = models::FitBgNbd(customers);
  auto gg = models::FitGammaGamma(customers);
  const auto f1 = Clock::now();
  if (!bg || !gg) {
    std::fprintf(stderr, "fit failed\n");
    std::exit(1);
  }
  const double naive = Seconds(n0, n1), fit = Seconds(f0, f1);
  std::printf("%-28s %10zu  fit %7.3f s  naive pass %7.3f s  fit/naive-pass %6.1f  BG/NBD %s (%d evals), GG %s\n", label,
              customers.size(), fit, naive, fit / naive, bg->report.status.c_str(), bg->report.evaluations,
              gg->report.status.c_str());
  std::printf("%-28s r %.3f alpha %.3f a %.3f b %.3f | p %.2f q %.2f gamma %.2f | RSS growth during fit %.1f MiB\n", "",
              bg->params.r, bg->params.alpha, bg->params.a, bg->params.b, gg->params.p, gg->params.q, gg->params.gamma,
              static_cast<double>(ResidentBytes() - rss_before) / (1 << 20));
}

models::Dataset ChurnRows(size_t rows, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0, 1);
  std::uniform_real_distribution<double> unit(0, 1);
  models::Dataset d;
  for (int j = 0; j < 33; ++j) d.feature_names.push_back("f" + std::to_string(j));
  d.source_columns = d.feature_names;
  d.rows = rows;
  d.values.resize(rows * 33);
  for (size_t r = 0; r < rows; ++r) {
    float* row = &d.values[r * 33];
    for (int j = 0; j < 33; ++j) row[j] = normal(rng);
    const double logit = 1.2 * row[0] - 0.8 * row[1] + 0.5 * row[2] * row[3] + (row[4] > 1 ? 1.0 : 0.0);
    d.labels.push_back(unit(rng) < 1 / (1 + std::exp(-logit)) ? 1 : 0);
  }
  return d;
}

void ChurnBench() {
  const models::Dataset train = ChurnRows(200000, 1);
  const auto t0 = Clock::now();
  auto model = models::ChurnModel::Train(train);
  const auto t1 = Clock::now();
  if (!model) {
    std::fprintf(stderr, "churn: %s\n", model.error().message.c_str());
    std::exit(1);
  }
  // Baseline: logistic regression, 100 full-batch gradient steps.
  std::vector<double> w(34, 0.0);
  const auto b0 = Clock::now();
  for (int step = 0; step < 100; ++step) {
    std::vector<double> grad(34, 0.0);
    for (size_t r = 0; r < train.rows; ++r) {
      const float* row = &train.values[r * 33];
      double z = w[33];
      for (int j = 0; j < 33; ++j) z += w[j] * row[j];
      const double e = 1 / (1 + std::exp(-z)) - train.labels[r];
      for (int j = 0; j < 33; ++j) grad[j] += e * row[j];
      grad[33] += e;
    }
    for (int j = 0; j < 34; ++j) w[j] -= 0.5 * grad[j] / static_cast<double>(train.rows);
  }
  const auto b1 = Clock::now();
  std::printf("churn training, 200k x 33      trees %6.2f s (%d trees)  logistic regression (100 steps) %6.2f s  ratio %.2f\n",
              Seconds(t0, t1), model->rounds(), Seconds(b0, b1), Seconds(t0, t1) / Seconds(b0, b1));

  const models::Dataset members = ChurnRows(1000000, 2);
  const auto s0 = Clock::now();
  auto p = model->Predict(members);
  const auto s1 = Clock::now();
  double linear_sum = 0;
  const auto l0 = Clock::now();
  for (size_t r = 0; r < members.rows; ++r) {
    const float* row = &members.values[r * 33];
    double z = w[33];
    for (int j = 0; j < 33; ++j) z += w[j] * row[j];
    linear_sum += 1 / (1 + std::exp(-z));
  }
  const auto l1 = Clock::now();
  std::printf("churn scoring, 1M members      trees %6.3f s  linear model %6.3f s  ratio %.1f  (%.0f members/s; sum %.0f)\n",
              Seconds(s0, s1), Seconds(l0, l1), Seconds(s0, s1) / Seconds(l0, l1),
              static_cast<double>(members.rows) / Seconds(s0, s1), linear_sum);
  std::vector<size_t> first(20000);
  for (size_t i = 0; i < first.size(); ++i) first[i] = i;
  const models::Dataset sample = members.Subset(first);
  const auto e0 = Clock::now();
  auto explanations = model->Explain(sample, 5);
  const auto e1 = Clock::now();
  const double shap_rate = static_cast<double>(sample.rows) / Seconds(e0, e1);
  std::printf("churn explanations (SHAP)      %.0f rows/s, %.1f%% of the scoring rate\n", shap_rate,
              100 * shap_rate / (static_cast<double>(members.rows) / Seconds(s0, s1)));
  (void)p;
  (void)explanations;
}

// 100,000 members x 10,000 items, 20 interactions each on average, items drawn with a
// Zipf-like popularity and members with a taste for one of 50 groups.
std::vector<models::Interaction> AlsData(uint32_t users, uint32_t items, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0, 1);
  std::poisson_distribution<int> count(20);
  std::vector<models::Interaction> out;
  const uint32_t groups = 50, per_group = items / groups;
  for (uint32_t u = 0; u < users; ++u) {
    const uint32_t taste = static_cast<uint32_t>(unit(rng) * groups);
    const int n = std::max(1, count(rng));
    for (int k = 0; k < n; ++k) {
      const double z = std::pow(unit(rng), 2.0);  // skewed toward the group's first items
      const uint32_t item = unit(rng) < 0.8 ? taste * per_group + static_cast<uint32_t>(z * per_group)
                                            : static_cast<uint32_t>(z * items);
      out.push_back({u, std::min(item, items - 1), unit(rng) < 0.3 ? 1.0f : 0.25f});
    }
  }
  return out;
}

// The textbook solve (Hu, Koren & Volinsky): per member, build Y^T C Y + lambda I and factor
// it, one sweep over the members.
double ExactSweepSeconds(const std::vector<models::Interaction>& data, uint32_t users, uint32_t items, int f) {
  std::mt19937_64 rng(3);
  std::normal_distribution<float> init(0, 0.01f);
  Eigen::MatrixXf y(items, f);
  for (Eigen::Index i = 0; i < y.size(); ++i) y.data()[i] = init(rng);
  std::vector<std::vector<std::pair<uint32_t, float>>> rows(users);
  for (const auto& i : data) rows[i.user].push_back({i.item, i.weight});
  const auto t0 = Clock::now();
  const Eigen::MatrixXd gram = (y.transpose() * y).cast<double>();
  double checksum = 0;
  for (uint32_t u = 0; u < users; ++u) {
    Eigen::MatrixXd a = gram;
    a.diagonal().array() += 0.1;
    Eigen::VectorXd b = Eigen::VectorXd::Zero(f);
    for (const auto& [item, weight] : rows[u]) {
      const Eigen::VectorXd yi = y.row(item).cast<double>().transpose();
      a += (20.0 * weight) * yi * yi.transpose();
      b += (1.0 + 20.0 * weight) * yi;
    }
    checksum += a.ldlt().solve(b)(0);
  }
  const auto t1 = Clock::now();
  if (checksum == 12345.678) std::printf(" ");
  return Seconds(t0, t1);
}

void AlsBench() {
  const uint32_t users = 100000, items = 10000;
  const auto data = AlsData(users, items, 5);
  models::AlsOptions options;
  const auto t0 = Clock::now();
  auto model = models::ImplicitAls::Train(data, users, items, options);
  const auto t1 = Clock::now();
  if (!model) {
    std::fprintf(stderr, "als: %s\n", model.error().message.c_str());
    std::exit(1);
  }
  const double train = Seconds(t0, t1);
  const double exact = ExactSweepSeconds(data, users, items, options.factors);
  const double per_sweep = train / (2.0 * options.iterations);
  std::printf("ALS 100k members x 10k items  %zu interactions, %d factors, %d iterations: %.2f s (%.3f s a sweep, 2 threads)\n",
              data.size(), options.factors, options.iterations, train, per_sweep);
  std::printf("                              exact per-member solve (one sweep over members, 1 thread) %.3f s; "
              "CG sweep is %.1fx faster\n", exact, exact / per_sweep);
  std::vector<models::Interaction> own(data.begin(), data.begin() + 20);
  const auto r0 = Clock::now();
  for (int i = 0; i < 200; ++i) (void)model->Recommend(own, 10, true);
  const auto r1 = Clock::now();
  std::printf("                              recommend with fold-in: %.0f members/s\n", 200 / Seconds(r0, r1));
}

}  // namespace

// Members who buy as in a BG/NBD world and redeem 250-point blocks with a personal propensity.
std::vector<models::MemberPoints> SimulatePoints(int members, double days, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0, 1);
  auto beta = [&](double a, double b) {
    const double x = std::gamma_distribution<double>(a, 1)(rng), y = std::gamma_distribution<double>(b, 1)(rng);
    return x / (x + y);
  };
  std::vector<models::MemberPoints> out;
  for (int i = 0; i < members; ++i) {
    models::MemberPoints m{"m" + std::to_string(i), {}};
    const double rate = std::gamma_distribution<double>(0.8, 1 / 25.0)(rng);
    const double dropout = beta(0.8, 4), propensity = beta(0.6, 1.0);
    double t = unit(rng) * days / 2;
    int64_t held = 0;
    while (t < days) {
      const auto earned = std::max<int64_t>(1, static_cast<int64_t>(std::gamma_distribution<double>(6, 8)(rng)));
      m.moves.push_back({t, earned, models::PointsMoveKind::kEarn});
      held += earned;
      if (held >= 250 && unit(rng) < propensity) {
        m.moves.push_back({t + 0.001, -(held / 250 * 250), models::PointsMoveKind::kRedeem});
        held %= 250;
      }
      if (unit(rng) < dropout) break;
      t += std::exponential_distribution<double>(rate)(rng);
    }
    out.push_back(std::move(m));
  }
  return out;
}

void BreakageBench() {
  constexpr int kMembers = 100000;
  const auto members = SimulatePoints(kMembers, 730, 11);
  const double cutoff = 730;
  const auto b0 = Clock::now();
  const auto run_rate = models::RunRateLiability(members, cutoff, 12);
  const auto b1 = Clock::now();
  auto fit = models::FitBreakage(members, cutoff, {models::PointsExpiry::kAfterEarn, 730.5});
  const auto b2 = Clock::now();
  if (!fit) {
    std::printf("breakage: %s\n", fit.error().message.c_str());
    return;
  }
  models::BreakageOptions options;
  options.draws = 100;
  auto forecast = models::ForecastBreakage(fit->params, members, cutoff, options);
  const auto b3 = Clock::now();
  if (!forecast) return;
  const double baseline = Seconds(b0, b1);
  std::printf("breakage, %d members: run-rate pass %.3f s | fit %.2f s (%.0fx) | forecast, %d futures each, %.2f s "
              "(%.0fx; %.0f member-futures/s) | breakage %.1f%% (%.1f%% to %.1f%%), liability in 12 months %.0f "
              "points against %.0f by the run rate\n",
              kMembers, baseline, Seconds(b1, b2), Seconds(b1, b2) / baseline, options.draws, Seconds(b2, b3),
              Seconds(b2, b3) / baseline, kMembers * options.draws / Seconds(b2, b3),
              100 * forecast->breakage_share.mean, 100 * forecast->breakage_share.low,
              100 * forecast->breakage_share.high, forecast->liability.back().mean, run_rate.back());
}

int main(int argc, char** argv) {
  const int64_t customers = argc > 1 ? std::atoll(argv[1]) : 1000000;
  const int64_t rss_start = ResidentBytes();
  const auto g0 = Clock::now();
  const auto simulated =
      models::SimulateHistories({0.6, 8.0, 0.7, 3.0}, {5.0, 4.0, 20.0}, customers, 4.0, 104.0, 7);
  const auto g1 = Clock::now();
  std::printf("simulated %lld customers in %.2f s (truth r 0.6 alpha 8 a 0.7 b 3 | p 5 q 4 gamma 20)\n",
              static_cast<long long>(customers), Seconds(g0, g1));
  ClvBench(simulated, "BG/NBD + GG, simulated");
  std::ifstream cdnow("../shared/data/cdnow/CDNOW_master.txt");
  if (cdnow) {
    auto file = models::ReadTransactions(cdnow);
    auto histories = models::Summarize(std::move(file->purchases), {*models::ParseDay("1997-09-30"), std::nullopt, 7.0});
    if (histories) ClvBench(*histories, "BG/NBD + GG, CDNOW master");
  } else {
    std::printf("CDNOW: ../shared/data/cdnow absent, skipped\n");
  }
  ChurnBench();
  AlsBench();
  BreakageBench();
  std::printf("peak resident memory %.0f MiB (start %.0f MiB)\n", static_cast<double>(PeakResidentBytes()) / (1 << 20),
              static_cast<double>(rss_start) / (1 << 20));
  return 0;
}
