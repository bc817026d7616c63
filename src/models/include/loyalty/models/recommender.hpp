#pragma once
// Recommendations from implicit feedback: alternating least squares (Hu, Koren & Volinsky
// 2008) with a few conjugate-gradient steps per row (Takács et al. 2011) on Eigen. Purchases
// and views become a confidence 1 + alpha * weight that the member likes the item; the model
// learns item and member factors. A member's factor is folded in at query time from their
// own interactions, so new purchases count at once and only item factors are stored.
//
// Cold start: members without interactions get what is popular in their segment (or overall).
// Offline evaluation on a time split reports precision, recall and NDCG at 10 against the
// popularity baseline.

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"

namespace loyalty::models {

struct Interaction {
  uint32_t user = 0;
  uint32_t item = 0;
  float weight = 1;  // e.g. 1 per purchase, 0.25 per view
};

struct AlsOptions {
  int factors = 32;
  int iterations = 12;
  int cg_steps = 3;
  double regularization = 0.1;
  double alpha = 20;  // confidence per unit of weight
  int threads = 2;
  uint64_t seed = 1;
};

struct Scored {
  uint32_t item = 0;
  double score = 0;
};

class ImplicitAls {
 public:
  // Trains on interactions of `users` x `items` (duplicates add up).
  [[nodiscard]] static core::Result<ImplicitAls> Train(std::span<const Interaction> interactions, uint32_t users,
                                                       uint32_t items, const AlsOptions& options = {});

  // The best `n` items for a member with these interactions (their factor folded in),
  // leaving out the ones they have when `exclude_seen`.
  std::vector<Scored> Recommend(std::span<const Interaction> own, size_t n, bool exclude_seen) const;
  // Items whose factors point the same way (cosine), the item itself left out.
  std::vector<Scored> Similar(uint32_t item, size_t n) const;

  uint32_t items() const { return items_; }
  int factors() const { return factors_; }

  core::Json ToJson() const;
  [[nodiscard]] static core::Result<ImplicitAls> FromJson(const core::Json& json);

 private:
  ImplicitAls() = default;
  void Prepare();  // caches Y^T Y and item norms

  uint32_t items_ = 0;
  int factors_ = 0;
  double regularization_ = 0.1;
  double alpha_ = 20;
  std::vector<float> item_factors_;  // items x factors, row-major
  std::vector<double> gram_;         // Y^T Y, factors x factors
  std::vector<double> norms_;        // per item
};

// Items by total weight, most popular first.
std::vector<Scored> Popularity(std::span<const Interaction> interactions, uint32_t items);

struct RankingMetrics {
  double precision_at_10 = 0;
  double recall_at_10 = 0;
  double ndcg_at_10 = 0;
  int64_t users = 0;  // evaluated: with interactions on both sides of the split
};
// `recommend(user)` returns a ranked list for one user; the truth is the items each user
// interacted with after the split (and not before).
RankingMetrics EvaluateRanking(const std::map<uint32_t, std::vector<uint32_t>>& truth,
                               const std::function<std::vector<Scored>(uint32_t user)>& recommend);
core::Json ToJson(const RankingMetrics& m);

}  // namespace loyalty::models
