// Every bad input is refused with an error that names the problem, and leaves no trace:
// the member's statement, balance and the journal's invariants are exactly as before.

#include "ledger_fixture.hpp"

namespace loyalty::ledger::testing {
namespace {

using core::ErrorCode;
using core::Points;

class BadInputTest : public LedgerFixture {
 protected:
  void SetUp() override {
    LedgerFixture::SetUp();
    AddMember("ana");
    ASSERT_TRUE(Buy("ana", "o1", "50.00"));
    ASSERT_TRUE(ledger_->UpsertReward({RewardRef("gone"), "Sold out", Points(10), 0}));
  }

  // Asserts the failure's code and message, and that nothing was posted.
  template <typename R>
  void ExpectRefused(const Result<R>& result, ErrorCode code, const std::string& message_part) {
    ASSERT_FALSE(result) << "expected a refusal mentioning '" << message_part << "'";
    EXPECT_EQ(result.error().code, code) << result.error().message;
    EXPECT_NE(result.error().message.find(message_part), std::string::npos) << result.error().message;
    EXPECT_EQ(Total("ana"), 50);
    EXPECT_EQ(ledger_->GetStatement(Member("ana"), std::nullopt, 10)->lines.size(), 1u);
    EXPECT_EQ(ledger_->GetLiability()->outstanding, Points(50));
    ExpectInvariants();
  }

  EarnCommand Order1(const std::string& order, std::vector<OrderLine> lines) {
    return {Key("k-" + order), Member("ana"), Order(order), std::move(lines), std::nullopt};
  }
};

TEST_F(BadInputTest, UnknownMember) {
  ExpectRefused(Buy("nobody", "o2", "10.00"), ErrorCode::kNotFound, "member 'nobody' does not exist");
  ExpectRefused(ledger_->GetBalance(Member("nobody")), ErrorCode::kNotFound, "does not exist");
}

TEST_F(BadInputTest, ZeroNegativeAndOverflowingAmounts) {
  ExpectRefused(ledger_->Earn(Order1("o2", {{"X", "c", 0, Eur("1.00")}})), ErrorCode::kInvalidArgument,
                "quantity must be at least 1");
  ExpectRefused(ledger_->Earn(Order1("o3", {{"X", "c", 1, Eur("-1.00")}})), ErrorCode::kInvalidArgument,
                "must not be negative");
  ExpectRefused(ledger_->Earn(Order1("o4", {{"X", "c", INT64_MAX, Eur("2.00")}})), ErrorCode::kInvalidArgument,
                "out of range");
  ExpectRefused(ledger_->Earn(Order1("o5", {})), ErrorCode::kInvalidArgument, "at least one line");
  ExpectRefused(ledger_->Earn(Order1("o6", {{"", "c", 1, Eur("1.00")}})), ErrorCode::kInvalidArgument, "sku is empty");
  ExpectRefused(ledger_->Bonus({Key("b1"), Member("ana"), Points(0), "r", "a"}), ErrorCode::kInvalidArgument,
                "at least 1");
  ExpectRefused(ledger_->Bonus({Key("b2"), Member("ana"), Points(-5), "r", "a"}), ErrorCode::kInvalidArgument,
                "at least 1");
  ExpectRefused(ledger_->Adjust({Key("a1"), Member("ana"), Points(0), "r", "a"}), ErrorCode::kInvalidArgument,
                "must not be zero");
  ExpectRefused(ledger_->Adjust({Key("a2"), Member("ana"), Points(INT64_MIN), "r", "a"}), ErrorCode::kInvalidArgument,
                "out of range");
  ExpectRefused(ledger_->RedeemPoints({Key("d1"), Member("ana"), Points(-1)}), ErrorCode::kInvalidArgument,
                "at least 1");
  ExpectRefused(ledger_->RedeemReward({Key("d2"), Member("ana"), RewardRef("gone"), 0}), ErrorCode::kInvalidArgument,
                "quantity must be 1 to 100");
}

TEST_F(BadInputTest, BonusThatWouldOverflowTheBalance) {
  ASSERT_TRUE(ledger_->Bonus({Key("b1"), Member("ana"), Points(INT64_MAX - 100), "r", "a"}));
  auto overflow = ledger_->Bonus({Key("b2"), Member("ana"), Points(INT64_MAX - 100), "r", "a"});
  ASSERT_FALSE(overflow);
  EXPECT_EQ(overflow.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(overflow.error().message.find("overflow"), std::string::npos) << overflow.error().message;
  EXPECT_EQ(Total("ana"), INT64_MAX - 50);
  ExpectInvariants();
}

TEST_F(BadInputTest, UnknownOrMismatchedCurrency) {
  ExpectRefused(ledger_->Earn(Order1("o2", {{"X", "c", 1, *core::Money::Parse("1.00", "USD")}})),
                ErrorCode::kInvalidArgument, "runs in EUR");
  EXPECT_EQ(core::Money::Parse("1.00", "EUX").error().message,
            "unknown currency 'EUX' (use an ISO 4217 code such as EUR or USD)");
}

TEST_F(BadInputTest, RewardOutOfStockOrUnknown) {
  ExpectRefused(ledger_->RedeemReward({Key("r1"), Member("ana"), RewardRef("gone"), 1}), ErrorCode::kOutOfStock,
                "has 0 left");
  ExpectRefused(ledger_->RedeemReward({Key("r2"), Member("ana"), RewardRef("nope"), 1}), ErrorCode::kNotFound,
                "not in the catalogue");
}

TEST_F(BadInputTest, InsufficientPoints) {
  ASSERT_TRUE(ledger_->UpsertReward({RewardRef("tv"), "TV", Points(5000), std::nullopt}));
  ExpectRefused(ledger_->RedeemReward({Key("r1"), Member("ana"), RewardRef("tv"), 1}),
                ErrorCode::kInsufficientPoints, "has 50 available points");
  ExpectRefused(ledger_->RedeemPoints({Key("r2"), Member("ana"), Points(51)}), ErrorCode::kInsufficientPoints,
                "needs 51");
}

TEST_F(BadInputTest, ConflictingIdempotencyKey) {
  ExpectRefused(Buy("ana", "o9", "10.00", "earn-o1"), ErrorCode::kConflict, "already used");
  ExpectRefused(ledger_->Earn({core::IdempotencyKey(), Member("ana"), Order("o9"), {{"X", "c", 1, Eur("1")}}, std::nullopt}),
                ErrorCode::kInvalidArgument, "idempotency key is required");
}

TEST_F(BadInputTest, ReturnsOfUnknownOrForeignOrders) {
  AddMember("ben");
  ExpectRefused(ledger_->Return({Key("r1"), Member("ana"), Order("o404"), {}}), ErrorCode::kNotFound, "o404");
  ExpectRefused(ledger_->Return({Key("r2"), Member("ben"), Order("o1"), {}}), ErrorCode::kInvalidArgument,
                "belongs to another member");
  ExpectRefused(ledger_->Return({Key("r3"), Member("ana"), Order("o1"), {{"NOT-IN-ORDER", 1}}}),
                ErrorCode::kFailedPrecondition, "only 0 unit(s)");
  ExpectRefused(ledger_->Return({Key("r4"), Member("ana"), Order("o1"), {{"SKU-o1", 0}}}), ErrorCode::kInvalidArgument,
                "at least 1");
}

TEST_F(BadInputTest, PurchaseDatedInTheFuture) {
  EarnCommand command = Order1("o2", {{"X", "c", 1, Eur("1.00")}});
  command.occurred_at = clock_.Now() + std::chrono::hours(2);
  ExpectRefused(ledger_->Earn(command), ErrorCode::kInvalidArgument, "is in the future");
}

TEST_F(BadInputTest, InvalidRewardDefinitions) {
  EXPECT_EQ(ledger_->UpsertReward({RewardRef("x"), "", Points(5), std::nullopt}).error().message,
            "reward name is required");
  EXPECT_FALSE(ledger_->UpsertReward({RewardRef("x"), "X", Points(0), std::nullopt}));
  EXPECT_FALSE(ledger_->UpsertReward({RewardRef("x"), "X", Points(5), -1}));
}

}  // namespace
}  // namespace loyalty::ledger::testing
