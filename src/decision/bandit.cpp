#include "loyalty/decision/bandit.hpp"

#include <algorithm>
#include <cmath>

#include "loyalty/core/random.hpp"

namespace loyalty::decision {

BetaPosterior BetaArms::Posterior(const std::string& arm, double prior_mean) const {
  BetaPosterior posterior{prior_mean * prior_strength_, (1 - prior_mean) * prior_strength_};
  std::lock_guard lock(mutex_);
  if (auto it = counts_.find(arm); it != counts_.end()) {
    posterior.alpha += static_cast<double>(it->second.successes);
    posterior.beta += static_cast<double>(it->second.trials - it->second.successes);
  }
  return posterior;
}

void BetaArms::Record(const std::string& arm, int64_t trials, int64_t successes) {
  std::lock_guard lock(mutex_);
  auto& counts = counts_[arm];
  counts.trials += trials;
  counts.successes += successes;
  // A response reported without its impression still counts as a trial.
  counts.trials = std::max(counts.trials, counts.successes);
}

std::map<std::string, BetaArms::Counts> BetaArms::Snapshot() const {
  std::lock_guard lock(mutex_);
  return {counts_.begin(), counts_.end()};
}

void BetaArms::Restore(std::map<std::string, Counts> counts) {
  std::lock_guard lock(mutex_);
  counts_ = {std::make_move_iterator(counts.begin()), std::make_move_iterator(counts.end())};
}

double SampleBeta(const BetaPosterior& p, core::FastRng& rng) {
  if (p.alpha > 50 && p.beta > 50) {
    const double n = p.alpha + p.beta;
    const double mean = p.alpha / n;
    const double sd = std::sqrt(mean * (1 - mean) / (n + 1));
    return std::clamp(mean + sd * std::normal_distribution<double>(0, 1)(rng), 0.0, 1.0);
  }
  return core::BetaDraw(rng, p.alpha, p.beta);
}

LinearThompson::LinearThompson(int dimension, double noise, double ridge)
    : dimension_(dimension), noise_(noise), ridge_(ridge) {}

LinearThompson::Arm LinearThompson::Copy(const std::string& arm) const {
  {
    std::lock_guard lock(mutex_);
    if (auto it = arms_.find(arm); it != arms_.end()) return it->second;
  }
  return Arm{Eigen::MatrixXd::Identity(dimension_, dimension_) * ridge_, Eigen::VectorXd::Zero(dimension_)};
}

double LinearThompson::Mean(const std::string& arm, std::span<const double> context) const {
  const Arm a = Copy(arm);
  const Eigen::Map<const Eigen::VectorXd> x(context.data(), static_cast<Eigen::Index>(context.size()));
  const Eigen::VectorXd mean = a.precision.llt().solve(a.b);
  return x.dot(mean);
}

double LinearThompson::Sample(const std::string& arm, std::span<const double> context, std::mt19937_64& rng) const {
  const Arm a = Copy(arm);
  const Eigen::Map<const Eigen::VectorXd> x(context.data(), static_cast<Eigen::Index>(context.size()));
  const Eigen::LLT<Eigen::MatrixXd> llt(a.precision);
  const Eigen::VectorXd mean = llt.solve(a.b);
  Eigen::VectorXd z(dimension_);
  std::normal_distribution<double> normal(0, 1);
  for (int i = 0; i < dimension_; ++i) z(i) = normal(rng);
  // precision = L L'; theta = mean + noise * L'^{-1} z has covariance noise^2 * precision^{-1}.
  const Eigen::VectorXd theta = mean + noise_ * llt.matrixU().solve(z);
  return x.dot(theta);
}

void LinearThompson::Record(const std::string& arm, std::span<const double> context, double reward) {
  const Eigen::Map<const Eigen::VectorXd> x(context.data(), static_cast<Eigen::Index>(context.size()));
  std::lock_guard lock(mutex_);
  auto it = arms_.find(arm);
  if (it == arms_.end()) {
    it = arms_.emplace(arm, Arm{Eigen::MatrixXd::Identity(dimension_, dimension_) * ridge_,
                                Eigen::VectorXd::Zero(dimension_)}).first;
  }
  it->second.precision.noalias() += x * x.transpose();
  it->second.b += reward * x;
}

}  // namespace loyalty::decision
