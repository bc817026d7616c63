#include "maximise.hpp"

#include <nlopt.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace loyalty::models::internal {

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

std::string Describe(nlopt_result result, int max_evaluations) {
  switch (result) {
    case NLOPT_MAXEVAL_REACHED:
      return "stopped at the evaluation limit (" + std::to_string(max_evaluations) + ") before converging";
    case NLOPT_ROUNDOFF_LIMITED:
      return "stopped by rounding errors before the gradient was flat";
    case NLOPT_INVALID_ARGS:
      return "the optimiser rejected its arguments";
    case NLOPT_OUT_OF_MEMORY:
      return "the optimiser ran out of memory";
    case NLOPT_FAILURE:
      return "the optimiser failed";
    default:
      return "stopped with the gradient not flat";
  }
}

}  // namespace

Optimum Maximise(const LogLikelihood& log_likelihood, std::vector<double> start, double customers,
                 int max_evaluations) {
  const unsigned n = static_cast<unsigned>(start.size());
  struct State {
    const LogLikelihood* f;
    double scale;
    int evaluations = 0;
  } state{&log_likelihood, 1.0 / customers};
  // NLopt minimises: the negative mean log-likelihood keeps values near 1 whatever the size.
  auto objective = [](unsigned dim, const double* x, double* grad, void* data) -> double {
    auto* s = static_cast<State*>(data);
    ++s->evaluations;
    std::vector<double> params(x, x + dim);
    std::vector<double> g(dim);
    const double ll = (*s->f)(params, grad ? g.data() : nullptr);
    if (!std::isfinite(ll)) {
      // Outside where the likelihood is defined: a wall, with no slope to follow.
      if (grad) std::fill(grad, grad + dim, 0.0);
      return HUGE_VAL;
    }
    if (grad) {
      for (unsigned i = 0; i < dim; ++i) grad[i] = -g[i] * s->scale;
    }
    return -ll * s->scale;
  };
  auto gradient_norm = [&](const std::vector<double>& x) {
    std::vector<double> g(n);
    log_likelihood(x, g.data());
    double sum = 0;
    for (double v : g) sum += v * v * state.scale * state.scale;
    return std::sqrt(sum);
  };
  auto run = [&](nlopt_algorithm algorithm, std::vector<double>& x) {
    nlopt_opt opt = nlopt_create(algorithm, n);
    std::vector<double> lower(n, -30.0), upper(n, 30.0);
    nlopt_set_lower_bounds(opt, lower.data());
    nlopt_set_upper_bounds(opt, upper.data());
    nlopt_set_min_objective(opt, objective, &state);
    nlopt_set_ftol_rel(opt, 1e-15);
    nlopt_set_xtol_rel(opt, 1e-12);
    nlopt_set_maxeval(opt, std::max(1, max_evaluations - state.evaluations));
    if (algorithm == NLOPT_LN_NELDERMEAD) {
      std::vector<double> step(n, 0.1);
      nlopt_set_initial_step(opt, step.data());
    }
    double value = 0;
    const nlopt_result result = nlopt_optimize(opt, x.data(), &value);
    nlopt_destroy(opt);
    return result;
  };

  constexpr double kFlat = 1e-5;  // gradient norm of the mean log-likelihood at an optimum
  std::vector<double> x = start;
  nlopt_result result = run(NLOPT_LD_LBFGS, x);
  double norm = gradient_norm(x);
  if (!(norm < kFlat) && state.evaluations < max_evaluations) {
    run(NLOPT_LN_NELDERMEAD, x);
    if (state.evaluations < max_evaluations) result = run(NLOPT_LD_LBFGS, x);
    norm = gradient_norm(x);
  }

  Optimum out;
  out.log_params = x;
  FitReport& report = out.report;
  report.evaluations = state.evaluations;
  report.log_likelihood = log_likelihood(x, nullptr);
  report.gradient_norm = norm;
  report.converged = std::isfinite(report.log_likelihood) && norm < kFlat;
  report.status = report.converged ? "converged"
                                   : (std::isfinite(report.log_likelihood) ? Describe(result, max_evaluations)
                                                                           : "the likelihood is not finite");
  report.std_errors.assign(n, kNan);
  report.log_covariance.assign(n, std::vector<double>(n, kNan));
  if (!std::isfinite(report.log_likelihood)) return out;

  // Observed information: minus the Hessian of the summed log-likelihood.
  Eigen::MatrixXd information(n, n);
  const double h = 1e-5;
  for (unsigned j = 0; j < n; ++j) {
    std::vector<double> up = x, down = x, g_up(n), g_down(n);
    up[j] += h;
    down[j] -= h;
    log_likelihood(up, g_up.data());
    log_likelihood(down, g_down.data());
    for (unsigned i = 0; i < n; ++i) information(i, j) = -(g_up[i] - g_down[i]) / (2 * h);
  }
  information = (0.5 * (information + information.transpose())).eval();
  Eigen::LLT<Eigen::MatrixXd> llt(information);
  if (llt.info() != Eigen::Success) {
    report.status += report.converged ? "; the likelihood is flat in some direction, so standard errors are unavailable"
                                      : "; standard errors unavailable";
    return out;
  }
  const Eigen::MatrixXd covariance = llt.solve(Eigen::MatrixXd::Identity(n, n));
  for (unsigned i = 0; i < n; ++i) {
    for (unsigned j = 0; j < n; ++j) report.log_covariance[i][j] = covariance(i, j);
    report.std_errors[i] = std::exp(x[i]) * std::sqrt(covariance(i, i));  // delta method
  }
  return out;
}

}  // namespace loyalty::models::internal
