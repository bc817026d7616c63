// The policy evaluation on a small simulated program: the AI strategy learns which offer each
// kind of member answers (its response rate beats the RFM campaign's and random targeting's),
// every policy stays within the same budget, and a seed gives the same answer.

#include "loyalty/sim/policy_evaluation.hpp"

#include <gtest/gtest.h>

namespace loyalty::sim {
namespace {

TEST(PolicyEvaluation, TheAiStrategyLearnsWhoAnswersWhatWithinTheSameBudget) {
  PolicyEvaluationConfig config;
  config.members = 4000;
  config.days = 91;
  config.warmup_days = 91;
  auto evaluation = EvaluatePolicies(config);
  ASSERT_TRUE(evaluation) << evaluation.error().message;
  ASSERT_EQ(evaluation->policies.size(), 3u);
  const auto& ai = evaluation->policies[0];
  const auto& rfm = evaluation->policies[1];
  const auto& random = evaluation->policies[2];
  EXPECT_EQ(ai.name, "ai");
  EXPECT_EQ(ai.members, 1000);
  auto rate = [](const PolicyOutcome& p) { return static_cast<double>(p.responses) / static_cast<double>(p.offers); };
  ASSERT_GT(ai.offers, 0);
  ASSERT_GT(rfm.offers, 0);
  EXPECT_GT(rate(ai), 1.5 * rate(rfm));
  EXPECT_GT(rate(ai), 1.5 * rate(random));
  // Worst-case commitments never pass the budget: 40 minor units per member per week, 13 weeks.
  for (const auto& p : evaluation->policies) {
    EXPECT_LE(p.spend_per_member, 0.40 * 13 + 1e-9) << p.name;
    EXPECT_LE(p.incremental_revenue.ci_low, p.incremental_revenue.mean);
    EXPECT_GE(p.incremental_revenue.ci_high, p.incremental_revenue.mean);
  }
  const core::Json json = ToJson(*evaluation);
  for (const char* name : {"ai", "rfm", "random"}) {
    for (const char* field : {"mean", "ci_low", "ci_high"}) {
      EXPECT_TRUE(json["policies"][name]["incremental_revenue"][field].is_number()) << name << field;
      EXPECT_TRUE(json["policies"][name]["retention_lift"][field].is_number()) << name << field;
    }
  }
  auto again = EvaluatePolicies(config);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->policies[0].responses, ai.responses);
  EXPECT_DOUBLE_EQ(again->ai_vs_rfm_revenue.mean, evaluation->ai_vs_rfm_revenue.mean);
}

TEST(PolicyEvaluation, RefusesSizesOutsideItsRange) {
  PolicyEvaluationConfig config;
  config.members = 10;
  EXPECT_EQ(EvaluatePolicies(config).error().code, core::ErrorCode::kInvalidArgument);
  config.members = 4000;
  config.days = 3;
  EXPECT_EQ(EvaluatePolicies(config).error().code, core::ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace loyalty::sim
