#pragma once
// Bandits that learn which offer works for whom from outcomes, online.
//
// BetaArms: Beta-Bernoulli Thompson sampling per arm (an offer within a segment). Each arm's
// response probability has a Beta posterior: the offer's prior (mean and strength) plus the
// responses and non-responses seen. Choosing draws from every posterior and ranks the draws,
// so arms with little evidence are tried in proportion to the chance they are best.
//
// LinearThompson: linear Thompson sampling over a member's context vector (one Bayesian ridge
// regression per arm); a reward is sampled from each arm's posterior at the context.
//
// Both are thread-safe: updates and reads take a lock held only to copy a few numbers.

#include <cmath>
#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "loyalty/core/random.hpp"

namespace loyalty::decision {

struct BetaPosterior {
  double alpha = 1;
  double beta = 1;
  double Mean() const { return alpha / (alpha + beta); }
  double Sd() const { return std::sqrt(Mean() * (1 - Mean()) / (alpha + beta + 1)); }
  // How unsure the estimate is relative to its size (sd / mean); 0 for a zero mean.
  double RelativeSd() const { return Mean() > 0 ? Sd() / Mean() : 0; }
};

class BetaArms {
 public:
  // `prior_strength`: how many observations the prior mean is worth.
  explicit BetaArms(double prior_strength = 20) : prior_strength_(prior_strength) {}

  // The arm's posterior: the prior from `prior_mean` plus the outcomes recorded.
  BetaPosterior Posterior(const std::string& arm, double prior_mean) const;
  // `trials` shown, `successes` of them responded (successes <= trials).
  void Record(const std::string& arm, int64_t trials, int64_t successes);

  struct Counts {
    int64_t trials = 0;
    int64_t successes = 0;
  };
  std::map<std::string, Counts> Snapshot() const;
  void Restore(std::map<std::string, Counts> counts);

  double prior_strength() const { return prior_strength_; }

 private:
  const double prior_strength_;
  mutable std::mutex mutex_;
  std::map<std::string, Counts, std::less<>> counts_;
};

// A Beta draw: the exact Gamma ratio for small posteriors, a normal with the Beta's mean and
// variance once alpha and beta both pass 50 (the difference is then far below sampling noise,
// and it is ten times faster — this runs for every candidate of every decision).
double SampleBeta(const BetaPosterior& posterior, core::FastRng& rng);

class LinearThompson {
 public:
  // `dimension`: the context vector's length; `noise`: the reward noise scale (larger explores
  // more); `ridge`: the prior precision.
  LinearThompson(int dimension, double noise = 0.25, double ridge = 1.0);

  // One reward sample per arm at `context`; arms never seen sample from the prior.
  double Sample(const std::string& arm, std::span<const double> context, std::mt19937_64& rng) const;
  // The posterior mean reward at `context`.
  double Mean(const std::string& arm, std::span<const double> context) const;
  void Record(const std::string& arm, std::span<const double> context, double reward);
  int dimension() const { return dimension_; }

 private:
  struct Arm {
    Eigen::MatrixXd precision;  // ridge * I + sum x x'
    Eigen::VectorXd b;          // sum reward * x
  };
  Arm Copy(const std::string& arm) const;

  const int dimension_;
  const double noise_;
  const double ridge_;
  mutable std::mutex mutex_;
  std::map<std::string, Arm, std::less<>> arms_;
};

}  // namespace loyalty::decision
