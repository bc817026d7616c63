#pragma once
// The points ledger: a double-entry, append-only journal of postings between member accounts
// and the program's accounts (issued, redeemed, expired, adjustments), with earn lots consumed
// first-in first-out, tiers, a rewards catalogue and program liability.
//
// Invariants, held after every command and checked by the property and crash tests:
//  - every journal entry's postings sum to zero, so all postings sum to zero;
//  - a member's balance equals the sum of its postings and the remaining points of its lots;
//  - no member balance is negative; no idempotency key takes effect twice;
//  - liability = outstanding member points x point value.
//
// Threads: a Ledger is safe to share; commands from many threads are group-committed.
// Commands return once durable. Time comes from the injected Clock.

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/error.hpp"
#include "loyalty/ledger/commands.hpp"
#include "loyalty/ledger/program.hpp"
#include "loyalty/store/database.hpp"

namespace loyalty::ledger {

using core::Result;
using core::Status;

struct Balance {
  Points total;
  Points available;  // total minus pending
  Points pending;    // earned but not yet available (pending_days)
};

struct StatementLine {
  int64_t entry_id = 0;
  std::string kind;  // earn, bonus, adjust, redeem_reward, redeem_points, return, expire,
                     // merge, unmerge
  Points points;     // signed change of the member's balance
  Timestamp at;
  core::Json details;  // order id, reward, reason, actor...
};

struct StatementPage {
  std::vector<StatementLine> lines;     // newest first
  std::optional<int64_t> next_cursor;   // pass as `before_entry` for the next page
};

struct Lot {
  int64_t lot_id = 0;
  Points original;
  Points remaining;
  Timestamp earned_at;
  Timestamp available_at;
  std::optional<Timestamp> expires_at;  // nullopt: no fixed date (never, or on inactivity)
};

struct TierHistoryLine {
  Timestamp at;
  std::string from;
  std::string to;
  int64_t qualifying = 0;
  std::string reason;  // "purchase" (upgrade on earn) or "evaluation" (periodic review)
};

// A purchase as the ledger keeps it (returns, tier windows and merges read it).
struct OrderRecord {
  std::string order_id;
  Timestamp occurred_at;
  int64_t spend_minor = 0;           // in the program's currency
  int64_t spend_returned_minor = 0;
  Points points;                     // earned by the order (with its bonuses)
  Points points_returned;
  core::Json lines;                  // [{sku, category, quantity, unit_price_minor, points, returned}]
};

struct TierStatus {
  std::string tier;
  TierBasis basis = TierBasis::kPoints;
  int64_t qualifying = 0;  // points, or spend in minor units, within the window
  std::optional<std::string> next_tier;
  int64_t needed_for_next = 0;
  std::vector<TierHistoryLine> history;  // the latest changes, newest first (at most 20)
};

struct Liability {
  Points outstanding;  // all member balances
  Money value{0, *core::Currency::FromCode("EUR")};
  int64_t members_with_points = 0;
};

struct Reward {
  RewardId id;
  std::string name;
  Points price;
  std::optional<int64_t> stock;
};

// What a member merge moved: the absorbed member's whole balance, as postings from its
// account to the survivor's, with each open lot re-created for the survivor under the same
// dates (so expiry and pending periods are unchanged), and its orders (so returns and tier
// qualification follow the points).
struct MergeTransfer {
  int64_t entry_id = 0;  // 0 when there was nothing to move
  Points points;
  int64_t lots = 0;
  int64_t orders = 0;
};

// What an unmerge gave back: the points still left in the lots the merge created (points the
// survivor spent or that expired meanwhile stay spent), and the orders the merge moved.
struct UnmergeTransfer {
  int64_t entry_id = 0;  // 0 when there was nothing to give back
  Points returned;
  Points kept;  // moved by the merge but no longer there to give back
  int64_t orders = 0;
};

// A change of a member's balance, dated when it happened (the sale, the redemption at the
// till), for models of points behaviour. kOther: returns, adjustments, merge transfers.
enum class FlowKind { kEarn, kBonus, kRedeem, kExpire, kOther };
struct PointsFlow {
  Timestamp at;
  int64_t points = 0;  // signed change of the balance
  FlowKind kind = FlowKind::kOther;
};
struct MemberPointsFlows {
  MemberId member;
  std::vector<PointsFlow> flows;  // oldest first
};

// Sums that must hold at all times; see VerifyInvariants.
struct InvariantReport {
  bool ok = true;
  std::vector<std::string> violations;
};

class Ledger {
 public:
  // Migrates the schema and creates the configured rewards that do not exist yet.
  // `db` and `clock` must outlive the Ledger.
  [[nodiscard]] static Result<std::unique_ptr<Ledger>> Open(store::Database& db, ProgramConfig config,
                                                            const core::Clock& clock);

  const ProgramConfig& config() const { return config_; }

  // Members and rewards. CreateMember is idempotent for an existing member.
  [[nodiscard]] Status CreateMember(const MemberId& member);
  // Creates many members in one transaction (bulk loads); existing ones are left as they are.
  [[nodiscard]] Status CreateMembers(std::span<const MemberId> members);
  // The same inside the caller's write transaction (a member created with its identifiers).
  [[nodiscard]] Status CreateMembersIn(store::Transaction& tx, std::span<const MemberId> members);
  [[nodiscard]] Status UpsertReward(const Reward& reward);
  [[nodiscard]] Result<std::vector<Reward>> ListRewards();

  // Commands. Each is atomic: it either posts in full or not at all.
  [[nodiscard]] Result<EarnResult> Earn(const EarnCommand& command);
  [[nodiscard]] Result<PostingResult> Bonus(const BonusCommand& command);
  [[nodiscard]] Result<PostingResult> Adjust(const AdjustCommand& command);
  [[nodiscard]] Result<RedeemRewardResult> RedeemReward(const RedeemRewardCommand& command);
  [[nodiscard]] Result<RedeemPointsResult> RedeemPoints(const RedeemPointsCommand& command);
  [[nodiscard]] Result<ReturnResult> Return(const ReturnCommand& command);
  [[nodiscard]] Result<ExpireResult> Expire(const ExpireCommand& command);
  [[nodiscard]] Result<EvaluateTiersResult> EvaluateTiers(const EvaluateTiersCommand& command);

  // Purchases, returns and point redemptions in bulk (event ingestion, imports): one transaction and one commit
  // for the lot, each command with the same idempotency and validation as on its own and in
  // its own savepoint, so a refused command leaves no trace and the others stand. The outer
  // error is for store failures only (then nothing was applied).
  using BatchCommand = std::variant<EarnCommand, ReturnCommand, RedeemPointsCommand>;
  [[nodiscard]] Result<std::vector<Status>> ApplyBatch(std::span<const BatchCommand> commands);

  // Member merges, for identity resolution. They run inside the caller's write transaction so
  // that the identity graph and the ledger change together; `merge_id` names the merge in the
  // identity graph. Repeating a merge id returns the first transfer.
  [[nodiscard]] Result<MergeTransfer> MergeMembersIn(store::Transaction& tx, const MemberId& survivor,
                                                     const MemberId& absorbed, int64_t merge_id);
  [[nodiscard]] Result<UnmergeTransfer> UnmergeMembersIn(store::Transaction& tx, int64_t merge_id);

  // Erasure: moves everything the ledger keeps for `member` (journal, lots, orders, tiers,
  // merges, stored commands) to `pseudonym`, a member id never used before, and removes the
  // free-text reasons of its entries. Points stay on the pseudonymous account, so every
  // balance and invariant still holds. Inside the caller's transaction.
  [[nodiscard]] Status PseudonymiseIn(store::Transaction& tx, const MemberId& member, const MemberId& pseudonym);

  // Queries (read snapshots; never wait for writers).
  [[nodiscard]] Result<Balance> GetBalance(const MemberId& member);
  [[nodiscard]] Result<StatementPage> GetStatement(const MemberId& member, std::optional<int64_t> before_entry,
                                                   int limit);
  [[nodiscard]] Result<std::vector<Lot>> GetLots(const MemberId& member, bool include_closed);
  [[nodiscard]] Result<TierStatus> GetTier(const MemberId& member);
  // Every tier change of the member, newest first (GetTier shows the latest 20).
  [[nodiscard]] Result<std::vector<TierHistoryLine>> GetTierHistory(const MemberId& member);
  // The member's orders (those merges moved in included), oldest first.
  [[nodiscard]] Result<std::vector<OrderRecord>> GetOrders(const MemberId& member);
  // Only the member's current tier (no qualifying amount or history): for hot paths.
  [[nodiscard]] Result<std::string> GetTierName(const MemberId& member);
  [[nodiscard]] Result<Liability> GetLiability();
  // The member's balance as it stood just before `at`, and its latest redemption before then
  // (point-in-time features), by when postings happened (occurred_at), not when recorded.
  struct PointsAsOf {
    Points balance;
    std::optional<Timestamp> last_redemption;
    std::string tier_now;  // the member's tier today, read in the same transaction
  };
  [[nodiscard]] Result<PointsAsOf> GetPointsAsOf(const MemberId& member, Timestamp at);
  // Every member's balance changes in the order they happened; members without any, and
  // members merged into another (their points moved there), are left out. Reads the whole journal: for training and finance reports, not for hot paths.
  [[nodiscard]] Result<std::vector<MemberPointsFlows>> GetPointsFlows();

  // Recomputes every invariant from the raw journal. Cost grows with the journal size:
  // for tests, audits and `loyalty ledger verify`, not for hot paths.
  [[nodiscard]] Result<InvariantReport> VerifyInvariants();

 private:
  Ledger(store::Database& db, ProgramConfig config, const core::Clock& clock)
      : db_(db), config_(std::move(config)), clock_(clock) {}

  // The bodies of Earn, Return and RedeemPoints, inside a transaction the caller owns.
  [[nodiscard]] Result<EarnResult> EarnIn(store::Transaction& tx, const EarnCommand& command, Timestamp now);
  [[nodiscard]] Result<ReturnResult> ReturnIn(store::Transaction& tx, const ReturnCommand& command, Timestamp now);
  [[nodiscard]] Result<RedeemPointsResult> RedeemPointsIn(store::Transaction& tx, const RedeemPointsCommand& command,
                                                          Timestamp now);

  store::Database& db_;
  const ProgramConfig config_;
  const core::Clock& clock_;
};

}  // namespace loyalty::ledger
