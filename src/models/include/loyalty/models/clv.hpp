#pragma once
// Customer lifetime value from the buy-till-you-die models: BG/NBD (Fader, Hardie & Lee 2005)
// for how often a customer buys and whether they are still a customer, and Gamma-Gamma
// (Fader & Hardie) for how much they spend. Both are fitted by maximum likelihood on log
// parameters (NLopt, analytic gradients, Boost.Math special functions); the likelihoods are
// evaluated in log space, so large frequencies and long histories stay finite. A fit always
// reports whether it converged; standard errors come from the Hessian at the optimum, and
// every forecast carries an interval from that parameter uncertainty (delta method on the
// log or logit scale, so intervals stay inside the valid range).

#include <span>
#include <string>
#include <vector>

#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/models/purchase_history.hpp"

namespace loyalty::models {

struct BgNbdParams {
  double r = 0;      // shape of the purchase-rate Gamma
  double alpha = 0;  // scale of the purchase-rate Gamma (in time units)
  double a = 0;      // dropout Beta
  double b = 0;
};

struct GammaGammaParams {
  double p = 0;      // shape of each transaction's value
  double q = 0;      // shape of the customers' spend rates
  double gamma = 0;  // scale of the customers' spend rates
};

// What the optimiser reached, in words a data scientist can act on.
struct FitReport {
  bool converged = false;
  std::string status;         // "converged", or why not ("stopped at the evaluation limit", ...)
  int evaluations = 0;
  double log_likelihood = 0;  // at the estimate, summed over customers
  double gradient_norm = 0;   // of the mean log-likelihood in log parameters; ~0 at an optimum
  std::vector<double> std_errors;                  // per parameter, on its natural scale
  std::vector<std::vector<double>> log_covariance;  // of the log parameters (inverse Hessian)
};

struct BgNbdFit {
  BgNbdParams params;
  FitReport report;
};

struct GammaGammaFit {
  GammaGammaParams params;
  FitReport report;
  int64_t customers = 0;  // with at least one repeat purchase: the ones it is fitted on
};

struct FitOptions {
  int max_evaluations = 2000;
};

// Fits BG/NBD on the customers' calibration histories. Fails only on unusable input (no
// customers, negative or inconsistent histories); an optimiser that does not converge is a
// successful call whose report says so.
[[nodiscard]] core::Result<BgNbdFit> FitBgNbd(std::span<const CustomerHistory> customers,
                                              const FitOptions& options = {});

// Fits Gamma-Gamma on the customers with repeat purchases and a positive mean spend.
[[nodiscard]] core::Result<GammaGammaFit> FitGammaGamma(std::span<const CustomerHistory> customers,
                                                        const FitOptions& options = {});

// Summed log-likelihoods and their gradients in log parameters (exposed for tests).
double BgNbdLogLikelihood(const BgNbdParams& params, std::span<const CustomerHistory> customers,
                          std::vector<double>* log_gradient = nullptr);
double GammaGammaLogLikelihood(const GammaGammaParams& params, std::span<const CustomerHistory> customers,
                               std::vector<double>* log_gradient = nullptr);

// BG/NBD quantities for one customer (x repeat purchases, last at t_x, customer for T).
double ProbabilityAlive(const BgNbdParams& params, double x, double t_x, double T);
// Expected purchases in (0, t] by a customer picked at random from the population.
double ExpectedPurchases(const BgNbdParams& params, double t);
// Expected purchases in the next t time units given the customer's history.
double ConditionalExpectedPurchases(const BgNbdParams& params, double t, double x, double t_x, double T);
// Gamma-Gamma: expected value of the customer's next transaction given x repeat purchases
// with mean value m (the population mean when x = 0).
double ConditionalExpectedSpend(const GammaGammaParams& params, double x, double mean_spend);

struct Interval {
  double estimate = 0;
  double low = 0;   // 5th percentile
  double high = 0;  // 95th percentile
};

struct ClvOptions {
  double horizon_months = 12;
  double annual_discount_rate = 0.10;
  double margin = 1.0;  // share of spend that is profit
  double days_per_unit = 7.0;
};

// Horizon 1-120 months, discount rate and margin in [0, 1] (margin above 0), unit 1-31 days.
[[nodiscard]] core::Status ValidateClvOptions(const ClvOptions& options);

struct CustomerForecast {
  Interval probability_alive;
  Interval expected_purchases;  // over the horizon
  Interval expected_spend;      // per transaction
  Interval clv;                 // discounted margin over the horizon
};

// When the customer will buy next, from BG/NBD's posterior purchase rate: for a customer still
// alive, the waiting time is Pareto II with shape r + x and scale alpha + T.
struct NextPurchase {
  double probability_alive = 0;
  double median_days = 0;               // if still a customer
  double low_days = 0;                  // 5th percentile
  double high_days = 0;                 // 95th percentile
  double probability_within_30_days = 0;  // alive and buying within 30 days
};
NextPurchase ForecastNextPurchase(const BgNbdParams& params, const CustomerHistory& customer, double days_per_unit);

// Both fitted models together: what the registry stores and what scoring uses.
class ClvModel {
 public:
  ClvModel(BgNbdFit purchases, GammaGammaFit spend, ClvOptions options);

  CustomerForecast Forecast(const CustomerHistory& customer) const;
  // Discounted CLV at given parameters: sum over months of expected purchases in the month
  // times expected spend times margin, discounted to today.
  static double DiscountedClv(const BgNbdParams& bg, const GammaGammaParams& gg, const ClvOptions& options,
                              const CustomerHistory& customer);

  const BgNbdFit& purchases() const { return purchases_; }
  const GammaGammaFit& spend() const { return spend_; }
  const ClvOptions& options() const { return options_; }

  core::Json ToJson() const;
  [[nodiscard]] static core::Result<ClvModel> FromJson(const core::Json& json);

 private:
  BgNbdFit purchases_;
  GammaGammaFit spend_;
  ClvOptions options_;
};

// How well the fitted BG/NBD predicts the holdout: per calibration frequency (0..6 and 7+),
// the customers, the mean actual and mean predicted repeat purchases in the holdout.
struct HoldoutGroup {
  std::string frequency;
  int64_t customers = 0;
  double actual = 0;
  double predicted = 0;
};
struct HoldoutReport {
  double length = 0;  // holdout length in time units
  std::vector<HoldoutGroup> groups;
  double actual_total = 0;
  double predicted_total = 0;
  double mean_absolute_error = 0;  // per customer
};
HoldoutReport CompareHoldout(const BgNbdParams& params, std::span<const CustomerHistory> customers, double length);

core::Json ToJson(const FitReport& report, const std::vector<std::string>& names);

// Customers drawn from the models' own story, for parameter-recovery tests, benchmarks and
// what-if: a purchase rate from Gamma(r, alpha), a dropout chance from Beta(a, b) taken after
// each repeat purchase, spend per transaction Gamma(p, nu) with nu from Gamma(q, gamma); each
// customer observed for a uniform [min_age, max_age] time units. Deterministic for a seed.
std::vector<CustomerHistory> SimulateHistories(const BgNbdParams& bg, const GammaGammaParams& gg, int64_t customers,
                                               double min_age, double max_age, uint64_t seed);

}  // namespace loyalty::models
