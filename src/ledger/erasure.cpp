// Erasure on the ledger side: the member's journal stays (every posting is kept, so balances
// and the program's accounts still add up) under a pseudonym, with free text removed.

#include "journal.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/ledger/ledger.hpp"

namespace loyalty::ledger {

using core::Status;

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
  LOYALTY_TRY(tx.Execute("UPDATE entries SET member_id = ?2, details = json_replace(details, '$.reason', 'erased') "
                         "WHERE member_id = ?1",
                         {from, to}));
  for (const char* table : {"lots", "orders", "tier_history"}) {
    LOYALTY_TRY(tx.Execute(std::string("UPDATE ") + table + " SET member_id = ?2 WHERE member_id = ?1", {from, to}));
  }
  // Merge transfers name both profiles in their details and stored commands.
  for (const char* field : {"$.from", "$.to"}) {
    LOYALTY_TRY(tx.Execute("UPDATE entries SET details = json_replace(details, ?3, ?2) "
                           "WHERE kind IN ('merge', 'unmerge') AND json_extract(details, ?3) = ?1",
                           {from, to, field}));
    LOYALTY_TRY(tx.Execute("UPDATE commands SET payload = json_replace(payload, ?3, ?2) "
                           "WHERE kind IN ('merge', 'unmerge') AND json_extract(payload, ?3) = ?1",
                           {from, to, field}));
  }
  LOYALTY_TRY(tx.Execute("UPDATE member_merges SET survivor_id = ?2 WHERE survivor_id = ?1", {from, to}));
  LOYALTY_TRY(tx.Execute("UPDATE member_merges SET absorbed_id = ?2 WHERE absorbed_id = ?1", {from, to}));
  // Stored commands answer retries; a retry naming the erased member no longer matches.
  LOYALTY_TRY(tx.Execute("UPDATE commands SET payload = json_replace(payload, '$.member', ?2, '$.reason', 'erased'), "
                         "result = json_replace(result, '$.member', ?2) WHERE json_extract(payload, '$.member') = ?1",
                         {from, to}));
  // Program-wide tier evaluations list each member they moved, with amounts that would tie
  // the old id to the pseudonym's tier history.
  LOYALTY_ASSIGN_OR_RETURN(auto evaluations,
                           tx.Query("SELECT idempotency_key, result FROM commands WHERE kind = 'evaluate_tiers' "
                                    "AND instr(result, ?1) > 0",
                                    {"\"" + from + "\""}));
  for (const auto& row : evaluations) {
    LOYALTY_ASSIGN_OR_RETURN(core::Json result, core::ParseJson(row.Text(1)));
    if (!result.contains("changes") || !result["changes"].is_array()) continue;
    for (auto& change : result["changes"]) {
      if (change.is_object() && change.value("member", "") == from) change["member"] = to;
    }
    LOYALTY_TRY(tx.Execute("UPDATE commands SET result = ?2 WHERE idempotency_key = ?1", {row.Text(0), core::Dump(result)}));
  }
  LOYALTY_TRY(tx.Execute("DELETE FROM members WHERE member_id = ?1", {from}));
  return {};
}

}  // namespace loyalty::ledger
