#pragma once
// JSON forms of ledger commands, results and query answers, as used by the CLI's --json
// output, the stored results that idempotent retries return, and the HTTP API. Commands
// serialise without their idempotency key: that form is the payload a reused key is
// compared against.

#include "loyalty/core/json.hpp"
#include "loyalty/ledger/commands.hpp"
#include "loyalty/ledger/ledger.hpp"

namespace loyalty::ledger {

NLOHMANN_JSON_SERIALIZE_ENUM(TierBasis, {{TierBasis::kPoints, "points"}, {TierBasis::kSpend, "spend"}})

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(OrderLine, sku, category, quantity, unit_price)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(EarnCommand, member, order, lines, occurred_at)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(BonusCommand, member, points, reason, actor)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(AdjustCommand, member, delta, reason, actor)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(RedeemRewardCommand, member, reward, quantity)
// occurred_at only when given, so payloads stored before it existed still match their retries.
inline void to_json(core::Json& j, const RedeemPointsCommand& c) {
  j = core::Json{{"member", c.member}, {"points", c.points}};
  if (c.occurred_at) j["occurred_at"] = *c.occurred_at;
}
inline void from_json(const core::Json& j, RedeemPointsCommand& c) {
  j.at("member").get_to(c.member);
  j.at("points").get_to(c.points);
  if (auto it = j.find("occurred_at"); it != j.end() && !it->is_null()) c.occurred_at = it->get<Timestamp>();
}
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ReturnLine, sku, quantity)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ReturnCommand, member, order, lines)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(EvaluateTiersCommand, member)
// An expiry run has no payload beyond its key.
inline void to_json(core::Json& j, const ExpireCommand&) { j = core::Json::object(); }
inline void from_json(const core::Json&, ExpireCommand&) {}

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(EarnResult, entry_id, points, base_points, bonus_points, capped, tier, balance,
                                   upgraded_to)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PostingResult, entry_id, points, balance)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(RedeemRewardResult, entry_id, points, balance, stock_left)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(RedeemPointsResult, entry_id, points, discount, balance)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ReturnResult, entry_id, due, clawed_back, unrecovered, balance)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ExpireResult, members, points)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TierChange, member, from, to, qualifying)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(EvaluateTiersResult, evaluated, changes)

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Balance, total, available, pending)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(StatementLine, entry_id, kind, points, at, details)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(StatementPage, lines, next_cursor)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Lot, lot_id, original, remaining, earned_at, available_at, expires_at)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TierHistoryLine, at, from, to, qualifying, reason)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(OrderRecord, order_id, occurred_at, spend_minor, spend_returned_minor, points,
                                   points_returned, lines)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TierStatus, tier, basis, qualifying, next_tier, needed_for_next, history)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Liability, outstanding, value, members_with_points)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Reward, id, name, price, stock)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(InvariantReport, ok, violations)

}  // namespace loyalty::ledger
