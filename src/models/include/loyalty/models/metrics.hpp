#pragma once
// How good a binary classifier's probabilities are: ranking (ROC AUC, PR AUC, lift),
// accuracy of the probabilities themselves (log loss, Brier score) and calibration.

#include <span>
#include <vector>

#include "loyalty/core/json.hpp"

namespace loyalty::models {

// Area under the ROC curve: the chance a random positive scores above a random negative
// (ties count half). 0.5 when either class is absent.
double RocAuc(std::span<const double> scores, std::span<const int> labels);
// Average precision: the area under the precision-recall curve, step-wise.
double PrAuc(std::span<const double> scores, std::span<const int> labels);
// Mean negative log-likelihood; probabilities are clipped to [1e-15, 1 - 1e-15].
double LogLoss(std::span<const double> probabilities, std::span<const int> labels);
double BrierScore(std::span<const double> probabilities, std::span<const int> labels);
// Positive rate among the top 10% by score divided by the overall positive rate.
double LiftTopDecile(std::span<const double> scores, std::span<const int> labels);

struct CalibrationBin {
  double mean_predicted = 0;
  double observed_rate = 0;
  int64_t count = 0;
};
// Equal-width bins over [0, 1]; empty bins are left out.
std::vector<CalibrationBin> CalibrationCurve(std::span<const double> probabilities, std::span<const int> labels,
                                             int bins = 10);

struct BinaryMetrics {
  double roc_auc = 0;
  double pr_auc = 0;
  double log_loss = 0;
  double brier = 0;
  double lift_top_decile = 0;
  double positive_rate = 0;
  int64_t rows = 0;
};
BinaryMetrics Evaluate(std::span<const double> probabilities, std::span<const int> labels);
core::Json ToJson(const BinaryMetrics& metrics);
core::Json ToJson(const std::vector<CalibrationBin>& curve);

}  // namespace loyalty::models
