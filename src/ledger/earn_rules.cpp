#include "earn_rules.hpp"

#include <string>

namespace loyalty::ledger::internal {

using core::CheckedAdd;
using core::CheckedMulDiv;
using core::CheckedMultiply;
using core::ErrorCode;
using core::Fail;
using core::Result;

namespace {

constexpr size_t kMaxLines = 1000;

int64_t Pow10(int digits) {
  int64_t p = 1;
  for (int i = 0; i < digits; ++i) p *= 10;
  return p;
}

int64_t LineMultiplier(const EarnRules& rules, const OrderLine& line) {
  if (auto it = rules.sku_multiplier_permille.find(line.sku); it != rules.sku_multiplier_permille.end()) {
    return it->second;
  }
  if (auto it = rules.category_multiplier_permille.find(line.category);
      it != rules.category_multiplier_permille.end()) {
    return it->second;
  }
  return kPermille;
}

}  // namespace

Result<EarnBreakdown> ComputeEarn(const ProgramConfig& config, std::span<const OrderLine> lines,
                                  int64_t tier_multiplier_permille) {
  const EarnRules& rules = config.earn;
  if (lines.empty()) return Fail(ErrorCode::kInvalidArgument, "an order needs at least one line");
  if (lines.size() > kMaxLines) {
    return Fail(ErrorCode::kInvalidArgument, "an order may have at most " + std::to_string(kMaxLines) + " lines");
  }
  EarnBreakdown out;
  int64_t uncapped = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    const OrderLine& line = lines[i];
    const std::string at = "lines[" + std::to_string(i) + "]";
    if (line.sku.empty()) return Fail(ErrorCode::kInvalidArgument, at + ".sku is empty");
    if (line.quantity <= 0) {
      return Fail(ErrorCode::kInvalidArgument, at + ".quantity must be at least 1, got " + std::to_string(line.quantity));
    }
    if (line.unit_price.minor_units() < 0) {
      return Fail(ErrorCode::kInvalidArgument, at + ".unit_price must not be negative");
    }
    if (!(line.unit_price.currency() == config.currency)) {
      return Fail(ErrorCode::kInvalidArgument, at + ".unit_price is in " + std::string(line.unit_price.currency().code) +
                                                   " but the program runs in " + std::string(config.currency.code));
    }
    auto line_total = CheckedMultiply(line.quantity, line.unit_price.minor_units());
    if (!line_total) return core::Wrap(line_total.error(), at);
    auto spend = CheckedAdd(out.spend_minor, *line_total);
    if (!spend) return core::Wrap(spend.error(), "order total");
    out.spend_minor = *spend;

    auto base = CheckedMulDiv(*line_total, rules.points_per_unit, Pow10(config.currency.minor_digits));
    if (!base) return core::Wrap(base.error(), at);
    // Line and tier multipliers are applied together so rounding happens once per line.
    auto earned = CheckedMulDiv(*base, LineMultiplier(rules, line) * tier_multiplier_permille, kPermille * kPermille);
    if (!earned) return core::Wrap(earned.error(), at);
    int64_t line_points = *earned;
    if (auto it = rules.sku_bonus_points.find(line.sku); it != rules.sku_bonus_points.end()) {
      auto bonus = CheckedMultiply(it->second, line.quantity);
      if (!bonus) return core::Wrap(bonus.error(), at);
      auto bonus_total = CheckedAdd(out.bonus_points, *bonus);
      auto with_bonus = CheckedAdd(line_points, *bonus);
      if (!bonus_total || !with_bonus) return core::Wrap(bonus_total ? with_bonus.error() : bonus_total.error(), at);
      out.bonus_points = *bonus_total;
      line_points = *with_bonus;
    }
    auto base_total = CheckedAdd(out.base_points, *base);
    if (!base_total) return core::Wrap(base_total.error(), "order points");
    out.base_points = *base_total;
    out.line_points.push_back(line_points);
    auto sum = CheckedAdd(uncapped, line_points);
    if (!sum) return core::Wrap(sum.error(), "order points");
    uncapped = *sum;
  }
  for (const auto& bonus : rules.order_bonuses) {
    if (out.spend_minor >= bonus.min_spend_minor) {
      auto order_points = CheckedAdd(out.order_points, bonus.points);
      auto bonus_points = CheckedAdd(out.bonus_points, bonus.points);
      if (!order_points || !bonus_points) return core::Fail(ErrorCode::kInvalidArgument, "order bonus points overflow");
      out.order_points = *order_points;
      out.bonus_points = *bonus_points;
    }
  }
  auto total = CheckedAdd(uncapped, out.order_points);
  if (!total) return core::Wrap(total.error(), "order points");
  out.total = *total;

  if (rules.max_points_per_order && out.total > *rules.max_points_per_order) {
    // Scale every line down so partial returns claw back a fair share of the capped total;
    // the rounding remainder stays with the order-level part.
    const int64_t cap = *rules.max_points_per_order;
    int64_t lines_sum = 0;
    for (auto& points : out.line_points) {
      points = *CheckedMulDiv(points, cap, out.total);
      lines_sum += points;
    }
    out.order_points = cap - lines_sum;
    out.total = cap;
    out.capped = true;
  }
  return out;
}

}  // namespace loyalty::ledger::internal
