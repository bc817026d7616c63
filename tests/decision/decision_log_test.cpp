// The decision log on a real SQLite file: offers and settings with rollback, decisions and
// outcomes (idempotent, attributed, teaching the bandits), restoring caps, budgets and bandit
// evidence after a restart, and experiment results.

#include "loyalty/decision/decision_log.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "support/test_store.hpp"

namespace loyalty::decision {
namespace {

using core::Json;

const core::Timestamp kStart = *core::ParseTimestamp("2026-03-02T12:00:00Z");

class DecisionLogTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    log_.reset();
    db_.reset();
    auto db = store_.Open();
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    auto log = DecisionLog::Open(*db_, clock_);
    ASSERT_TRUE(log) << log.error().message;
    log_ = std::move(*log);
  }
  Offer MakeOffer(Json doc) {
    auto offer = ParseOffer(doc, {});
    EXPECT_TRUE(offer) << (offer ? "" : offer.error().message);
    return offer.value_or(Offer{});
  }
  MemberView Member(const std::string& id) {
    MemberView m;
    m.member = id;
    m.segment = "loyal";
    m.basket_minor = 4000;
    m.consents = {"marketing_email"};
    return m;
  }
  // The default contact policy with no holdout group, so every member can get offers.
  core::Status PutPolicyWithoutHoldout() {
    ContactPolicy policy;
    policy.holdout_percent = 0;
    return log_->PutPolicy(policy, "ann");
  }
  // A decider configured from the log, as the engine does at start.
  std::unique_ptr<Decider> Load() {
    auto decider = std::make_unique<Decider>(3);
    auto offers = log_->Offers({});
    auto policy = log_->Policy();
    EXPECT_TRUE(offers && policy);
    decider->Configure(*offers, *policy);
    EXPECT_TRUE(log_->Restore(*decider));
    return decider;
  }

  testing::TestStore store_;
  core::ManualClock clock_{kStart};
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<DecisionLog> log_;
};

TEST(DecisionIds, AreUniqueAndSortByTheTimeTheyWereMade) {
  const std::string first = DecisionLog::NewId();
  ASSERT_EQ(first.size(), 28u);
  EXPECT_TRUE(first.starts_with("dec_"));
  EXPECT_EQ(first.find_first_not_of("0123456789abcdef", 4), std::string::npos) << first;
  std::set<std::string> made{first};
  for (int i = 0; i < 1000; ++i) made.insert(DecisionLog::NewId());
  EXPECT_EQ(made.size(), 1001u);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const std::string later = DecisionLog::NewId();
  EXPECT_LT(*made.rbegin(), later);  // a later millisecond sorts after every earlier id
}

TEST_F(DecisionLogTest, OffersArePutReplacedListedAndDeleted) {
  auto created = log_->PutOffer(MakeOffer({{"id", "a"}, {"kind", "discount"}, {"channels", {"email"}}}), "ann");
  ASSERT_TRUE(created);
  EXPECT_TRUE(*created);
  auto replaced = log_->PutOffer(MakeOffer({{"id", "a"}, {"kind", "discount"}, {"channels", {"sms"}}}), "ann");
  ASSERT_TRUE(replaced);
  EXPECT_FALSE(*replaced);
  auto offers = log_->Offers({});
  ASSERT_TRUE(offers);
  ASSERT_EQ(offers->size(), 1u);
  EXPECT_EQ(offers->front().channels, std::vector<Channel>{Channel::kSms});
  EXPECT_TRUE(log_->DeleteOffer("a"));
  EXPECT_EQ(log_->DeleteOffer("a").error().code, core::ErrorCode::kNotFound);
}

TEST_F(DecisionLogTest, TheStrategyFlagRollsBackInOneStep) {
  EXPECT_EQ(log_->RollbackFlag("ann").error().code, core::ErrorCode::kConflict);
  ASSERT_TRUE(log_->PutFlag({.strategy = Strategy::kAi, .fallback = Strategy::kRules, .share_percent = 10}, "ann"));
  ASSERT_TRUE(log_->PutFlag({.strategy = Strategy::kAi, .fallback = Strategy::kRules, .share_percent = 50}, "ann"));
  auto back = log_->RollbackFlag("bob");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->share_percent, 10);
  EXPECT_EQ(log_->Flag()->share_percent, 10);
}

TEST_F(DecisionLogTest, AutomationMovesStackAndEachRollbackUndoesOneMove) {
  EXPECT_EQ(log_->Automation()->program, AutomationPhase::kLimited);  // the default
  EXPECT_EQ(log_->RollbackAutomation("ann", "nothing yet").error().code, core::ErrorCode::kConflict);
  AutomationSettings expanded;
  expanded.program = AutomationPhase::kExpanded;
  AutomationSettings dynamic = expanded;
  dynamic.program = AutomationPhase::kDynamic;
  dynamic.strategies[static_cast<size_t>(Strategy::kAi)] = AutomationPhase::kPilot;
  ASSERT_TRUE(log_->MoveAutomation(expanded, "ann", "pilot went well"));
  EXPECT_EQ(log_->MoveAutomation(expanded, "ann", "again").error().code, core::ErrorCode::kConflict);
  clock_.Advance(std::chrono::hours(1));
  ASSERT_TRUE(log_->MoveAutomation(dynamic, "ann", "bandits next"));
  EXPECT_EQ(log_->Automation().value(), dynamic);

  auto back = log_->RollbackAutomation("bob", "too fast");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, expanded);
  Reopen();  // the history is the store's, not the process's
  EXPECT_EQ(log_->Automation().value(), expanded);
  ASSERT_TRUE(log_->RollbackAutomation("bob", "back to the start"));
  EXPECT_EQ(log_->Automation()->program, AutomationPhase::kLimited);
  EXPECT_EQ(log_->RollbackAutomation("bob", "once more").error().code, core::ErrorCode::kConflict);

  auto history = log_->AutomationHistory(10);
  ASSERT_TRUE(history);
  ASSERT_EQ(history->size(), 4u);  // newest first
  EXPECT_EQ((*history)[0].action, "rollback");
  EXPECT_EQ((*history)[0].settings.program, AutomationPhase::kLimited);
  EXPECT_EQ((*history)[1].actor, "bob");
  EXPECT_EQ((*history)[1].reason, "too fast");
  EXPECT_EQ((*history)[2].action, "move");
  EXPECT_EQ((*history)[2].settings, dynamic);
  EXPECT_EQ((*history)[3].at, kStart);
  EXPECT_EQ(log_->AutomationHistory(1)->size(), 1u);
}

TEST_F(DecisionLogTest, APhaseAndEachOffersRiskAreKeptWithTheDecision) {
  ASSERT_TRUE(log_->PutOffer(MakeOffer({{"id", "nudge"}, {"kind", "tier_nudge"}, {"channels", {"email"}}, {"points", 100}}),
                             "ann"));
  ASSERT_TRUE(PutPolicyWithoutHoldout());
  auto decider = Load();
  AutomationSettings pilot;
  pilot.program = AutomationPhase::kPilot;
  decider->Configure(*decider->offers(), *decider->policy(), pilot);
  const Decision d = decider->Decide(Member("m1"), {.at = kStart}, Strategy::kRules);
  ASSERT_EQ(d.offers.size(), 1u);
  auto id = log_->Record(d, {}, 0);
  ASSERT_TRUE(id);
  auto stored = log_->Get(*id);
  ASSERT_TRUE(stored);
  EXPECT_EQ((*stored)["phase"], "pilot");
  EXPECT_EQ((*stored)["offers"][0]["risk"], "medium");
  EXPECT_EQ((*stored)["offers"][0]["risk_reasons"], Json::array({"tier_change"}));
  EXPECT_EQ((*stored)["offers"][0]["routing"], "review");
  auto routed = log_->RoutedOffers(kStart);
  ASSERT_TRUE(routed);
  ASSERT_EQ(routed->size(), 1u);
  EXPECT_EQ((*routed)[0].risk, "medium");
  EXPECT_EQ((*routed)[0].risk_reasons, std::vector<std::string>{"tier_change"});
}

// The holdout comparison reads each member's first decision in a window with the holdout
// assignment that decision itself carried.
TEST_F(DecisionLogTest, FirstDecisionsCarryTheirOwnHoldoutAssignment) {
  ASSERT_TRUE(log_->PutOffer(MakeOffer({{"id", "a"}, {"kind", "bonus_points"}, {"channels", {"email"}}, {"points", 100}}), "ann"));
  ASSERT_TRUE(PutPolicyWithoutHoldout());
  auto decider = Load();
  auto record = [&](const std::string& member, std::chrono::minutes after, bool holdout) {
    Decision d = decider->Decide(Member(member), {.at = kStart + after}, Strategy::kRules);
    d.holdout = holdout;
    ASSERT_TRUE(log_->Record(d, {}, 0));
  };
  record("m1", std::chrono::minutes(0), true);   // before the window
  record("m1", std::chrono::minutes(10), false);  // m1's first in the window
  record("m1", std::chrono::minutes(20), true);
  record("m2", std::chrono::minutes(30), true);
  record("m2", std::chrono::minutes(40), false);
  record("m3", std::chrono::minutes(90), false);  // after the window
  auto firsts = log_->FirstDecisions(kStart + std::chrono::minutes(5), kStart + std::chrono::minutes(60));
  ASSERT_TRUE(firsts) << firsts.error().message;
  std::sort(firsts->begin(), firsts->end(), [](const auto& a, const auto& b) { return a.member < b.member; });
  ASSERT_EQ(firsts->size(), 2u);
  EXPECT_EQ((*firsts)[0].member, "m1");
  EXPECT_EQ((*firsts)[0].at, kStart + std::chrono::minutes(10));
  EXPECT_FALSE((*firsts)[0].holdout);
  EXPECT_EQ((*firsts)[1].member, "m2");
  EXPECT_TRUE((*firsts)[1].holdout);
}

TEST_F(DecisionLogTest, OutcomesAreIdempotentAttributedAndTeachTheBandit) {
  ASSERT_TRUE(log_->PutOffer(MakeOffer({{"id", "a"}, {"kind", "bonus_points"}, {"channels", {"email"}}, {"points", 100}}), "ann"));
  ASSERT_TRUE(PutPolicyWithoutHoldout());
  auto decider = Load();
  const Decision d = decider->Decide(Member("m1"), {.at = kStart}, Strategy::kRules);
  ASSERT_EQ(d.offers.size(), 1u);
  auto id = log_->Record(d, {}, 1234.0);
  ASSERT_TRUE(id);

  auto record = [&](Json body) { return log_->RecordOutcome(*ParseOutcome(body, *id, kStart), *decider); };
  ASSERT_TRUE(record({{"offer", "a"}, {"type", "impression"}, {"at", "2026-03-02T13:00:00Z"}}));
  auto click = record({{"offer", "a"}, {"type", "click"}, {"at", "2026-03-02T14:00:00Z"}});
  ASSERT_TRUE(click);
  EXPECT_TRUE(click->counted_as_response);
  auto again = record({{"offer", "a"}, {"type", "click"}, {"at", "2026-03-02T14:00:00Z"}});
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->duplicate);
  auto purchase = record({{"offer", "a"}, {"type", "purchase"}, {"at", "2026-03-03T10:00:00Z"}, {"value_minor", 5000}});
  ASSERT_TRUE(purchase);
  EXPECT_FALSE(purchase->counted_as_response);  // one response per offer made
  EXPECT_EQ(record({{"id", "late"}, {"offer", "a"}, {"type", "purchase"}, {"at", "2026-03-20T10:00:00Z"}}).error().code,
            core::ErrorCode::kFailedPrecondition);
  EXPECT_EQ(record({{"offer", "zzz"}, {"type", "click"}}).error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(record({{"id", *id + ":a:click"}, {"offer", "a"}, {"type", "impression"}}).error().code,
            core::ErrorCode::kConflict);

  // Prior 0.05 x 20 = (1, 19); one trial, one success.
  EXPECT_DOUBLE_EQ(decider->arms().Posterior("a|loyal", 0.05).alpha, 2);
  EXPECT_DOUBLE_EQ(decider->arms().Posterior("a|loyal", 0.05).beta, 19);

  auto stored = log_->Get(*id);
  ASSERT_TRUE(stored);
  EXPECT_EQ((*stored)["outcomes"].size(), 3u);
  EXPECT_EQ((*stored)["offers"][0]["offer"], "a");
  EXPECT_TRUE((*stored)["explanation"].contains("candidates"));
}

TEST_F(DecisionLogTest, CapsBudgetsAndBanditEvidenceSurviveARestart) {
  ASSERT_TRUE(log_->PutOffer(MakeOffer({{"id", "a"}, {"kind", "discount"}, {"channels", {"email"}}, {"discount_minor", 300},
                                        {"budget_minor", 600}, {"max_per_member_per_week", 1}}),
                             "ann"));
  ASSERT_TRUE(PutPolicyWithoutHoldout());
  {
    auto decider = Load();
    const Decision d = decider->Decide(Member("m1"), {.at = kStart}, Strategy::kRules);
    ASSERT_EQ(d.offers.size(), 1u);
    auto id = log_->Record(d, {}, 0);
    ASSERT_TRUE(id);
    ASSERT_TRUE(log_->RecordOutcome(*ParseOutcome({{"offer", "a"}, {"type", "impression"}}, *id, kStart), *decider));
  }
  Reopen();
  auto decider = Load();
  // The member had the offer this week; the budget has room for one more member only.
  EXPECT_TRUE(decider->Decide(Member("m1"), {.at = kStart + std::chrono::hours(1)}, Strategy::kRules).offers.empty());
  EXPECT_EQ(decider->Decide(Member("m2"), {.at = kStart}, Strategy::kRules).offers.size(), 1u);
  EXPECT_TRUE(decider->Decide(Member("m3"), {.at = kStart}, Strategy::kRules).offers.empty());
  EXPECT_DOUBLE_EQ(decider->arms().Posterior("a|loyal", 0.05).beta, 20);
}

TEST_F(DecisionLogTest, AWeekLaterCapsAreFreeButBudgetsRemember) {
  ASSERT_TRUE(log_->PutOffer(MakeOffer({{"id", "tee"}, {"kind", "product_recommendation"}, {"channels", {"email"}},
                                        {"discount_minor", 300}, {"budget_minor", 600}, {"sku", "TEE-1"}}),
                             "ann"));
  ASSERT_TRUE(PutPolicyWithoutHoldout());
  {
    auto decider = Load();
    const Decision d = decider->Decide(Member("m1"), {.at = kStart}, Strategy::kRules);
    ASSERT_EQ(d.offers.size(), 1u);
    EXPECT_EQ(d.offers[0].sku, "TEE-1");
    auto id = log_->Record(d, {}, 0);
    ASSERT_TRUE(id);
    EXPECT_EQ((*log_->Get(*id))["offers"][0]["sku"], "TEE-1");
  }
  clock_.Set(kStart + std::chrono::days(8));
  Reopen();
  auto decider = Load();
  EXPECT_EQ(decider->Decide(Member("m1"), {.at = clock_.Now()}, Strategy::kRules).offers.size(), 1u);
  EXPECT_TRUE(decider->Decide(Member("m2"), {.at = clock_.Now()}, Strategy::kRules).offers.empty());
  EXPECT_EQ(decider->BudgetReport()["offers_committed_minor"]["tee"], 600);
}

TEST_F(DecisionLogTest, ExperimentResultsCompareArmsWithTheControl) {
  auto e = ParseExperiment({{"id", "exp1"},
                            {"arms", {{{"name", "control"}, {"strategy", "control"}}, {{"name", "ai"}, {"strategy", "ai"}}}}});
  ASSERT_TRUE(e);
  auto created = log_->CreateExperiment(*e);
  ASSERT_TRUE(created);
  EXPECT_EQ(log_->CreateExperiment(*e).error().code, core::ErrorCode::kConflict);
  ASSERT_TRUE(log_->PutOffer(MakeOffer({{"id", "a"}, {"kind", "bonus_points"}, {"channels", {"email"}}, {"max_per_member_per_week", 5}}), "ann"));
  ContactPolicy policy;
  policy.holdout_percent = 0;
  policy.max_per_day = 10;
  policy.max_per_channel_per_day = 10;
  ASSERT_TRUE(log_->PutPolicy(policy, "ann"));
  auto decider = Load();
  for (int i = 0; i < 200; ++i) {
    const std::string member = "m" + std::to_string(i);
    const size_t arm = *AssignArm(*created, member);
    const Decision d = decider->Decide(Member(member), {.at = kStart}, created->arms[arm].strategy);
    auto id = log_->Record(d, {"exp1", created->arms[arm].name}, 100.0 + i);
    ASSERT_TRUE(id);
    if (arm == 1 && i % 2 == 0) {
      ASSERT_FALSE(d.offers.empty());
      ASSERT_TRUE(log_->RecordOutcome(
          *ParseOutcome({{"offer", "a"}, {"type", "purchase"}, {"value_minor", 1000 + i}}, *id, kStart), *decider));
    }
  }
  auto results = log_->ExperimentResults("exp1");
  ASSERT_TRUE(results) << results.error().message;
  const Json& arms = (*results)["results"];
  ASSERT_EQ(arms.size(), 2u);
  EXPECT_EQ(arms[0]["responders"], 0);
  EXPECT_GT(arms[1]["response_rate"].get<double>(), 0.4);
  EXPECT_LT(arms[1]["response_rate_vs_control"]["p_value"].get<double>(), 0.001);
  EXPECT_GT(arms[1]["revenue_vs_control"]["ci_low"].get<double>(), 0);
  EXPECT_TRUE(arms[1].contains("revenue_vs_control_cuped"));
  ASSERT_TRUE(log_->StopExperiment("exp1"));
  EXPECT_EQ((*log_->Experiments())[0].running, false);
}

}  // namespace
}  // namespace loyalty::decision
