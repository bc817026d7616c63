#pragma once
// Gradient-boosted trees for binary outcomes, through the XGBoost C API: training with early
// stopping on a validation set, margins (log-odds), exact TreeSHAP contributions, and a
// byte string to store the trained model in.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/core/error.hpp"
#include "loyalty/models/dataset.hpp"

namespace loyalty::models {

struct BoostingOptions {
  int max_rounds = 400;
  double learning_rate = 0.05;
  int max_depth = 3;
  double subsample = 0.8;
  double column_sample = 0.8;
  double min_child_weight = 3;
  double l2 = 1;
  int early_stopping_rounds = 40;  // stop when validation log loss has not improved this long
  int threads = 2;
  uint64_t seed = 1;
};

class BoostedTrees {
 public:
  // Trains on `train`, watching log loss on `validation`; keeps the best round.
  [[nodiscard]] static core::Result<BoostedTrees> Train(const Dataset& train, const Dataset& validation,
                                                        const BoostingOptions& options);
  // A model saved by Serialize(), expecting `features` columns.
  [[nodiscard]] static core::Result<BoostedTrees> Deserialize(std::string_view bytes, size_t features);

  BoostedTrees(BoostedTrees&&) noexcept;
  BoostedTrees& operator=(BoostedTrees&&) noexcept;
  ~BoostedTrees();

  // Log-odds of the positive class per row.
  [[nodiscard]] core::Result<std::vector<double>> Margins(const Dataset& data) const;
  // SHAP values: per row, one per feature then the bias; each row sums to its margin.
  [[nodiscard]] core::Result<std::vector<float>> Contributions(const Dataset& data) const;
  [[nodiscard]] core::Result<std::string> Serialize() const;

  int rounds() const { return rounds_; }  // boosting rounds kept (the best iteration + 1)
  size_t features() const { return features_; }

 private:
  BoostedTrees(void* handle, int rounds, size_t features) : handle_(handle), rounds_(rounds), features_(features) {}
  [[nodiscard]] core::Result<std::vector<float>> Predict(const Dataset& data, int type) const;

  void* handle_ = nullptr;  // BoosterHandle
  int rounds_ = 0;
  size_t features_ = 0;
};

}  // namespace loyalty::models
