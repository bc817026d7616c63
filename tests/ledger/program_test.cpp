#include <gtest/gtest.h>

#include "loyalty/core/config.hpp"
#include "loyalty/ledger/program.hpp"

namespace loyalty::ledger {
namespace {

core::Result<ProgramConfig> FromToml(const std::string& toml) {
  auto config = core::ParseTomlConfig(toml, "test.toml");
  if (!config) return std::unexpected(config.error());
  return ParseProgramConfig(config->value("program", core::Json()));
}

TEST(ProgramConfig, DefaultsApplyWhenNothingIsConfigured) {
  auto config = ParseProgramConfig(core::Json());
  ASSERT_TRUE(config);
  EXPECT_EQ(config->currency.code, "EUR");
  EXPECT_EQ(config->tiers.tiers.size(), 3u);
  EXPECT_TRUE(ValidateProgramConfig(DefaultProgramConfig()));
}

TEST(ProgramConfig, ReadsEveryPolicyFromToml) {
  auto config = FromToml(R"(
[program]
currency = "USD"
point_value = "1.00"
point_value_per = 100
[program.earn]
points_per_unit = 2
category_multipliers = { electronics = 1.5 }
sku_multipliers = { "TV-1" = "3" }
sku_bonus = { BATTERY = 5 }
order_bonus = [ { min_spend = "100.00", points = 50 } ]
max_points_per_order = 5000
pending_days = 14
[program.expiry]
mode = "inactivity"
months = 18
[program.tiers]
basis = "spend"
window_months = 6
levels = [ { name = "Blue", threshold = 0 }, { name = "Gold", threshold = "500.00", earn_multiplier = 1.25 } ]
[program.returns]
clawback = "reject"
[[program.rewards]]
id = "coffee"
name = "Free coffee"
points = 150
stock = 20
)");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->currency.code, "USD");
  EXPECT_EQ(config->point_value_minor, 100);
  EXPECT_EQ(config->point_value_points, 100);
  EXPECT_EQ(config->earn.points_per_unit, 2);
  EXPECT_EQ(config->earn.category_multiplier_permille.at("electronics"), 1500);
  EXPECT_EQ(config->earn.sku_multiplier_permille.at("TV-1"), 3000);
  EXPECT_EQ(config->earn.sku_bonus_points.at("BATTERY"), 5);
  EXPECT_EQ(config->earn.order_bonuses[0].min_spend_minor, 10000);
  EXPECT_EQ(config->earn.max_points_per_order, 5000);
  EXPECT_EQ(config->earn.pending_days, 14);
  EXPECT_EQ(config->expiry.mode, ExpiryMode::kInactivity);
  EXPECT_EQ(config->expiry.months, 18);
  EXPECT_EQ(config->tiers.basis, TierBasis::kSpend);
  EXPECT_EQ(config->tiers.tiers[1].threshold, 50000);
  EXPECT_EQ(config->tiers.tiers[1].earn_multiplier_permille, 1250);
  EXPECT_EQ(config->clawback, ClawbackPolicy::kReject);
  ASSERT_EQ(config->rewards.size(), 1u);
  EXPECT_EQ(config->rewards[0].stock, 20);
}

struct BadCase {
  const char* toml;
  const char* message_part;
};

TEST(ProgramConfig, MalformedConfigurationNamesThePathToFix) {
  const BadCase cases[] = {
      {"[program]\ncurrency = \"EURO\"", "program.currency: unknown currency 'EURO'"},
      {"[program]\ncolour = 1", "unknown field 'program.colour'"},
      {"[program.earn]\npoints_per_unit = \"one\"", "'program.earn.points_per_unit' must be an integer"},
      {"[program.earn]\npoints_per_unit = -1", "must not be negative"},
      {"[program.earn]\ncategory_multipliers = { a = \"x\" }", "'program.earn.category_multipliers.a'"},
      {"[program.earn]\npending_days = 9999", "pending_days' must be 0 to 3650"},
      {"[program.expiry]\nmode = \"sometimes\"", "'program.expiry.mode' must be"},
      {"[program.expiry]\nmode = \"after_earn\"\nmonths = 0", "'program.expiry.months' must be 1 to 1200"},
      {"[program.tiers]\nlevels = [ { name = \"A\", threshold = 10 } ]", "levels[0].threshold' must be 0"},
      {"[program.tiers]\nlevels = [ { name = \"A\", threshold = 0 }, { name = \"B\", threshold = 0 } ]",
       "levels[1].threshold' must be greater"},
      {"[program.tiers]\nlevels = []", "needs at least one tier"},
      {"[program.tiers]\nbasis = \"visits\"", "'program.tiers.basis' must be"},
      {"[program.returns]\nclawback = \"maybe\"", "'program.returns.clawback' must be"},
      {"[[program.rewards]]\nid = \"bad id\"\nname = \"x\"\npoints = 5", "program.rewards[0].id"},
      {"[[program.rewards]]\nid = \"a\"\nname = \"x\"\npoints = 0", "program.rewards[0].points' must be at least 1"},
      {"[program]\npoint_value = \"0.001\"", "program.point_value"},
      {"[program]\npoint_value_per = 0", "'program.point_value_per' must be at least 1"},
  };
  for (const auto& c : cases) {
    auto config = FromToml(c.toml);
    ASSERT_FALSE(config) << c.toml;
    EXPECT_EQ(config.error().code, core::ErrorCode::kInvalidArgument) << c.toml;
    EXPECT_NE(config.error().message.find(c.message_part), std::string::npos)
        << c.toml << "\n  got: " << config.error().message;
  }
}

}  // namespace
}  // namespace loyalty::ledger
