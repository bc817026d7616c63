#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>

#include "loyalty/models/drift.hpp"
#include "loyalty/models/segments.hpp"

namespace loyalty::models {
namespace {

// Three groups of members far apart in (visits, spend, recency), with a noise column.
Dataset Groups(int per_group, uint64_t seed, std::vector<int>* truth) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 1);
  const double centers[3][3] = {{2, 20, 300}, {20, 400, 5}, {8, 80, 60}};
  Dataset d;
  d.feature_names = {"visits_30d", "monetary_90d", "recency_days", "noise"};
  d.source_columns = d.feature_names;
  for (int g = 0; g < 3; ++g) {
    for (int i = 0; i < per_group; ++i) {
      for (int j = 0; j < 3; ++j) d.values.push_back(static_cast<float>(centers[g][j] * (1 + 0.1 * noise(rng))));
      d.values.push_back(static_cast<float>(noise(rng)));
      if (truth) truth->push_back(g);
      ++d.rows;
    }
  }
  d.labels.assign(d.rows, 0);
  return d;
}

TEST(SegmentsTest, FindsPlantedGroupsAndDescribesThem) {
  std::vector<int> truth;
  const Dataset data = Groups(500, 1, &truth);
  auto model = SegmentModel::Train(data, {.k = 3, .batch_size = 256, .iterations = 100, .restarts = 3, .seed = 2});
  ASSERT_TRUE(model) << model.error().message;
  auto assigned = model->Assign(data);
  ASSERT_TRUE(assigned);
  // Each true group maps to one segment, and the segments are distinct.
  std::map<int, std::map<int, int>> votes;
  for (size_t i = 0; i < truth.size(); ++i) ++votes[truth[i]][(*assigned)[i]];
  std::set<int> used;
  for (auto& [group, counts] : votes) {
    auto best = std::max_element(counts.begin(), counts.end(), [](auto& l, auto& r) { return l.second < r.second; });
    EXPECT_GE(best->second, 490) << "group " << group;
    used.insert(best->first);
  }
  EXPECT_EQ(used.size(), 3u);
  int64_t total = 0;
  for (const auto& s : model->segments()) {
    total += s.members;
    EXPECT_FALSE(s.description.empty());
  }
  EXPECT_EQ(total, 1500);
  // The lapsed group's description leads with its recency.
  const int lapsed = (*assigned)[0];
  EXPECT_NE(model->segments()[lapsed].description.find("recency_days"), std::string::npos)
      << model->segments()[lapsed].description;
  EXPECT_NE(model->segments()[lapsed].description.find("(high)"), std::string::npos);

  auto restored = SegmentModel::FromJson(model->ToJson());
  ASSERT_TRUE(restored) << restored.error().message;
  EXPECT_EQ(*restored->Assign(data), *assigned);
  EXPECT_FALSE(SegmentModel::Train(data, {.k = 5000, .batch_size = 10, .iterations = 1, .restarts = 1, .seed = 1}));
  EXPECT_FALSE(SegmentModel::Train(data, {.k = 1, .batch_size = 10, .iterations = 1, .restarts = 1, .seed = 1}));
}

TEST(DriftTest, StableWhenTheSameAndAlarmedWhenShifted) {
  const Dataset then = Groups(400, 3, nullptr);
  const auto distributions = Distributions(then);
  const Dataset same = Groups(400, 4, nullptr);
  for (const auto& item : CompareDistributions(distributions, same).items) {
    EXPECT_LT(item.psi, 0.1) << item.name;
    EXPECT_EQ(item.level, "stable");
  }
  Dataset shifted = Groups(400, 5, nullptr);
  for (size_t r = 0; r < shifted.rows; ++r) shifted.values[r * 4 + 2] *= 2.0f;  // everyone lapses longer
  const auto report = CompareDistributions(distributions, shifted);
  EXPECT_EQ(report.items[0].name, "recency_days");
  EXPECT_EQ(report.items[0].level, "act");
  auto restored = DistributionFromJson(ToJson(distributions[0]));
  ASSERT_TRUE(restored);
  EXPECT_EQ(restored->edges, distributions[0].edges);
  // Missing values are a bin of their own.
  const std::vector<double> all_missing(100, std::nan(""));
  EXPECT_GT(PopulationStability(distributions[0], all_missing), 1.0);
}

}  // namespace
}  // namespace loyalty::models
