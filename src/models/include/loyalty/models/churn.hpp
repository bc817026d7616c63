#pragma once
// Churn: calibrated probabilities from gradient-boosted trees, each explained by its SHAP
// contributions in probability points, and cross-validated quality reports.
//
// Training holds out a stratified validation share: the trees stop growing when its log loss
// stops improving, and a Platt scaling fitted on it turns margins into calibrated probabilities.

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/models/boosted_trees.hpp"
#include "loyalty/models/dataset.hpp"
#include "loyalty/models/metrics.hpp"

namespace loyalty::models {

struct ChurnOptions {
  BoostingOptions boosting;
  double validation_share = 0.2;
  uint64_t seed = 1;
};

// One feature's push on one member's probability.
struct Contribution {
  std::string feature;
  double value = 0;   // the member's value of the feature (NaN when missing)
  double effect = 0;  // probability points (+0.18 raises the churn probability by 18 points)
  double margin = 0;  // the raw SHAP value in log-odds
};

struct Explanation {
  double probability = 0;       // calibrated
  double base_probability = 0;  // what the model says before looking at any feature
  std::vector<Contribution> top;  // by |effect|, largest first
};

// Turns (feature, value, effect) into a sentence; the default says "tenure = 2: +0.18".
using Describer = std::function<std::string(const Contribution&)>;
std::string DescribeGeneric(const Contribution& c);

class ChurnModel {
 public:
  [[nodiscard]] static core::Result<ChurnModel> Train(const Dataset& data, const ChurnOptions& options = {});

  [[nodiscard]] core::Result<std::vector<double>> Predict(const Dataset& rows) const;
  // Top contributions per row; effects sum (over all features) to probability - base.
  [[nodiscard]] core::Result<std::vector<Explanation>> Explain(const Dataset& rows, size_t top = 5) const;

  const std::vector<std::string>& feature_names() const { return feature_names_; }
  int rounds() const { return trees_.rounds(); }
  // Platt scaling: probability = logistic(slope * margin + intercept).
  double Calibrate(double margin) const;

  // Bytes to store: one JSON line (features, calibration) then the trees as XGBoost JSON.
  [[nodiscard]] core::Result<std::string> Serialize() const;
  [[nodiscard]] static core::Result<ChurnModel> Deserialize(std::string_view bytes);

 private:
  ChurnModel(BoostedTrees trees, std::vector<std::string> names, double slope, double intercept)
      : trees_(std::move(trees)), feature_names_(std::move(names)), slope_(slope), intercept_(intercept) {}

  BoostedTrees trees_;
  std::vector<std::string> feature_names_;
  double slope_ = 1;
  double intercept_ = 0;
};

struct FeatureImportance {
  std::string feature;      // the input column (indicators of one text column are added up)
  double mean_abs_effect = 0;  // mean |SHAP| in probability points over the scored rows
};

struct CrossValidation {
  int folds = 0;
  BinaryMetrics metrics;  // over all out-of-fold predictions
  std::vector<BinaryMetrics> per_fold;
  std::vector<CalibrationBin> calibration;
  std::vector<FeatureImportance> top_features;
  std::vector<double> out_of_fold;  // calibrated probability per row
  double mean_rounds = 0;
};

// Stratified K-fold cross-validation: each fold trained on the rest (with its own validation
// split), scored and explained on itself.
[[nodiscard]] core::Result<CrossValidation> CrossValidate(const Dataset& data, int folds,
                                                          const ChurnOptions& options = {});

// What some features add: the same stratified folds with every feature and without the
// dropped ones. The gain is the mean per-fold ROC AUC difference (paired: each fold's rows
// are scored both ways) with a 95% Student-t interval over the folds.
struct FeatureAblation {
  std::vector<std::string> dropped;
  int folds = 0;
  int64_t rows = 0;
  BinaryMetrics with;     // out-of-fold, every feature
  BinaryMetrics without;  // out-of-fold, without the dropped features
  std::vector<double> fold_auc_gain;
  double auc_gain = 0;
  double ci_low = 0;
  double ci_high = 0;
};
[[nodiscard]] core::Result<FeatureAblation> CompareWithout(const Dataset& data, std::span<const std::string> dropped,
                                                           int folds, const ChurnOptions& options = {});
core::Json ToJson(const FeatureAblation& ablation);

// Shuffled, stratified assignment of rows to `folds` groups (deterministic for a seed).
std::vector<int> StratifiedFolds(const std::vector<int>& labels, int folds, uint64_t seed);

}  // namespace loyalty::models
