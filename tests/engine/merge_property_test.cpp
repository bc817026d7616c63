// Property: whatever sequence of earns, redemptions, returns, merges and unmerges happens,
// every ledger invariant holds after each step and no point appears or vanishes — the members'
// balances always add up to what was earned less what was spent and clawed back.

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "loyalty/engine/platform.hpp"
#include "loyalty/store/sqlite.hpp"
#include "support/temp_dir.hpp"

namespace loyalty::engine {
namespace {

core::MemberId Member(int i) { return *core::MemberId::Parse("m" + std::to_string(i)); }
core::IdempotencyKey Key(int n) { return *core::IdempotencyKey::Parse("k" + std::to_string(n)); }

RC_GTEST_PROP(MergeProperty, MergesAndUnmergesKeepEveryPointAccountedFor, ()) {
  testing::TempDir dir;
  core::ManualClock clock(*core::ParseTimestamp("2026-05-01T12:00:00Z"));
  auto db = store::OpenSqlite({.path = dir / "p.db", .durability = store::Durability::kNormal});
  RC_ASSERT(db.has_value());
  auto platform = Platform::Open(**db, {}, clock);
  RC_ASSERT(platform.has_value());
  ledger::Ledger& ledger = (*platform)->ledger();
  Members& members = (*platform)->members();
  constexpr int kMembers = 4;
  for (int i = 0; i < kMembers; ++i) RC_ASSERT(members.Create(Member(i), {}).has_value());

  int64_t outstanding = 0;  // the model: points that must exist across all members
  std::vector<std::pair<core::OrderId, core::MemberId>> orders;
  const int steps = *rc::gen::inRange(5, 30);
  for (int step = 0; step < steps; ++step) {
    const int a = *rc::gen::inRange(0, kMembers);
    const int b = *rc::gen::inRange(0, kMembers);
    switch (*rc::gen::inRange(0, 5)) {
      case 0: {  // earn, for a profile that may have been merged away (refused then)
        const auto order = *core::OrderId::Parse("o" + std::to_string(step));
        const int64_t amount = *rc::gen::inRange(1, 200);
        auto earned = ledger.Earn({Key(step), members.Get(Member(a))->member, order,
                                   {{"A", "", 1, core::Money(amount * 100, *core::Currency::FromCode("EUR"))}},
                                   std::nullopt});
        RC_ASSERT(earned.has_value());
        outstanding += earned->points.value();
        orders.emplace_back(order, Member(a));
        break;
      }
      case 1: {  // spend some of what is available
        const auto who = members.Get(Member(a))->member;
        const int64_t available = ledger.GetBalance(who)->available.value();
        if (available == 0) break;
        const int64_t spend = *rc::gen::inRange<int64_t>(1, available + 1);
        RC_ASSERT(ledger.RedeemPoints({Key(step), who, core::Points(spend)}).has_value());
        outstanding -= spend;
        break;
      }
      case 2: {  // return a whole order, through whoever holds it now
        if (orders.empty()) break;
        const auto& [order, first_owner] = orders[*rc::gen::inRange<size_t>(0, orders.size())];
        auto returned = ledger.Return({Key(step), members.Get(first_owner)->member, order, {}});
        if (returned) outstanding -= returned->clawed_back.value();
        break;
      }
      case 3: {  // merge (refused when the rules say no: that must change nothing)
        (void)members.Merge(members.Get(Member(a))->member, Member(b), "same person", "prop");
        break;
      }
      default: {
        (void)members.Unmerge(Member(a), "wrong match", "prop");
        break;
      }
    }
    auto report = ledger.VerifyInvariants();
    RC_ASSERT(report.has_value());
    RC_ASSERT(report->ok);
    int64_t total = 0;
    for (int i = 0; i < kMembers; ++i) total += ledger.GetBalance(Member(i))->total.value();
    RC_ASSERT(total == outstanding);
  }
}

}  // namespace
}  // namespace loyalty::engine
