#include "loyalty/models/recommender.hpp"

#include <gtest/gtest.h>

#include <random>

namespace loyalty::models {
namespace {

// 800 members who each like one of 10 categories of 20 items; a few items are popular with
// everyone. Each member's last two interactions are held out as the truth.
struct Planted {
  std::vector<Interaction> train;
  std::map<uint32_t, std::vector<uint32_t>> truth;
  std::vector<std::vector<Interaction>> own;  // per user, training interactions
  static constexpr uint32_t kUsers = 800, kItems = 200;
};

Planted Plant(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<uint32_t> within(0, 19), category(0, 9), popular(0, 4);
  std::uniform_real_distribution<double> unit(0, 1);
  Planted p;
  p.own.resize(Planted::kUsers);
  for (uint32_t u = 0; u < Planted::kUsers; ++u) {
    const uint32_t taste = category(rng);
    std::vector<uint32_t> items;
    for (int k = 0; k < 10; ++k) items.push_back(unit(rng) < 0.15 ? popular(rng) : taste * 20 + within(rng));
    for (size_t k = 0; k < items.size(); ++k) {
      if (k >= 8) {
        p.truth[u].push_back(items[k]);
      } else {
        p.train.push_back({u, items[k], 1.0f});
        p.own[u].push_back({u, items[k], 1.0f});
      }
    }
  }
  return p;
}

TEST(RecommenderTest, BeatsPopularityOnHeldOutInteractions) {
  const Planted p = Plant(1);
  auto model = ImplicitAls::Train(p.train, Planted::kUsers, Planted::kItems, {.factors = 16, .iterations = 10});
  ASSERT_TRUE(model) << model.error().message;
  const auto popular = Popularity(p.train, Planted::kItems);
  const auto als = EvaluateRanking(p.truth, [&](uint32_t u) { return model->Recommend(p.own[u], 10, true); });
  const auto baseline = EvaluateRanking(p.truth, [&](uint32_t u) {
    std::vector<Scored> out;
    for (const auto& s : popular) {
      bool seen = false;
      for (const auto& i : p.own[u]) seen |= i.item == s.item;
      if (!seen) out.push_back(s);
      if (out.size() == 10) break;
    }
    return out;
  });
  EXPECT_EQ(als.users, Planted::kUsers);
  EXPECT_GT(als.precision_at_10, 1.5 * baseline.precision_at_10)
      << "ALS " << ToJson(als).dump() << " popularity " << ToJson(baseline).dump();
  EXPECT_GT(als.ndcg_at_10, baseline.ndcg_at_10);
  EXPECT_GT(als.recall_at_10, baseline.recall_at_10);

  // Items of one category are each other's neighbours.
  const auto similar = model->Similar(45, 10);  // category 2
  ASSERT_EQ(similar.size(), 10u);
  int same = 0;
  for (const auto& s : similar) same += s.item / 20 == 2;
  EXPECT_GE(same, 8);

  // Recommendations leave out what the member has when asked to, and survive storage.
  for (const auto& s : model->Recommend(p.own[3], 10, true)) {
    for (const auto& i : p.own[3]) EXPECT_NE(s.item, i.item);
  }
  auto restored = ImplicitAls::FromJson(model->ToJson());
  ASSERT_TRUE(restored) << restored.error().message;
  const auto a = model->Recommend(p.own[7], 5, true), b = restored->Recommend(p.own[7], 5, true);
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) EXPECT_EQ(a[k].item, b[k].item);
  // A member with no interactions gets a ranking too (from the item factors alone).
  EXPECT_EQ(model->Recommend({}, 5, true).size(), 5u);
}

TEST(RecommenderTest, RejectsUnusableInput) {
  EXPECT_FALSE(ImplicitAls::Train({}, 1, 1));
  const std::vector<Interaction> out_of_range = {{5, 0, 1.0f}};
  EXPECT_FALSE(ImplicitAls::Train(out_of_range, 2, 2));
  const std::vector<Interaction> ok = {{0, 0, 1.0f}, {1, 1, 1.0f}};
  EXPECT_FALSE(ImplicitAls::Train(ok, 2, 2, {.factors = 0}));
  EXPECT_FALSE(ImplicitAls::FromJson(core::Json{{"items", 3}, {"factors", 2}, {"regularization", 0.1},
                                                {"alpha", 20}, {"item_factors", {1.0, 2.0}}}));
}

}  // namespace
}  // namespace loyalty::models
