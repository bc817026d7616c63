#include "loyalty/models/boosted_trees.hpp"

#include <xgboost/c_api.h>

#include <cmath>
#include <limits>
#include <string>

namespace loyalty::models {

using core::ErrorCode;
using core::Fail;
using core::Result;

namespace {

core::Status Check(int rc, std::string_view what) {
  if (rc == 0) return {};
  return Fail(ErrorCode::kInternal, std::string("xgboost ") + std::string(what) + ": " + XGBGetLastError());
}

// A DMatrix over a dataset's rows, freed on scope exit.
class Matrix {
 public:
  static Result<Matrix> From(const Dataset& data) {
    Matrix m;
    LOYALTY_TRY(Check(XGDMatrixCreateFromMat(data.values.data(), data.rows, data.cols(),
                                             std::numeric_limits<float>::quiet_NaN(), &m.handle_),
                      "matrix"));
    if (!data.labels.empty()) {
      std::vector<float> labels(data.labels.begin(), data.labels.end());
      LOYALTY_TRY(Check(XGDMatrixSetFloatInfo(m.handle_, "label", labels.data(), labels.size()), "labels"));
    }
    if (!data.weights.empty()) {
      if (data.weights.size() != data.rows) return Fail(ErrorCode::kInternal, "one weight per row is needed");
      LOYALTY_TRY(Check(XGDMatrixSetFloatInfo(m.handle_, "weight", data.weights.data(), data.weights.size()), "weights"));
    }
    return m;
  }
  Matrix(Matrix&& other) noexcept : handle_(other.handle_) { other.handle_ = nullptr; }
  Matrix& operator=(Matrix&&) = delete;
  ~Matrix() {
    if (handle_) XGDMatrixFree(handle_);
  }
  DMatrixHandle get() const { return handle_; }

 private:
  Matrix() = default;
  DMatrixHandle handle_ = nullptr;
};

// "[12]\tvalid-logloss:0.41234" -> 0.41234
double ParseEvalValue(const char* text) {
  std::string s(text);
  const size_t colon = s.rfind(':');
  return colon == std::string::npos ? std::numeric_limits<double>::quiet_NaN() : std::stod(s.substr(colon + 1));
}

}  // namespace

BoostedTrees::BoostedTrees(BoostedTrees&& other) noexcept
    : handle_(other.handle_), rounds_(other.rounds_), features_(other.features_) {
  other.handle_ = nullptr;
}

BoostedTrees& BoostedTrees::operator=(BoostedTrees&& other) noexcept {
  if (this != &other) {
    if (handle_) XGBoosterFree(handle_);
    handle_ = other.handle_;
    rounds_ = other.rounds_;
    features_ = other.features_;
    other.handle_ = nullptr;
  }
  return *this;
}

BoostedTrees::~BoostedTrees() {
  if (handle_) XGBoosterFree(handle_);
}

Result<BoostedTrees> BoostedTrees::Train(const Dataset& train, const Dataset& validation,
                                         const BoostingOptions& o) {
  if (train.rows == 0 || validation.rows == 0) {
    return Fail(ErrorCode::kInvalidArgument, "training needs rows in both the training and the validation set");
  }
  if (train.cols() != validation.cols()) return Fail(ErrorCode::kInternal, "training and validation columns differ");
  LOYALTY_ASSIGN_OR_RETURN(Matrix dtrain, Matrix::From(train));
  LOYALTY_ASSIGN_OR_RETURN(Matrix dvalid, Matrix::From(validation));
  DMatrixHandle cache[] = {dtrain.get(), dvalid.get()};
  BoosterHandle raw = nullptr;
  LOYALTY_TRY(Check(XGBoosterCreate(cache, 2, &raw), "create"));
  BoostedTrees model(raw, 0, train.cols());
  const std::pair<const char*, std::string> params[] = {
      {"objective", "binary:logistic"},
      {"eval_metric", "logloss"},
      {"tree_method", "hist"},
      {"eta", std::to_string(o.learning_rate)},
      {"max_depth", std::to_string(o.max_depth)},
      {"subsample", std::to_string(o.subsample)},
      {"colsample_bytree", std::to_string(o.column_sample)},
      {"min_child_weight", std::to_string(o.min_child_weight)},
      {"lambda", std::to_string(o.l2)},
      {"nthread", std::to_string(o.threads)},
      {"seed", std::to_string(o.seed % 2147483647)},
      {"verbosity", "0"},
  };
  for (const auto& [key, value] : params) LOYALTY_TRY(Check(XGBoosterSetParam(raw, key, value.c_str()), key));

  DMatrixHandle watch[] = {dvalid.get()};
  const char* watch_names[] = {"valid"};
  double best = std::numeric_limits<double>::infinity();
  int best_round = 0;
  for (int round = 0; round < o.max_rounds; ++round) {
    LOYALTY_TRY(Check(XGBoosterUpdateOneIter(raw, round, dtrain.get()), "update"));
    const char* eval = nullptr;
    LOYALTY_TRY(Check(XGBoosterEvalOneIter(raw, round, watch, watch_names, 1, &eval), "evaluate"));
    const double loss = ParseEvalValue(eval);
    if (loss < best - 1e-7) {
      best = loss;
      best_round = round;
    } else if (round - best_round >= o.early_stopping_rounds) {
      break;
    }
  }
  // Keep only the rounds up to the best one.
  BoosterHandle sliced = nullptr;
  LOYALTY_TRY(Check(XGBoosterSlice(raw, 0, best_round + 1, 1, &sliced), "slice"));
  return BoostedTrees(sliced, best_round + 1, train.cols());
}

Result<BoostedTrees> BoostedTrees::Deserialize(std::string_view bytes, size_t features) {
  BoosterHandle raw = nullptr;
  LOYALTY_TRY(Check(XGBoosterCreate(nullptr, 0, &raw), "create"));
  BoostedTrees model(raw, 0, features);
  LOYALTY_TRY(Check(XGBoosterLoadModelFromBuffer(raw, bytes.data(), bytes.size()), "load"));
  // A loaded model serves requests that already run on a pool of threads: one thread each,
  // or every request would start a thread per core.
  LOYALTY_TRY(Check(XGBoosterSetParam(raw, "nthread", "1"), "nthread"));
  int rounds = 0;
  LOYALTY_TRY(Check(XGBoosterBoostedRounds(raw, &rounds), "rounds"));
  model.rounds_ = rounds;
  bst_ulong n = 0;
  LOYALTY_TRY(Check(XGBoosterGetNumFeature(raw, &n), "features"));
  if (n != features) {
    return Fail(ErrorCode::kInvalidArgument, "the stored model expects " + std::to_string(n) + " features, not " +
                                                 std::to_string(features));
  }
  return model;
}

Result<std::vector<float>> BoostedTrees::Predict(const Dataset& data, int type) const {
  if (data.cols() != features_) {
    return Fail(ErrorCode::kInvalidArgument, "the model expects " + std::to_string(features_) + " features, got " +
                                                 std::to_string(data.cols()));
  }
  if (data.rows == 0) return std::vector<float>{};
  LOYALTY_ASSIGN_OR_RETURN(Matrix m, Matrix::From(data));
  const std::string config = R"({"type": )" + std::to_string(type) +
                             R"(, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false})";
  const bst_ulong* shape = nullptr;
  bst_ulong dims = 0;
  const float* out = nullptr;
  LOYALTY_TRY(Check(XGBoosterPredictFromDMatrix(handle_, m.get(), config.c_str(), &shape, &dims, &out), "predict"));
  size_t total = 1;
  for (bst_ulong i = 0; i < dims; ++i) total *= shape[i];
  return std::vector<float>(out, out + total);
}

Result<std::vector<double>> BoostedTrees::Margins(const Dataset& data) const {
  LOYALTY_ASSIGN_OR_RETURN(auto raw, Predict(data, 1));
  return std::vector<double>(raw.begin(), raw.end());
}

Result<std::vector<float>> BoostedTrees::Contributions(const Dataset& data) const { return Predict(data, 2); }

Result<std::string> BoostedTrees::Serialize() const {
  bst_ulong length = 0;
  const char* bytes = nullptr;
  LOYALTY_TRY(Check(XGBoosterSaveModelToBuffer(handle_, R"({"format": "json"})", &length, &bytes), "save"));
  return std::string(bytes, length);
}

}  // namespace loyalty::models
