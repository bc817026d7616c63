#include "loyalty/core/config.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "support/temp_dir.hpp"

namespace loyalty::core {
namespace {

TEST(Config, ReadsTomlIntoJson) {
  auto config = ParseTomlConfig(R"(
[store]
durability = "normal"
busy_timeout_ms = 250
[program.earn]
category_multipliers = { electronics = 2.0 }
[[program.rewards]]
id = "coffee"
points = 150
)",
                                "test.toml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ((*config)["store"]["durability"], "normal");
  EXPECT_EQ((*config)["store"]["busy_timeout_ms"], 250);
  EXPECT_EQ((*config)["program"]["earn"]["category_multipliers"]["electronics"], 2.0);
  EXPECT_EQ((*config)["program"]["rewards"][0]["points"], 150);
}

TEST(Config, SyntaxErrorsNameLineAndColumn) {
  auto bad = ParseTomlConfig("[store]\ndurability = \n", "loyalty.toml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message.rfind("loyalty.toml:2:", 0), 0u) << bad.error().message;
}

TEST(Config, EnvironmentOverridesFileValuesWithTypedScalars) {
  testing::TempDir dir;
  {
    std::ofstream(dir / "loyalty.toml") << "[store]\ndurability = \"full\"\n";
  }
  const Environment env = {{"LOYALTY_STORE__DURABILITY", "normal"},
                           {"LOYALTY_STORE__BUSY_TIMEOUT_MS", "900"},
                           {"LOYALTY_PROGRAM__EARN__PENDING_DAYS", "14"},
                           {"LOYALTY_LOG__JSON", "true"},
                           {"PATH", "/usr/bin"}};
  auto config = LoadConfig(dir / "loyalty.toml", env);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ((*config)["store"]["durability"], "normal");
  EXPECT_EQ((*config)["store"]["busy_timeout_ms"], 900);
  EXPECT_EQ((*config)["program"]["earn"]["pending_days"], 14);
  EXPECT_EQ((*config)["log"]["json"], true);
  EXPECT_FALSE(config->contains("path"));
}

TEST(Config, MissingFileAndBadOverridesAreErrors) {
  auto missing = LoadConfig(std::filesystem::path("/nonexistent/loyalty.toml"), {});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("cannot read configuration file"), std::string::npos);

  Json config = {{"store", "flat"}};
  auto into_scalar = ApplyEnvironmentOverrides(config, {{"LOYALTY_STORE__DURABILITY", "full"}});
  ASSERT_FALSE(into_scalar);
  EXPECT_NE(into_scalar.error().message.find("not a section"), std::string::npos);
  EXPECT_FALSE(ApplyEnvironmentOverrides(Json::object(), {{"LOYALTY_STORE____X", "1"}}));
}

TEST(Config, NoFileMeansOnlyOverrides) {
  auto config = LoadConfig(std::nullopt, {{"LOYALTY_PROGRAM__CURRENCY", "USD"}});
  ASSERT_TRUE(config);
  EXPECT_EQ((*config)["program"]["currency"], "USD");
}

}  // namespace
}  // namespace loyalty::core
