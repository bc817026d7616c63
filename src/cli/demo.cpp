#include "demo.hpp"

#include <iostream>

#include "context.hpp"
#include "loyalty/ledger/ledger.hpp"
#include "loyalty/store/sqlite.hpp"

namespace loyalty::cli {

namespace {

using core::Result;
using core::Status;

// Each step prints what happened in words a loyalty manager reads.
class Walkthrough {
 public:
  Walkthrough(ledger::Ledger& ledger, core::ManualClock& clock) : ledger_(ledger), clock_(clock) {}

  Status Run() {
    using std::chrono::days;
    const auto ana = *core::MemberId::Parse("ana");
    const auto ben = *core::MemberId::Parse("ben");
    LOYALTY_TRY(ledger_.CreateMember(ana));
    LOYALTY_TRY(ledger_.CreateMember(ben));
    Say("Two members join: ana and ben (tier Member).");

    LOYALTY_TRY(Purchase(ana, "order-1001", {{"SHOE-9", "shoes", 1, "89.90"}, {"SOCK-2", "apparel", 3, "4.50"}}));
    clock_.Advance(days(20));
    LOYALTY_TRY(Purchase(ben, "order-1002", {{"TV-55", "electronics", 1, "699.00"}}));
    clock_.Advance(days(45));
    for (int i = 0; i < 3; ++i) {
      LOYALTY_TRY(Purchase(ana, "order-20" + std::to_string(i), {{"JACKET-1", "apparel", 1, "249.00"}}));
      clock_.Advance(days(30));
    }

    auto coffee = ledger_.RedeemReward({Key("redeem-1"), ana, *core::RewardId::Parse("coffee"), 2});
    if (!coffee) return std::unexpected(coffee.error());
    Say("ana redeems 2 x coffee for " + std::to_string(coffee->points.value()) + " points; balance " +
        std::to_string(coffee->balance.value()) + ", " + std::to_string(*coffee->stock_left) + " coffees left in stock.");
    auto retry = ledger_.RedeemReward({Key("redeem-1"), ana, *core::RewardId::Parse("coffee"), 2});
    if (!retry) return std::unexpected(retry.error());
    Say("The till retries the same request (same idempotency key): same entry #" + std::to_string(retry->entry_id) +
        ", nothing posted twice.");

    auto too_much = ledger_.RedeemPoints({Key("redeem-2"), ben, core::Points(100000)});
    Say("ben tries to spend 100000 points: refused (" + too_much.error().message + ").");

    auto returned = ledger_.Return({Key("return-1"), ben, *core::OrderId::Parse("order-1002"), {}});
    if (!returned) return std::unexpected(returned.error());
    Say("ben returns the TV: " + std::to_string(returned->clawed_back.value()) + " points clawed back; balance " +
        std::to_string(returned->balance.value()) + ".");

    auto discount = ledger_.RedeemPoints({Key("redeem-3"), ana, core::Points(500)});
    if (!discount) return std::unexpected(discount.error());
    Say("ana spends 500 points as a discount of " + discount->discount.ToString() + ".");

    clock_.Advance(days(700));
    auto expired = ledger_.Expire({Key("expire-1")});
    if (!expired) return std::unexpected(expired.error());
    Say("Two years on, the expiry job runs: " + std::to_string(expired->points.value()) + " points of " +
        std::to_string(expired->members) + " member(s) expire, oldest lots first.");
    auto tiers = ledger_.EvaluateTiers({Key("tiers-1"), std::nullopt});
    if (!tiers) return std::unexpected(tiers.error());
    for (const auto& change : tiers->changes) {
      Say("Tier review: " + change.member.str() + " moves from " + change.from + " to " + change.to + ".");
    }

    auto liability = ledger_.GetLiability();
    if (!liability) return std::unexpected(liability.error());
    Say("Program liability: " + std::to_string(liability->outstanding.value()) + " points outstanding, worth " +
        liability->value.ToString() + ".");
    auto report = ledger_.VerifyInvariants();
    if (!report) return std::unexpected(report.error());
    Say(report->ok ? "Verified: the journal balances, every balance equals its postings and lots."
                   : "INVARIANT VIOLATION: " + report->violations.front());
    return {};
  }

 private:
  struct Line {
    const char* sku;
    const char* category;
    int64_t quantity;
    const char* price;
  };

  Status Purchase(const core::MemberId& member, const std::string& order, std::initializer_list<Line> lines) {
    ledger::EarnCommand command{Key("earn-" + order), member, *core::OrderId::Parse(order), {}, std::nullopt};
    for (const auto& l : lines) {
      command.lines.push_back({l.sku, l.category, l.quantity, *core::Money::Parse(l.price, "EUR")});
    }
    LOYALTY_ASSIGN_OR_RETURN(auto r, ledger_.Earn(command));
    std::string text = member.str() + " buys (" + order + "): +" + std::to_string(r.points.value()) +
                       " points at tier " + r.tier + ", balance " + std::to_string(r.balance.value());
    if (r.upgraded_to) text += ", upgraded to " + *r.upgraded_to;
    Say(text + ".");
    return {};
  }

  static core::IdempotencyKey Key(const std::string& text) { return *core::IdempotencyKey::Parse(text); }

  void Say(const std::string& text) {
    std::cout << "[" << core::FormatTimestamp(clock_.Now()).substr(0, 10) << "] " << text << "\n";
  }

  ledger::Ledger& ledger_;
  core::ManualClock& clock_;
};

}  // namespace

int RunDemo(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const char* name : {"loyalty.db", "loyalty.db-wal", "loyalty.db-shm"}) std::filesystem::remove(dir / name, ec);
  std::filesystem::create_directories(dir, ec);
  if (ec) return PrintError({core::ErrorCode::kInvalidArgument, "cannot create '" + dir.string() + "': " + ec.message()});

  auto db = store::OpenSqlite({.path = dir / "loyalty.db", .durability = store::Durability::kNormal});
  if (!db) return PrintError(db.error());
  core::ManualClock clock(*core::ParseTimestamp("2025-01-06T10:00:00Z"));
  ledger::ProgramConfig program = ledger::DefaultProgramConfig();
  program.earn.category_multiplier_permille["electronics"] = 2000;
  program.earn.order_bonuses.push_back({.min_spend_minor = 20000, .points = 50});
  program.rewards.push_back({"coffee", "Free coffee", 150, 40});
  auto ledger = ledger::Ledger::Open(**db, program, clock);
  if (!ledger) return PrintError(ledger.error());

  std::cout << "Loyalty demo: a year in a small program (EUR, 1 point per euro, electronics x2,\n"
               "50 bonus points on orders over 200 EUR, tiers Member/Silver/Gold, points expire after 24 months).\n"
               "Data: " << (dir / "loyalty.db").string() << "\n\n";
  Walkthrough walkthrough(**ledger, clock);
  if (auto status = walkthrough.Run(); !status) return PrintError(status.error());
  std::cout << "\nTry: loyalty ledger statement --data-dir " << dir.string() << " --member ana\n";
  return 0;
}

}  // namespace loyalty::cli
