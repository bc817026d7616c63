#pragma once
// The pure arithmetic of earning: from order lines, the program's earn rules and the member's
// tier multiplier to points per line. No storage, no clock. Private to the ledger module.

#include <span>
#include <vector>

#include "loyalty/core/error.hpp"
#include "loyalty/ledger/commands.hpp"
#include "loyalty/ledger/program.hpp"

namespace loyalty::ledger::internal {

struct EarnBreakdown {
  std::vector<int64_t> line_points;  // per line, after multipliers, SKU bonuses and the cap
  int64_t order_points = 0;          // order-level bonuses, after the cap
  int64_t base_points = 0;           // before any multiplier or bonus
  int64_t bonus_points = 0;          // SKU and order bonuses before the cap
  int64_t total = 0;                 // sum of line_points and order_points
  int64_t spend_minor = 0;
  bool capped = false;
};

// Validates the lines (positive quantity, non-negative price in the program currency,
// non-empty SKU) and computes the points. Every intermediate is overflow-checked.
[[nodiscard]] core::Result<EarnBreakdown> ComputeEarn(const ProgramConfig& config, std::span<const OrderLine> lines,
                                                      int64_t tier_multiplier_permille);

}  // namespace loyalty::ledger::internal
