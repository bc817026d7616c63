#pragma once
// The rules of a loyalty program: how points are earned, what a point is worth, when points
// expire, how tiers qualify, what happens on a return, and the starting rewards catalogue.
// Immutable once parsed; safe to share between threads.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/core/money.hpp"

namespace loyalty::ledger {

// Multipliers are kept in permille (1.5x = 1500) so earn arithmetic stays integral.
inline constexpr int64_t kPermille = 1000;

struct OrderBonus {
  int64_t min_spend_minor = 0;  // order spend that unlocks the bonus, in minor units
  int64_t points = 0;
};

struct EarnRules {
  int64_t points_per_unit = 1;  // base points per whole currency unit spent (1 per EUR 1.00)
  std::map<std::string, int64_t> category_multiplier_permille;
  std::map<std::string, int64_t> sku_multiplier_permille;  // wins over the category multiplier
  std::map<std::string, int64_t> sku_bonus_points;         // fixed points per unit bought
  std::vector<OrderBonus> order_bonuses;                   // every bonus whose threshold is met
  std::optional<int64_t> max_points_per_order;
  int pending_days = 0;  // earned points become available this many days after the purchase
};

enum class ExpiryMode { kNever, kAfterEarn, kInactivity };

struct ExpiryPolicy {
  ExpiryMode mode = ExpiryMode::kNever;
  int months = 0;  // after earning (kAfterEarn) or after the last activity (kInactivity)
};

enum class TierBasis { kPoints, kSpend };

struct Tier {
  std::string name;
  int64_t threshold = 0;  // qualifying points, or spend in minor units, within the window
  int64_t earn_multiplier_permille = kPermille;
};

struct TierPolicy {
  TierBasis basis = TierBasis::kPoints;
  int window_months = 12;
  std::vector<Tier> tiers;  // ascending thresholds; the first has threshold 0
};

enum class ClawbackPolicy {
  kCapAtBalance,  // claw back what the member still holds and report the unrecovered rest
  kReject,        // refuse the return's reversal when the points are no longer there
};

struct RewardDefinition {
  std::string id;
  std::string name;
  int64_t points_price = 0;
  std::optional<int64_t> stock;  // nullopt: unlimited
};

struct ProgramConfig {
  core::Currency currency = *core::Currency::FromCode("EUR");
  EarnRules earn;
  // Liability value: `point_value_minor` minor units per `point_value_points` points.
  int64_t point_value_minor = 1;
  int64_t point_value_points = 1;
  ExpiryPolicy expiry;
  TierPolicy tiers;
  ClawbackPolicy clawback = ClawbackPolicy::kCapAtBalance;
  std::vector<RewardDefinition> rewards;  // created at open when missing
};

// The program that applies when no configuration is given: EUR, 1 point per EUR 1.00,
// 1 point = EUR 0.01, expiry 24 months after earning, tiers Member/Silver/Gold.
ProgramConfig DefaultProgramConfig();

// Reads the [program] section of a configuration (see README: Configuration). Missing keys
// keep their default; a wrong key or value is an error naming its path ("program.tiers.levels[1].threshold").
[[nodiscard]] core::Result<ProgramConfig> ParseProgramConfig(const core::Json& program_section);

// Checks cross-field rules (ascending tier thresholds, positive rates...).
[[nodiscard]] core::Status ValidateProgramConfig(const ProgramConfig& config);

}  // namespace loyalty::ledger
