// Ledger set-up, members, rewards, queries and the invariant check.

#include "loyalty/ledger/ledger.hpp"

#include "journal.hpp"
#include "loyalty/ledger/json.hpp"
#include "schema.hpp"
#include "tiers.hpp"

namespace loyalty::ledger {

using core::ErrorCode;
using core::Fail;
using core::FromUnixMillis;
using core::ToUnixMillis;
using internal::MemberAccount;
using store::Transaction;

namespace {
constexpr int kMaxStatementPage = 500;
// Member accounts are "member:<id>"; ';' sorts right after ':' so this range is exactly them.
constexpr std::string_view kMemberAccountsFrom = "member:";
constexpr std::string_view kMemberAccountsTo = "member;";
}  // namespace

Result<std::unique_ptr<Ledger>> Ledger::Open(store::Database& db, ProgramConfig config, const core::Clock& clock) {
  LOYALTY_TRY(ValidateProgramConfig(config));
  LOYALTY_TRY(store::Migrate(db, "ledger", internal::LedgerMigrations()));
  LOYALTY_TRY(db.Write([&](Transaction& tx) -> Status {
    for (const auto& reward : config.rewards) {
      LOYALTY_TRY(tx.Execute("INSERT INTO rewards (reward_id, name, points_price, stock) VALUES (?1, ?2, ?3, ?4) "
                             "ON CONFLICT (reward_id) DO NOTHING",
                             {reward.id, reward.name, reward.points_price, reward.stock}));
    }
    return {};
  }));
  return std::unique_ptr<Ledger>(new Ledger(db, std::move(config), clock));
}

Status Ledger::CreateMember(const MemberId& member) { return CreateMembers(std::span<const MemberId>(&member, 1)); }

Status Ledger::CreateMembers(std::span<const MemberId> members) {
  return db_.Write([&](Transaction& tx) -> Status { return CreateMembersIn(tx, members); });
}

Status Ledger::CreateMembersIn(Transaction& tx, std::span<const MemberId> members) {
  for (const auto& member : members) {
    if (member.empty()) return Fail(ErrorCode::kInvalidArgument, "member id is empty");
  }
  const int64_t now = ToUnixMillis(clock_.Now());
  for (const auto& member : members) {
    LOYALTY_TRY(tx.Execute("INSERT INTO members (member_id, created_at, tier, last_activity_at) "
                           "VALUES (?1, ?2, ?3, ?2) ON CONFLICT (member_id) DO NOTHING",
                           {member.str(), now, config_.tiers.tiers.front().name}));
  }
  return {};
}

Status Ledger::UpsertReward(const Reward& reward) {
  if (reward.id.empty()) return Fail(ErrorCode::kInvalidArgument, "reward id is empty");
  if (reward.name.empty()) return Fail(ErrorCode::kInvalidArgument, "reward name is required");
  if (reward.price.value() <= 0) return Fail(ErrorCode::kInvalidArgument, "reward price must be at least 1 point");
  if (reward.stock && *reward.stock < 0) return Fail(ErrorCode::kInvalidArgument, "reward stock must not be negative");
  return db_.Write([&](Transaction& tx) -> Status {
    LOYALTY_TRY(tx.Execute("INSERT INTO rewards (reward_id, name, points_price, stock) VALUES (?1, ?2, ?3, ?4) "
                           "ON CONFLICT (reward_id) DO UPDATE SET name = excluded.name, "
                           "points_price = excluded.points_price, stock = excluded.stock",
                           {reward.id.str(), reward.name, reward.price.value(), reward.stock}));
    return {};
  });
}

Result<std::vector<Reward>> Ledger::ListRewards() {
  return db_.ReadValue<std::vector<Reward>>([&](Transaction& tx) -> Result<std::vector<Reward>> {
    LOYALTY_ASSIGN_OR_RETURN(auto rows,
                             tx.Query("SELECT reward_id, name, points_price, stock FROM rewards ORDER BY reward_id"));
    std::vector<Reward> rewards;
    for (const auto& row : rows) {
      LOYALTY_ASSIGN_OR_RETURN(RewardId id, RewardId::Parse(row.Text(0)));
      rewards.push_back(Reward{id, row.Text(1), Points(row.Int(2)), row.OptionalInt(3)});
    }
    return rewards;
  });
}

Result<Balance> Ledger::GetBalance(const MemberId& member) {
  return db_.ReadValue<Balance>([&](Transaction& tx) -> Result<Balance> {
    LOYALTY_TRY(internal::RequireMember(tx, member));
    LOYALTY_ASSIGN_OR_RETURN(int64_t total, internal::AccountBalance(tx, MemberAccount(member)));
    LOYALTY_ASSIGN_OR_RETURN(int64_t pending, internal::PendingPoints(tx, member, clock_.Now()));
    return Balance{Points(total), Points(total - pending), Points(pending)};
  });
}

Result<StatementPage> Ledger::GetStatement(const MemberId& member, std::optional<int64_t> before_entry, int limit) {
  if (limit < 1 || limit > kMaxStatementPage) {
    return Fail(ErrorCode::kInvalidArgument, "limit must be 1 to " + std::to_string(kMaxStatementPage));
  }
  return db_.ReadValue<StatementPage>([&](Transaction& tx) -> Result<StatementPage> {
    LOYALTY_TRY(internal::RequireMember(tx, member));
    LOYALTY_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT e.entry_id, e.kind, p.amount, e.created_at, e.details FROM postings p "
                            "JOIN entries e ON e.entry_id = p.entry_id "
                            "WHERE p.account = ?1 AND p.entry_id < ?2 ORDER BY p.entry_id DESC LIMIT ?3",
                            {MemberAccount(member), before_entry.value_or(INT64_MAX), int64_t{limit} + 1}));
    StatementPage page;
    for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(limit); ++i) {
      const auto& row = rows[i];
      LOYALTY_ASSIGN_OR_RETURN(core::Json details, core::ParseJson(row.Text(4)));
      page.lines.push_back(
          StatementLine{row.Int(0), row.Text(1), Points(row.Int(2)), FromUnixMillis(row.Int(3)), std::move(details)});
    }
    if (rows.size() > static_cast<size_t>(limit)) page.next_cursor = page.lines.back().entry_id;
    return page;
  });
}

Result<std::vector<Lot>> Ledger::GetLots(const MemberId& member, bool include_closed) {
  return db_.ReadValue<std::vector<Lot>>([&](Transaction& tx) -> Result<std::vector<Lot>> {
    LOYALTY_TRY(internal::RequireMember(tx, member));
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT lot_id, original, remaining, earned_at, available_at, "
                                                 "expires_at FROM lots WHERE member_id = ?1 "
                                                 "AND (remaining > 0 OR ?2 = 1) ORDER BY earned_at, lot_id",
                                                 {member.str(), include_closed ? 1 : 0}));
    std::vector<Lot> lots;
    for (const auto& row : rows) {
      std::optional<core::Timestamp> expires;
      if (auto ms = row.OptionalInt(5)) expires = FromUnixMillis(*ms);
      lots.push_back(Lot{row.Int(0), Points(row.Int(1)), Points(row.Int(2)), FromUnixMillis(row.Int(3)),
                         FromUnixMillis(row.Int(4)), expires});
    }
    return lots;
  });
}

Result<TierStatus> Ledger::GetTier(const MemberId& member) {
  return db_.ReadValue<TierStatus>([&](Transaction& tx) -> Result<TierStatus> {
    LOYALTY_ASSIGN_OR_RETURN(std::string tier, internal::RequireMember(tx, member));
    LOYALTY_ASSIGN_OR_RETURN(int64_t qualifying, internal::QualifyingAmount(tx, config_.tiers, member, clock_.Now()));
    TierStatus status{tier, config_.tiers.basis, qualifying, std::nullopt, 0, {}};
    LOYALTY_ASSIGN_OR_RETURN(auto history, tx.Query("SELECT at, from_tier, to_tier, qualifying, reason "
                                                    "FROM tier_history WHERE member_id = ?1 "
                                                    "ORDER BY at DESC, rowid DESC LIMIT 20",
                                                    {member.str()}));
    for (const auto& row : history) {
      status.history.push_back({FromUnixMillis(row.Int(0)), row.Text(1), row.Text(2), row.Int(3), row.Text(4)});
    }
    const size_t rank = internal::TierRank(config_.tiers, tier);
    if (rank + 1 < config_.tiers.tiers.size()) {
      const Tier& next = config_.tiers.tiers[rank + 1];
      status.next_tier = next.name;
      status.needed_for_next = std::max<int64_t>(0, next.threshold - qualifying);
    }
    return status;
  });
}

Result<std::vector<TierHistoryLine>> Ledger::GetTierHistory(const MemberId& member) {
  return db_.ReadValue<std::vector<TierHistoryLine>>([&](Transaction& tx) -> Result<std::vector<TierHistoryLine>> {
    LOYALTY_TRY(internal::RequireMember(tx, member));
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT at, from_tier, to_tier, qualifying, reason FROM tier_history "
                                                 "WHERE member_id = ?1 ORDER BY at DESC, rowid DESC",
                                                 {member.str()}));
    std::vector<TierHistoryLine> out;
    for (const auto& row : rows) out.push_back({FromUnixMillis(row.Int(0)), row.Text(1), row.Text(2), row.Int(3), row.Text(4)});
    return out;
  });
}

Result<std::vector<OrderRecord>> Ledger::GetOrders(const MemberId& member) {
  return db_.ReadValue<std::vector<OrderRecord>>([&](Transaction& tx) -> Result<std::vector<OrderRecord>> {
    LOYALTY_TRY(internal::RequireMember(tx, member));
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT order_id, occurred_at, spend_minor, spend_returned_minor, points, "
                                                 "points_returned, lines FROM orders WHERE member_id = ?1 "
                                                 "ORDER BY occurred_at, order_id",
                                                 {member.str()}));
    std::vector<OrderRecord> out;
    for (const auto& row : rows) {
      LOYALTY_ASSIGN_OR_RETURN(auto lines, core::ParseJson(row.Text(6)));
      out.push_back({row.Text(0), FromUnixMillis(row.Int(1)), row.Int(2), row.Int(3), Points(row.Int(4)),
                     Points(row.Int(5)), std::move(lines)});
    }
    return out;
  });
}

Result<std::string> Ledger::GetTierName(const MemberId& member) {
  return db_.ReadValue<std::string>([&](Transaction& tx) { return internal::RequireMember(tx, member); });
}

Result<Liability> Ledger::GetLiability() {
  return db_.ReadValue<Liability>([&](Transaction& tx) -> Result<Liability> {
    LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT COALESCE(SUM(balance), 0), COUNT(*) FILTER (WHERE balance > 0) "
                                                   "FROM accounts WHERE account >= ?1 AND account < ?2",
                                                   {kMemberAccountsFrom, kMemberAccountsTo}));
    const int64_t outstanding = row->Int(0);
    LOYALTY_ASSIGN_OR_RETURN(int64_t value,
                             core::CheckedMulDiv(outstanding, config_.point_value_minor, config_.point_value_points));
    return Liability{Points(outstanding), Money(value, config_.currency), row->Int(1)};
  });
}

Result<InvariantReport> Ledger::VerifyInvariants() {
  // Each check returns rows only when violated; the first column describes the violation.
  struct Check {
    std::string_view what;
    std::string_view sql;
  };
  static constexpr Check kChecks[] = {
      {"journal does not sum to zero", "SELECT 'total ' || SUM(amount) FROM postings HAVING SUM(amount) <> 0"},
      {"entry does not balance",
       "SELECT 'entry ' || entry_id FROM postings GROUP BY entry_id HAVING SUM(amount) <> 0 LIMIT 10"},
      {"account balance differs from its postings",
       "SELECT a.account || ' cached ' || a.balance || ' postings ' || COALESCE(p.total, 0) FROM accounts a "
       "LEFT JOIN (SELECT account, SUM(amount) AS total FROM postings GROUP BY account) p ON p.account = a.account "
       "WHERE a.balance <> COALESCE(p.total, 0) LIMIT 10"},
      {"posting to an account without a balance row",
       "SELECT DISTINCT p.account FROM postings p LEFT JOIN accounts a ON a.account = p.account "
       "WHERE a.account IS NULL LIMIT 10"},
      {"member balance differs from its open lots",
       "SELECT m.member_id || ' balance ' || COALESCE(a.balance, 0) || ' lots ' || COALESCE(l.total, 0) "
       "FROM members m LEFT JOIN accounts a ON a.account = 'member:' || m.member_id "
       "LEFT JOIN (SELECT member_id, SUM(remaining) AS total FROM lots GROUP BY member_id) l "
       "ON l.member_id = m.member_id WHERE COALESCE(a.balance, 0) <> COALESCE(l.total, 0) LIMIT 10"},
      {"lot remaining differs from its original less its movements",
       "SELECT 'lot ' || l.lot_id FROM lots l LEFT JOIN (SELECT lot_id, SUM(amount) AS total FROM lot_movements "
       "GROUP BY lot_id) m ON m.lot_id = l.lot_id WHERE l.remaining <> l.original + COALESCE(m.total, 0) LIMIT 10"},
      {"negative member balance",
       "SELECT account || ' ' || balance FROM accounts WHERE account >= 'member:' AND account < 'member;' "
       "AND balance < 0 LIMIT 10"},
      {"idempotency key took effect twice",
       "SELECT idempotency_key || ' for ' || COALESCE(member_id, '-') FROM entries "
       "WHERE idempotency_key IS NOT NULL GROUP BY idempotency_key, member_id HAVING COUNT(*) > 1 LIMIT 10"},
      {"liability differs from the program accounts",
       "SELECT 'members ' || m.total || ' program ' || p.total FROM "
       "(SELECT COALESCE(SUM(balance), 0) AS total FROM accounts WHERE account >= 'member:' AND account < 'member;') m, "
       "(SELECT COALESCE(SUM(balance), 0) AS total FROM accounts WHERE account >= 'program:' AND account < 'program;') p "
       "WHERE m.total <> -p.total"},
      {"entry without a stored command",
       "SELECT 'entry ' || e.entry_id FROM entries e LEFT JOIN commands c ON c.idempotency_key = e.idempotency_key "
       "WHERE c.idempotency_key IS NULL LIMIT 10"},
  };
  return db_.ReadValue<InvariantReport>([&](Transaction& tx) -> Result<InvariantReport> {
    InvariantReport report;
    for (const auto& check : kChecks) {
      LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query(check.sql));
      for (const auto& row : rows) {
        report.ok = false;
        report.violations.push_back(std::string(check.what) + ": " + row.Text(0));
      }
    }
    return report;
  });
}

}  // namespace loyalty::ledger
