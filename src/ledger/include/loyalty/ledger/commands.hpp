#pragma once
// Ledger commands and their results. Every write command carries an idempotency key: a retry
// with the same key and payload returns the first result; the same key with a different
// payload is a kConflict error. Value types; safe to copy between threads.

#include <optional>
#include <string>
#include <vector>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/ids.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/core/money.hpp"

namespace loyalty::ledger {

using core::IdempotencyKey;
using core::MemberId;
using core::Money;
using core::OrderId;
using core::Points;
using core::RewardId;
using core::Timestamp;

// Keys the platform issues itself — "event:<id>" for ingested purchases and returns,
// "merge:<id>" and "unmerge:<id>" for member merges — may not come from a client: a client
// claiming one could block or replay the platform's own command. kInvalidArgument for those.
[[nodiscard]] core::Status CheckClientKey(const IdempotencyKey& key);

struct OrderLine {
  std::string sku;
  std::string category;
  int64_t quantity = 1;
  Money unit_price{0, *core::Currency::FromCode("EUR")};
};

// Earn points for a purchase. `occurred_at` (the time of the sale) dates the points' lot;
// it defaults to now and may not lie in the future.
struct EarnCommand {
  IdempotencyKey key;
  MemberId member;
  OrderId order;
  std::vector<OrderLine> lines;
  std::optional<Timestamp> occurred_at;
};

struct EarnResult {
  int64_t entry_id = 0;
  Points points;        // total posted
  Points base_points;   // before tier multiplier and bonuses
  Points bonus_points;  // fixed SKU and order bonuses
  bool capped = false;  // the per-order cap cut the total
  std::string tier;     // the tier whose multiplier applied
  Points balance;       // member's total balance afterwards
  std::optional<std::string> upgraded_to;  // tier reached by this purchase
};

// Points granted for a reason (campaign, goodwill). Creates a lot like an earn.
struct BonusCommand {
  IdempotencyKey key;
  MemberId member;
  Points points;  // > 0
  std::string reason;
  std::string actor;
};

// A manual correction by a person, positive or negative. A negative adjustment cannot take
// the balance below zero.
struct AdjustCommand {
  IdempotencyKey key;
  MemberId member;
  Points delta;  // != 0
  std::string reason;
  std::string actor;
};

// Posting result shared by bonus, adjust and points redemption.
struct PostingResult {
  int64_t entry_id = 0;
  Points points;   // signed change of the member's balance
  Points balance;  // afterwards
};

struct RedeemRewardCommand {
  IdempotencyKey key;
  MemberId member;
  RewardId reward;
  int64_t quantity = 1;
};

struct RedeemRewardResult {
  int64_t entry_id = 0;
  Points points;  // spent (positive)
  Points balance;
  std::optional<int64_t> stock_left;  // nullopt for unlimited rewards
};

// Spend points as a discount at the program's point value. `occurred_at` (when the member
// redeemed, e.g. at the till) dates the entry for point-in-time reads; it defaults to now and
// may not lie in the future. Availability is checked at the time the ledger records it.
struct RedeemPointsCommand {
  IdempotencyKey key;
  MemberId member;
  Points points;  // > 0
  std::optional<Timestamp> occurred_at = std::nullopt;
};

struct RedeemPointsResult {
  int64_t entry_id = 0;
  Points points;
  Money discount{0, *core::Currency::FromCode("EUR")};
  Points balance;
};

struct ReturnLine {
  std::string sku;
  int64_t quantity = 1;
};

// Reverses the points of a returned purchase (all of it when `lines` is empty).
struct ReturnCommand {
  IdempotencyKey key;
  MemberId member;
  OrderId order;
  std::vector<ReturnLine> lines;
};

struct ReturnResult {
  int64_t entry_id = 0;  // 0 when nothing was clawed back
  Points due;            // points the returned lines had earned
  Points clawed_back;    // taken from the member's lots
  Points unrecovered;    // due minus clawed back (already spent; policy "cap")
  Points balance;
};

// Expires every lot that is due at the current time (FIFO: oldest lots first).
struct ExpireCommand {
  IdempotencyKey key;
};

struct ExpireResult {
  int64_t members = 0;
  Points points;
};

// Re-evaluates tiers over the rolling window: upgrades and downgrades, with history.
struct EvaluateTiersCommand {
  IdempotencyKey key;
  std::optional<MemberId> member;  // nullopt: every member
};

struct TierChange {
  MemberId member;
  std::string from;
  std::string to;
  int64_t qualifying = 0;
};

struct EvaluateTiersResult {
  int64_t evaluated = 0;
  std::vector<TierChange> changes;
};

}  // namespace loyalty::ledger
