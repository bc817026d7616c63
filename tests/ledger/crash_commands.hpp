#pragma once
// The deterministic command stream of the crash test, shared by the writer child process and
// the checking parent: command i is the same in both, so the parent can replay acknowledged
// commands and expect their original results.

#include <string>

#include "loyalty/ledger/ledger.hpp"

namespace loyalty::ledger::crash {

inline constexpr int kMembers = 5;

inline ProgramConfig Program() {
  ProgramConfig config = DefaultProgramConfig();
  config.expiry = {ExpiryMode::kNever, 0};
  config.rewards = {{"pen", "Pen", 3, std::nullopt}};
  return config;
}

inline core::Timestamp Now() { return *core::ParseTimestamp("2026-06-01T12:00:00Z"); }

inline std::string MemberOf(int64_t i) { return "m" + std::to_string(i % kMembers); }

// Runs command i; returns its entry id (0 for commands that posted nothing).
inline Result<int64_t> RunCommand(Ledger& ledger, int64_t i) {
  const auto key = *core::IdempotencyKey::Parse("c" + std::to_string(i));
  const auto member = *core::MemberId::Parse(MemberOf(i));
  const int64_t amount = 1 + i % 40;
  switch (i % 4) {
    case 0:
    case 1: {
      auto r = ledger.Earn({key, member, *core::OrderId::Parse("o" + std::to_string(i)),
                            {{"SKU", "cat", 1, *core::Money::Parse(std::to_string(amount * 3), "EUR")}}, std::nullopt});
      if (!r) return std::unexpected(r.error());
      return r->entry_id;
    }
    case 2: {
      auto r = ledger.RedeemReward({key, member, *core::RewardId::Parse("pen"), 1 + i % 3});
      if (!r) return std::unexpected(r.error());
      return r->entry_id;
    }
    default: {
      auto r = ledger.Adjust({key, member, core::Points(-amount), "crash test", "test"});
      if (!r) return std::unexpected(r.error());
      return r->entry_id;
    }
  }
}

}  // namespace loyalty::ledger::crash
