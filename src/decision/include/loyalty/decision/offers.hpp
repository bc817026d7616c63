#pragma once
// The offer catalogue and the contact policy: what the program may offer, on which channels,
// when, to whom (an eligibility rule), at what cost and within which budgets; how often a
// member may be contacted and when not. Value types, validated once when parsed; safe to copy
// between threads.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/decision/automation.hpp"
#include "loyalty/decision/rules.hpp"

namespace loyalty::decision {

enum class OfferKind {
  kBonusPoints,
  kPointsMultiplier,
  kDiscount,
  kFreeReward,
  kProductRecommendation,
  kContentMessage,
  kServiceRecovery,
  kTierNudge,
};
std::string_view OfferKindName(OfferKind kind);  // "bonus_points", ...
[[nodiscard]] core::Result<OfferKind> ParseOfferKind(std::string_view name);

enum class Channel { kEmail, kSms, kPush, kInApp, kPos, kWeb };
inline constexpr size_t kChannelCount = 6;
std::string_view ChannelName(Channel channel);  // "email", "sms", "push", "in_app", "pos", "web"
[[nodiscard]] core::Result<Channel> ParseChannel(std::string_view name);
// Channels the member is on right now (pos, web, in_app): the offer is shown at once, and quiet
// hours do not apply. The others are sent (email, sms, push).
bool IsInteractive(Channel channel);
// The consent purpose a channel's marketing needs: "marketing_email", "marketing_sms", ...
std::string ConsentPurpose(Channel channel);

struct Offer {
  std::string id;  // 1-64 characters of letters, digits, '-', '_'
  std::string name;
  OfferKind kind = OfferKind::kBonusPoints;
  std::vector<Channel> channels;
  std::optional<core::Timestamp> valid_from;
  std::optional<core::Timestamp> valid_until;  // exclusive
  std::string eligibility;                     // rule text; empty: everyone
  Rule rule;                                   // eligibility, parsed
  // A rule that sends the offer to a person (at least "review") when it holds for the member,
  // whatever its cost: e.g. "sentiment_last < -0.3 and open_ticket". Empty: cost alone decides.
  std::string review_when;
  std::optional<Rule> review_rule;

  // Cost model, in minor units of the program currency. A response costs the points granted
  // (at the program's point cost) plus the discount; every contact costs the message.
  int64_t points = 0;
  double multiplier = 1.0;   // points multiplier offers: extra points = (multiplier-1) x basket
  int64_t discount_minor = 0;
  int64_t message_cost_minor = 0;

  double priority = 1.0;     // the manager's lever: expected value is multiplied by it
  double prior_response_rate = 0.05;  // the bandit's prior mean before any outcome
  std::optional<int64_t> budget_minor;  // total the offer may commit; none: the program budget only
  int max_per_member_per_week = 1;
  bool marketing = true;     // needs the channel's marketing consent; service messages do not
  bool upsell = true;        // suppressed while the member has a service ticket open
  bool active = true;
  std::string sku;           // product recommendation: the product; empty: the member's top pick
};

// Parses an offer document (POST /v1/offers). Errors name the field to fix. Fails on rule
// errors with their position, and on facts not in `known_facts` (when it is not empty).
[[nodiscard]] core::Result<Offer> ParseOffer(const core::Json& object, const std::vector<std::string>& known_facts);
core::Json ToJson(const Offer& offer);

// Contact policy: caps per member, quiet hours, the program budget and the thresholds that
// route decisions to a person.
struct ContactPolicy {
  int max_per_day = 2;
  int max_per_week = 5;
  int max_per_channel_per_day = 1;
  int quiet_start_hour = 21;  // local time of the member: no sends from 21:00 ...
  int quiet_end_hour = 8;     // ... to 08:00 (start == end: no quiet hours)
  int default_utc_offset_minutes = 0;  // when the context does not give the member's
  std::optional<int64_t> program_budget_minor;  // total all offers may commit
  int64_t point_cost_minor_per_1000 = 1000;     // what 1,000 points cost the program (minor units)
  // Risk thresholds: an offer reaching a "review" threshold is medium risk, an "escalate" one
  // high risk (see automation.hpp for what each phase does with them). Unset: not a factor.
  int64_t review_cost_minor = 5000;    // worst-case cost
  int64_t escalate_cost_minor = 50000;
  std::optional<int64_t> review_points;    // points a response grants
  std::optional<int64_t> escalate_points;
  std::optional<int64_t> review_member_clv_minor;  // members worth this much get a person's eye
  std::optional<double> review_uncertainty;        // response estimate's sd / mean
  RiskClass tier_change_risk = RiskClass::kMedium; // an offer that moves the member's tier
  int review_expiry_hours = 72;        // a routed offer nobody decided on by then expires
  int holdout_percent = 5;             // members held out of all marketing, for measurement
  std::string holdout_salt = "holdout-1";
  int attribution_days = 7;            // a purchase within this many days of a decision counts
};

[[nodiscard]] core::Result<ContactPolicy> ParseContactPolicy(const core::Json& object);
core::Json ToJson(const ContactPolicy& policy);

// Parses a rule into a Result: "eligibility at 14: expected a value after '>'"; facts outside
// `known_facts` are refused when it is not empty.
[[nodiscard]] core::Result<Rule> CompileRule(std::string_view text, const std::vector<std::string>& known_facts,
                                             std::string_view field = "eligibility");

}  // namespace loyalty::decision
