#pragma once
// Journal primitives shared by the ledger's commands: balanced entries, lots consumed
// first-in first-out, idempotency records. Private to the ledger module. Every function runs
// inside the caller's write transaction.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/ids.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/store/database.hpp"

namespace loyalty::ledger::internal {

using core::Result;
using core::Status;

inline constexpr std::string_view kIssuedAccount = "program:issued";
inline constexpr std::string_view kRedeemedAccount = "program:redeemed";
inline constexpr std::string_view kExpiredAccount = "program:expired";
inline constexpr std::string_view kAdjustmentsAccount = "program:adjustments";

std::string MemberAccount(const core::MemberId& member);

struct Posting {
  std::string account;
  int64_t amount;
};

struct EntryHeader {
  std::string_view kind;
  std::optional<core::MemberId> member;
  std::string_view idempotency_key;
  core::Timestamp at;
  core::Json details;
  std::optional<core::Timestamp> occurred_at = std::nullopt;  // when it happened, if not `at`
};

// Appends one journal entry with its postings. REQUIRES: postings sum to zero (an internal
// error otherwise: no caller input can make them unbalanced).
[[nodiscard]] Result<int64_t> PostEntry(store::Transaction& tx, const EntryHeader& header,
                                        const std::vector<Posting>& postings);

// Creates a lot of `amount` points for the member, linked to `entry_id`.
[[nodiscard]] Result<int64_t> CreateLot(store::Transaction& tx, const core::MemberId& member, int64_t entry_id,
                                        core::Timestamp earned_at, core::Timestamp available_at,
                                        std::optional<core::Timestamp> expires_at, int64_t amount);

enum class LotScope { kAvailableOnly, kAll };

// Takes `amount` points from the member's open lots, oldest first (starting with
// `first_lot` when given), recording each movement under `entry_id`. Returns the amount
// taken, which is less than `amount` only when the lots hold less.
[[nodiscard]] Result<int64_t> ConsumeLots(store::Transaction& tx, const core::MemberId& member, int64_t entry_id,
                                          int64_t amount, core::Timestamp now, LotScope scope,
                                          std::optional<int64_t> first_lot = std::nullopt);

// Takes `amount` points from one lot. REQUIRES: the lot holds at least `amount`.
[[nodiscard]] Status ConsumeLot(store::Transaction& tx, int64_t entry_id, int64_t lot_id, int64_t amount);

// Points of the member's open lots that may not be spent yet (available_at > now).
[[nodiscard]] Result<int64_t> PendingPoints(store::Transaction& tx, const core::MemberId& member, core::Timestamp now);

// Points of the member's open lots that may be spent now (available_at <= now).
[[nodiscard]] Result<int64_t> AvailablePoints(store::Transaction& tx, const core::MemberId& member,
                                              core::Timestamp now);

[[nodiscard]] Result<int64_t> AccountBalance(store::Transaction& tx, std::string_view account);

// Fails with kNotFound unless the member exists; returns its current tier.
[[nodiscard]] Result<std::string> RequireMember(store::Transaction& tx, const core::MemberId& member);
// RequireMember for commands that change points: also kConflict when the member was merged
// into another (its points live there now; checked in the command's own transaction, so a
// merge racing a command never leaves points on the absorbed member).
[[nodiscard]] Result<std::string> RequireActiveMember(store::Transaction& tx, const core::MemberId& member);

// Idempotency: the stored result of an earlier command with this key, nullopt when the key is
// new, or kConflict when the key was used for a different kind or payload.
[[nodiscard]] Result<std::optional<core::Json>> FindPriorCommand(store::Transaction& tx, const core::IdempotencyKey& key,
                                                                 std::string_view kind, const std::string& payload);
[[nodiscard]] Status RecordCommand(store::Transaction& tx, const core::IdempotencyKey& key, std::string_view kind,
                                   const std::string& payload, const core::Json& result, core::Timestamp at);

}  // namespace loyalty::ledger::internal
