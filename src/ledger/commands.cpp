// The ledger's write commands. Each runs in one write transaction: idempotency check, then
// validation, then balanced postings, lot movements and the stored result, all or nothing.

#include <algorithm>
#include <variant>

#include "earn_rules.hpp"
#include "journal.hpp"
#include "loyalty/ledger/json.hpp"
#include "loyalty/ledger/ledger.hpp"
#include "tiers.hpp"

namespace loyalty::ledger {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::ToUnixMillis;
using internal::MemberAccount;
using store::Transaction;

namespace {

// A sale may be reported a little ahead of our clock (POS clocks drift); more is an error.
constexpr auto kClockSkewAllowance = std::chrono::minutes(5);
constexpr int64_t kMaxRewardQuantity = 100;

template <typename R>
Result<R> DecodeStored(const Json& stored) {
  try {
    return stored.get<R>();
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal, std::string("stored command result is unreadable: ") + e.what());
  }
}

// Runs `body` once per idempotency key: a retry returns the stored result, a reused key with
// another payload is a conflict. Failed commands store nothing, so a retry runs afresh.
// The same, inside a transaction the caller owns.
template <typename R, typename Command, typename Body>
Result<R> RunIdempotentIn(Transaction& tx, core::Timestamp now, std::string_view kind, const Command& command,
                          Body&& body) {
  if (command.key.empty()) return Fail(ErrorCode::kInvalidArgument, "an idempotency key is required");
  const std::string payload = core::Dump(Json(command));
  LOYALTY_ASSIGN_OR_RETURN(auto prior, internal::FindPriorCommand(tx, command.key, kind, payload));
  if (prior) return DecodeStored<R>(*prior);
  LOYALTY_ASSIGN_OR_RETURN(R result, body(tx, now));
  LOYALTY_TRY(internal::RecordCommand(tx, command.key, kind, payload, Json(result), now));
  return result;
}

template <typename R, typename Command, typename Body>
Result<R> RunIdempotent(store::Database& db, const core::Clock& clock, std::string_view kind, const Command& command,
                        Body&& body) {
  if (command.key.empty()) return Fail(ErrorCode::kInvalidArgument, "an idempotency key is required");
  return db.WriteValue<R>([&](Transaction& tx) -> Result<R> {
    return RunIdempotentIn<R>(tx, clock.Now(), kind, command, body);
  });
}

// Failures that say the store, not the command, is at fault: they abort a whole batch.
// (An internal error of one command is that command's: it is rolled back and reported.)
bool IsStoreFailure(const core::Error& error) { return error.code == ErrorCode::kUnavailable; }

// An order line as kept with its order, for returns: what it earned and what came back.
struct StoredLine {
  std::string sku;
  std::string category;
  int64_t quantity = 0;
  int64_t unit_price_minor = 0;
  int64_t points = 0;
  int64_t returned = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(StoredLine, sku, category, quantity, unit_price_minor, points, returned)

Result<std::vector<StoredLine>> ReadStoredLines(const std::string& text) {
  LOYALTY_ASSIGN_OR_RETURN(Json json, core::ParseJson(text));
  try {
    return json.get<std::vector<StoredLine>>();
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInternal, std::string("stored order lines are unreadable: ") + e.what());
  }
}

std::optional<core::Timestamp> LotExpiry(const ProgramConfig& config, core::Timestamp earned_at) {
  if (config.expiry.mode != ExpiryMode::kAfterEarn) return std::nullopt;
  return core::AddMonths(earned_at, config.expiry.months);
}

// Records member activity for inactivity expiry, to the day: a member buying every hour
// does not rewrite its row every hour.
Status TouchActivity(Transaction& tx, const MemberId& member, core::Timestamp at) {
  constexpr int64_t kResolutionMs = 24 * 60 * 60 * 1000;
  LOYALTY_TRY(tx.Execute("UPDATE members SET last_activity_at = ?1 WHERE member_id = ?2 AND last_activity_at < ?3",
                         {ToUnixMillis(at), member.str(), ToUnixMillis(at) - kResolutionMs}));
  return {};
}

Result<Points> MemberBalance(Transaction& tx, const MemberId& member) {
  LOYALTY_ASSIGN_OR_RETURN(int64_t balance, internal::AccountBalance(tx, MemberAccount(member)));
  return Points(balance);
}

Status RequireText(const std::string& value, std::string_view field) {
  if (value.empty()) return Fail(ErrorCode::kInvalidArgument, std::string(field) + " is required");
  if (value.size() > 1000) return Fail(ErrorCode::kInvalidArgument, std::string(field) + " is longer than 1000 characters");
  return {};
}

std::unexpected<core::Error> InsufficientPoints(const MemberId& member, int64_t have, int64_t need, std::string_view what) {
  return Fail(ErrorCode::kInsufficientPoints, "member '" + member.str() + "' has " + std::to_string(have) +
                                                  " available points; " + std::string(what) + " needs " +
                                                  std::to_string(need));
}

}  // namespace

Status CheckClientKey(const IdempotencyKey& key) {
  for (std::string_view reserved : {"event:", "merge:", "unmerge:"}) {
    if (key.str().starts_with(reserved)) {
      return Fail(ErrorCode::kInvalidArgument, "idempotency keys starting with '" + std::string(reserved) +
                                                   "' are reserved for " +
                                                   (reserved == "event:" ? "events" : "member merges"));
    }
  }
  return {};
}

Result<EarnResult> Ledger::Earn(const EarnCommand& command) {
  return RunIdempotent<EarnResult>(db_, clock_, "earn", command,
                                   [&](Transaction& tx, core::Timestamp now) { return EarnIn(tx, command, now); });
}

Result<EarnResult> Ledger::EarnIn(Transaction& tx, const EarnCommand& command, core::Timestamp now) {
  LOYALTY_ASSIGN_OR_RETURN(std::string tier_name, internal::RequireActiveMember(tx, command.member));
  const core::Timestamp occurred = command.occurred_at.value_or(now);
  if (occurred > now + kClockSkewAllowance) {
    return Fail(ErrorCode::kInvalidArgument, "occurred_at " + core::FormatTimestamp(occurred) + " is in the future");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto existing, tx.QueryOne("SELECT member_id FROM orders WHERE order_id = ?1",
                                                      {command.order.str()}));
  if (existing) {
    return Fail(ErrorCode::kAlreadyExists, "order '" + command.order.str() +
                                               "' has already earned points; retry with its original idempotency key");
  }
  const Tier& tier = internal::TierNamed(config_.tiers, tier_name);
  LOYALTY_ASSIGN_OR_RETURN(auto earn, internal::ComputeEarn(config_, command.lines, tier.earn_multiplier_permille));

  EarnResult result;
  result.tier = tier.name;
  result.base_points = Points(earn.base_points);
  result.bonus_points = Points(earn.bonus_points);
  result.capped = earn.capped;
  result.points = Points(earn.total);
  std::optional<int64_t> entry_id;
  std::optional<int64_t> lot_id;
  if (earn.total > 0) {
    // A sale stamped slightly ahead of our clock earns as of now.
    const core::Timestamp earned_at = std::min(occurred, now);
    const Json details = {{"order", command.order.str()},
                          {"occurred_at", core::FormatTimestamp(occurred)},
                          {"spend_minor", earn.spend_minor},
                          {"tier", tier.name}};
    LOYALTY_ASSIGN_OR_RETURN(
        entry_id, internal::PostEntry(tx, {"earn", command.member, command.key.str(), now, details, earned_at},
                                      {{MemberAccount(command.member), earn.total},
                                       {std::string(internal::kIssuedAccount), -earn.total}}));
    const core::Timestamp available = earned_at + std::chrono::days(config_.earn.pending_days);
    LOYALTY_ASSIGN_OR_RETURN(lot_id, internal::CreateLot(tx, command.member, *entry_id, earned_at, available,
                                                         LotExpiry(config_, earned_at), earn.total));
    result.entry_id = *entry_id;
  }
  std::vector<StoredLine> stored;
  for (size_t i = 0; i < command.lines.size(); ++i) {
    const OrderLine& line = command.lines[i];
    stored.push_back({line.sku, line.category, line.quantity, line.unit_price.minor_units(), earn.line_points[i], 0});
  }
  const std::string lines_json = core::Dump(Json(stored));
  LOYALTY_TRY(tx.Execute("INSERT INTO orders (order_id, member_id, entry_id, lot_id, occurred_at, spend_minor, "
                         "points, order_points, lines) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                         {command.order.str(), command.member.str(), entry_id, lot_id, ToUnixMillis(occurred),
                          earn.spend_minor, earn.total, earn.order_points, lines_json}));
  LOYALTY_TRY(TouchActivity(tx, command.member, occurred));

  // Upgrades take effect at once; downgrades wait for the periodic evaluation.
  LOYALTY_ASSIGN_OR_RETURN(int64_t qualifying, internal::QualifyingAmount(tx, config_.tiers, command.member, now));
  const Tier& reached = internal::TierFor(config_.tiers, qualifying);
  if (internal::TierRank(config_.tiers, reached.name) > internal::TierRank(config_.tiers, tier_name)) {
    LOYALTY_TRY(internal::ChangeTier(tx, command.member, tier_name, reached.name, qualifying, "purchase", now));
    result.upgraded_to = reached.name;
  }
  LOYALTY_ASSIGN_OR_RETURN(result.balance, MemberBalance(tx, command.member));
  return result;
}

Result<PostingResult> Ledger::Bonus(const BonusCommand& command) {
  return RunIdempotent<PostingResult>(db_, clock_, "bonus", command, [&](Transaction& tx, core::Timestamp now)
                                                                         -> Result<PostingResult> {
    LOYALTY_TRY(internal::RequireActiveMember(tx, command.member));
    if (command.points.value() <= 0) return Fail(ErrorCode::kInvalidArgument, "bonus points must be at least 1");
    LOYALTY_TRY(RequireText(command.reason, "reason"));
    LOYALTY_TRY(RequireText(command.actor, "actor"));
    const int64_t points = command.points.value();
    const Json details = {{"reason", command.reason}, {"actor", command.actor}};
    LOYALTY_ASSIGN_OR_RETURN(int64_t entry_id,
                             internal::PostEntry(tx, {"bonus", command.member, command.key.str(), now, details},
                                                 {{MemberAccount(command.member), points},
                                                  {std::string(internal::kIssuedAccount), -points}}));
    LOYALTY_TRY(internal::CreateLot(tx, command.member, entry_id, now, now, LotExpiry(config_, now), points));
    LOYALTY_ASSIGN_OR_RETURN(Points balance, MemberBalance(tx, command.member));
    return PostingResult{entry_id, command.points, balance};
  });
}

Result<PostingResult> Ledger::Adjust(const AdjustCommand& command) {
  return RunIdempotent<PostingResult>(db_, clock_, "adjust", command, [&](Transaction& tx, core::Timestamp now)
                                                                          -> Result<PostingResult> {
    LOYALTY_TRY(internal::RequireActiveMember(tx, command.member));
    if (command.delta.value() == 0) return Fail(ErrorCode::kInvalidArgument, "an adjustment must not be zero");
    if (command.delta.value() == INT64_MIN) return Fail(ErrorCode::kInvalidArgument, "adjustment is out of range");
    LOYALTY_TRY(RequireText(command.reason, "reason"));
    LOYALTY_TRY(RequireText(command.actor, "actor"));
    const int64_t delta = command.delta.value();
    if (delta < 0) {
      LOYALTY_ASSIGN_OR_RETURN(Points balance, MemberBalance(tx, command.member));
      if (balance.value() < -delta) {
        return Fail(ErrorCode::kInsufficientPoints, "member '" + command.member.str() + "' has " +
                                                        std::to_string(balance.value()) + " points; cannot remove " +
                                                        std::to_string(-delta) + " (a balance never goes below zero)");
      }
    }
    const Json details = {{"reason", command.reason}, {"actor", command.actor}};
    LOYALTY_ASSIGN_OR_RETURN(int64_t entry_id,
                             internal::PostEntry(tx, {"adjust", command.member, command.key.str(), now, details},
                                                 {{MemberAccount(command.member), delta},
                                                  {std::string(internal::kAdjustmentsAccount), -delta}}));
    if (delta > 0) {
      LOYALTY_TRY(internal::CreateLot(tx, command.member, entry_id, now, now, LotExpiry(config_, now), delta));
    } else {
      LOYALTY_ASSIGN_OR_RETURN(int64_t taken, internal::ConsumeLots(tx, command.member, entry_id, -delta, now,
                                                                    internal::LotScope::kAll));
      if (taken != -delta) return Fail(ErrorCode::kInternal, "lots do not cover the member's balance");
    }
    LOYALTY_ASSIGN_OR_RETURN(Points balance, MemberBalance(tx, command.member));
    return PostingResult{entry_id, command.delta, balance};
  });
}

Result<RedeemRewardResult> Ledger::RedeemReward(const RedeemRewardCommand& command) {
  return RunIdempotent<RedeemRewardResult>(db_, clock_, "redeem_reward", command,
                                           [&](Transaction& tx, core::Timestamp now) -> Result<RedeemRewardResult> {
    LOYALTY_TRY(internal::RequireActiveMember(tx, command.member));
    if (command.quantity < 1 || command.quantity > kMaxRewardQuantity) {
      return Fail(ErrorCode::kInvalidArgument,
                  "quantity must be 1 to " + std::to_string(kMaxRewardQuantity) + ", got " +
                      std::to_string(command.quantity));
    }
    LOYALTY_ASSIGN_OR_RETURN(auto reward, tx.QueryOne("SELECT points_price, stock FROM rewards WHERE reward_id = ?1",
                                                      {command.reward.str()}));
    if (!reward) return Fail(ErrorCode::kNotFound, "reward '" + command.reward.str() + "' is not in the catalogue");
    const std::optional<int64_t> stock = reward->OptionalInt(1);
    if (stock && *stock < command.quantity) {
      return Fail(ErrorCode::kOutOfStock, "reward '" + command.reward.str() + "' has " + std::to_string(*stock) +
                                              " left; " + std::to_string(command.quantity) + " requested");
    }
    LOYALTY_ASSIGN_OR_RETURN(int64_t cost, core::CheckedMultiply(reward->Int(0), command.quantity));
    LOYALTY_ASSIGN_OR_RETURN(int64_t available, internal::AvailablePoints(tx, command.member, now));
    if (available < cost) return InsufficientPoints(command.member, available, cost, "reward '" + command.reward.str() + "'");

    const Json details = {{"reward", command.reward.str()}, {"quantity", command.quantity}};
    LOYALTY_ASSIGN_OR_RETURN(int64_t entry_id,
                             internal::PostEntry(tx, {"redeem_reward", command.member, command.key.str(), now, details},
                                                 {{MemberAccount(command.member), -cost},
                                                  {std::string(internal::kRedeemedAccount), cost}}));
    LOYALTY_ASSIGN_OR_RETURN(int64_t taken, internal::ConsumeLots(tx, command.member, entry_id, cost, now,
                                                                  internal::LotScope::kAvailableOnly));
    if (taken != cost) return Fail(ErrorCode::kInternal, "available lots do not cover the redemption");
    std::optional<int64_t> stock_left;
    if (stock) {
      stock_left = *stock - command.quantity;
      LOYALTY_TRY(tx.Execute("UPDATE rewards SET stock = ?1 WHERE reward_id = ?2", {*stock_left, command.reward.str()}));
    }
    LOYALTY_TRY(TouchActivity(tx, command.member, now));
    LOYALTY_ASSIGN_OR_RETURN(Points balance, MemberBalance(tx, command.member));
    return RedeemRewardResult{entry_id, Points(cost), balance, stock_left};
  });
}

Result<RedeemPointsResult> Ledger::RedeemPoints(const RedeemPointsCommand& command) {
  return RunIdempotent<RedeemPointsResult>(db_, clock_, "redeem_points", command,
                                           [&](Transaction& tx, core::Timestamp now) {
                                             return RedeemPointsIn(tx, command, now);
                                           });
}

Result<RedeemPointsResult> Ledger::RedeemPointsIn(Transaction& tx, const RedeemPointsCommand& command,
                                                  core::Timestamp now) {
  {
    LOYALTY_TRY(internal::RequireActiveMember(tx, command.member));
    const int64_t points = command.points.value();
    if (points <= 0) return Fail(ErrorCode::kInvalidArgument, "points to redeem must be at least 1");
    LOYALTY_ASSIGN_OR_RETURN(int64_t discount_minor,
                             core::CheckedMulDiv(points, config_.point_value_minor, config_.point_value_points));
    if (discount_minor == 0) {
      return Fail(ErrorCode::kInvalidArgument, std::to_string(points) + " points are worth less than the smallest unit of " +
                                                   std::string(config_.currency.code) + "; redeem more points");
    }
    const core::Timestamp occurred = command.occurred_at.value_or(now);
    if (occurred > now + kClockSkewAllowance) {
      return Fail(ErrorCode::kInvalidArgument, "occurred_at " + core::FormatTimestamp(occurred) + " is in the future");
    }
    LOYALTY_ASSIGN_OR_RETURN(int64_t available, internal::AvailablePoints(tx, command.member, now));
    if (available < points) return InsufficientPoints(command.member, available, points, "the discount");
    const Money discount(discount_minor, config_.currency);
    Json details = {{"discount", discount}};
    if (command.occurred_at) details["occurred_at"] = core::FormatTimestamp(occurred);
    LOYALTY_ASSIGN_OR_RETURN(int64_t entry_id,
                             internal::PostEntry(tx, {"redeem_points", command.member, command.key.str(), now, details,
                                                      std::min(occurred, now)},
                                                 {{MemberAccount(command.member), -points},
                                                  {std::string(internal::kRedeemedAccount), points}}));
    LOYALTY_ASSIGN_OR_RETURN(int64_t taken, internal::ConsumeLots(tx, command.member, entry_id, points, now,
                                                                  internal::LotScope::kAvailableOnly));
    if (taken != points) return Fail(ErrorCode::kInternal, "available lots do not cover the redemption");
    LOYALTY_TRY(TouchActivity(tx, command.member, std::min(occurred, now)));
    LOYALTY_ASSIGN_OR_RETURN(Points balance, MemberBalance(tx, command.member));
    return RedeemPointsResult{entry_id, command.points, discount, balance};
  }
}

Result<ReturnResult> Ledger::Return(const ReturnCommand& command) {
  return RunIdempotent<ReturnResult>(db_, clock_, "return", command,
                                     [&](Transaction& tx, core::Timestamp now) { return ReturnIn(tx, command, now); });
}

Result<ReturnResult> Ledger::ReturnIn(Transaction& tx, const ReturnCommand& command, core::Timestamp now) {
  LOYALTY_TRY(internal::RequireActiveMember(tx, command.member));
  LOYALTY_ASSIGN_OR_RETURN(auto order, tx.QueryOne("SELECT member_id, lot_id, lines, order_points, "
                                                   "order_points_reversed FROM orders WHERE order_id = ?1",
                                                   {command.order.str()}));
  if (!order) return Fail(ErrorCode::kNotFound, "order '" + command.order.str() + "' has no earned points to reverse");
  if (order->Text(0) != command.member.str()) {
    return Fail(ErrorCode::kInvalidArgument,
                "order '" + command.order.str() + "' belongs to another member, not '" + command.member.str() + "'");
  }
  LOYALTY_ASSIGN_OR_RETURN(std::vector<StoredLine> lines, ReadStoredLines(order->Text(2)));
  // Quantity to return per order line.
  std::vector<int64_t> returning(lines.size(), 0);
  if (command.lines.empty()) {
    for (size_t i = 0; i < lines.size(); ++i) returning[i] = lines[i].quantity - lines[i].returned;
  }
  for (size_t r = 0; r < command.lines.size(); ++r) {
    const ReturnLine& want = command.lines[r];
    if (want.quantity <= 0) {
      return Fail(ErrorCode::kInvalidArgument, "lines[" + std::to_string(r) + "].quantity must be at least 1");
    }
    int64_t left = want.quantity;
    for (size_t i = 0; i < lines.size() && left > 0; ++i) {
      if (lines[i].sku != want.sku) continue;
      const int64_t open = lines[i].quantity - lines[i].returned - returning[i];
      const int64_t take = std::min(open, left);
      returning[i] += take;
      left -= take;
    }
    if (left > 0) {
      return Fail(ErrorCode::kFailedPrecondition, "order '" + command.order.str() + "' has only " +
                                                      std::to_string(want.quantity - left) + " unit(s) of sku '" +
                                                      want.sku + "' left to return; " + std::to_string(want.quantity) +
                                                      " requested");
    }
  }
  int64_t due = 0;
  int64_t spend_returned = 0;
  bool fully_returned = true;
  for (size_t i = 0; i < lines.size(); ++i) {
    const int64_t quantity = lines[i].quantity;
    const int64_t before = lines[i].returned;
    const int64_t after = before + returning[i];
    // Cumulative rounding: a line returned unit by unit claws back exactly its points.
    LOYALTY_ASSIGN_OR_RETURN(int64_t share_after, core::CheckedMulDiv(lines[i].points, after, quantity));
    LOYALTY_ASSIGN_OR_RETURN(int64_t share_before, core::CheckedMulDiv(lines[i].points, before, quantity));
    due += share_after - share_before;
    spend_returned += returning[i] * lines[i].unit_price_minor;
    if (after < quantity) fully_returned = false;
  }
  const int64_t order_points_open = order->Int(3) - order->Int(4);
  const bool nothing_left = std::all_of(returning.begin(), returning.end(), [](int64_t q) { return q == 0; });
  if (nothing_left && !(fully_returned && order_points_open > 0)) {
    return Fail(ErrorCode::kFailedPrecondition, "order '" + command.order.str() + "' has nothing left to return");
  }
  // Order-level bonuses go back only when the whole order has come back.
  if (fully_returned) due += order_points_open;

  LOYALTY_ASSIGN_OR_RETURN(Points balance_before, MemberBalance(tx, command.member));
  int64_t claw = std::min(due, balance_before.value());
  if (claw < due && config_.clawback == ClawbackPolicy::kReject) {
    return Fail(ErrorCode::kInsufficientPoints,
                "member '" + command.member.str() + "' holds " + std::to_string(balance_before.value()) +
                    " points but the return must claw back " + std::to_string(due) +
                    " (program.returns.clawback = \"reject\")");
  }
  ReturnResult result;
  result.due = Points(due);
  result.clawed_back = Points(claw);
  result.unrecovered = Points(due - claw);
  std::optional<int64_t> entry_id;
  if (claw > 0) {
    const Json details = {{"order", command.order.str()}, {"due", due}, {"unrecovered", due - claw}};
    LOYALTY_ASSIGN_OR_RETURN(entry_id,
                             internal::PostEntry(tx, {"return", command.member, command.key.str(), now, details},
                                                 {{MemberAccount(command.member), -claw},
                                                  {std::string(internal::kIssuedAccount), claw}}));
    LOYALTY_ASSIGN_OR_RETURN(int64_t taken, internal::ConsumeLots(tx, command.member, *entry_id, claw, now,
                                                                  internal::LotScope::kAll, order->OptionalInt(1)));
    if (taken != claw) return Fail(ErrorCode::kInternal, "lots do not cover the member's balance");
    result.entry_id = *entry_id;
  }
  for (size_t i = 0; i < lines.size(); ++i) lines[i].returned += returning[i];
  const std::string lines_json = core::Dump(Json(lines));
  // Returned spend and points stop counting towards tiers.
  LOYALTY_TRY(tx.Execute("UPDATE orders SET points_returned = points_returned + ?1, "
                         "spend_returned_minor = spend_returned_minor + ?2, "
                         "order_points_reversed = CASE WHEN ?3 = 1 THEN order_points ELSE order_points_reversed END, "
                         "lines = ?4 WHERE order_id = ?5",
                         {due, spend_returned, fully_returned ? 1 : 0, lines_json, command.order.str()}));
  LOYALTY_ASSIGN_OR_RETURN(result.balance, MemberBalance(tx, command.member));
  return result;
}

Result<std::vector<Status>> Ledger::ApplyBatch(std::span<const BatchCommand> commands) {
  return db_.WriteValue<std::vector<Status>>([&](Transaction& tx) -> Result<std::vector<Status>> {
    const core::Timestamp now = clock_.Now();
    std::vector<Status> statuses;
    statuses.reserve(commands.size());
    for (const auto& command : commands) {
      // Each command in its own savepoint: a refused one leaves no trace, the others stand.
      LOYALTY_TRY(tx.Execute("SAVEPOINT batch_command"));
      Status status = std::visit(
          [&](const auto& c) -> Status {
            using C = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<C, EarnCommand>) {
              auto r = RunIdempotentIn<EarnResult>(tx, now, "earn", c, [&](Transaction& t, core::Timestamp n) {
                return EarnIn(t, c, n);
              });
              if (!r) return std::unexpected(r.error());
            } else if constexpr (std::is_same_v<C, RedeemPointsCommand>) {
              auto r = RunIdempotentIn<RedeemPointsResult>(tx, now, "redeem_points", c,
                                                           [&](Transaction& t, core::Timestamp n) {
                                                             return RedeemPointsIn(t, c, n);
                                                           });
              if (!r) return std::unexpected(r.error());
            } else {
              auto r = RunIdempotentIn<ReturnResult>(tx, now, "return", c, [&](Transaction& t, core::Timestamp n) {
                return ReturnIn(t, c, n);
              });
              if (!r) return std::unexpected(r.error());
            }
            return {};
          },
          command);
      if (!status) {
        if (IsStoreFailure(status.error())) return std::unexpected(status.error());
        LOYALTY_TRY(tx.Execute("ROLLBACK TO batch_command"));
      }
      LOYALTY_TRY(tx.Execute("RELEASE batch_command"));
      statuses.push_back(std::move(status));
    }
    return statuses;
  });
}

Result<ExpireResult> Ledger::Expire(const ExpireCommand& command) {
  return RunIdempotent<ExpireResult>(db_, clock_, "expire", command, [&](Transaction& tx, core::Timestamp now)
                                                                         -> Result<ExpireResult> {
    ExpireResult result;
    if (config_.expiry.mode == ExpiryMode::kNever) return result;
    // Lots due per member, oldest first.
    std::vector<store::Row> due;
    if (config_.expiry.mode == ExpiryMode::kAfterEarn) {
      LOYALTY_ASSIGN_OR_RETURN(due, tx.Query("SELECT member_id, lot_id, remaining FROM lots "
                                             "WHERE remaining > 0 AND expires_at IS NOT NULL AND expires_at <= ?1 "
                                             "ORDER BY member_id, earned_at, lot_id",
                                             {ToUnixMillis(now)}));
    } else {
      // Activity is recorded to the day (TouchActivity), so allow a day: late, never early.
      const int64_t inactive_since =
          ToUnixMillis(core::AddMonths(now, -config_.expiry.months) - std::chrono::days(1));
      LOYALTY_ASSIGN_OR_RETURN(due, tx.Query("SELECT l.member_id, l.lot_id, l.remaining FROM lots l "
                                             "JOIN members m ON m.member_id = l.member_id "
                                             "WHERE l.remaining > 0 AND m.last_activity_at <= ?1 "
                                             "ORDER BY l.member_id, l.earned_at, l.lot_id",
                                             {inactive_since}));
    }
    for (size_t begin = 0; begin < due.size();) {
      size_t end = begin;
      int64_t total = 0;
      while (end < due.size() && due[end].Text(0) == due[begin].Text(0)) total += due[end++].Int(2);
      LOYALTY_ASSIGN_OR_RETURN(MemberId member, MemberId::Parse(due[begin].Text(0)));
      const Json details = {{"policy", config_.expiry.mode == ExpiryMode::kAfterEarn ? "after_earn" : "inactivity"},
                            {"lots", end - begin}};
      LOYALTY_ASSIGN_OR_RETURN(int64_t entry_id,
                               internal::PostEntry(tx, {"expire", member, command.key.str(), now, details},
                                                   {{MemberAccount(member), -total},
                                                    {std::string(internal::kExpiredAccount), total}}));
      for (size_t i = begin; i < end; ++i) {
        LOYALTY_TRY(internal::ConsumeLot(tx, entry_id, due[i].Int(1), due[i].Int(2)));
      }
      result.members += 1;
      result.points = Points(result.points.value() + total);
      begin = end;
    }
    return result;
  });
}

Result<EvaluateTiersResult> Ledger::EvaluateTiers(const EvaluateTiersCommand& command) {
  return RunIdempotent<EvaluateTiersResult>(db_, clock_, "evaluate_tiers", command,
                                            [&](Transaction& tx, core::Timestamp now) -> Result<EvaluateTiersResult> {
    if (command.member) LOYALTY_TRY(internal::RequireActiveMember(tx, *command.member));
    const std::string_view column = config_.tiers.basis == TierBasis::kPoints
                                        ? "o.points - o.points_returned"
                                        : "o.spend_minor - o.spend_returned_minor";
    const std::string sql = "SELECT m.member_id, m.tier, COALESCE(SUM(" + std::string(column) +
                            "), 0) FROM members m LEFT JOIN orders o ON o.member_id = m.member_id "
                            "AND o.occurred_at > ?1 AND o.occurred_at <= ?2 WHERE (CAST(?3 AS TEXT) IS NULL OR m.member_id = ?3) "
                            "GROUP BY m.member_id ORDER BY m.member_id";
    std::optional<std::string> only;
    if (command.member) only = command.member->str();
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query(sql, {ToUnixMillis(internal::WindowStart(config_.tiers, now)),
                                                       ToUnixMillis(now), only}));
    EvaluateTiersResult result;
    for (const auto& row : rows) {
      ++result.evaluated;
      const std::string& current = row.Text(1);
      const Tier& target = internal::TierFor(config_.tiers, row.Int(2));
      if (target.name == current) continue;
      LOYALTY_ASSIGN_OR_RETURN(MemberId member, MemberId::Parse(row.Text(0)));
      LOYALTY_TRY(internal::ChangeTier(tx, member, current, target.name, row.Int(2), "evaluation", now));
      result.changes.push_back(TierChange{member, current, target.name, row.Int(2)});
    }
    return result;
  });
}

}  // namespace loyalty::ledger
