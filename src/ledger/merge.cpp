// Member merges and unmerges: balances move as journal postings, lots are re-created for the
// receiving member with their original dates, orders follow their points.

#include <algorithm>
#include <map>
#include <set>

#include "journal.hpp"
#include "loyalty/ledger/ledger.hpp"

namespace loyalty::ledger {

using core::ErrorCode;
using core::Fail;
using core::FromUnixMillis;
using core::Json;
using core::ToUnixMillis;
using internal::MemberAccount;
using store::Transaction;

namespace {

struct MovedLots {
  int64_t points = 0;
  std::map<int64_t, int64_t> new_lot_of;  // old lot id -> the lot re-created for the receiver
};

// Moves the open lots of `from` (all of them, or only `only` when given) to `to` under `entry_id`.
Result<MovedLots> MoveLots(Transaction& tx, const MemberId& from, const MemberId& to, int64_t entry_id,
                           const std::vector<int64_t>* only) {
  MovedLots moved;
  LOYALTY_ASSIGN_OR_RETURN(auto lots, tx.Query("SELECT lot_id, earned_at, available_at, expires_at, remaining FROM lots "
                                               "WHERE member_id = ?1 AND remaining > 0 ORDER BY earned_at, lot_id",
                                               {from.str()}));
  for (const auto& lot : lots) {
    const int64_t lot_id = lot.Int(0);
    if (only && std::find(only->begin(), only->end(), lot_id) == only->end()) continue;
    const int64_t remaining = lot.Int(4);
    std::optional<Timestamp> expires;
    if (auto e = lot.OptionalInt(3)) expires = FromUnixMillis(*e);
    LOYALTY_TRY(internal::ConsumeLot(tx, entry_id, lot_id, remaining));
    LOYALTY_ASSIGN_OR_RETURN(int64_t new_lot, internal::CreateLot(tx, to, entry_id, FromUnixMillis(lot.Int(1)),
                                                                  FromUnixMillis(lot.Int(2)), expires, remaining));
    moved.points += remaining;
    moved.new_lot_of[lot_id] = new_lot;
  }
  return moved;
}

// Lots re-created by a move keep their place in every open merge's record, so a later unmerge
// finds them wherever merges in between carried them (merge B into A, A into S, unmerge A,
// unmerge B: B's points come back).
Status RemapMergeLots(Transaction& tx, const std::map<int64_t, int64_t>& new_lot_of) {
  if (new_lot_of.empty()) return {};
  LOYALTY_ASSIGN_OR_RETURN(auto merges, tx.Query("SELECT merge_id, lots FROM member_merges WHERE unmerged = 0"));
  for (const auto& merge : merges) {
    LOYALTY_ASSIGN_OR_RETURN(Json lots, core::ParseJson(merge.Text(1)));
    bool changed = false;
    for (auto& lot : lots) {
      auto it = new_lot_of.find(lot.get<int64_t>());
      if (it == new_lot_of.end()) continue;
      lot = it->second;
      changed = true;
    }
    if (changed) {
      LOYALTY_TRY(tx.Execute("UPDATE member_merges SET lots = ?1 WHERE merge_id = ?2", {core::Dump(lots), merge.Int(0)}));
    }
  }
  return {};
}

// Re-assigns orders to `to`, pointing each at the lot that now holds its points.
Status MoveOrders(Transaction& tx, const std::vector<std::string>& orders, const MemberId& to,
                  const std::map<int64_t, int64_t>& new_lot_of) {
  for (const auto& order : orders) {
    LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT lot_id FROM orders WHERE order_id = ?1", {order}));
    std::optional<int64_t> lot = row ? row->OptionalInt(0) : std::nullopt;
    if (lot) {
      auto it = new_lot_of.find(*lot);
      if (it != new_lot_of.end()) lot = it->second;
    }
    LOYALTY_TRY(tx.Execute("UPDATE orders SET member_id = ?1, lot_id = ?2 WHERE order_id = ?3", {to.str(), lot, order}));
  }
  return {};
}

// A balance transfer between two members' accounts; the lots moved under it must add up to
// it. Recorded as a command keyed "merge:<id>" / "unmerge:<id>" like every other entry (keys
// with these prefixes are reserved: clients cannot use them).
Result<int64_t> PostTransfer(Transaction& tx, std::string_view kind, const MemberId& from, const MemberId& to,
                             int64_t amount, int64_t merge_id, core::Timestamp now) {
  LOYALTY_ASSIGN_OR_RETURN(auto key, core::IdempotencyKey::Parse(std::string(kind) + ":" + std::to_string(merge_id)));
  const Json details{{"from", from.str()}, {"to", to.str()}, {"merge_id", merge_id}};
  LOYALTY_ASSIGN_OR_RETURN(int64_t entry_id,
                           internal::PostEntry(tx, {kind, to, key.str(), now, details},
                                               {{MemberAccount(from), -amount}, {MemberAccount(to), amount}}));
  LOYALTY_TRY(internal::RecordCommand(tx, key, kind, core::Dump(details),
                                      Json{{"entry_id", entry_id}, {"points", amount}}, now));
  return entry_id;
}

}  // namespace

Result<MergeTransfer> Ledger::MergeMembersIn(Transaction& tx, const MemberId& survivor, const MemberId& absorbed,
                                             int64_t merge_id) {
  if (survivor == absorbed) return Fail(ErrorCode::kInvalidArgument, "a member cannot be merged into itself");
  LOYALTY_TRY(internal::RequireMember(tx, survivor));
  LOYALTY_TRY(internal::RequireMember(tx, absorbed));
  LOYALTY_ASSIGN_OR_RETURN(auto prior, tx.QueryOne("SELECT entry_id, points, lots, orders, survivor_id, absorbed_id "
                                                   "FROM member_merges WHERE merge_id = ?1",
                                                   {merge_id}));
  if (prior) {
    if (prior->Text(4) != survivor.str() || prior->Text(5) != absorbed.str()) {
      return Fail(ErrorCode::kConflict, "merge " + std::to_string(merge_id) + " moved other members");
    }
    LOYALTY_ASSIGN_OR_RETURN(Json lots, core::ParseJson(prior->Text(2)));
    LOYALTY_ASSIGN_OR_RETURN(Json orders, core::ParseJson(prior->Text(3)));
    return MergeTransfer{prior->Int(0), Points(prior->Int(1)), static_cast<int64_t>(lots.size()),
                         static_cast<int64_t>(orders.size())};
  }
  const core::Timestamp now = clock_.Now();
  LOYALTY_ASSIGN_OR_RETURN(int64_t balance, internal::AccountBalance(tx, MemberAccount(absorbed)));
  MergeTransfer transfer;
  MovedLots moved;
  if (balance > 0) {
    LOYALTY_ASSIGN_OR_RETURN(transfer.entry_id,
                             PostTransfer(tx, "merge", absorbed, survivor, balance, merge_id, now));
    LOYALTY_ASSIGN_OR_RETURN(moved, MoveLots(tx, absorbed, survivor, transfer.entry_id, nullptr));
    LOYALTY_TRY(RemapMergeLots(tx, moved.new_lot_of));
    if (moved.points != balance) {
      return Fail(ErrorCode::kInternal, "member '" + absorbed.str() + "' balance " + std::to_string(balance) +
                                            " differs from its open lots " + std::to_string(moved.points));
    }
    transfer.points = Points(balance);
    transfer.lots = static_cast<int64_t>(moved.new_lot_of.size());
  }
  LOYALTY_ASSIGN_OR_RETURN(auto order_rows, tx.Query("SELECT order_id FROM orders WHERE member_id = ?1", {absorbed.str()}));
  std::vector<std::string> orders;
  for (const auto& row : order_rows) orders.push_back(row.Text(0));
  LOYALTY_TRY(MoveOrders(tx, orders, survivor, moved.new_lot_of));
  transfer.orders = static_cast<int64_t>(orders.size());
  // The survivor is as recently active as the more recent of the two (inactivity expiry).
  LOYALTY_TRY(tx.Execute("UPDATE members SET last_activity_at = (SELECT CASE WHEN a.last_activity_at > "
                         "members.last_activity_at THEN a.last_activity_at ELSE members.last_activity_at END "
                         "FROM members a WHERE a.member_id = ?2) WHERE member_id = ?1",
                         {survivor.str(), absorbed.str()}));
  Json new_lots = Json::array();
  for (const auto& [old_lot, new_lot] : moved.new_lot_of) new_lots.push_back(new_lot);
  std::optional<int64_t> entry;
  if (transfer.entry_id != 0) entry = transfer.entry_id;
  LOYALTY_TRY(tx.Execute("INSERT INTO member_merges (merge_id, survivor_id, absorbed_id, entry_id, points, lots, orders) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                         {merge_id, survivor.str(), absorbed.str(), entry, balance, core::Dump(new_lots),
                          core::Dump(Json(orders))}));
  return transfer;
}

Result<UnmergeTransfer> Ledger::UnmergeMembersIn(Transaction& tx, int64_t merge_id) {
  LOYALTY_ASSIGN_OR_RETURN(auto merge, tx.QueryOne("SELECT survivor_id, absorbed_id, points, lots, orders, unmerged, "
                                                   "unmerge_entry_id FROM member_merges WHERE merge_id = ?1",
                                                   {merge_id}));
  if (!merge) return Fail(ErrorCode::kNotFound, "the ledger has no merge " + std::to_string(merge_id));
  LOYALTY_ASSIGN_OR_RETURN(MemberId survivor, MemberId::Parse(merge->Text(0)));
  LOYALTY_ASSIGN_OR_RETURN(MemberId absorbed, MemberId::Parse(merge->Text(1)));
  LOYALTY_ASSIGN_OR_RETURN(Json lots_json, core::ParseJson(merge->Text(3)));
  LOYALTY_ASSIGN_OR_RETURN(Json orders_json, core::ParseJson(merge->Text(4)));
  if (merge->Int(5) != 0) return Fail(ErrorCode::kConflict, "merge " + std::to_string(merge_id) + " was already undone");
  const std::vector<int64_t> lots = lots_json.get<std::vector<int64_t>>();
  const std::vector<std::string> all_orders = orders_json.get<std::vector<std::string>>();
  const core::Timestamp now = clock_.Now();

  UnmergeTransfer transfer;
  MovedLots moved;
  // What is left of the lots the merge moved (a merged member has few open lots).
  const std::set<int64_t> merged_lots(lots.begin(), lots.end());
  LOYALTY_ASSIGN_OR_RETURN(auto open, tx.Query("SELECT lot_id, remaining FROM lots WHERE member_id = ?1 AND remaining > 0",
                                               {survivor.str()}));
  int64_t amount = 0;
  for (const auto& lot : open) {
    if (merged_lots.contains(lot.Int(0))) amount += lot.Int(1);
  }
  if (amount > 0) {
    LOYALTY_ASSIGN_OR_RETURN(transfer.entry_id,
                             PostTransfer(tx, "unmerge", survivor, absorbed, amount, merge_id, now));
    LOYALTY_ASSIGN_OR_RETURN(moved, MoveLots(tx, survivor, absorbed, transfer.entry_id, &lots));
    LOYALTY_TRY(RemapMergeLots(tx, moved.new_lot_of));
    if (moved.points != amount) {
      return Fail(ErrorCode::kInternal, "merge " + std::to_string(merge_id) + " lots hold " +
                                            std::to_string(moved.points) + ", not " + std::to_string(amount));
    }
    transfer.returned = Points(amount);
  }
  transfer.kept = Points(merge->Int(2) - transfer.returned.value());
  // Orders go back unless a return after the merge already reversed them at the survivor.
  std::vector<std::string> orders;
  for (const auto& order : all_orders) {
    LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT member_id FROM orders WHERE order_id = ?1", {order}));
    if (row && row->Text(0) == survivor.str()) orders.push_back(order);
  }
  LOYALTY_TRY(MoveOrders(tx, orders, absorbed, moved.new_lot_of));
  transfer.orders = static_cast<int64_t>(orders.size());
  std::optional<int64_t> entry;
  if (transfer.entry_id != 0) entry = transfer.entry_id;
  LOYALTY_TRY(tx.Execute("UPDATE member_merges SET unmerged = 1, unmerge_entry_id = ?2 WHERE merge_id = ?1",
                         {merge_id, entry}));
  return transfer;
}

Result<Ledger::PointsAsOf> Ledger::GetPointsAsOf(const MemberId& member, Timestamp at) {
  return db_.ReadValue<PointsAsOf>([&](Transaction& tx) -> Result<PointsAsOf> {
    LOYALTY_ASSIGN_OR_RETURN(std::string tier, internal::RequireMember(tx, member));
    const int64_t cutoff = ToUnixMillis(at);
    // One pass over the member's postings for both (this runs on every live feature read).
    LOYALTY_ASSIGN_OR_RETURN(
        auto row, tx.QueryOne("SELECT COALESCE(SUM(p.amount), 0), "
                              "MAX(CASE WHEN e.kind IN ('redeem_reward', 'redeem_points') "
                              "THEN COALESCE(e.occurred_at, e.created_at) END) "
                              "FROM postings p JOIN entries e ON e.entry_id = p.entry_id "
                              "WHERE p.account = ?1 AND COALESCE(e.occurred_at, e.created_at) < ?2",
                              {MemberAccount(member), cutoff}));
    PointsAsOf out{Points(row->Int(0)), std::nullopt, std::move(tier)};
    if (auto last = row->OptionalInt(1)) out.last_redemption = FromUnixMillis(*last);
    return out;
  });
}

Result<std::vector<MemberPointsFlows>> Ledger::GetPointsFlows() {
  return db_.ReadValue<std::vector<MemberPointsFlows>>([&](Transaction& tx) -> Result<std::vector<MemberPointsFlows>> {
    LOYALTY_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT p.account, e.kind, COALESCE(e.occurred_at, e.created_at) AS t, p.amount "
                            "FROM postings p JOIN entries e ON e.entry_id = p.entry_id "
                            "WHERE p.account >= 'member:' AND p.account < 'member;' ORDER BY p.account, t, e.entry_id"));
    // A member merged into another holds nothing and earns nothing more: its points moved to
    // the survivor (as a transfer there), so it is left out.
    LOYALTY_ASSIGN_OR_RETURN(auto merged, tx.Query("SELECT DISTINCT absorbed_id FROM member_merges WHERE unmerged = 0"));
    std::set<std::string> absorbed;
    for (const auto& row : merged) absorbed.insert(MemberAccount(*MemberId::Parse(row.Text(0))));
    std::vector<MemberPointsFlows> out;
    std::string account;
    bool skip = false;
    for (const auto& row : rows) {
      if (row.Text(0) != account) {  // the first row of the next member
        account = row.Text(0);
        skip = absorbed.contains(account);
        if (!skip) {
          LOYALTY_ASSIGN_OR_RETURN(auto member, MemberId::Parse(account.substr(std::string_view("member:").size())));
          out.push_back({std::move(member), {}});
        }
      }
      if (skip) continue;
      const std::string kind = row.Text(1);
      FlowKind flow = FlowKind::kOther;
      if (kind == "earn") flow = FlowKind::kEarn;
      else if (kind == "bonus") flow = FlowKind::kBonus;
      else if (kind == "redeem_reward" || kind == "redeem_points") flow = FlowKind::kRedeem;
      else if (kind == "expire") flow = FlowKind::kExpire;
      out.back().flows.push_back({FromUnixMillis(row.Int(2)), row.Int(3), flow});
    }
    return out;
  });
}

}  // namespace loyalty::ledger
