#include "loyalty/decision/offers.hpp"

#include <algorithm>
#include <cmath>

namespace loyalty::decision {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;

namespace {

constexpr std::array<std::string_view, 8> kKindNames = {
    "bonus_points",           "points_multiplier", "discount",         "free_reward",
    "product_recommendation", "content_message",   "service_recovery", "tier_nudge"};
constexpr std::array<std::string_view, kChannelCount> kChannelNames = {"email", "sms", "push", "in_app", "pos", "web"};

template <size_t N>
std::string ListOf(const std::array<std::string_view, N>& names) {
  std::string out;
  for (auto name : names) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

bool ValidId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

Result<std::optional<double>> OptionalNumber(const Json& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::optional<double>();
  if (!it->is_number()) return Fail(ErrorCode::kInvalidArgument, "field '" + std::string(key) + "' must be a number");
  const double value = it->get<double>();
  if (!std::isfinite(value)) return Fail(ErrorCode::kInvalidArgument, "field '" + std::string(key) + "' must be finite");
  return std::optional<double>(value);
}

Result<std::optional<core::Timestamp>> OptionalTime(const Json& object, std::string_view key) {
  LOYALTY_ASSIGN_OR_RETURN(auto text, core::OptionalString(object, key));
  if (!text) return std::optional<core::Timestamp>();
  auto at = core::ParseTimestamp(*text);
  if (!at) return core::Wrap(at.error(), "field '" + std::string(key) + "'");
  return std::optional<core::Timestamp>(*at);
}

core::Status NonNegative(int64_t value, std::string_view field) {
  if (value < 0) return Fail(ErrorCode::kInvalidArgument, "field '" + std::string(field) + "' must not be negative");
  return {};
}

}  // namespace

std::string_view OfferKindName(OfferKind kind) { return kKindNames[static_cast<size_t>(kind)]; }

Result<OfferKind> ParseOfferKind(std::string_view name) {
  for (size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) return static_cast<OfferKind>(i);
  }
  return Fail(ErrorCode::kInvalidArgument, "unknown offer kind '" + std::string(name) + "'; one of " + ListOf(kKindNames));
}

std::string_view ChannelName(Channel channel) { return kChannelNames[static_cast<size_t>(channel)]; }

Result<Channel> ParseChannel(std::string_view name) {
  for (size_t i = 0; i < kChannelNames.size(); ++i) {
    if (kChannelNames[i] == name) return static_cast<Channel>(i);
  }
  return Fail(ErrorCode::kInvalidArgument, "unknown channel '" + std::string(name) + "'; one of " + ListOf(kChannelNames));
}

bool IsInteractive(Channel channel) {
  return channel == Channel::kPos || channel == Channel::kWeb || channel == Channel::kInApp;
}

std::string ConsentPurpose(Channel channel) {
  switch (channel) {
    case Channel::kEmail: return "marketing_email";
    case Channel::kSms: return "marketing_sms";
    case Channel::kPush: return "marketing_push";
    case Channel::kInApp: return "marketing_in_app";
    case Channel::kPos:
    case Channel::kWeb: return "personalization";
  }
  return "personalization";
}

Result<Rule> CompileRule(std::string_view text, const std::vector<std::string>& known_facts, std::string_view field) {
  RuleParse parsed = ParseRule(text);
  if (!parsed.rule) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string(field) + " at " + std::to_string(parsed.position) + ": " + parsed.error);
  }
  if (!known_facts.empty()) {
    for (const auto& name : parsed.rule->facts()) {
      if (std::find(known_facts.begin(), known_facts.end(), name) == known_facts.end()) {
        return Fail(ErrorCode::kInvalidArgument,
                    std::string(field) + ": unknown fact '" + name + "' (GET /v1/decisions/facts lists them)");
      }
    }
  }
  return std::move(*parsed.rule);
}

Result<Offer> ParseOffer(const Json& object, const std::vector<std::string>& known_facts) {
  if (!object.is_object()) return Fail(ErrorCode::kInvalidArgument, "an offer must be a JSON object");
  LOYALTY_TRY(core::RejectUnknownFields(
      object, {"id", "name", "kind", "channels", "valid_from", "valid_until", "eligibility", "points", "multiplier",
               "discount_minor", "message_cost_minor", "priority", "prior_response_rate", "budget_minor",
               "max_per_member_per_week", "marketing", "upsell", "active", "sku", "review_when"}));
  Offer offer;
  LOYALTY_ASSIGN_OR_RETURN(offer.id, core::RequireString(object, "id"));
  if (!ValidId(offer.id)) {
    return Fail(ErrorCode::kInvalidArgument, "field 'id' needs 1 to 64 letters, digits, '-' or '_'");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto name, core::OptionalString(object, "name"));
  offer.name = name.value_or(offer.id);
  if (offer.name.size() > 200) return Fail(ErrorCode::kInvalidArgument, "field 'name' has at most 200 characters");
  LOYALTY_ASSIGN_OR_RETURN(auto kind, core::RequireString(object, "kind"));
  auto parsed_kind = ParseOfferKind(kind);
  if (!parsed_kind) return core::Wrap(parsed_kind.error(), "field 'kind'");
  offer.kind = *parsed_kind;

  LOYALTY_ASSIGN_OR_RETURN(const Json* channels, core::RequireArray(object, "channels"));
  if (channels->empty()) return Fail(ErrorCode::kInvalidArgument, "field 'channels' needs at least one channel");
  for (size_t i = 0; i < channels->size(); ++i) {
    const Json& c = (*channels)[i];
    if (!c.is_string()) return Fail(ErrorCode::kInvalidArgument, "channels[" + std::to_string(i) + "] must be a string");
    auto channel = ParseChannel(c.get<std::string>());
    if (!channel) return core::Wrap(channel.error(), "channels[" + std::to_string(i) + "]");
    if (std::find(offer.channels.begin(), offer.channels.end(), *channel) == offer.channels.end()) {
      offer.channels.push_back(*channel);
    }
  }
  LOYALTY_ASSIGN_OR_RETURN(offer.valid_from, OptionalTime(object, "valid_from"));
  LOYALTY_ASSIGN_OR_RETURN(offer.valid_until, OptionalTime(object, "valid_until"));
  if (offer.valid_from && offer.valid_until && *offer.valid_until <= *offer.valid_from) {
    return Fail(ErrorCode::kInvalidArgument, "field 'valid_until' must be after 'valid_from'");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto eligibility, core::OptionalString(object, "eligibility"));
  offer.eligibility = eligibility.value_or("");
  LOYALTY_ASSIGN_OR_RETURN(offer.rule, CompileRule(offer.eligibility, known_facts));
  LOYALTY_ASSIGN_OR_RETURN(auto review_when, core::OptionalString(object, "review_when"));
  offer.review_when = review_when.value_or("");
  if (!offer.review_when.empty()) {
    LOYALTY_ASSIGN_OR_RETURN(offer.review_rule, CompileRule(offer.review_when, known_facts, "review_when"));
  }

  LOYALTY_ASSIGN_OR_RETURN(auto points, core::OptionalInt(object, "points"));
  offer.points = points.value_or(0);
  LOYALTY_TRY(NonNegative(offer.points, "points"));
  LOYALTY_ASSIGN_OR_RETURN(auto multiplier, OptionalNumber(object, "multiplier"));
  offer.multiplier = multiplier.value_or(1.0);
  if (offer.multiplier < 1.0 || offer.multiplier > 20.0) {
    return Fail(ErrorCode::kInvalidArgument, "field 'multiplier' must be from 1 to 20");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto discount, core::OptionalInt(object, "discount_minor"));
  offer.discount_minor = discount.value_or(0);
  LOYALTY_TRY(NonNegative(offer.discount_minor, "discount_minor"));
  LOYALTY_ASSIGN_OR_RETURN(auto message, core::OptionalInt(object, "message_cost_minor"));
  offer.message_cost_minor = message.value_or(0);
  LOYALTY_TRY(NonNegative(offer.message_cost_minor, "message_cost_minor"));
  LOYALTY_ASSIGN_OR_RETURN(auto priority, OptionalNumber(object, "priority"));
  offer.priority = priority.value_or(1.0);
  if (offer.priority < 0 || offer.priority > 100) return Fail(ErrorCode::kInvalidArgument, "field 'priority' must be from 0 to 100");
  LOYALTY_ASSIGN_OR_RETURN(auto prior, OptionalNumber(object, "prior_response_rate"));
  offer.prior_response_rate = prior.value_or(0.05);
  if (offer.prior_response_rate <= 0 || offer.prior_response_rate >= 1) {
    return Fail(ErrorCode::kInvalidArgument, "field 'prior_response_rate' must be between 0 and 1 (exclusive)");
  }
  LOYALTY_ASSIGN_OR_RETURN(offer.budget_minor, core::OptionalInt(object, "budget_minor"));
  if (offer.budget_minor) LOYALTY_TRY(NonNegative(*offer.budget_minor, "budget_minor"));
  LOYALTY_ASSIGN_OR_RETURN(auto cap, core::OptionalInt(object, "max_per_member_per_week"));
  offer.max_per_member_per_week = static_cast<int>(cap.value_or(1));
  if (cap && (*cap < 1 || *cap > 100)) {
    return Fail(ErrorCode::kInvalidArgument, "field 'max_per_member_per_week' must be from 1 to 100");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto marketing, core::OptionalBool(object, "marketing"));
  offer.marketing = marketing.value_or(offer.kind != OfferKind::kServiceRecovery);
  LOYALTY_ASSIGN_OR_RETURN(auto upsell, core::OptionalBool(object, "upsell"));
  offer.upsell = upsell.value_or(offer.kind != OfferKind::kServiceRecovery && offer.kind != OfferKind::kContentMessage);
  LOYALTY_ASSIGN_OR_RETURN(auto active, core::OptionalBool(object, "active"));
  offer.active = active.value_or(true);
  LOYALTY_ASSIGN_OR_RETURN(auto sku, core::OptionalString(object, "sku"));
  offer.sku = sku.value_or("");
  return offer;
}

Json ToJson(const Offer& offer) {
  Json channels = Json::array();
  for (auto c : offer.channels) channels.push_back(ChannelName(c));
  Json out{{"id", offer.id},
           {"name", offer.name},
           {"kind", OfferKindName(offer.kind)},
           {"channels", channels},
           {"eligibility", offer.eligibility},
           {"review_when", offer.review_when},
           {"points", offer.points},
           {"multiplier", offer.multiplier},
           {"discount_minor", offer.discount_minor},
           {"message_cost_minor", offer.message_cost_minor},
           {"priority", offer.priority},
           {"prior_response_rate", offer.prior_response_rate},
           {"max_per_member_per_week", offer.max_per_member_per_week},
           {"marketing", offer.marketing},
           {"upsell", offer.upsell},
           {"active", offer.active}};
  out["valid_from"] = offer.valid_from ? Json(core::FormatTimestamp(*offer.valid_from)) : Json(nullptr);
  out["valid_until"] = offer.valid_until ? Json(core::FormatTimestamp(*offer.valid_until)) : Json(nullptr);
  out["budget_minor"] = offer.budget_minor ? Json(*offer.budget_minor) : Json(nullptr);
  if (!offer.sku.empty()) out["sku"] = offer.sku;
  return out;
}

Result<ContactPolicy> ParseContactPolicy(const Json& object) {
  if (!object.is_object()) return Fail(ErrorCode::kInvalidArgument, "a contact policy must be a JSON object");
  LOYALTY_TRY(core::RejectUnknownFields(
      object, {"max_per_day", "max_per_week", "max_per_channel_per_day", "quiet_start_hour", "quiet_end_hour",
               "default_utc_offset_minutes", "program_budget_minor", "point_cost_minor_per_1000", "review_cost_minor",
               "escalate_cost_minor", "review_expiry_hours", "holdout_percent", "holdout_salt", "attribution_days", "review_points",
               "escalate_points", "review_member_clv_minor", "review_uncertainty", "tier_change_risk"}));
  ContactPolicy policy;
  auto whole = [&](std::string_view key, int& field, int64_t low, int64_t high) -> core::Status {
    LOYALTY_ASSIGN_OR_RETURN(auto value, core::OptionalInt(object, key));
    if (!value) return {};
    if (*value < low || *value > high) {
      return Fail(ErrorCode::kInvalidArgument,
                  "field '" + std::string(key) + "' must be from " + std::to_string(low) + " to " + std::to_string(high));
    }
    field = static_cast<int>(*value);
    return {};
  };
  LOYALTY_TRY(whole("max_per_day", policy.max_per_day, 0, 100));
  LOYALTY_TRY(whole("max_per_week", policy.max_per_week, 0, 700));
  LOYALTY_TRY(whole("max_per_channel_per_day", policy.max_per_channel_per_day, 0, 100));
  LOYALTY_TRY(whole("quiet_start_hour", policy.quiet_start_hour, 0, 23));
  LOYALTY_TRY(whole("quiet_end_hour", policy.quiet_end_hour, 0, 23));
  LOYALTY_TRY(whole("default_utc_offset_minutes", policy.default_utc_offset_minutes, -14 * 60, 14 * 60));
  LOYALTY_TRY(whole("holdout_percent", policy.holdout_percent, 0, 50));
  LOYALTY_TRY(whole("attribution_days", policy.attribution_days, 1, 90));
  LOYALTY_TRY(whole("review_expiry_hours", policy.review_expiry_hours, 1, 24 * 30));
  LOYALTY_ASSIGN_OR_RETURN(policy.program_budget_minor, core::OptionalInt(object, "program_budget_minor"));
  if (policy.program_budget_minor) LOYALTY_TRY(NonNegative(*policy.program_budget_minor, "program_budget_minor"));
  auto money = [&](std::string_view key, int64_t& field) -> core::Status {
    LOYALTY_ASSIGN_OR_RETURN(auto value, core::OptionalInt(object, key));
    if (!value) return {};
    LOYALTY_TRY(NonNegative(*value, key));
    field = *value;
    return {};
  };
  LOYALTY_TRY(money("point_cost_minor_per_1000", policy.point_cost_minor_per_1000));
  LOYALTY_TRY(money("review_cost_minor", policy.review_cost_minor));
  LOYALTY_TRY(money("escalate_cost_minor", policy.escalate_cost_minor));
  if (policy.escalate_cost_minor < policy.review_cost_minor) {
    return Fail(ErrorCode::kInvalidArgument, "field 'escalate_cost_minor' must not be below 'review_cost_minor'");
  }
  // Risk thresholds that may be left unset (null or absent: not a factor).
  auto optional_money = [&](std::string_view key, std::optional<int64_t>& field) -> core::Status {
    LOYALTY_ASSIGN_OR_RETURN(field, core::OptionalInt(object, key));
    if (field) LOYALTY_TRY(NonNegative(*field, key));
    return {};
  };
  LOYALTY_TRY(optional_money("review_points", policy.review_points));
  LOYALTY_TRY(optional_money("escalate_points", policy.escalate_points));
  LOYALTY_TRY(optional_money("review_member_clv_minor", policy.review_member_clv_minor));
  if (policy.review_points && policy.escalate_points && *policy.escalate_points < *policy.review_points) {
    return Fail(ErrorCode::kInvalidArgument, "field 'escalate_points' must not be below 'review_points'");
  }
  if (auto it = object.find("review_uncertainty"); it != object.end() && !it->is_null()) {
    if (!it->is_number() || !(it->get<double>() > 0 && it->get<double>() <= 100)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "field 'review_uncertainty' must be a number above 0 and at most 100 (the response estimate's sd / mean), or null");
    }
    policy.review_uncertainty = it->get<double>();
  }
  LOYALTY_ASSIGN_OR_RETURN(auto tier_risk, core::OptionalString(object, "tier_change_risk"));
  if (tier_risk) {
    auto risk = ParseRisk(*tier_risk);
    if (!risk) return core::Wrap(risk.error(), "field 'tier_change_risk'");
    policy.tier_change_risk = *risk;
  }
  LOYALTY_ASSIGN_OR_RETURN(auto salt, core::OptionalString(object, "holdout_salt"));
  if (salt) {
    if (salt->empty() || salt->size() > 64) return Fail(ErrorCode::kInvalidArgument, "field 'holdout_salt' needs 1 to 64 characters");
    policy.holdout_salt = *salt;
  }
  return policy;
}

Json ToJson(const ContactPolicy& policy) {
  Json out{{"max_per_day", policy.max_per_day},
           {"max_per_week", policy.max_per_week},
           {"max_per_channel_per_day", policy.max_per_channel_per_day},
           {"quiet_start_hour", policy.quiet_start_hour},
           {"quiet_end_hour", policy.quiet_end_hour},
           {"default_utc_offset_minutes", policy.default_utc_offset_minutes},
           {"point_cost_minor_per_1000", policy.point_cost_minor_per_1000},
           {"review_cost_minor", policy.review_cost_minor},
           {"escalate_cost_minor", policy.escalate_cost_minor},
           {"review_expiry_hours", policy.review_expiry_hours},
           {"holdout_percent", policy.holdout_percent},
           {"holdout_salt", policy.holdout_salt},
           {"attribution_days", policy.attribution_days}};
  auto optional = [&](const char* key, const auto& value) { out[key] = value ? Json(*value) : Json(nullptr); };
  optional("program_budget_minor", policy.program_budget_minor);
  optional("review_points", policy.review_points);
  optional("escalate_points", policy.escalate_points);
  optional("review_member_clv_minor", policy.review_member_clv_minor);
  optional("review_uncertainty", policy.review_uncertainty);
  out["tier_change_risk"] = RiskName(policy.tier_change_risk);
  return out;
}

}  // namespace loyalty::decision
