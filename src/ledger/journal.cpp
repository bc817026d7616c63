#include "journal.hpp"

#include "loyalty/core/money.hpp"

namespace loyalty::ledger::internal {

using core::ErrorCode;
using core::Fail;
using core::ToUnixMillis;

std::string MemberAccount(const core::MemberId& member) { return "member:" + member.str(); }

Result<int64_t> PostEntry(store::Transaction& tx, const EntryHeader& header, const std::vector<Posting>& postings) {
  __extension__ __int128 sum = 0;
  for (size_t i = 0; i < postings.size(); ++i) {
    sum += postings[i].amount;
    for (size_t j = 0; j < i; ++j) {
      if (postings[j].account == postings[i].account) {
        return Fail(ErrorCode::kInternal, "journal entry posts to " + postings[i].account + " twice");
      }
    }
  }
  if (sum != 0 || postings.size() < 2) {
    return Fail(ErrorCode::kInternal, "unbalanced journal entry of kind " + std::string(header.kind));
  }
  std::optional<std::string> member;
  if (header.member) member = header.member->str();
  const std::string details = core::Dump(header.details);
  std::optional<int64_t> occurred;
  if (header.occurred_at) occurred = ToUnixMillis(*header.occurred_at);
  LOYALTY_ASSIGN_OR_RETURN(
      auto row, tx.QueryOne("INSERT INTO entries (kind, member_id, idempotency_key, created_at, details, occurred_at) "
                            "VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING entry_id",
                            {header.kind, member, header.idempotency_key, ToUnixMillis(header.at), details,
                             occurred}));
  const int64_t entry_id = row->Int(0);
  for (const auto& p : postings) {
    if (p.amount == 0) continue;
    // Checked here, not in SQL: SQLite turns an overflowing integer sum into a float.
    LOYALTY_ASSIGN_OR_RETURN(int64_t balance, AccountBalance(tx, p.account));
    auto updated = core::CheckedAdd(balance, p.amount);
    if (!updated) {
      return Fail(ErrorCode::kInvalidArgument,
                  "posting " + std::to_string(p.amount) + " points would overflow the balance of " + p.account);
    }
    LOYALTY_TRY(tx.Execute("INSERT INTO accounts (account, balance) VALUES (?1, ?2) "
                           "ON CONFLICT (account) DO UPDATE SET balance = excluded.balance",
                           {p.account, *updated}));
    LOYALTY_TRY(tx.Execute("INSERT INTO postings (entry_id, account, amount) VALUES (?1, ?2, ?3)",
                           {entry_id, p.account, p.amount}));
  }
  return entry_id;
}

Result<int64_t> CreateLot(store::Transaction& tx, const core::MemberId& member, int64_t entry_id,
                          core::Timestamp earned_at, core::Timestamp available_at,
                          std::optional<core::Timestamp> expires_at, int64_t amount) {
  std::optional<int64_t> expires_ms;
  if (expires_at) expires_ms = ToUnixMillis(*expires_at);
  LOYALTY_ASSIGN_OR_RETURN(
      auto row, tx.QueryOne("INSERT INTO lots (member_id, entry_id, earned_at, available_at, expires_at, original, "
                            "remaining) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING lot_id",
                            {member.str(), entry_id, ToUnixMillis(earned_at), ToUnixMillis(available_at), expires_ms,
                             amount}));
  // The lot's `original` records its creation; lot_movements holds what consumed it.
  return row->Int(0);
}

Status ConsumeLot(store::Transaction& tx, int64_t entry_id, int64_t lot_id, int64_t take) {
  LOYALTY_TRY(tx.Execute("UPDATE lots SET remaining = remaining - ?1 WHERE lot_id = ?2", {take, lot_id}));
  LOYALTY_TRY(tx.Execute("INSERT INTO lot_movements (entry_id, lot_id, amount) VALUES (?1, ?2, ?3)",
                         {entry_id, lot_id, -take}));
  return {};
}

Result<int64_t> ConsumeLots(store::Transaction& tx, const core::MemberId& member, int64_t entry_id, int64_t amount,
                            core::Timestamp now, LotScope scope, std::optional<int64_t> first_lot) {
  int64_t taken = 0;
  if (first_lot && amount > 0) {
    // Only a lot of this member: an order's lot may have moved to another member in a merge.
    LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT remaining FROM lots WHERE lot_id = ?1 AND member_id = ?2",
                                                   {*first_lot, member.str()}));
    if (row && row->Int(0) > 0) {
      const int64_t take = std::min(amount, row->Int(0));
      LOYALTY_TRY(ConsumeLot(tx, entry_id, *first_lot, take));
      taken += take;
    }
  }
  if (taken == amount) return taken;
  // Lots are consumed in the order they were earned (earned_at orders back-dated purchases
  // correctly; lot_id breaks ties). Fetched a page at a time: a member may hold thousands of
  // open lots, and consumed lots drop out of the next page by themselves.
  // Pending lots become available at available_at; taking all lots means no cut-off.
  const int64_t available_by = scope == LotScope::kAvailableOnly ? ToUnixMillis(now) : INT64_MAX;
  while (taken < amount) {
    LOYALTY_ASSIGN_OR_RETURN(auto lots, tx.Query("SELECT lot_id, remaining FROM lots WHERE member_id = ?1 "
                                                 "AND remaining > 0 AND available_at <= ?2 "
                                                 "ORDER BY earned_at, lot_id LIMIT 64",
                                                 {member.str(), available_by}));
    if (lots.empty()) break;
    for (const auto& lot : lots) {
      if (taken == amount) break;
      const int64_t take = std::min(amount - taken, lot.Int(1));
      LOYALTY_TRY(ConsumeLot(tx, entry_id, lot.Int(0), take));
      taken += take;
    }
  }
  return taken;
}

Result<int64_t> PendingPoints(store::Transaction& tx, const core::MemberId& member, core::Timestamp now) {
  // Matches the partial index lots_pending; a lot is never pending before it is earned.
  LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE member_id = ?1 "
                                                 "AND remaining > 0 AND available_at > earned_at AND available_at > ?2",
                                                 {member.str(), ToUnixMillis(now)}));
  return row->Int(0);
}

Result<int64_t> AvailablePoints(store::Transaction& tx, const core::MemberId& member, core::Timestamp now) {
  // Total minus pending: both come from indexes, whatever the number of open lots.
  LOYALTY_ASSIGN_OR_RETURN(int64_t total, AccountBalance(tx, MemberAccount(member)));
  LOYALTY_ASSIGN_OR_RETURN(int64_t pending, PendingPoints(tx, member, now));
  return total - pending;
}

Result<int64_t> AccountBalance(store::Transaction& tx, std::string_view account) {
  LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT balance FROM accounts WHERE account = ?1", {account}));
  return row ? row->Int(0) : 0;
}

Result<std::string> RequireMember(store::Transaction& tx, const core::MemberId& member) {
  LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT tier FROM members WHERE member_id = ?1", {member.str()}));
  if (!row) {
    return Fail(ErrorCode::kNotFound, "member '" + member.str() + "' does not exist; create it first");
  }
  return row->Text(0);
}

Result<std::string> RequireActiveMember(store::Transaction& tx, const core::MemberId& member) {
  LOYALTY_ASSIGN_OR_RETURN(std::string tier, RequireMember(tx, member));
  LOYALTY_ASSIGN_OR_RETURN(auto merged, tx.QueryOne("SELECT survivor_id FROM member_merges "
                                                    "WHERE absorbed_id = ?1 AND unmerged = 0",
                                                    {member.str()}));
  if (merged) {
    return Fail(ErrorCode::kConflict, "member '" + member.str() + "' was merged into '" + merged->Text(0) +
                                          "'; send its commands to '" + merged->Text(0) + "'");
  }
  return tier;
}

Result<std::optional<core::Json>> FindPriorCommand(store::Transaction& tx, const core::IdempotencyKey& key,
                                                   std::string_view kind, const std::string& payload) {
  LOYALTY_ASSIGN_OR_RETURN(
      auto row, tx.QueryOne("SELECT kind, payload, result FROM commands WHERE idempotency_key = ?1", {key.str()}));
  if (!row) return std::optional<core::Json>();
  if (row->Text(0) != kind || row->Text(1) != payload) {
    return Fail(ErrorCode::kConflict, "idempotency key '" + key.str() + "' was already used for a different " +
                                          (row->Text(0) != kind ? "command (" + row->Text(0) + ")" : "payload") +
                                          "; use a new key for a new command");
  }
  LOYALTY_ASSIGN_OR_RETURN(core::Json result, core::ParseJson(row->Text(2)));
  return std::optional<core::Json>(std::move(result));
}

Status RecordCommand(store::Transaction& tx, const core::IdempotencyKey& key, std::string_view kind,
                     const std::string& payload, const core::Json& result, core::Timestamp at) {
  LOYALTY_TRY(tx.Execute("INSERT INTO commands (idempotency_key, kind, payload, result, created_at) "
                         "VALUES (?1, ?2, ?3, ?4, ?5)",
                         {key.str(), kind, payload, core::Dump(result), ToUnixMillis(at)}));
  return {};
}

}  // namespace loyalty::ledger::internal
