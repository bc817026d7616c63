#include "loyalty/models/clv.hpp"

#include "maximise.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <array>
#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <boost/math/special_functions/hypergeometric_pFq.hpp>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <tuple>

namespace loyalty::models {

using internal::LogLikelihood;
using internal::Maximise;
using internal::Optimum;

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kZ90 = 1.6448536269514722;  // two-sided 90%: the 5th and 95th percentiles

double LogGamma(double x) { return boost::math::lgamma(x); }
double Digamma(double x) { return boost::math::digamma(x); }
double LogBeta(double a, double b) { return LogGamma(a) + LogGamma(b) - LogGamma(a + b); }

// Customers with the same (x, t_x, T) contribute the same likelihood: fitting on the distinct
// histories with weights makes a million customers cost what a few hundred thousand do, and
// everything that depends on x alone is computed once per distinct x.
struct BgRows {
  std::vector<double> x_values;  // distinct frequencies
  std::vector<uint32_t> x_index;
  std::vector<double> recency, age, weight;
  double customers = 0;
};

struct GgRows {
  std::vector<double> x_values;
  std::vector<uint32_t> x_index;
  std::vector<double> spend, log_spend;
  double customers = 0;
};

Result<BgRows> CompressBg(std::span<const CustomerHistory> customers) {
  struct Key {
    int64_t x;
    double tx, T;
    auto operator<=>(const Key&) const = default;
  };
  std::vector<Key> keys;
  keys.reserve(customers.size());
  for (const auto& c : customers) {
    if (c.frequency < 0 || !(c.recency >= 0) || !(c.age >= c.recency) || !std::isfinite(c.age)) {
      return Fail(ErrorCode::kInvalidArgument, "customer '" + c.id +
                                                   "': a history needs frequency >= 0 and 0 <= recency <= age");
    }
    if (c.frequency > 0 && !(c.recency > 0)) {
      return Fail(ErrorCode::kInvalidArgument, "customer '" + c.id + "': repeat purchases need a recency above 0");
    }
    keys.push_back({c.frequency, c.recency, c.age});
  }
  std::sort(keys.begin(), keys.end());
  BgRows rows;
  for (size_t i = 0; i < keys.size();) {
    size_t j = i;
    while (j < keys.size() && keys[j] == keys[i]) ++j;
    if (rows.x_values.empty() || rows.x_values.back() != static_cast<double>(keys[i].x)) {
      rows.x_values.push_back(static_cast<double>(keys[i].x));  // keys are sorted by x first
    }
    rows.x_index.push_back(static_cast<uint32_t>(rows.x_values.size() - 1));
    rows.recency.push_back(keys[i].tx);
    rows.age.push_back(keys[i].T);
    rows.weight.push_back(static_cast<double>(j - i));
    rows.customers += static_cast<double>(j - i);
    i = j;
  }
  return rows;
}

GgRows CompressGg(std::span<const CustomerHistory> customers) {
  GgRows rows;
  std::map<int64_t, uint32_t> x_slot;
  for (const auto& c : customers) {
    if (c.frequency <= 0 || !(c.mean_spend > 0) || !std::isfinite(c.mean_spend)) continue;
    auto [it, added] = x_slot.emplace(c.frequency, static_cast<uint32_t>(rows.x_values.size()));
    if (added) rows.x_values.push_back(static_cast<double>(c.frequency));
    rows.x_index.push_back(it->second);
    rows.spend.push_back(c.mean_spend);
    rows.log_spend.push_back(std::log(c.mean_spend));
    rows.customers += 1;
  }
  return rows;
}

// BG/NBD log-likelihood (FHL 2005, eq. 6) as log-sum-exp of its two terms, with the gradient
// in log parameters (r, alpha, a, b).
double BgLogLikelihood(const BgNbdParams& p, const BgRows& rows, double* grad) {
  const double r = p.r, alpha = p.alpha, a = p.a, b = p.b;
  const size_t nx = rows.x_values.size();
  struct PerX {
    double c1, dc1_dr, l2, dl2_da, dl2_db, l3, dl3_da, dl3_db;
  };
  std::vector<PerX> per_x(nx);
  const double log_alpha = std::log(alpha);
  const double lbab = LogBeta(a, b);
  const double psi_r = Digamma(r), psi_a = Digamma(a), psi_b = Digamma(b), psi_ab = Digamma(a + b);
  for (size_t i = 0; i < nx; ++i) {
    const double x = rows.x_values[i];
    PerX& q = per_x[i];
    const double psi_abx = Digamma(a + b + x);
    q.c1 = LogGamma(r + x) - LogGamma(r) + r * log_alpha;
    q.dc1_dr = Digamma(r + x) - psi_r + log_alpha;
    q.l2 = LogBeta(a, b + x) - lbab;
    q.dl2_da = psi_ab - psi_abx;
    q.dl2_db = Digamma(b + x) - psi_abx - psi_b + psi_ab;
    if (x > 0) {
      q.l3 = LogBeta(a + 1, b + x - 1) - lbab;
      q.dl3_da = Digamma(a + 1) - psi_abx - psi_a + psi_ab;
      q.dl3_db = Digamma(b + x - 1) - psi_abx - psi_b + psi_ab;
    } else {
      q.l3 = -std::numeric_limits<double>::infinity();
      q.dl3_da = q.dl3_db = 0;
    }
  }
  double ll = 0, g_r = 0, g_alpha = 0, g_a = 0, g_b = 0;
  for (size_t i = 0; i < rows.weight.size(); ++i) {
    const PerX& q = per_x[rows.x_index[i]];
    const double x = rows.x_values[rows.x_index[i]];
    const double s = r + x;
    const double la2 = std::log(alpha + rows.age[i]);
    const double a2 = q.l2 - s * la2;
    const double w = rows.weight[i];
    if (x == 0) {
      ll += w * (q.c1 + a2);
      if (grad) {
        g_r += w * (q.dc1_dr - la2);
        g_alpha += w * (r / alpha - s / (alpha + rows.age[i]));
        g_a += w * q.dl2_da;
        g_b += w * q.dl2_db;
      }
      continue;
    }
    const double la3 = std::log(alpha + rows.recency[i]);
    const double a3 = q.l3 - s * la3;
    const double m = std::max(a2, a3);
    const double e2 = std::exp(a2 - m), e3 = std::exp(a3 - m);
    const double sum = e2 + e3;
    ll += w * (q.c1 + m + std::log(sum));
    if (grad) {
      const double w2 = e2 / sum, w3 = e3 / sum;
      g_r += w * (q.dc1_dr - w2 * la2 - w3 * la3);
      g_alpha += w * (r / alpha - w2 * s / (alpha + rows.age[i]) - w3 * s / (alpha + rows.recency[i]));
      g_a += w * (w2 * q.dl2_da + w3 * q.dl3_da);
      g_b += w * (w2 * q.dl2_db + w3 * q.dl3_db);
    }
  }
  if (grad) {
    grad[0] = g_r * r;
    grad[1] = g_alpha * alpha;
    grad[2] = g_a * a;
    grad[3] = g_b * b;
  }
  return ll;
}

// Gamma-Gamma log-likelihood of the customers' mean repeat spend (Fader & Hardie, "The
// Gamma-Gamma model of monetary value", eq. 1-3), with the gradient in log (p, q, gamma).
double GgLogLikelihood(const GammaGammaParams& par, const GgRows& rows, double* grad) {
  const double p = par.p, q = par.q, g = par.gamma;
  const size_t nx = rows.x_values.size();
  std::vector<std::array<double, 3>> per_x(nx);
  const double lgq = LogGamma(q), psi_q = Digamma(q), log_g = std::log(g);
  for (size_t i = 0; i < nx; ++i) {
    const double x = rows.x_values[i];
    const double px = p * x;
    const double psi_pxq = Digamma(px + q);
    per_x[i] = {LogGamma(px + q) - LogGamma(px) - lgq + px * std::log(x) + q * log_g,
                x * psi_pxq - x * Digamma(px) + x * std::log(x), psi_pxq - psi_q + log_g};
  }
  double ll = 0, g_p = 0, g_q = 0, g_g = 0;
  for (size_t i = 0; i < rows.spend.size(); ++i) {
    const auto& k = per_x[rows.x_index[i]];
    const double x = rows.x_values[rows.x_index[i]];
    const double px = p * x;
    const double denom = g + x * rows.spend[i];
    const double lgm = std::log(denom);
    ll += k[0] + (px - 1) * rows.log_spend[i] - (px + q) * lgm;
    if (grad) {
      g_p += k[1] + x * rows.log_spend[i] - x * lgm;
      g_q += k[2] - lgm;
      g_g += q / g - (px + q) / denom;
    }
  }
  if (grad) {
    grad[0] = g_p * p;
    grad[1] = g_q * q;
    grad[2] = g_g * g;
  }
  return ll;
}


BgNbdParams BgFromLog(const std::vector<double>& v) {
  return {std::exp(v[0]), std::exp(v[1]), std::exp(v[2]), std::exp(v[3])};
}
std::vector<double> BgToLog(const BgNbdParams& p) {
  return {std::log(p.r), std::log(p.alpha), std::log(p.a), std::log(p.b)};
}
GammaGammaParams GgFromLog(const std::vector<double>& v) { return {std::exp(v[0]), std::exp(v[1]), std::exp(v[2])}; }
std::vector<double> GgToLog(const GammaGammaParams& p) { return {std::log(p.p), std::log(p.q), std::log(p.gamma)}; }

// Gauss' hypergeometric 2F1(a, b; c; z) for 0 <= z < 1.
double Hyp2F1(double a, double b, double c, double z) {
  if (z == 0) return 1;
  try {
    return boost::math::hypergeometric_pFq({a, b}, {c}, z);
  } catch (const std::exception&) {
    return kNan;
  }
}

// Variance of h(log params) by the delta method, the gradient by central differences.
double DeltaVariance(const std::function<double(const std::vector<double>&)>& h, const std::vector<double>& at,
                     const std::vector<std::vector<double>>& covariance) {
  const size_t n = at.size();
  std::vector<double> grad(n);
  const double step = 1e-5;
  for (size_t i = 0; i < n; ++i) {
    std::vector<double> up = at, down = at;
    up[i] += step;
    down[i] -= step;
    grad[i] = (h(up) - h(down)) / (2 * step);
  }
  double var = 0;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) var += grad[i] * covariance[i][j] * grad[j];
  }
  return var;
}

bool HasCovariance(const FitReport& report) {
  return !report.log_covariance.empty() && std::isfinite(report.log_covariance[0][0]);
}

double Logit(double p) { return std::log(p) - std::log1p(-p); }
double Logistic(double v) { return 1.0 / (1.0 + std::exp(-v)); }

}  // namespace

double BgNbdLogLikelihood(const BgNbdParams& params, std::span<const CustomerHistory> customers,
                          std::vector<double>* log_gradient) {
  auto rows = CompressBg(customers);
  if (!rows) return kNan;
  if (log_gradient) log_gradient->assign(4, 0);
  return BgLogLikelihood(params, *rows, log_gradient ? log_gradient->data() : nullptr);
}

double GammaGammaLogLikelihood(const GammaGammaParams& params, std::span<const CustomerHistory> customers,
                               std::vector<double>* log_gradient) {
  const GgRows rows = CompressGg(customers);
  if (log_gradient) log_gradient->assign(3, 0);
  return GgLogLikelihood(params, rows, log_gradient ? log_gradient->data() : nullptr);
}

Result<BgNbdFit> FitBgNbd(std::span<const CustomerHistory> customers, const FitOptions& options) {
  if (customers.empty()) return Fail(ErrorCode::kInvalidArgument, "BG/NBD needs at least one customer");
  LOYALTY_ASSIGN_OR_RETURN(const BgRows rows, CompressBg(customers));
  double mean_x = 0, mean_age = 0;
  for (size_t i = 0; i < rows.weight.size(); ++i) {
    mean_x += rows.weight[i] * rows.x_values[rows.x_index[i]];
    mean_age += rows.weight[i] * rows.age[i];
  }
  mean_x /= rows.customers;
  mean_age /= rows.customers;
  if (!(mean_age > 0)) return Fail(ErrorCode::kInvalidArgument, "BG/NBD needs customers observed for some time (age > 0)");
  // Start where a shape-1 purchase rate matches the observed mean rate.
  const BgNbdParams start{1.0, std::max(1e-3, mean_age / std::max(mean_x, 0.1)), 1.0, 1.0};
  auto ll = [&rows](const std::vector<double>& v, double* grad) { return BgLogLikelihood(BgFromLog(v), rows, grad); };
  Optimum optimum = Maximise(ll, BgToLog(start), rows.customers, options.max_evaluations);
  return BgNbdFit{BgFromLog(optimum.log_params), std::move(optimum.report)};
}

Result<GammaGammaFit> FitGammaGamma(std::span<const CustomerHistory> customers, const FitOptions& options) {
  const GgRows rows = CompressGg(customers);
  if (rows.customers < 2) {
    return Fail(ErrorCode::kInvalidArgument,
                "Gamma-Gamma needs at least two customers with repeat purchases and a positive spend");
  }
  double mean = 0;
  for (double m : rows.spend) mean += m;
  mean /= rows.customers;
  const GammaGammaParams start{1.0, 2.0, mean};
  auto ll = [&rows](const std::vector<double>& v, double* grad) { return GgLogLikelihood(GgFromLog(v), rows, grad); };
  Optimum optimum = Maximise(ll, GgToLog(start), rows.customers, options.max_evaluations);
  return GammaGammaFit{GgFromLog(optimum.log_params), std::move(optimum.report),
                       static_cast<int64_t>(rows.customers)};
}

double ProbabilityAlive(const BgNbdParams& p, double x, double t_x, double T) {
  if (x == 0) return 1.0;
  const double log_odds_dead =
      std::log(p.a) - std::log(p.b + x - 1) + (p.r + x) * (std::log(p.alpha + T) - std::log(p.alpha + t_x));
  return Logistic(-log_odds_dead);
}

double ExpectedPurchases(const BgNbdParams& p, double t) {
  if (t <= 0) return 0;
  const double z = t / (p.alpha + t);
  const double head = (p.a + p.b - 1) / (p.a - 1);
  return head * (1 - std::exp(p.r * std::log(p.alpha / (p.alpha + t))) * Hyp2F1(p.r, p.b, p.a + p.b - 1, z));
}

double ConditionalExpectedPurchases(const BgNbdParams& p, double t, double x, double t_x, double T) {
  if (t <= 0) return 0;
  const double s = p.r + x;
  const double z = t / (p.alpha + T + t);
  const double head = (p.a + p.b + x - 1) / (p.a - 1);
  const double tail = 1 - std::exp(s * std::log((p.alpha + T) / (p.alpha + T + t))) *
                              Hyp2F1(s, p.b + x, p.a + p.b + x - 1, z);
  double odds_dead = 0;
  if (x > 0) {
    odds_dead = std::exp(std::log(p.a) - std::log(p.b + x - 1) +
                         s * (std::log(p.alpha + T) - std::log(p.alpha + t_x)));
  }
  return head * tail / (1 + odds_dead);
}

double ConditionalExpectedSpend(const GammaGammaParams& p, double x, double mean_spend) {
  if (x <= 0 || !(mean_spend > 0)) return p.p * p.gamma / (p.q - 1);
  return p.p * (p.gamma + x * mean_spend) / (p.p * x + p.q - 1);
}

NextPurchase ForecastNextPurchase(const BgNbdParams& p, const CustomerHistory& c, double days_per_unit) {
  const double x = static_cast<double>(c.frequency);
  const double shape = p.r + x, scale = p.alpha + c.age;
  // Quantile q of the Pareto II waiting time, in days.
  auto quantile = [&](double q) { return days_per_unit * scale * (std::pow(1 - q, -1 / shape) - 1); };
  NextPurchase out;
  out.probability_alive = ProbabilityAlive(p, x, c.recency, c.age);
  out.median_days = quantile(0.5);
  out.low_days = quantile(0.05);
  out.high_days = quantile(0.95);
  const double within = 30.0 / days_per_unit;
  out.probability_within_30_days = out.probability_alive * (1 - std::pow(scale / (scale + within), shape));
  return out;
}

core::Status ValidateClvOptions(const ClvOptions& o) {
  if (!(o.horizon_months >= 1 && o.horizon_months <= 120)) {
    return Fail(ErrorCode::kInvalidArgument, "the CLV horizon must be 1 to 120 months");
  }
  if (!(o.annual_discount_rate >= 0 && o.annual_discount_rate <= 1)) {
    return Fail(ErrorCode::kInvalidArgument, "the annual discount rate must be between 0 and 1");
  }
  if (!(o.margin > 0 && o.margin <= 1)) return Fail(ErrorCode::kInvalidArgument, "the margin must be above 0 and at most 1");
  if (!(o.days_per_unit >= 1 && o.days_per_unit <= 31)) {
    return Fail(ErrorCode::kInvalidArgument, "the time unit must be 1 to 31 days");
  }
  return {};
}

ClvModel::ClvModel(BgNbdFit purchases, GammaGammaFit spend, ClvOptions options)
    : purchases_(std::move(purchases)), spend_(std::move(spend)), options_(options) {}

double ClvModel::DiscountedClv(const BgNbdParams& bg, const GammaGammaParams& gg, const ClvOptions& options,
                               const CustomerHistory& c) {
  const double x = static_cast<double>(c.frequency);
  const double month = 30.4375 / options.days_per_unit;
  const int months = std::max(1, static_cast<int>(std::lround(options.horizon_months)));
  double discounted = 0, before = 0;
  for (int k = 1; k <= months; ++k) {
    const double cumulative = ConditionalExpectedPurchases(bg, k * month, x, c.recency, c.age);
    discounted += (cumulative - before) / std::pow(1 + options.annual_discount_rate, k / 12.0);
    before = cumulative;
  }
  return options.margin * ConditionalExpectedSpend(gg, x, c.mean_spend) * discounted;
}

CustomerForecast ClvModel::Forecast(const CustomerHistory& c) const {
  const double x = static_cast<double>(c.frequency);
  const auto bg_log = BgToLog(purchases_.params);
  const auto gg_log = GgToLog(spend_.params);
  const bool bg_cov = HasCovariance(purchases_.report);
  const bool gg_cov = HasCovariance(spend_.report);
  const double horizon =
      std::max(1L, std::lround(options_.horizon_months)) * 30.4375 / options_.days_per_unit;  // as DiscountedClv

  // An interval for a positive quantity from the variance of its log (or logit for a
  // probability): the transform keeps both ends in range.
  auto interval = [](double estimate, double var, bool probability) {
    Interval out{estimate, estimate, estimate};
    if (!std::isfinite(var) || !std::isfinite(estimate) || estimate <= 0 || (probability && estimate >= 1)) return out;
    const double sd = std::sqrt(std::max(0.0, var));
    if (probability) {
      out.low = Logistic(Logit(estimate) - kZ90 * sd);
      out.high = Logistic(Logit(estimate) + kZ90 * sd);
    } else {
      out.low = estimate * std::exp(-kZ90 * sd);
      out.high = estimate * std::exp(kZ90 * sd);
    }
    return out;
  };

  CustomerForecast f;
  const double alive = ProbabilityAlive(purchases_.params, x, c.recency, c.age);
  f.probability_alive = interval(
      alive,
      bg_cov && x > 0 ? DeltaVariance([&](const std::vector<double>& v) {
        return Logit(ProbabilityAlive(BgFromLog(v), x, c.recency, c.age));
      }, bg_log, purchases_.report.log_covariance)
                      : kNan,
      true);
  const double purchases = ConditionalExpectedPurchases(purchases_.params, horizon, x, c.recency, c.age);
  f.expected_purchases = interval(
      purchases,
      bg_cov ? DeltaVariance([&](const std::vector<double>& v) {
        return std::log(ConditionalExpectedPurchases(BgFromLog(v), horizon, x, c.recency, c.age));
      }, bg_log, purchases_.report.log_covariance)
             : kNan,
      false);
  const double spend = ConditionalExpectedSpend(spend_.params, x, c.mean_spend);
  f.expected_spend = interval(
      spend,
      gg_cov ? DeltaVariance([&](const std::vector<double>& v) {
        return std::log(ConditionalExpectedSpend(GgFromLog(v), x, c.mean_spend));
      }, gg_log, spend_.report.log_covariance)
             : kNan,
      false);
  // CLV = margin x spend x discounted purchases; the two fits are independent, so the
  // variance of its log is the sum of the two parts.
  const double clv = DiscountedClv(purchases_.params, spend_.params, options_, c);
  double clv_var = kNan;
  if (bg_cov && gg_cov) {
    clv_var = DeltaVariance([&](const std::vector<double>& v) {
                return std::log(DiscountedClv(BgFromLog(v), spend_.params, options_, c));
              }, bg_log, purchases_.report.log_covariance) +
              DeltaVariance([&](const std::vector<double>& v) {
                return std::log(ConditionalExpectedSpend(GgFromLog(v), x, c.mean_spend));
              }, gg_log, spend_.report.log_covariance);
  }
  f.clv = interval(clv, clv_var, false);
  return f;
}

HoldoutReport CompareHoldout(const BgNbdParams& params, std::span<const CustomerHistory> customers, double length) {
  HoldoutReport report;
  report.length = length;
  constexpr int kGroups = 8;  // 0..6 and 7+
  report.groups.resize(kGroups);
  for (int g = 0; g < kGroups; ++g) report.groups[g].frequency = g + 1 < kGroups ? std::to_string(g) : "7+";
  double abs_error = 0;
  for (const auto& c : customers) {
    const double predicted =
        ConditionalExpectedPurchases(params, length, static_cast<double>(c.frequency), c.recency, c.age);
    auto& group = report.groups[std::min<int64_t>(c.frequency, kGroups - 1)];
    ++group.customers;
    group.actual += static_cast<double>(c.holdout_purchases);
    group.predicted += predicted;
    report.actual_total += static_cast<double>(c.holdout_purchases);
    report.predicted_total += predicted;
    abs_error += std::abs(predicted - static_cast<double>(c.holdout_purchases));
  }
  for (auto& group : report.groups) {
    if (group.customers == 0) continue;
    group.actual /= static_cast<double>(group.customers);
    group.predicted /= static_cast<double>(group.customers);
  }
  if (!customers.empty()) report.mean_absolute_error = abs_error / static_cast<double>(customers.size());
  return report;
}

Json ToJson(const FitReport& report, const std::vector<std::string>& names) {
  Json se = Json::object();
  for (size_t i = 0; i < names.size() && i < report.std_errors.size(); ++i) {
    se[names[i]] = std::isfinite(report.std_errors[i]) ? Json(report.std_errors[i]) : Json(nullptr);
  }
  return Json{{"converged", report.converged},
              {"status", report.status},
              {"evaluations", report.evaluations},
              {"log_likelihood", report.log_likelihood},
              {"gradient_norm", report.gradient_norm},
              {"std_errors", se}};
}

std::vector<CustomerHistory> SimulateHistories(const BgNbdParams& bg, const GammaGammaParams& gg, int64_t n,
                                               double min_age, double max_age, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::gamma_distribution<double> rate(bg.r, 1.0 / bg.alpha);
  std::gamma_distribution<double> beta_a(bg.a, 1.0), beta_b(bg.b, 1.0);
  std::gamma_distribution<double> spend_rate(gg.q, 1.0 / gg.gamma);
  std::uniform_real_distribution<double> unit(0.0, 1.0), age(min_age, max_age);
  std::vector<CustomerHistory> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double lambda = rate(rng);
    const double ga = beta_a(rng), gb = beta_b(rng);
    const double dropout = ga / (ga + gb);
    const double nu = spend_rate(rng);
    std::gamma_distribution<double> value(gg.p, 1.0 / nu);
    CustomerHistory c;
    c.id = std::to_string(i);
    c.age = age(rng);
    double t = 0, spend = 0;
    while (true) {
      t += std::exponential_distribution<double>(lambda)(rng);
      if (t > c.age) break;
      ++c.frequency;
      c.recency = t;
      spend += value(rng);
      if (unit(rng) < dropout) break;
    }
    if (c.frequency > 0) c.mean_spend = spend / static_cast<double>(c.frequency);
    out.push_back(std::move(c));
  }
  return out;
}

namespace {

Json ReportToStoredJson(const FitReport& report) {
  Json cov = Json::array();
  for (const auto& row : report.log_covariance) {
    Json r = Json::array();
    for (double v : row) r.push_back(std::isfinite(v) ? Json(v) : Json(nullptr));
    cov.push_back(std::move(r));
  }
  Json se = Json::array();
  for (double v : report.std_errors) se.push_back(std::isfinite(v) ? Json(v) : Json(nullptr));
  auto finite = [](double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); };
  return Json{{"converged", report.converged}, {"status", report.status},   {"evaluations", report.evaluations},
              {"log_likelihood", finite(report.log_likelihood)}, {"gradient_norm", finite(report.gradient_norm)},
              {"std_errors", se},          {"log_covariance", cov}};
}

double NumberOrNan(const Json& v) { return v.is_number() ? v.get<double>() : kNan; }

Result<FitReport> ReportFromStoredJson(const Json& j, size_t n) {
  try {
    FitReport r;
    r.converged = j.at("converged").get<bool>();
    r.status = j.at("status").get<std::string>();
    r.evaluations = j.at("evaluations").get<int>();
    r.log_likelihood = NumberOrNan(j.at("log_likelihood"));
    r.gradient_norm = NumberOrNan(j.at("gradient_norm"));
    for (const auto& v : j.at("std_errors")) r.std_errors.push_back(NumberOrNan(v));
    for (const auto& row : j.at("log_covariance")) {
      std::vector<double> values;
      for (const auto& v : row) values.push_back(NumberOrNan(v));
      if (values.size() != n) return Fail(ErrorCode::kInvalidArgument, "covariance rows must have " + std::to_string(n) + " values");
      r.log_covariance.push_back(std::move(values));
    }
    if (r.log_covariance.size() != n || r.std_errors.size() != n) {
      return Fail(ErrorCode::kInvalidArgument, "a fit report needs " + std::to_string(n) + " standard errors");
    }
    return r;
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInvalidArgument, std::string("fit report: ") + e.what());
  }
}

}  // namespace

Json ClvModel::ToJson() const {
  const auto& bg = purchases_.params;
  const auto& gg = spend_.params;
  return Json{{"bgnbd", {{"params", {{"r", bg.r}, {"alpha", bg.alpha}, {"a", bg.a}, {"b", bg.b}}},
                         {"report", ReportToStoredJson(purchases_.report)}}},
              {"gamma_gamma", {{"params", {{"p", gg.p}, {"q", gg.q}, {"gamma", gg.gamma}}},
                               {"report", ReportToStoredJson(spend_.report)},
                               {"customers", spend_.customers}}},
              {"options", {{"horizon_months", options_.horizon_months},
                           {"annual_discount_rate", options_.annual_discount_rate},
                           {"margin", options_.margin},
                           {"days_per_unit", options_.days_per_unit}}}};
}

Result<ClvModel> ClvModel::FromJson(const Json& j) {
  try {
    const auto& bgp = j.at("bgnbd").at("params");
    const auto& ggp = j.at("gamma_gamma").at("params");
    BgNbdFit bg{{bgp.at("r").get<double>(), bgp.at("alpha").get<double>(), bgp.at("a").get<double>(),
                 bgp.at("b").get<double>()},
                {}};
    LOYALTY_ASSIGN_OR_RETURN(bg.report, ReportFromStoredJson(j.at("bgnbd").at("report"), 4));
    GammaGammaFit gg{{ggp.at("p").get<double>(), ggp.at("q").get<double>(), ggp.at("gamma").get<double>()}, {}, 0};
    LOYALTY_ASSIGN_OR_RETURN(gg.report, ReportFromStoredJson(j.at("gamma_gamma").at("report"), 3));
    gg.customers = j.at("gamma_gamma").at("customers").get<int64_t>();
    const auto& o = j.at("options");
    ClvOptions options{o.at("horizon_months").get<double>(), o.at("annual_discount_rate").get<double>(),
                       o.at("margin").get<double>(), o.at("days_per_unit").get<double>()};
    for (double v : {bg.params.r, bg.params.alpha, bg.params.a, bg.params.b, gg.params.p, gg.params.q, gg.params.gamma}) {
      if (!(v > 0) || !std::isfinite(v)) return Fail(ErrorCode::kInvalidArgument, "CLV model parameters must be positive");
    }
    LOYALTY_TRY(ValidateClvOptions(options));
    if (!(gg.params.q > 1)) return Fail(ErrorCode::kInvalidArgument, "Gamma-Gamma q must exceed 1 for a finite mean spend");
    return ClvModel(std::move(bg), std::move(gg), options);
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInvalidArgument, std::string("CLV model: ") + e.what());
  }
}

}  // namespace loyalty::models
