// Behaviour of the ledger's commands and queries through its public interface.

#include "ledger_fixture.hpp"
#include "loyalty/ledger/json.hpp"

namespace loyalty::ledger::testing {
namespace {

using core::ErrorCode;
using core::Points;
using std::chrono::days;

using LedgerTest = LedgerFixture;

TEST_F(LedgerTest, EarnPostsBalancedPointsAndAStatementLine) {
  AddMember("ana");
  auto earned = Buy("ana", "o1", "42.99");
  ASSERT_TRUE(earned) << earned.error().message;
  EXPECT_EQ(earned->points, Points(42));
  EXPECT_EQ(earned->balance, Points(42));
  EXPECT_EQ(Total("ana"), 42);
  auto statement = ledger_->GetStatement(Member("ana"), std::nullopt, 10);
  ASSERT_TRUE(statement);
  ASSERT_EQ(statement->lines.size(), 1u);
  EXPECT_EQ(statement->lines[0].kind, "earn");
  EXPECT_EQ(statement->lines[0].points, Points(42));
  EXPECT_EQ(statement->lines[0].details["order"], "o1");
  EXPECT_EQ(ledger_->GetLiability()->outstanding, Points(42));
  ExpectInvariants();
}

TEST_F(LedgerTest, RetryWithTheSameKeyReturnsTheFirstResultAndPostsOnce) {
  AddMember("ana");
  auto first = Buy("ana", "o1", "10.00");
  auto again = Buy("ana", "o1", "10.00");
  ASSERT_TRUE(first && again);
  EXPECT_EQ(first->entry_id, again->entry_id);
  EXPECT_EQ(Total("ana"), 10);
  ExpectInvariants();
}

TEST_F(LedgerTest, SameKeyWithAnotherPayloadIsAConflict) {
  AddMember("ana");
  ASSERT_TRUE(Buy("ana", "o1", "10.00", "k1"));
  auto conflict = Buy("ana", "o2", "99.00", "k1");
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().code, ErrorCode::kConflict);
  EXPECT_NE(conflict.error().message.find("already used"), std::string::npos);
  auto other_kind = ledger_->Bonus({Key("k1"), Member("ana"), Points(5), "welcome", "crm"});
  ASSERT_FALSE(other_kind);
  EXPECT_EQ(other_kind.error().code, ErrorCode::kConflict);
  EXPECT_EQ(Total("ana"), 10);
}

TEST_F(LedgerTest, AnOrderEarnsOnlyOnceEvenUnderANewKey) {
  AddMember("ana");
  ASSERT_TRUE(Buy("ana", "o1", "10.00", "k1"));
  auto twice = Buy("ana", "o1", "10.00", "k2");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(Total("ana"), 10);
}

TEST_F(LedgerTest, RedeemRewardChecksBalanceAndStockTogether) {
  AddMember("ana");
  ASSERT_TRUE(ledger_->UpsertReward({RewardRef("mug"), "Mug", Points(30), 1}));
  ASSERT_TRUE(Buy("ana", "o1", "100.00"));
  auto redeemed = ledger_->RedeemReward({Key("r1"), Member("ana"), RewardRef("mug"), 1});
  ASSERT_TRUE(redeemed) << redeemed.error().message;
  EXPECT_EQ(redeemed->points, Points(30));
  EXPECT_EQ(redeemed->stock_left, 0);
  EXPECT_EQ(Total("ana"), 70);
  auto sold_out = ledger_->RedeemReward({Key("r2"), Member("ana"), RewardRef("mug"), 1});
  ASSERT_FALSE(sold_out);
  EXPECT_EQ(sold_out.error().code, ErrorCode::kOutOfStock);
  EXPECT_EQ(Total("ana"), 70);
  ExpectInvariants();
}

TEST_F(LedgerTest, RedeemPointsGivesADiscountAtThePointValue) {
  AddMember("ana");
  ASSERT_TRUE(Buy("ana", "o1", "250.00"));
  auto redeemed = ledger_->RedeemPoints({Key("d1"), Member("ana"), Points(200)});
  ASSERT_TRUE(redeemed) << redeemed.error().message;
  EXPECT_EQ(redeemed->discount, Eur("2.00"));  // default: 1 point = EUR 0.01
  EXPECT_EQ(redeemed->balance, Points(50));
  auto too_much = ledger_->RedeemPoints({Key("d2"), Member("ana"), Points(51)});
  ASSERT_FALSE(too_much);
  EXPECT_EQ(too_much.error().code, ErrorCode::kInsufficientPoints);
  EXPECT_NE(too_much.error().message.find("50 available"), std::string::npos);
}

TEST_F(LedgerTest, PointsInThePastAreDatedWhenTheyHappenedNotWhenRecorded) {
  AddMember("ana");
  const auto sale = At("2025-12-01T10:00:00Z"), till = At("2025-12-20T10:00:00Z");
  ASSERT_TRUE(ledger_->Earn({Key("e1"), Member("ana"), Order("o1"), {{"A", "general", 1, Eur("300.00")}}, sale}));
  const RedeemPointsCommand redeem{Key("d1"), Member("ana"), Points(120), till};
  ASSERT_TRUE(ledger_->RedeemPoints(redeem));
  ASSERT_TRUE(ledger_->RedeemPoints(redeem));  // a retry with the same date posts nothing more
  RedeemPointsCommand moved = redeem;
  moved.occurred_at = till + days(1);
  EXPECT_EQ(ledger_->RedeemPoints(moved).error().code, ErrorCode::kConflict);
  moved.key = Key("d2");
  moved.occurred_at = clock_.Now() + days(1);
  EXPECT_EQ(ledger_->RedeemPoints(moved).error().code, ErrorCode::kInvalidArgument);

  // As of mid-December ana held the 300 points; since the 20th, 180.
  EXPECT_EQ(ledger_->GetPointsAsOf(Member("ana"), At("2025-12-10T00:00:00Z"))->balance, Points(300));
  auto after = ledger_->GetPointsAsOf(Member("ana"), At("2025-12-21T00:00:00Z"));
  EXPECT_EQ(after->balance, Points(180));
  EXPECT_EQ(after->last_redemption, till);
  EXPECT_EQ(after->tier_now, "Member");  // read with the points
  EXPECT_EQ(ledger_->GetPointsAsOf(Member("ana"), At("2025-11-30T00:00:00Z"))->balance, Points(0));

  ASSERT_TRUE(ledger_->Bonus({Key("b1"), Member("ana"), Points(10), "welcome", "ops"}));
  auto flows = ledger_->GetPointsFlows();
  ASSERT_TRUE(flows) << flows.error().message;
  ASSERT_EQ(flows->size(), 1u);
  EXPECT_EQ((*flows)[0].member, Member("ana"));
  const auto& f = (*flows)[0].flows;
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].kind, FlowKind::kEarn);
  EXPECT_EQ(f[0].at, sale);
  EXPECT_EQ(f[0].points, 300);
  EXPECT_EQ(f[1].kind, FlowKind::kRedeem);
  EXPECT_EQ(f[1].at, till);
  EXPECT_EQ(f[1].points, -120);
  EXPECT_EQ(f[2].kind, FlowKind::kBonus);  // recorded now: dated now
  EXPECT_EQ(f[2].at, clock_.Now());
  ExpectInvariants();
}

TEST_F(LedgerTest, RedemptionConsumesTheOldestLotsFirst) {
  AddMember("ana");
  ASSERT_TRUE(Buy("ana", "o1", "10.00"));
  clock_.Advance(days(10));
  ASSERT_TRUE(Buy("ana", "o2", "20.00"));
  clock_.Advance(days(10));
  ASSERT_TRUE(Buy("ana", "o3", "30.00"));
  ASSERT_TRUE(ledger_->RedeemPoints({Key("d1"), Member("ana"), Points(25)}));
  auto lots = ledger_->GetLots(Member("ana"), /*include_closed=*/true);
  ASSERT_TRUE(lots);
  ASSERT_EQ(lots->size(), 3u);
  EXPECT_EQ((*lots)[0].remaining, Points(0));
  EXPECT_EQ((*lots)[1].remaining, Points(5));
  EXPECT_EQ((*lots)[2].remaining, Points(30));
  EXPECT_EQ(ledger_->GetLots(Member("ana"), false)->size(), 2u);
  ExpectInvariants();
}

TEST_F(LedgerTest, ExpiryTakesDueLotsOldestFirstAndOnlyThose) {
  AddMember("ana");
  ASSERT_TRUE(Buy("ana", "o1", "10.00"));  // expires 2027-01-05
  clock_.Set(At("2026-06-01T00:00:00Z"));
  ASSERT_TRUE(Buy("ana", "o2", "20.00"));  // expires 2027-06-01
  ASSERT_TRUE(ledger_->RedeemPoints({Key("d1"), Member("ana"), Points(4)}));  // from o1's lot
  clock_.Set(At("2027-01-05T09:00:00Z"));
  auto expired = ledger_->Expire({Key("x1")});
  ASSERT_TRUE(expired) << expired.error().message;
  EXPECT_EQ(expired->points, Points(6));
  EXPECT_EQ(expired->members, 1);
  EXPECT_EQ(Total("ana"), 20);
  auto again = ledger_->Expire({Key("x2")});
  EXPECT_EQ(again->points, Points(0));  // nothing due twice
  clock_.Set(At("2027-06-01T09:00:00Z"));
  EXPECT_EQ(ledger_->Expire({Key("x3")})->points, Points(20));
  EXPECT_EQ(Total("ana"), 0);
  auto statement = ledger_->GetStatement(Member("ana"), std::nullopt, 10);
  EXPECT_EQ(statement->lines[0].kind, "expire");
  ExpectInvariants();
}

TEST_F(LedgerTest, StatementPagesNewestFirstWithACursor) {
  AddMember("ana");
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(Buy("ana", "o" + std::to_string(i), std::to_string(i + 1) + ".00"));
  std::vector<int64_t> seen;
  std::optional<int64_t> cursor;
  do {
    auto page = ledger_->GetStatement(Member("ana"), cursor, 3);
    ASSERT_TRUE(page);
    for (const auto& line : page->lines) seen.push_back(line.points.value());
    cursor = page->next_cursor;
  } while (cursor);
  EXPECT_EQ(seen, (std::vector<int64_t>{7, 6, 5, 4, 3, 2, 1}));
  EXPECT_FALSE(ledger_->GetStatement(Member("ana"), std::nullopt, 0));
  EXPECT_FALSE(ledger_->GetStatement(Member("ana"), std::nullopt, 501));
}

TEST_F(LedgerTest, AdjustmentsNeedAReasonAndNeverTakeTheBalanceBelowZero) {
  AddMember("ana");
  ASSERT_TRUE(Buy("ana", "o1", "10.00"));
  auto up = ledger_->Adjust({Key("a1"), Member("ana"), Points(15), "missing scan", "agent-7"});
  ASSERT_TRUE(up) << up.error().message;
  EXPECT_EQ(up->balance, Points(25));
  auto down = ledger_->Adjust({Key("a2"), Member("ana"), Points(-20), "duplicate", "agent-7"});
  ASSERT_TRUE(down);
  EXPECT_EQ(down->balance, Points(5));
  auto below = ledger_->Adjust({Key("a3"), Member("ana"), Points(-6), "oops", "agent-7"});
  ASSERT_FALSE(below);
  EXPECT_EQ(below.error().code, ErrorCode::kInsufficientPoints);
  auto no_reason = ledger_->Adjust({Key("a4"), Member("ana"), Points(1), "", "agent-7"});
  ASSERT_FALSE(no_reason);
  EXPECT_EQ(no_reason.error().message, "reason is required");
  auto statement = ledger_->GetStatement(Member("ana"), std::nullopt, 1);
  EXPECT_EQ(statement->lines[0].details["actor"], "agent-7");
  ExpectInvariants();
}

TEST_F(LedgerTest, ReturnClawsBackFromTheOrdersLotAndReportsWhatWasAlreadySpent) {
  AddMember("ana");
  ASSERT_TRUE(Buy("ana", "o1", "100.00"));
  clock_.Advance(days(1));
  ASSERT_TRUE(Buy("ana", "o2", "50.00"));
  ASSERT_TRUE(ledger_->RedeemPoints({Key("d1"), Member("ana"), Points(120)}));  // 100 from o1, 20 from o2
  auto returned = ledger_->Return({Key("ret1"), Member("ana"), Order("o1"), {}});
  ASSERT_TRUE(returned) << returned.error().message;
  EXPECT_EQ(returned->due, Points(100));
  EXPECT_EQ(returned->clawed_back, Points(30));
  EXPECT_EQ(returned->unrecovered, Points(70));
  EXPECT_EQ(Total("ana"), 0);
  auto again = ledger_->Return({Key("ret2"), Member("ana"), Order("o1"), {}});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kFailedPrecondition);
  ExpectInvariants();
}

TEST_F(LedgerTest, PartialReturnsClawBackEachUnitsShareExactly) {
  AddMember("ana");
  ledger::EarnCommand order{Key("e1"), Member("ana"), Order("o1"),
                            {{"SOCK", "apparel", 3, Eur("3.50")}, {"SHOE", "shoes", 1, Eur("60.00")}}, std::nullopt};
  auto earned = ledger_->Earn(order);
  ASSERT_TRUE(earned);
  EXPECT_EQ(earned->points, Points(70));  // 10 (10.50 floors) + 60
  int64_t clawed = 0;
  for (int i = 0; i < 3; ++i) {
    auto r = ledger_->Return({Key("r" + std::to_string(i)), Member("ana"), Order("o1"), {{"SOCK", 1}}});
    ASSERT_TRUE(r) << r.error().message;
    clawed += r->clawed_back.value();
  }
  EXPECT_EQ(clawed, 10);
  auto too_many = ledger_->Return({Key("r9"), Member("ana"), Order("o1"), {{"SOCK", 1}}});
  ASSERT_FALSE(too_many);
  EXPECT_NE(too_many.error().message.find("only 0 unit(s)"), std::string::npos);
  EXPECT_EQ(Total("ana"), 60);
  ExpectInvariants();
}

TEST(LedgerPolicy, RejectClawbackRefusesAReturnWhosePointsAreSpent) {
  ::loyalty::testing::TestStore store;
  core::ManualClock clock(At("2026-01-01"));
  auto db = store.Open();
  ASSERT_TRUE(db) << db.error().message;
  ProgramConfig config = PlainProgram();
  config.clawback = ClawbackPolicy::kReject;
  auto ledger = Ledger::Open(**db, config, clock);
  ASSERT_TRUE(ledger);
  ASSERT_TRUE((*ledger)->CreateMember(Member("ana")));
  ASSERT_TRUE((*ledger)->Earn({Key("e1"), Member("ana"), Order("o1"), {{"X", "c", 1, Eur("10.00")}}, std::nullopt}));
  ASSERT_TRUE((*ledger)->RedeemPoints({Key("d1"), Member("ana"), Points(5)}));
  auto refused = (*ledger)->Return({Key("r1"), Member("ana"), Order("o1"), {}});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInsufficientPoints);
  EXPECT_EQ((*ledger)->GetBalance(Member("ana"))->total, Points(5));
}

class EarnRulesTest : public LedgerFixture {
 protected:
  static ProgramConfig Rules() {
    ProgramConfig config = PlainProgram();
    config.earn.points_per_unit = 2;
    config.earn.category_multiplier_permille["electronics"] = 1500;
    config.earn.sku_multiplier_permille["TV-1"] = 3000;  // wins over its category
    config.earn.sku_bonus_points["BATTERY"] = 5;
    config.earn.order_bonuses = {{10000, 100}, {50000, 400}};
    config.earn.max_points_per_order = 2000;
    config.tiers.tiers = {{"Member", 0, 1000}, {"Gold", 500, 2000}};
    return config;
  }
  EarnRulesTest() : LedgerFixture(Rules()) {}
};

TEST_F(EarnRulesTest, MultipliersBonusesTiersAndTheCapCombine) {
  AddMember("ana");
  auto small = ledger_->Earn({Key("e1"), Member("ana"), Order("o1"),
                              {{"CABLE", "electronics", 1, Eur("10.00")}, {"BATTERY", "misc", 2, Eur("1.00")}},
                              std::nullopt});
  ASSERT_TRUE(small);
  EXPECT_EQ(small->points, Points(30 + 4 + 10));  // 20 x1.5, 4 base, 2 x 5 bonus
  EXPECT_EQ(small->bonus_points, Points(10));
  EXPECT_FALSE(small->capped);

  auto big = ledger_->Earn({Key("e2"), Member("ana"), Order("o2"), {{"TV-1", "electronics", 1, Eur("150.00")}},
                            std::nullopt});
  ASSERT_TRUE(big);
  EXPECT_EQ(big->points, Points(900 + 100));  // 300 base x3, order over 100 EUR
  EXPECT_EQ(big->upgraded_to, "Gold");

  auto gold = ledger_->Earn({Key("e3"), Member("ana"), Order("o3"), {{"TV-1", "electronics", 1, Eur("500.00")}},
                             std::nullopt});
  ASSERT_TRUE(gold);
  EXPECT_EQ(gold->tier, "Gold");
  EXPECT_TRUE(gold->capped);  // 1000 x3 x2 + 500 would be 6500
  EXPECT_EQ(gold->points, Points(2000));
  ExpectInvariants();
}

class PendingTest : public LedgerFixture {
 protected:
  static ProgramConfig Rules() {
    ProgramConfig config = PlainProgram();
    config.earn.pending_days = 14;
    return config;
  }
  PendingTest() : LedgerFixture(Rules()) {}
};

TEST_F(PendingTest, EarnedPointsWaitOutTheReturnWindowBeforeTheyCanBeSpent) {
  AddMember("ana");
  ASSERT_TRUE(Buy("ana", "o1", "80.00"));
  auto balance = ledger_->GetBalance(Member("ana"));
  EXPECT_EQ(balance->total, Points(80));
  EXPECT_EQ(balance->pending, Points(80));
  EXPECT_EQ(balance->available, Points(0));
  EXPECT_FALSE(ledger_->RedeemPoints({Key("d1"), Member("ana"), Points(10)}));
  clock_.Advance(days(14));
  EXPECT_EQ(Available("ana"), 80);
  EXPECT_TRUE(ledger_->RedeemPoints({Key("d2"), Member("ana"), Points(10)}));
}

class TierTest : public LedgerFixture {
 protected:
  static ProgramConfig Rules() {
    ProgramConfig config = PlainProgram();
    config.tiers = {TierBasis::kPoints, 12, {{"Member", 0, 1000}, {"Silver", 100, 1000}, {"Gold", 300, 1000}}};
    config.expiry = {ExpiryMode::kNever, 0};
    return config;
  }
  TierTest() : LedgerFixture(Rules()) {}
};

TEST_F(TierTest, UpgradeAtOnceDowngradeWhenTheWindowMovesOnWithHistory) {
  AddMember("ana");
  ASSERT_TRUE(Buy("ana", "o1", "150.00"));
  auto tier = ledger_->GetTier(Member("ana"));
  EXPECT_EQ(tier->tier, "Silver");
  EXPECT_EQ(tier->qualifying, 150);
  EXPECT_EQ(tier->next_tier, "Gold");
  EXPECT_EQ(tier->needed_for_next, 150);

  clock_.Advance(days(200));
  auto unchanged = ledger_->EvaluateTiers({Key("t1"), std::nullopt});
  ASSERT_TRUE(unchanged);
  EXPECT_TRUE(unchanged->changes.empty());

  clock_.Advance(days(200));  // the purchase has left the 12-month window
  auto evaluated = ledger_->EvaluateTiers({Key("t2"), std::nullopt});
  ASSERT_TRUE(evaluated);
  ASSERT_EQ(evaluated->changes.size(), 1u);
  EXPECT_EQ(evaluated->changes[0].from, "Silver");
  EXPECT_EQ(evaluated->changes[0].to, "Member");
  auto status = ledger_->GetTier(Member("ana"));
  EXPECT_EQ(status->tier, "Member");
  ASSERT_EQ(status->history.size(), 2u);
  EXPECT_EQ(status->history[0].to, "Member");
  EXPECT_EQ(status->history[0].reason, "evaluation");
  EXPECT_EQ(status->history[1].to, "Silver");
  EXPECT_EQ(status->history[1].reason, "purchase");
}

TEST_F(TierTest, ReturnedPurchasesStopQualifying) {
  AddMember("ana");
  ASSERT_TRUE(Buy("ana", "o1", "150.00"));
  ASSERT_TRUE(ledger_->Return({Key("r1"), Member("ana"), Order("o1"), {}}));
  EXPECT_EQ(ledger_->GetTier(Member("ana"))->qualifying, 0);
  auto evaluated = ledger_->EvaluateTiers({Key("t1"), Member("ana")});
  ASSERT_TRUE(evaluated);
  EXPECT_EQ(evaluated->evaluated, 1);
  EXPECT_EQ(ledger_->GetTier(Member("ana"))->tier, "Member");
}

class InactivityTest : public LedgerFixture {
 protected:
  static ProgramConfig Rules() {
    ProgramConfig config = PlainProgram();
    config.expiry = {ExpiryMode::kInactivity, 6};
    return config;
  }
  InactivityTest() : LedgerFixture(Rules()) {}
};

TEST_F(InactivityTest, ActivityKeepsPointsAliveAndSilenceExpiresThemAll) {
  AddMember("ana");
  AddMember("ben");
  ASSERT_TRUE(Buy("ana", "o1", "10.00"));
  ASSERT_TRUE(Buy("ben", "o2", "10.00"));
  clock_.Advance(days(150));
  ASSERT_TRUE(Buy("ana", "o3", "5.00"));
  clock_.Advance(days(40));  // ben inactive for 190 days, ana for 40
  auto expired = ledger_->Expire({Key("x1")});
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->members, 1);
  EXPECT_EQ(Total("ben"), 0);
  EXPECT_EQ(Total("ana"), 15);
  ExpectInvariants();
}

TEST_F(LedgerTest, StateSurvivesReopeningTheStore) {
  AddMember("ana");
  ASSERT_TRUE(Buy("ana", "o1", "33.00"));
  Reopen();
  EXPECT_EQ(Total("ana"), 33);
  auto retry = Buy("ana", "o1", "33.00");  // the key is remembered across restarts
  ASSERT_TRUE(retry);
  EXPECT_EQ(Total("ana"), 33);
}

TEST_F(LedgerTest, ResultsSerialiseForTheCliAndApi) {
  AddMember("ana");
  auto earned = Buy("ana", "o1", "12.00");
  const core::Json json = *earned;
  EXPECT_EQ(json["points"], 12);
  EXPECT_EQ(json["tier"], "Member");
  EXPECT_TRUE(json["upgraded_to"].is_null());
  EXPECT_EQ(json.get<EarnResult>().entry_id, earned->entry_id);
}

}  // namespace
}  // namespace loyalty::ledger::testing

namespace loyalty::ledger::testing {
namespace {

TEST_F(LedgerTest, ABatchKeepsEachGoodCommandAndLeavesNoTraceOfARefusedOne) {
  AddMember("ana");
  const std::vector<Ledger::BatchCommand> batch = {
      EarnCommand{Key("b1"), Member("ana"), Order("o1"), {{"A", "c", 1, Eur("30.00")}}, std::nullopt},
      EarnCommand{Key("b2"), Member("ghost"), Order("o2"), {{"A", "c", 1, Eur("99.00")}}, std::nullopt},
      EarnCommand{Key("b3"), Member("ana"), Order("o3"), {{"A", "c", 0, Eur("5.00")}}, std::nullopt},
      ReturnCommand{Key("b4"), Member("ana"), Order("o1"), {}},
      EarnCommand{Key("b5"), Member("ana"), Order("o5"), {{"A", "c", 2, Eur("6.00")}}, std::nullopt},
  };
  auto statuses = ledger_->ApplyBatch(batch);
  ASSERT_TRUE(statuses) << statuses.error().message;
  ASSERT_EQ(statuses->size(), 5u);
  EXPECT_TRUE((*statuses)[0]);
  EXPECT_EQ((*statuses)[1].error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ((*statuses)[2].error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_TRUE((*statuses)[3]);  // returns the purchase made earlier in the same batch
  EXPECT_TRUE((*statuses)[4]);
  EXPECT_EQ(Total("ana"), 12);
  ExpectInvariants();

  // The same batch again: the good commands replay, nothing posts twice.
  auto again = ledger_->ApplyBatch(batch);
  ASSERT_TRUE(again);
  EXPECT_TRUE((*again)[0] && (*again)[3] && (*again)[4]);
  EXPECT_EQ(Total("ana"), 12);
  EXPECT_EQ(ledger_->GetStatement(Member("ana"), std::nullopt, 10)->lines.size(), 3u);
  ExpectInvariants();
}

// Merges and erasure run inside the caller's transaction (identity and privacy own them); here
// the ledger's part alone, on each backend.
TEST_F(LedgerTest, MergeMovesOpenPointsAndOrdersAndUnmergeGivesBackWhatIsLeft) {
  AddMember("ana");
  AddMember("ana_dup");
  ASSERT_TRUE(Buy("ana", "o1", "40.00"));
  ASSERT_TRUE(Buy("ana_dup", "o2", "25.00"));
  auto merged = db_->WriteValue<MergeTransfer>(
      [&](store::Transaction& tx) { return ledger_->MergeMembersIn(tx, Member("ana"), Member("ana_dup"), 7); });
  ASSERT_TRUE(merged) << merged.error().message;
  EXPECT_EQ(merged->points, Points(25));
  EXPECT_EQ(merged->orders, 1);
  EXPECT_EQ(Total("ana"), 65);
  EXPECT_EQ(Total("ana_dup"), 0);
  ExpectInvariants();

  // The survivor spends 50 points: the oldest lot (its own 40) first, then 10 of the merged 25.
  ASSERT_TRUE(ledger_->RedeemPoints({Key("d1"), Member("ana"), Points(50)}));
  auto unmerged = db_->WriteValue<UnmergeTransfer>(
      [&](store::Transaction& tx) { return ledger_->UnmergeMembersIn(tx, 7); });
  ASSERT_TRUE(unmerged) << unmerged.error().message;
  EXPECT_EQ(unmerged->returned, Points(15));
  EXPECT_EQ(unmerged->kept, Points(10));
  EXPECT_EQ(unmerged->orders, 1);
  EXPECT_EQ(Total("ana"), 0);
  EXPECT_EQ(Total("ana_dup"), 15);
  auto again = db_->WriteValue<UnmergeTransfer>(
      [&](store::Transaction& tx) { return ledger_->UnmergeMembersIn(tx, 7); });
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  ExpectInvariants();
}

TEST_F(LedgerTest, ErasureMovesTheJournalToAPseudonymAndRemovesTypedReasons) {
  AddMember("ana");
  AddMember("ana_dup");
  ASSERT_TRUE(Buy("ana", "o1", "40.00"));
  ASSERT_TRUE(ledger_->Adjust({Key("a1"), Member("ana"), Points(5), "goodwill for Ana's late parcel", "agent-7"}));
  ASSERT_TRUE(Buy("ana_dup", "o2", "25.00"));
  ASSERT_TRUE(db_->WriteValue<MergeTransfer>(
      [&](store::Transaction& tx) { return ledger_->MergeMembersIn(tx, Member("ana"), Member("ana_dup"), 3); }));

  ASSERT_TRUE(db_->Write([&](store::Transaction& tx) {
    return ledger_->PseudonymiseIn(tx, Member("ana"), Member("erased_1"));
  }));
  EXPECT_EQ(Total("erased_1"), 70);
  auto statement = ledger_->GetStatement(Member("erased_1"), std::nullopt, 50);
  ASSERT_TRUE(statement) << statement.error().message;
  ASSERT_EQ(statement->lines.size(), 3u);
  for (const auto& line : statement->lines) {
    const std::string details = line.details.dump();
    EXPECT_EQ(details.find("Ana"), std::string::npos) << details;
    if (line.kind == "adjust") {
      EXPECT_EQ(line.details.value("reason", ""), "erased");
    }
    if (line.kind == "merge") {
      EXPECT_EQ(details.find("\"ana\""), std::string::npos) << details;
    }
  }
  // A retry naming the erased member no longer matches its stored command: nothing posts again.
  auto retry = ledger_->Adjust({Key("a1"), Member("ana"), Points(5), "goodwill for Ana's late parcel", "agent-7"});
  EXPECT_FALSE(retry);
  EXPECT_EQ(Total("erased_1"), 70);
  ExpectInvariants();
}

}  // namespace
}  // namespace loyalty::ledger::testing
