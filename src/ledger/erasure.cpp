// Erasure on the ledger side: the member's journal stays (every posting is kept, so balances
// and the program's accounts still add up) under a pseudonym, with free text removed.

#include <functional>
#include <string>

#include "journal.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/ledger/ledger.hpp"

namespace loyalty::ledger {

using core::Json;
using core::Status;

namespace {

// A LIKE pattern (escaped with a backslash) for text that contains `needle` anywhere.
// Whether `document` is an object whose `field` is the string `value` (a field of another
// type is no match, as in SQL).
bool FieldIs(const Json& document, const char* field, const std::string& value) {
  if (!document.is_object()) return false;
  const auto it = document.find(field);
  return it != document.end() && it->is_string() && it->get_ref<const std::string&>() == value;
}

std::string Containing(std::string_view needle) {
  std::string pattern = "%";
  for (char c : needle) {
    if (c == '%' || c == '_' || c == '\\') pattern += '\\';
    pattern += c;
  }
  return pattern + "%";
}

// Edits the JSON document in `column` of the rows of `table` that `where` selects, in C++
// rather than in each SQL dialect's JSON functions: `edit` changes a parsed document and says
// whether it did.
Status RewriteJson(store::Transaction& tx, std::string_view table, std::string_view key, std::string_view column,
                   std::string_view where, store::Params params, const std::function<bool(Json&)>& edit) {
  const std::string select = "SELECT CAST(" + std::string(key) + " AS TEXT), " + std::string(column) + " FROM " +
                             std::string(table) + " WHERE " + std::string(where);
  const std::string update = "UPDATE " + std::string(table) + " SET " + std::string(column) + " = ?2 WHERE " +
                             std::string(key) + " = ?1";
  LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query(select, params));
  for (const auto& row : rows) {
    LOYALTY_ASSIGN_OR_RETURN(Json document, core::ParseJson(row.Text(1)));
    if (edit(document)) LOYALTY_TRY(tx.Execute(update, {row.Text(0), core::Dump(document)}));
  }
  return {};
}

}  // namespace

Status Ledger::PseudonymiseIn(store::Transaction& tx, const MemberId& member, const MemberId& pseudonym) {
  const std::string from = member.str();
  const std::string to = pseudonym.str();
  const std::string from_account = internal::MemberAccount(member);
  const std::string to_account = internal::MemberAccount(pseudonym);
  LOYALTY_ASSIGN_OR_RETURN(
      int64_t copied, tx.Execute("INSERT INTO members (member_id, created_at, tier, last_activity_at) "
                                 "SELECT ?2, created_at, tier, last_activity_at FROM members WHERE member_id = ?1",
                                 {from, to}));
  if (copied == 0) return {};  // never had a ledger row (no points activity)
  LOYALTY_TRY(tx.Execute("INSERT INTO accounts (account, balance) SELECT ?2, balance FROM accounts WHERE account = ?1",
                         {from_account, to_account}));
  LOYALTY_TRY(tx.Execute("UPDATE postings SET account = ?2 WHERE account = ?1", {from_account, to_account}));
  LOYALTY_TRY(tx.Execute("DELETE FROM accounts WHERE account = ?1", {from_account}));
  // Reasons typed by people may name the member: they go, the kind of entry stays.
  LOYALTY_TRY(RewriteJson(tx, "entries", "entry_id", "details", "member_id = ?1 AND details LIKE ?2 ESCAPE '\\'",
                          {from, Containing("\"reason\"")}, [](Json& details) {
                            if (!details.contains("reason")) return false;
                            details["reason"] = "erased";
                            return true;
                          }));
  LOYALTY_TRY(tx.Execute("UPDATE entries SET member_id = ?2 WHERE member_id = ?1", {from, to}));
  for (const char* table : {"lots", "orders", "tier_history"}) {
    LOYALTY_TRY(tx.Execute(std::string("UPDATE ") + table + " SET member_id = ?2 WHERE member_id = ?1", {from, to}));
  }
  // Merge transfers name both profiles in their details and stored commands.
  auto rename_in_transfer = [&](Json& transfer) {
    bool changed = false;
    for (const char* field : {"from", "to"}) {
      if (FieldIs(transfer, field, from)) {
        transfer[field] = to;
        changed = true;
      }
    }
    return changed;
  };
  const std::string naming = Containing(from);
  LOYALTY_TRY(RewriteJson(tx, "entries", "entry_id", "details",
                          "kind IN ('merge', 'unmerge') AND details LIKE ?1 ESCAPE '\\'", {naming}, rename_in_transfer));
  LOYALTY_TRY(RewriteJson(tx, "commands", "idempotency_key", "payload",
                          "kind IN ('merge', 'unmerge') AND payload LIKE ?1 ESCAPE '\\'", {naming}, rename_in_transfer));
  LOYALTY_TRY(tx.Execute("UPDATE member_merges SET survivor_id = ?2 WHERE survivor_id = ?1", {from, to}));
  LOYALTY_TRY(tx.Execute("UPDATE member_merges SET absorbed_id = ?2 WHERE absorbed_id = ?1", {from, to}));
  // Stored commands answer retries; a retry naming the erased member no longer matches.
  LOYALTY_ASSIGN_OR_RETURN(auto commands, tx.Query("SELECT idempotency_key, payload, result FROM commands "
                                                   "WHERE payload LIKE ?1 ESCAPE '\\'",
                                                   {naming}));
  for (const auto& row : commands) {
    LOYALTY_ASSIGN_OR_RETURN(Json payload, core::ParseJson(row.Text(1)));
    if (!FieldIs(payload, "member", from)) continue;
    payload["member"] = to;
    if (payload.contains("reason")) payload["reason"] = "erased";
    LOYALTY_ASSIGN_OR_RETURN(Json result, core::ParseJson(row.Text(2)));
    if (result.is_object() && result.contains("member")) result["member"] = to;
    LOYALTY_TRY(tx.Execute("UPDATE commands SET payload = ?2, result = ?3 WHERE idempotency_key = ?1",
                           {row.Text(0), core::Dump(payload), core::Dump(result)}));
  }
  // Program-wide tier evaluations list each member they moved, with amounts that would tie
  // the old id to the pseudonym's tier history.
  LOYALTY_ASSIGN_OR_RETURN(auto evaluations,
                           tx.Query("SELECT idempotency_key, result FROM commands WHERE kind = 'evaluate_tiers' "
                                    "AND result LIKE ?1 ESCAPE '\\'",
                                    {Containing("\"" + from + "\"")}));
  for (const auto& row : evaluations) {
    LOYALTY_ASSIGN_OR_RETURN(core::Json result, core::ParseJson(row.Text(1)));
    if (!result.contains("changes") || !result["changes"].is_array()) continue;
    for (auto& change : result["changes"]) {
      if (FieldIs(change, "member", from)) change["member"] = to;
    }
    LOYALTY_TRY(tx.Execute("UPDATE commands SET result = ?2 WHERE idempotency_key = ?1", {row.Text(0), core::Dump(result)}));
  }
  LOYALTY_TRY(tx.Execute("DELETE FROM members WHERE member_id = ?1", {from}));
  return {};
}

}  // namespace loyalty::ledger
