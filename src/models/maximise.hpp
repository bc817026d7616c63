#pragma once
// Maximum likelihood over log parameters, shared by the models fitted that way (BG/NBD,
// Gamma-Gamma, the breakage model's redemption prior). Private to the models module.

#include <functional>
#include <vector>

#include "loyalty/models/clv.hpp"

namespace loyalty::models::internal {

// The summed log-likelihood at `log_params`; fills `grad` (same length) when it is not null.
using LogLikelihood = std::function<double(const std::vector<double>& log_params, double* grad)>;

struct Optimum {
  std::vector<double> log_params;
  FitReport report;
};

// L-BFGS with analytic gradients, then, if the gradient is not yet flat, Nelder-Mead from
// there and L-BFGS again. The Hessian by central differences of the gradient gives the
// covariance of the log parameters. `observations` scales the objective to a mean.
Optimum Maximise(const LogLikelihood& log_likelihood, std::vector<double> start, double observations,
                 int max_evaluations);

}  // namespace loyalty::models::internal
