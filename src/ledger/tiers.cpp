#include "tiers.hpp"

namespace loyalty::ledger::internal {

core::Timestamp WindowStart(const TierPolicy& policy, core::Timestamp now) {
  return core::AddMonths(now, -policy.window_months);
}

core::Result<int64_t> QualifyingAmount(store::Transaction& tx, const TierPolicy& policy, const core::MemberId& member,
                                       core::Timestamp now) {
  const std::string_view sql =
      policy.basis == TierBasis::kPoints
          ? "SELECT COALESCE(SUM(points - points_returned), 0) FROM orders "
            "WHERE member_id = ?1 AND occurred_at > ?2 AND occurred_at <= ?3"
          : "SELECT COALESCE(SUM(spend_minor - spend_returned_minor), 0) FROM orders "
            "WHERE member_id = ?1 AND occurred_at > ?2 AND occurred_at <= ?3";
  LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne(sql, {member.str(), core::ToUnixMillis(WindowStart(policy, now)),
                                                       core::ToUnixMillis(now)}));
  return row->Int(0);
}

const Tier& TierFor(const TierPolicy& policy, int64_t qualifying) {
  const Tier* best = &policy.tiers.front();
  for (const auto& tier : policy.tiers) {
    if (qualifying >= tier.threshold) best = &tier;
  }
  return *best;
}

const Tier& TierNamed(const TierPolicy& policy, const std::string& name) {
  return policy.tiers[TierRank(policy, name)];
}

size_t TierRank(const TierPolicy& policy, const std::string& name) {
  for (size_t i = 0; i < policy.tiers.size(); ++i) {
    if (policy.tiers[i].name == name) return i;
  }
  return 0;
}

core::Status ChangeTier(store::Transaction& tx, const core::MemberId& member, const std::string& from,
                        const std::string& to, int64_t qualifying, std::string_view reason, core::Timestamp now) {
  if (from == to) return {};
  LOYALTY_TRY(tx.Execute("UPDATE members SET tier = ?1 WHERE member_id = ?2", {to, member.str()}));
  LOYALTY_TRY(tx.Execute("INSERT INTO tier_history (member_id, at, from_tier, to_tier, qualifying, reason) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                         {member.str(), core::ToUnixMillis(now), from, to, qualifying, reason}));
  return {};
}

}  // namespace loyalty::ledger::internal
