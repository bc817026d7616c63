#include "loyalty/ledger/program.hpp"

#include <cmath>

namespace loyalty::ledger {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::JoinPath;
using core::Result;
using core::Status;

ProgramConfig DefaultProgramConfig() {
  ProgramConfig config;
  config.earn.points_per_unit = 1;
  config.point_value_minor = 1;
  config.point_value_points = 1;
  config.expiry = {ExpiryMode::kAfterEarn, 24};
  config.tiers.basis = TierBasis::kPoints;
  config.tiers.window_months = 12;
  config.tiers.tiers = {{"Member", 0, 1000}, {"Silver", 1000, 1250}, {"Gold", 5000, 1500}};
  return config;
}

namespace {

Result<int64_t> Multiplier(const Json& value, const std::string& path) {
  // Config only: a decimal multiplier (1.25) becomes permille (1250) once, here.
  double factor = 0;
  if (value.is_number()) {
    factor = value.get<double>();
  } else if (value.is_string()) {
    try {
      size_t used = 0;
      factor = std::stod(value.get<std::string>(), &used);
      if (used != value.get<std::string>().size()) throw std::invalid_argument("junk");
    } catch (const std::exception&) {
      return Fail(ErrorCode::kInvalidArgument, "'" + path + "' must be a number such as 1.5");
    }
  } else {
    return Fail(ErrorCode::kInvalidArgument, "'" + path + "' must be a number such as 1.5");
  }
  if (!(factor >= 0 && factor <= 1000)) {
    return Fail(ErrorCode::kInvalidArgument, "'" + path + "' must be between 0 and 1000");
  }
  return static_cast<int64_t>(std::llround(factor * kPermille));
}

Result<std::map<std::string, int64_t>> IntMap(const Json& section, std::string_view key, const std::string& path,
                                              bool multiplier) {
  std::map<std::string, int64_t> out;
  auto it = section.find(key);
  if (it == section.end()) return out;
  const std::string here = JoinPath(path, key);
  if (!it->is_object()) return Fail(ErrorCode::kInvalidArgument, "'" + here + "' must be a table of name = value");
  for (const auto& [name, value] : it->items()) {
    const std::string item_path = JoinPath(here, name);
    if (multiplier) {
      LOYALTY_ASSIGN_OR_RETURN(out[name], Multiplier(value, item_path));
    } else {
      if (!value.is_number_integer() || value.get<int64_t>() < 0) {
        return Fail(ErrorCode::kInvalidArgument, "'" + item_path + "' must be a non-negative integer");
      }
      out[name] = value.get<int64_t>();
    }
  }
  return out;
}

Result<int64_t> MoneyMinor(const Json& value, const std::string& path, const core::Currency& currency) {
  if (value.is_number_integer()) {
    return core::CheckedMultiply(value.get<int64_t>(), static_cast<int64_t>(std::pow(10, currency.minor_digits)));
  }
  if (!value.is_string()) {
    return Fail(ErrorCode::kInvalidArgument, "'" + path + "' must be an amount such as \"100.00\"");
  }
  auto money = core::Money::Parse(value.get<std::string>(), currency.code);
  if (!money) return core::Wrap(money.error(), path);
  return money->minor_units();
}

Status ParseEarn(const Json& s, const std::string& path, const core::Currency& currency, EarnRules& earn) {
  LOYALTY_TRY(core::RejectUnknownFields(s, {"points_per_unit", "category_multipliers", "sku_multipliers", "sku_bonus",
                                            "order_bonus", "max_points_per_order", "pending_days"},
                                        path));
  LOYALTY_ASSIGN_OR_RETURN(auto rate, core::OptionalInt(s, "points_per_unit", path));
  if (rate) earn.points_per_unit = *rate;
  LOYALTY_ASSIGN_OR_RETURN(earn.category_multiplier_permille, IntMap(s, "category_multipliers", path, true));
  LOYALTY_ASSIGN_OR_RETURN(earn.sku_multiplier_permille, IntMap(s, "sku_multipliers", path, true));
  LOYALTY_ASSIGN_OR_RETURN(earn.sku_bonus_points, IntMap(s, "sku_bonus", path, false));
  LOYALTY_ASSIGN_OR_RETURN(auto cap, core::OptionalInt(s, "max_points_per_order", path));
  earn.max_points_per_order = cap;
  LOYALTY_ASSIGN_OR_RETURN(auto pending, core::OptionalInt(s, "pending_days", path));
  if (pending) {
    if (*pending < 0 || *pending > 3650) {
      return Fail(ErrorCode::kInvalidArgument, "'" + JoinPath(path, "pending_days") + "' must be 0 to 3650");
    }
    earn.pending_days = static_cast<int>(*pending);
  }
  if (auto it = s.find("order_bonus"); it != s.end()) {
    if (!it->is_array()) return Fail(ErrorCode::kInvalidArgument, "'" + JoinPath(path, "order_bonus") + "' must be an array");
    for (size_t i = 0; i < it->size(); ++i) {
      const std::string item = JoinPath(path, "order_bonus[" + std::to_string(i) + "]");
      const Json& b = (*it)[i];
      LOYALTY_TRY(core::RejectUnknownFields(b, {"min_spend", "points"}, item));
      OrderBonus bonus;
      if (!b.contains("min_spend")) return Fail(ErrorCode::kInvalidArgument, "'" + item + ".min_spend' is required");
      LOYALTY_ASSIGN_OR_RETURN(bonus.min_spend_minor, MoneyMinor(b["min_spend"], item + ".min_spend", currency));
      LOYALTY_ASSIGN_OR_RETURN(bonus.points, core::RequireInt(b, "points", item));
      earn.order_bonuses.push_back(bonus);
    }
  }
  return {};
}

Status ParseTiers(const Json& s, const std::string& path, const core::Currency& currency, TierPolicy& tiers) {
  LOYALTY_TRY(core::RejectUnknownFields(s, {"basis", "window_months", "levels"}, path));
  LOYALTY_ASSIGN_OR_RETURN(auto basis, core::OptionalString(s, "basis", path));
  if (basis) {
    if (*basis == "points") tiers.basis = TierBasis::kPoints;
    else if (*basis == "spend") tiers.basis = TierBasis::kSpend;
    else return Fail(ErrorCode::kInvalidArgument, "'" + JoinPath(path, "basis") + "' must be \"points\" or \"spend\"");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto window, core::OptionalInt(s, "window_months", path));
  if (window) tiers.window_months = static_cast<int>(*window);
  if (auto it = s.find("levels"); it != s.end()) {
    if (!it->is_array()) return Fail(ErrorCode::kInvalidArgument, "'" + JoinPath(path, "levels") + "' must be an array");
    tiers.tiers.clear();
    for (size_t i = 0; i < it->size(); ++i) {
      const std::string item = JoinPath(path, "levels[" + std::to_string(i) + "]");
      const Json& level = (*it)[i];
      LOYALTY_TRY(core::RejectUnknownFields(level, {"name", "threshold", "earn_multiplier"}, item));
      Tier tier;
      LOYALTY_ASSIGN_OR_RETURN(tier.name, core::RequireString(level, "name", item));
      if (!level.contains("threshold")) return Fail(ErrorCode::kInvalidArgument, "'" + item + ".threshold' is required");
      if (tiers.basis == TierBasis::kSpend) {
        LOYALTY_ASSIGN_OR_RETURN(tier.threshold, MoneyMinor(level["threshold"], item + ".threshold", currency));
      } else {
        LOYALTY_ASSIGN_OR_RETURN(tier.threshold, core::RequireInt(level, "threshold", item));
      }
      if (level.contains("earn_multiplier")) {
        LOYALTY_ASSIGN_OR_RETURN(tier.earn_multiplier_permille,
                                 Multiplier(level["earn_multiplier"], item + ".earn_multiplier"));
      }
      tiers.tiers.push_back(tier);
    }
  }
  return {};
}

}  // namespace

Result<ProgramConfig> ParseProgramConfig(const Json& program) {
  ProgramConfig config = DefaultProgramConfig();
  if (program.is_null()) return config;
  const std::string path = "program";
  LOYALTY_TRY(core::RejectUnknownFields(
      program, {"currency", "point_value", "point_value_per", "earn", "expiry", "tiers", "returns", "rewards"}, path));
  LOYALTY_ASSIGN_OR_RETURN(auto currency, core::OptionalString(program, "currency", path));
  if (currency) {
    auto parsed = core::Currency::FromCode(*currency);
    if (!parsed) return core::Wrap(parsed.error(), "program.currency");
    config.currency = *parsed;
  }
  if (program.contains("point_value")) {
    LOYALTY_ASSIGN_OR_RETURN(config.point_value_minor,
                             MoneyMinor(program["point_value"], "program.point_value", config.currency));
    config.point_value_points = 1;
  }
  LOYALTY_ASSIGN_OR_RETURN(auto per, core::OptionalInt(program, "point_value_per", path));
  if (per) config.point_value_points = *per;

  if (auto it = program.find("earn"); it != program.end()) {
    LOYALTY_TRY(ParseEarn(*it, "program.earn", config.currency, config.earn));
  }
  if (auto it = program.find("expiry"); it != program.end()) {
    LOYALTY_TRY(core::RejectUnknownFields(*it, {"mode", "months"}, "program.expiry"));
    LOYALTY_ASSIGN_OR_RETURN(auto mode, core::OptionalString(*it, "mode", "program.expiry"));
    if (mode) {
      if (*mode == "never") config.expiry.mode = ExpiryMode::kNever;
      else if (*mode == "after_earn") config.expiry.mode = ExpiryMode::kAfterEarn;
      else if (*mode == "inactivity") config.expiry.mode = ExpiryMode::kInactivity;
      else {
        return Fail(ErrorCode::kInvalidArgument,
                    "'program.expiry.mode' must be \"never\", \"after_earn\" or \"inactivity\"");
      }
    }
    LOYALTY_ASSIGN_OR_RETURN(auto months, core::OptionalInt(*it, "months", "program.expiry"));
    if (months) config.expiry.months = static_cast<int>(*months);
  }
  if (auto it = program.find("tiers"); it != program.end()) {
    LOYALTY_TRY(ParseTiers(*it, "program.tiers", config.currency, config.tiers));
  }
  if (auto it = program.find("returns"); it != program.end()) {
    LOYALTY_TRY(core::RejectUnknownFields(*it, {"clawback"}, "program.returns"));
    LOYALTY_ASSIGN_OR_RETURN(auto clawback, core::OptionalString(*it, "clawback", "program.returns"));
    if (clawback) {
      if (*clawback == "cap") config.clawback = ClawbackPolicy::kCapAtBalance;
      else if (*clawback == "reject") config.clawback = ClawbackPolicy::kReject;
      else return Fail(ErrorCode::kInvalidArgument, "'program.returns.clawback' must be \"cap\" or \"reject\"");
    }
  }
  if (auto it = program.find("rewards"); it != program.end()) {
    if (!it->is_array()) return Fail(ErrorCode::kInvalidArgument, "'program.rewards' must be an array of tables");
    for (size_t i = 0; i < it->size(); ++i) {
      const std::string item = "program.rewards[" + std::to_string(i) + "]";
      const Json& r = (*it)[i];
      LOYALTY_TRY(core::RejectUnknownFields(r, {"id", "name", "points", "stock"}, item));
      RewardDefinition reward;
      LOYALTY_ASSIGN_OR_RETURN(reward.id, core::RequireString(r, "id", item));
      LOYALTY_ASSIGN_OR_RETURN(reward.name, core::RequireString(r, "name", item));
      LOYALTY_ASSIGN_OR_RETURN(reward.points_price, core::RequireInt(r, "points", item));
      LOYALTY_ASSIGN_OR_RETURN(reward.stock, core::OptionalInt(r, "stock", item));
      config.rewards.push_back(reward);
    }
  }
  LOYALTY_TRY(ValidateProgramConfig(config));
  return config;
}

Status ValidateProgramConfig(const ProgramConfig& config) {
  auto invalid = [](std::string message) { return Fail(ErrorCode::kInvalidArgument, std::move(message)); };
  if (config.earn.points_per_unit < 0) return invalid("'program.earn.points_per_unit' must not be negative");
  if (config.earn.max_points_per_order && *config.earn.max_points_per_order < 0) {
    return invalid("'program.earn.max_points_per_order' must not be negative");
  }
  for (const auto& b : config.earn.order_bonuses) {
    if (b.points < 0 || b.min_spend_minor < 0) return invalid("'program.earn.order_bonus' values must not be negative");
  }
  if (config.point_value_minor < 0) return invalid("'program.point_value' must not be negative");
  if (config.point_value_points <= 0) return invalid("'program.point_value_per' must be at least 1");
  if (config.expiry.mode != ExpiryMode::kNever && (config.expiry.months < 1 || config.expiry.months > 1200)) {
    return invalid("'program.expiry.months' must be 1 to 1200 when points expire");
  }
  if (config.tiers.window_months < 1 || config.tiers.window_months > 120) {
    return invalid("'program.tiers.window_months' must be 1 to 120");
  }
  if (config.tiers.tiers.empty()) return invalid("'program.tiers.levels' needs at least one tier");
  if (config.tiers.tiers.front().threshold != 0) {
    return invalid("'program.tiers.levels[0].threshold' must be 0 (every member starts in the first tier)");
  }
  for (size_t i = 0; i < config.tiers.tiers.size(); ++i) {
    const auto& t = config.tiers.tiers[i];
    const std::string at = "'program.tiers.levels[" + std::to_string(i) + "]";
    if (t.name.empty()) return invalid(at + ".name' must not be empty");
    if (i > 0 && t.threshold <= config.tiers.tiers[i - 1].threshold) {
      return invalid(at + ".threshold' must be greater than the tier before it");
    }
  }
  for (size_t i = 0; i < config.rewards.size(); ++i) {
    const auto& r = config.rewards[i];
    const std::string at = "'program.rewards[" + std::to_string(i) + "]";
    if (auto ok = core::ValidateId(r.id, "reward id"); !ok) return invalid(at + ".id': " + ok.error().message);
    if (r.points_price <= 0) return invalid(at + ".points' must be at least 1");
    if (r.stock && *r.stock < 0) return invalid(at + ".stock' must not be negative");
  }
  return {};
}

}  // namespace loyalty::ledger
