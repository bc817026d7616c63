#include "loyalty/models/registry.hpp"

#include <gtest/gtest.h>

#include "loyalty/store/sqlite.hpp"
#include "support/temp_dir.hpp"
#include "support/test_store.hpp"

namespace loyalty::models {
namespace {

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(*store_.Open());
    registry_ = std::move(*ModelRegistry::Open(*db_, clock_));
  }
  ModelVersion Register(const std::string& kind, double auc) {
    auto v = registry_->Register({kind, "analyst", {{"cutoff", "2025-06-01"}}, {"recency_days"},
                                  {{"max_depth", 3}}, {{"roc_auc", auc}}, "artifact-" + std::to_string(auc)});
    EXPECT_TRUE(v) << v.error().message;
    return *v;
  }
  std::string Champion(const std::string& kind) { return registry_->ByAlias(kind, "champion")->name(); }

  testing::TempDir dir_;

  ::loyalty::testing::TestStore store_;
  core::ManualClock clock_{*core::ParseTimestamp("2026-01-01")};
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<ModelRegistry> registry_;
};

TEST_F(RegistryTest, VersionsNumberPerKindAndKeepEverything) {
  const auto first = Register("churn", 0.80);
  EXPECT_EQ(first.name(), "churn@1");
  EXPECT_EQ(first.aliases, std::vector<std::string>{"champion"});  // the first version serves
  EXPECT_EQ(Register("clv", 0).name(), "clv@1");
  const auto second = Register("churn", 0.82);
  EXPECT_EQ(second.name(), "churn@2");
  EXPECT_EQ(second.aliases, std::vector<std::string>{"challenger"});  // later ones wait
  EXPECT_EQ(second.metrics["roc_auc"], 0.82);
  EXPECT_EQ(second.data_window["cutoff"], "2025-06-01");
  EXPECT_EQ(second.features, std::vector<std::string>{"recency_days"});
  EXPECT_EQ(second.creator, "analyst");
  EXPECT_EQ(*registry_->Artifact("churn", 2), "artifact-0.820000");
  EXPECT_EQ(registry_->List("churn")->size(), 2u);
  EXPECT_EQ(registry_->List()->size(), 3u);
  EXPECT_EQ(registry_->Get("churn", 9).error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(registry_->ByAlias("recs", "champion").error().code, core::ErrorCode::kNotFound);
  EXPECT_FALSE(registry_->Register({"bad kind!", "x", {}, {}, {}, {}, ""}));
}

TEST_F(RegistryTest, PromoteAndRollBackThroughSeveralChampions) {
  Register("churn", 0.80);
  Register("churn", 0.82);
  Register("churn", 0.84);
  ASSERT_TRUE(registry_->Promote("churn", 2, "manager"));
  EXPECT_EQ(Champion("churn"), "churn@2");
  ASSERT_TRUE(registry_->Promote("churn", 3, "manager"));
  EXPECT_EQ(Champion("churn"), "churn@3");
  EXPECT_EQ(registry_->Promote("churn", 3, "manager").error().code, core::ErrorCode::kFailedPrecondition);
  // Each rollback undoes one promotion, in reverse order.
  EXPECT_EQ(registry_->Rollback("churn", "manager")->name(), "churn@2");
  EXPECT_EQ(Champion("churn"), "churn@2");
  EXPECT_EQ(registry_->Rollback("churn", "manager")->name(), "churn@1");
  const auto none = registry_->Rollback("churn", "manager");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_EQ(Champion("churn"), "churn@1");

  const auto history = *registry_->AliasHistory("churn");
  ASSERT_GE(history.size(), 6u);
  EXPECT_EQ(history.back().action, "rollback");
  EXPECT_EQ(history.back().actor, "manager");
  EXPECT_EQ(history.back().previous, 2);
  EXPECT_EQ(registry_->SetAlias("churn", "shadow", 3, "analyst")->aliases, (std::vector<std::string>{"shadow"}));
  EXPECT_EQ(registry_->Promote("churn", 7, "manager").error().code, core::ErrorCode::kNotFound);
}

}  // namespace
}  // namespace loyalty::models
