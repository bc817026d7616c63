#include "loyalty/models/churn.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <sstream>

#include <boost/math/distributions/students_t.hpp>

namespace loyalty::models {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;

namespace {

double Logistic(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// Platt scaling: logistic regression of the labels on the margin, by Newton's method with
// Platt's smoothed targets (so a separable validation set does not send the slope to infinity).
std::pair<double, double> FitPlatt(const std::vector<double>& margins, const std::vector<int>& labels) {
  const double positives = static_cast<double>(std::count(labels.begin(), labels.end(), 1));
  const double negatives = static_cast<double>(labels.size()) - positives;
  const double hi = (positives + 1) / (positives + 2), lo = 1 / (negatives + 2);
  double slope = 1, intercept = 0;
  for (int iteration = 0; iteration < 50; ++iteration) {
    double g0 = 0, g1 = 0, h00 = 1e-9, h01 = 0, h11 = 1e-9;
    for (size_t i = 0; i < margins.size(); ++i) {
      const double p = Logistic(slope * margins[i] + intercept);
      const double target = labels[i] ? hi : lo;
      const double w = p * (1 - p);
      g0 += (p - target) * margins[i];
      g1 += p - target;
      h00 += w * margins[i] * margins[i];
      h01 += w * margins[i];
      h11 += w;
    }
    const double det = h00 * h11 - h01 * h01;
    if (!(std::abs(det) > 1e-12)) break;
    const double d0 = (h11 * g0 - h01 * g1) / det, d1 = (h00 * g1 - h01 * g0) / det;
    slope -= d0;
    intercept -= d1;
    if (std::abs(d0) + std::abs(d1) < 1e-10) break;
  }
  if (!std::isfinite(slope) || !std::isfinite(intercept) || slope <= 0) return {1.0, 0.0};
  return {slope, intercept};
}

std::string FormatNumber(double v) {
  if (std::isnan(v)) return "missing";
  std::ostringstream out;
  if (v == std::round(v) && std::abs(v) < 1e12) {
    out << static_cast<int64_t>(v);
  } else {
    out.precision(3);
    out << v;
  }
  return out.str();
}

}  // namespace

std::string DescribeGeneric(const Contribution& c) {
  std::ostringstream out;
  const size_t eq = c.feature.find('=');
  if (eq != std::string::npos) {  // an indicator of a text column
    out << c.feature.substr(0, eq) << (c.value == 1 ? " is " : " is not ") << c.feature.substr(eq + 1);
  } else {
    out << c.feature << " = " << FormatNumber(c.value);
  }
  out << ": " << (c.effect >= 0 ? "+" : "-");
  out.precision(2);
  out << std::fixed << std::abs(c.effect);
  return out.str();
}

std::vector<int> StratifiedFolds(const std::vector<int>& labels, int folds, uint64_t seed) {
  std::vector<int> fold(labels.size());
  std::mt19937_64 rng(seed);
  for (int cls = 0; cls <= 1; ++cls) {
    std::vector<size_t> rows;
    for (size_t i = 0; i < labels.size(); ++i) {
      if (labels[i] == cls) rows.push_back(i);
    }
    std::shuffle(rows.begin(), rows.end(), rng);
    for (size_t k = 0; k < rows.size(); ++k) fold[rows[k]] = static_cast<int>(k % static_cast<size_t>(folds));
  }
  return fold;
}

Result<ChurnModel> ChurnModel::Train(const Dataset& data, const ChurnOptions& options) {
  if (!(options.validation_share > 0 && options.validation_share < 1)) {
    return Fail(ErrorCode::kInvalidArgument, "the validation share must be between 0 and 1");
  }
  const int positives = static_cast<int>(std::count(data.labels.begin(), data.labels.end(), 1));
  const int negatives = static_cast<int>(data.rows) - positives;
  if (positives < 2 || negatives < 2) {
    return Fail(ErrorCode::kInvalidArgument, "training needs at least two rows of each outcome (have " +
                                                 std::to_string(positives) + " positive, " +
                                                 std::to_string(negatives) + " negative)");
  }
  // A stratified validation share: every k-th row of each class after a shuffle.
  const int parts = std::max(2, static_cast<int>(std::lround(1.0 / options.validation_share)));
  const auto fold = StratifiedFolds(data.labels, parts, options.seed);
  std::vector<size_t> fit_rows, valid_rows;
  for (size_t i = 0; i < data.rows; ++i) (fold[i] == 0 ? valid_rows : fit_rows).push_back(i);
  const Dataset fit = data.Subset(fit_rows);
  const Dataset valid = data.Subset(valid_rows);
  LOYALTY_ASSIGN_OR_RETURN(BoostedTrees trees, BoostedTrees::Train(fit, valid, options.boosting));
  LOYALTY_ASSIGN_OR_RETURN(const auto margins, trees.Margins(valid));
  const auto [slope, intercept] = FitPlatt(margins, valid.labels);
  return ChurnModel(std::move(trees), data.feature_names, slope, intercept);
}

double ChurnModel::Calibrate(double margin) const { return Logistic(slope_ * margin + intercept_); }

Result<std::vector<double>> ChurnModel::Predict(const Dataset& rows) const {
  LOYALTY_ASSIGN_OR_RETURN(auto margins, trees_.Margins(rows));
  for (double& m : margins) m = Calibrate(m);
  return margins;
}

Result<std::vector<Explanation>> ChurnModel::Explain(const Dataset& rows, size_t top) const {
  LOYALTY_ASSIGN_OR_RETURN(const auto contributions, trees_.Contributions(rows));
  const size_t n = rows.cols();
  std::vector<Explanation> out(rows.rows);
  for (size_t r = 0; r < rows.rows; ++r) {
    const float* phi = &contributions[r * (n + 1)];
    double margin = phi[n];
    for (size_t k = 0; k < n; ++k) margin += phi[k];
    Explanation& e = out[r];
    e.probability = Calibrate(margin);
    e.base_probability = Calibrate(phi[n]);
    // Share the probability change among features in proportion to their log-odds pushes;
    // when those cancel out, use the local slope of the calibration curve instead.
    const double moved = margin - phi[n];
    const double scale = std::abs(moved) > 1e-9 ? (e.probability - e.base_probability) / moved
                                                : slope_ * e.probability * (1 - e.probability);
    std::vector<Contribution> all;
    for (size_t k = 0; k < n; ++k) {
      if (phi[k] == 0) continue;
      all.push_back({feature_names_[k], rows.at(r, k), phi[k] * scale, phi[k]});
    }
    std::sort(all.begin(), all.end(),
              [](const Contribution& l, const Contribution& r2) { return std::abs(l.effect) > std::abs(r2.effect); });
    if (all.size() > top) all.resize(top);
    e.top = std::move(all);
  }
  return out;
}

Result<std::string> ChurnModel::Serialize() const {
  LOYALTY_ASSIGN_OR_RETURN(std::string trees, trees_.Serialize());
  const Json head{{"features", feature_names_}, {"platt_slope", slope_}, {"platt_intercept", intercept_}};
  return core::Dump(head) + "\n" + trees;
}

Result<ChurnModel> ChurnModel::Deserialize(std::string_view bytes) {
  const size_t newline = bytes.find('\n');
  if (newline == std::string_view::npos) return Fail(ErrorCode::kInvalidArgument, "not a stored churn model");
  LOYALTY_ASSIGN_OR_RETURN(const Json head, core::ParseJson(bytes.substr(0, newline)));
  try {
    auto names = head.at("features").get<std::vector<std::string>>();
    LOYALTY_ASSIGN_OR_RETURN(BoostedTrees trees, BoostedTrees::Deserialize(bytes.substr(newline + 1), names.size()));
    return ChurnModel(std::move(trees), std::move(names), head.at("platt_slope").get<double>(),
                      head.at("platt_intercept").get<double>());
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInvalidArgument, std::string("stored churn model: ") + e.what());
  }
}

Result<CrossValidation> CrossValidate(const Dataset& data, int folds, const ChurnOptions& options) {
  if (folds < 2 || static_cast<size_t>(folds) > data.rows) {
    return Fail(ErrorCode::kInvalidArgument, "folds must be between 2 and the number of rows");
  }
  const auto fold = StratifiedFolds(data.labels, folds, options.seed);
  CrossValidation cv;
  cv.folds = folds;
  cv.out_of_fold.assign(data.rows, 0);
  std::map<std::string, double> importance;  // by input column
  std::map<std::string, std::string> source_of;
  for (size_t k = 0; k < data.cols(); ++k) source_of[data.feature_names[k]] = data.source_columns[k];
  size_t explained = 0;
  for (int f = 0; f < folds; ++f) {
    std::vector<size_t> train_rows, test_rows;
    for (size_t i = 0; i < data.rows; ++i) (fold[i] == f ? test_rows : train_rows).push_back(i);
    ChurnOptions fold_options = options;
    fold_options.seed = options.seed + static_cast<uint64_t>(f) + 1;
    LOYALTY_ASSIGN_OR_RETURN(const ChurnModel model, ChurnModel::Train(data.Subset(train_rows), fold_options));
    const Dataset test = data.Subset(test_rows);
    LOYALTY_ASSIGN_OR_RETURN(const auto explanations, model.Explain(test, data.cols()));
    std::vector<double> p;
    for (size_t i = 0; i < test_rows.size(); ++i) {
      cv.out_of_fold[test_rows[i]] = explanations[i].probability;
      p.push_back(explanations[i].probability);
      for (const auto& c : explanations[i].top) importance[source_of[c.feature]] += std::abs(c.effect);
    }
    explained += test_rows.size();
    cv.per_fold.push_back(Evaluate(p, test.labels));
    cv.mean_rounds += model.rounds() / static_cast<double>(folds);
  }
  cv.metrics = Evaluate(cv.out_of_fold, data.labels);
  cv.calibration = CalibrationCurve(cv.out_of_fold, data.labels);
  for (const auto& [feature, total] : importance) {
    cv.top_features.push_back({feature, total / static_cast<double>(explained)});
  }
  std::sort(cv.top_features.begin(), cv.top_features.end(),
            [](const auto& l, const auto& r) { return l.mean_abs_effect > r.mean_abs_effect; });
  return cv;
}

Result<FeatureAblation> CompareWithout(const Dataset& data, std::span<const std::string> dropped, int folds,
                                       const ChurnOptions& options) {
  std::vector<size_t> kept;
  for (size_t k = 0; k < data.cols(); ++k) {
    if (std::find(dropped.begin(), dropped.end(), data.feature_names[k]) == dropped.end()) kept.push_back(k);
  }
  if (kept.size() + dropped.size() != data.cols()) {
    return Fail(ErrorCode::kInvalidArgument, "every dropped feature must be a column of the data, once");
  }
  if (kept.empty()) return Fail(ErrorCode::kInvalidArgument, "dropping every feature leaves nothing to compare");
  Dataset reduced;
  reduced.rows = data.rows;
  reduced.labels = data.labels;
  reduced.ids = data.ids;
  for (size_t k : kept) {
    reduced.feature_names.push_back(data.feature_names[k]);
    reduced.source_columns.push_back(data.source_columns[k]);
  }
  reduced.values.reserve(data.rows * kept.size());
  for (size_t r = 0; r < data.rows; ++r) {
    for (size_t k : kept) reduced.values.push_back(data.at(r, k));
  }
  LOYALTY_ASSIGN_OR_RETURN(const CrossValidation with, CrossValidate(data, folds, options));
  LOYALTY_ASSIGN_OR_RETURN(const CrossValidation without, CrossValidate(reduced, folds, options));
  FeatureAblation out;
  out.dropped.assign(dropped.begin(), dropped.end());
  out.folds = folds;
  out.rows = static_cast<int64_t>(data.rows);
  out.with = with.metrics;
  out.without = without.metrics;
  for (int f = 0; f < folds; ++f) out.fold_auc_gain.push_back(with.per_fold[f].roc_auc - without.per_fold[f].roc_auc);
  out.auc_gain = std::accumulate(out.fold_auc_gain.begin(), out.fold_auc_gain.end(), 0.0) / folds;
  double squares = 0;
  for (double g : out.fold_auc_gain) squares += (g - out.auc_gain) * (g - out.auc_gain);
  const double se = std::sqrt(squares / (folds - 1) / folds);
  const double t = boost::math::quantile(boost::math::students_t(folds - 1), 0.975);
  out.ci_low = out.auc_gain - t * se;
  out.ci_high = out.auc_gain + t * se;
  return out;
}

core::Json ToJson(const FeatureAblation& ablation) {
  return {{"dropped", ablation.dropped},
          {"folds", ablation.folds},
          {"rows", ablation.rows},
          {"with", ToJson(ablation.with)},
          {"without", ToJson(ablation.without)},
          {"fold_auc_gain", ablation.fold_auc_gain},
          {"auc_gain", {{"mean", ablation.auc_gain}, {"ci_low", ablation.ci_low}, {"ci_high", ablation.ci_high}}}};
}

}  // namespace loyalty::models
