// Property tests: random sequences of ledger commands, checked after every step against the
// journal's invariants and against a small reference model of lots; and many writer threads
// at once, checked for lost updates and double effects.

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <random>
#include <thread>

#include "ledger_fixture.hpp"

namespace loyalty::ledger::testing {
namespace {

using core::ErrorCode;
using core::Points;

enum class OpKind { kEarn, kRedeem, kAdjust, kBonus, kReturn, kExpire, kAdvance, kRetry, kConflict };

struct Op {
  OpKind kind;
  int member;      // index into kMembers
  int64_t amount;  // euros, points or days depending on the kind
};

const std::vector<std::string> kMembers = {"m0", "m1", "m2"};

// Lets rapidcheck print a shrunk counterexample.
void showValue(const Op& op, std::ostream& os) {
  static const char* kNames[] = {"earn", "redeem", "adjust", "bonus", "return", "expire", "advance", "retry", "conflict"};
  os << kNames[static_cast<int>(op.kind)] << "(m" << op.member << ", " << op.amount << ")";
}

// The reference model: each member's lots in the order they were created (which is FIFO
// order, as the clock only moves forward), and each order's lot and unreturned points.
struct ModelLot {
  core::Timestamp expires_at;
  int64_t remaining;
};
struct ModelOrder {
  std::string id;
  int member;
  size_t lot;
  int64_t points;
  bool returned = false;
};
struct Model {
  std::map<int, std::vector<ModelLot>> lots;
  std::vector<ModelOrder> orders;

  int64_t Total(int m) {
    int64_t sum = 0;
    for (const auto& lot : lots[m]) sum += lot.remaining;
    return sum;
  }
  void Consume(int m, int64_t amount, std::optional<size_t> first = std::nullopt) {
    auto& member_lots = lots[m];
    if (first) {
      const int64_t take = std::min(amount, member_lots[*first].remaining);
      member_lots[*first].remaining -= take;
      amount -= take;
    }
    for (auto& lot : member_lots) {
      const int64_t take = std::min(amount, lot.remaining);
      lot.remaining -= take;
      amount -= take;
    }
  }
};

// A command that succeeded, kept so it can be retried verbatim.
struct Done {
  std::function<Result<int64_t>()> run;  // returns the entry id
  int64_t entry_id;
};

template <typename R>
Result<int64_t> EntryIdOf(const Result<R>& result) {
  if (!result) return std::unexpected(result.error());
  return result->entry_id;
}

rc::Gen<Op> GenOp() {
  return rc::gen::apply(
      [](OpKind kind, int member, int64_t amount) { return Op{kind, member, amount}; },
      rc::gen::weightedElement<OpKind>({{6, OpKind::kEarn},
                                        {3, OpKind::kRedeem},
                                        {2, OpKind::kAdjust},
                                        {1, OpKind::kBonus},
                                        {2, OpKind::kReturn},
                                        {1, OpKind::kExpire},
                                        {2, OpKind::kAdvance},
                                        {2, OpKind::kRetry},
                                        {1, OpKind::kConflict}}),
      rc::gen::inRange(0, static_cast<int>(kMembers.size())), rc::gen::inRange<int64_t>(1, 400));
}

class PropertyLedger : public LedgerFixture {
 public:
  void TestBody() override {}
  using LedgerFixture::clock_;
  using LedgerFixture::config_;
  using LedgerFixture::ledger_;
  void Start() {
    SetUp();
    for (const auto& m : kMembers) AddMember(m);
  }
};

RC_GTEST_PROP(LedgerProperty, InvariantsHoldAfterEveryStepAndBalancesMatchTheModel, ()) {
  const auto ops = *rc::gen::container<std::vector<Op>>(GenOp());
  PropertyLedger fixture;
  fixture.Start();
  Ledger& ledger = *fixture.ledger_;
  Model model;
  std::vector<Done> done;
  std::vector<std::string> stored_keys;  // keys of commands that took effect
  int counter = 0;
  const auto months = fixture.config_.expiry.months;

  for (const Op& op : ops) {
    const std::string key = "k" + std::to_string(counter++);
    const core::MemberId member = Member(kMembers[op.member]);
    const core::Timestamp now = fixture.clock_.Now();
    switch (op.kind) {
      case OpKind::kEarn: {
        EarnCommand command{Key(key), member, Order("o" + key), {{"S", "c", 1, Eur(std::to_string(op.amount))}},
                            std::nullopt};
        auto r = ledger.Earn(command);
        RC_ASSERT(r.has_value());
        RC_ASSERT(r->points.value() == op.amount);
        model.lots[op.member].push_back({core::AddMonths(now, months), op.amount});
        model.orders.push_back({command.order.str(), op.member, model.lots[op.member].size() - 1, op.amount});
        done.push_back({[&ledger, command] { return EntryIdOf(ledger.Earn(command)); },
                        r->entry_id});
        stored_keys.push_back(key);
        break;
      }
      case OpKind::kRedeem: {
        RedeemPointsCommand command{Key(key), member, Points(op.amount)};
        auto r = ledger.RedeemPoints(command);
        if (model.Total(op.member) >= op.amount) {
          RC_ASSERT(r.has_value());
          model.Consume(op.member, op.amount);
          done.push_back(
              {[&ledger, command] { return EntryIdOf(ledger.RedeemPoints(command)); },
               r->entry_id});
          stored_keys.push_back(key);
        } else {
          RC_ASSERT(!r.has_value());
          RC_ASSERT(r.error().code == ErrorCode::kInsufficientPoints);
        }
        break;
      }
      case OpKind::kAdjust: {
        const int64_t delta = (op.amount % 2 == 0) ? op.amount / 2 : -op.amount / 2 - 1;
        auto r = ledger.Adjust({Key(key), member, Points(delta), "property", "test"});
        if (delta > 0) {
          RC_ASSERT(r.has_value());
          model.lots[op.member].push_back({core::AddMonths(now, months), delta});
        } else if (model.Total(op.member) >= -delta) {
          RC_ASSERT(r.has_value());
          model.Consume(op.member, -delta);
        } else {
          RC_ASSERT(r.error().code == ErrorCode::kInsufficientPoints);
        }
        break;
      }
      case OpKind::kBonus: {
        RC_ASSERT(ledger.Bonus({Key(key), member, Points(op.amount), "property", "test"}).has_value());
        stored_keys.push_back(key);
        model.lots[op.member].push_back({core::AddMonths(now, months), op.amount});
        break;
      }
      case OpKind::kReturn: {
        if (model.orders.empty()) break;
        ModelOrder& order = model.orders[static_cast<size_t>(op.amount) % model.orders.size()];
        auto r = ledger.Return({Key(key), Member(kMembers[order.member]), Order(order.id), {}});
        if (order.returned) {
          RC_ASSERT(!r.has_value());
          RC_ASSERT(r.error().code == ErrorCode::kFailedPrecondition);
          break;
        }
        RC_ASSERT(r.has_value());
        const int64_t claw = std::min(order.points, model.Total(order.member));
        RC_ASSERT(r->clawed_back.value() == claw);
        RC_ASSERT(r->unrecovered.value() == order.points - claw);
        model.Consume(order.member, claw, order.lot);
        order.returned = true;
        stored_keys.push_back(key);
        break;
      }
      case OpKind::kExpire: {
        auto r = ledger.Expire({Key(key)});
        RC_ASSERT(r.has_value());
        int64_t expected = 0;
        for (auto& [m, lots] : model.lots) {
          for (auto& lot : lots) {
            if (lot.expires_at <= now) {
              expected += lot.remaining;
              lot.remaining = 0;
            }
          }
        }
        RC_ASSERT(r->points.value() == expected);
        stored_keys.push_back(key);
        break;
      }
      case OpKind::kAdvance:
        fixture.clock_.Advance(std::chrono::days(op.amount % 90));
        break;
      case OpKind::kRetry: {
        if (done.empty()) break;
        const Done& prior = done[static_cast<size_t>(op.amount) % done.size()];
        auto again = prior.run();
        RC_ASSERT(again.has_value());
        RC_ASSERT(*again == prior.entry_id);
        break;
      }
      case OpKind::kConflict: {
        if (stored_keys.empty()) break;
        // Reuse an earlier key for a payload it never carried.
        const std::string& old_key = stored_keys[static_cast<size_t>(op.amount) % stored_keys.size()];
        auto r = ledger.Bonus({Key(old_key), member, Points(op.amount + 1000000), "conflict", "test"});
        RC_ASSERT(!r.has_value());
        RC_ASSERT(r.error().code == ErrorCode::kConflict);
        break;
      }
    }
    int64_t outstanding = 0;
    for (int m = 0; m < static_cast<int>(kMembers.size()); ++m) {
      auto balance = ledger.GetBalance(Member(kMembers[m]));
      RC_ASSERT(balance.has_value());
      RC_ASSERT(balance->total.value() == model.Total(m));
      RC_ASSERT(balance->total.value() >= 0);
      outstanding += model.Total(m);
    }
    auto liability = ledger.GetLiability();
    RC_ASSERT(liability.has_value());
    RC_ASSERT(liability->outstanding.value() == outstanding);
    RC_ASSERT(liability->value.minor_units() == outstanding);  // default point value: 1 minor unit
    auto report = ledger.VerifyInvariants();
    RC_ASSERT(report.has_value());
    if (!report->ok) RC_FAIL(report->violations.front());
  }
}

// Several writer threads post to the same members at once, retrying their own keys. Every
// success reports the signed change it made; afterwards each member's balance must equal the
// sum of those changes (no lost update, no double effect) and every invariant must hold.
class ConcurrentLedgerTest : public LedgerFixture {};

TEST_F(ConcurrentLedgerTest, ManyWritersLoseNothingAndDoubleNothing) {
  constexpr int kThreads = 4;
  constexpr int kOpsPerThread = 250;
  const std::vector<std::string> members = {"a", "b", "c"};
  for (const auto& m : members) AddMember(m);
  ASSERT_TRUE(ledger_->UpsertReward({RewardRef("pen"), "Pen", Points(7), 500}));

  std::vector<std::map<std::string, int64_t>> net(kThreads);
  std::vector<std::vector<std::pair<std::function<Result<int64_t>()>, int64_t>>> retries(kThreads);
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(1234 + t);
      for (int i = 0; i < kOpsPerThread; ++i) {
        const std::string& m = members[rng() % members.size()];
        const std::string key = "t" + std::to_string(t) + "-" + std::to_string(i);
        const int64_t amount = 1 + static_cast<int64_t>(rng() % 60);
        switch (rng() % 6) {
          case 0:
          case 1: {
            EarnCommand c{Key(key), Member(m), Order("o" + key), {{"S", "c", 1, Eur(std::to_string(amount))}},
                          std::nullopt};
            auto r = ledger_->Earn(c);
            if (!r) { failures[t] = r.error().message; return; }
            net[t][m] += r->points.value();
            retries[t].push_back({[this, c] { return EntryIdOf(ledger_->Earn(c)); }, r->entry_id});
            break;
          }
          case 2: {
            auto r = ledger_->RedeemPoints({Key(key), Member(m), Points(amount)});
            if (r) net[t][m] -= r->points.value();
            else if (r.error().code != ErrorCode::kInsufficientPoints) { failures[t] = r.error().message; return; }
            break;
          }
          case 3: {
            auto r = ledger_->RedeemReward({Key(key), Member(m), RewardRef("pen"), 1});
            if (r) net[t][m] -= r->points.value();
            else if (r.error().code != ErrorCode::kInsufficientPoints) { failures[t] = r.error().message; return; }
            break;
          }
          case 4: {
            auto r = ledger_->Adjust({Key(key), Member(m), Points(-amount), "load", "test"});
            if (r) net[t][m] += r->points.value();
            else if (r.error().code != ErrorCode::kInsufficientPoints) { failures[t] = r.error().message; return; }
            break;
          }
          case 5: {
            if (retries[t].empty()) break;
            const auto& [run, entry] = retries[t][rng() % retries[t].size()];
            auto again = run();
            if (!again || *again != entry) { failures[t] = "retry posted again or failed"; return; }
            break;
          }
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& f : failures) EXPECT_EQ(f, "");
  for (const auto& m : members) {
    int64_t expected = 0;
    for (const auto& per_thread : net) {
      if (auto it = per_thread.find(m); it != per_thread.end()) expected += it->second;
    }
    EXPECT_EQ(Total(m), expected) << m;
    EXPECT_GE(Total(m), 0);
  }
  ExpectInvariants();
}

}  // namespace
}  // namespace loyalty::ledger::testing
