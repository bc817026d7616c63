#pragma once
// A member's live behavioural state, updated on every event in bounded time and memory, and
// the feature vector derived from it as of any time at or after its latest event.
//
// The state keeps lifetime scalars plus one 16-byte record per active day of the last 365
// days and one record per (day, category) with spend, so every window (30/90/365 days, the
// 30-against-60-day trends, the category mix) is exact to the day. Older records are dropped
// as newer events arrive; events older than the retained year still count in the lifetime
// figures. Purchases arriving out of time order count everywhere except the inter-purchase
// interval statistics, which need each purchase's predecessor.
//
// Replaying a member's events in time order into a fresh state gives the state as of any
// cutoff: that is what point-in-time training snapshots do (see FeatureStore).
// Not thread-safe: FeatureStore serialises updates per member.

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/events/event.hpp"

namespace loyalty::features {

// Every numeric feature, in the order of FeatureVector::values and of snapshot columns.
// Missing values (no purchase yet, an empty window) are NaN.
#define LOYALTY_FEATURES(X)                                                                      \
  X(tenure_days)              /* since the member's first event */                               \
  X(recency_days)             /* since the last purchase */                                      \
  X(frequency)                /* purchases, lifetime */                                          \
  X(monetary)                 /* spend, lifetime, in currency units */                           \
  X(frequency_30d)                                                                               \
  X(frequency_90d)                                                                               \
  X(frequency_365d)                                                                              \
  X(monetary_30d)                                                                                \
  X(monetary_90d)                                                                                \
  X(monetary_365d)                                                                               \
  X(avg_basket)               /* lifetime spend per purchase */                                  \
  X(interpurchase_mean_days)                                                                     \
  X(interpurchase_std_days)                                                                      \
  X(visits_30d)               /* days with any engagement (app, web, store, login) */            \
  X(visits_trend)             /* (a-b)/(a+b) of daily rates, last 30 days vs the 60 before */    \
  X(logins_30d)                                                                                  \
  X(logins_trend)                                                                                \
  X(basket_30d)               /* average basket in the last 30 days */                           \
  X(basket_trend)                                                                                \
  X(email_response_rate_30d)  /* clicks per open */                                              \
  X(email_response_trend)                                                                        \
  X(cart_abandons_30d)                                                                           \
  X(category_count_365d)                                                                         \
  X(top_category_share_365d)                                                                     \
  X(category_shift)           /* total variation: last 90 days' mix vs days 91-365 */            \
  X(points_balance)           /* from the ledger, filled in by the engine */                     \
  X(days_since_redemption)                                                                       \
  X(open_tickets)                                                                                \
  X(last_review_rating)                                                                          \
  X(returns)                                                                                     \
  X(return_rate)              /* returns per purchase */                                         \
  X(offer_response_rate)      /* accepted responses per impression */                            \
  X(days_since_last_event)                                                                       \
  X(sentiment_last)           /* of the latest ticket, review or message, -1 .. 1 */             \
  X(sentiment_mean_90d)                                                                          \
  X(sentiment_trend)          /* mean of the last 30 days minus mean of the 60 before */

enum class Feature {
#define LOYALTY_FEATURE_ENUM(name) name,
  LOYALTY_FEATURES(LOYALTY_FEATURE_ENUM)
#undef LOYALTY_FEATURE_ENUM
      kCount
};

inline constexpr size_t kFeatureCount = static_cast<size_t>(Feature::kCount);

std::string_view FeatureName(Feature feature);
std::optional<Feature> FeatureByName(std::string_view name);

// A feature's value in words a manager reads: recency_days 41 -> "no purchase in 41 days",
// visits_trend -0.4 -> "visits falling". Unknown names fall back to "name = value".
std::string FeatureInWords(std::string_view name, double value);

// The consent purposes features report (FeatureVector::consents holds those granted);
// other purposes are kept by the event log only.
std::span<const std::string_view> ConsentPurposes();

struct FeatureVector {
  std::array<double, kFeatureCount> values{};
  std::string top_category;  // empty when nothing was bought in the last 365 days
  std::vector<std::string> consents;  // purposes the member has granted, sorted

  double operator[](Feature f) const { return values[static_cast<size_t>(f)]; }
  double& operator[](Feature f) { return values[static_cast<size_t>(f)]; }
};

// {"tenure_days": 12.0, "recency_days": null, ..., "top_category": "shoes", "consents": [...]}
core::Json ToJson(const FeatureVector& features);

// Maps category names to small integers shared by all members (memory: a category string is
// stored once, not per member). Provided by FeatureStore; must be thread-safe.
using CategoryInterner = std::function<uint16_t(std::string_view)>;
using CategoryNamer = std::function<std::string(uint16_t)>;

class MemberState {
 public:
  // Applies one accepted event. `currency` is the program currency: purchase lines priced in
  // another currency count in purchase frequency but not in spend.
  void Apply(const events::Event& event, std::string_view currency, const CategoryInterner& intern);

  // The features as of `at`, which must not precede the latest applied event's day by more
  // than the retained windows allow (use a replayed state for the past). Money features are
  // in currency units: minor units divided by `minor_per_unit` (100 for EUR, 1 for JPY).
  FeatureVector Compute(core::Timestamp at, const CategoryNamer& name, double minor_per_unit) const;

  bool has_purchases() const { return purchases_ > 0; }

  // What the buy-till-you-die models need: purchases counted once per day, when the first and
  // the last were, and the spend of the first day apart (it is not a repeat purchase).
  struct PurchaseDays {
    int32_t first_day = 0;  // days since 1970-01-01 (UTC)
    int32_t last_day = 0;
    int32_t days = 0;       // distinct days with a purchase
    int64_t spend_minor = 0;
    int64_t first_day_spend_minor = 0;
  };
  std::optional<PurchaseDays> purchase_days() const;
  // Bytes this state holds, including its records (memory benchmarks).
  size_t MemoryBytes() const;

  bool operator==(const MemberState&) const = default;

 private:
  struct Day {
    int32_t day = 0;        // days since 1970-01-01 (UTC)
    uint32_t spend = 0;     // minor units, saturating
    uint16_t purchases = 0; // saturating counters
    uint16_t logins = 0;
    uint8_t email_opens = 0;
    uint8_t email_clicks = 0;
    uint8_t cart_abandons = 0;
    uint8_t engaged = 0;    // 1 when any engagement event happened that day
    bool operator==(const Day&) const = default;
  };
  struct CategoryDay {
    int32_t day = 0;
    uint16_t category = 0;
    uint32_t spend = 0;
    bool operator==(const CategoryDay&) const = default;
  };

  Day* DayRecord(int32_t day);
  void AddCategorySpend(int32_t day, uint16_t category, uint32_t spend);
  void Trim();
  // Records the sentiment the engine attached to a text event (properties.sentiment.score).
  void AddSentiment(const core::Json& props, int64_t ms, int32_t day);

  int64_t first_event_ms_ = INT64_MAX;
  int64_t last_event_ms_ = INT64_MIN;
  int64_t last_purchase_ms_ = INT64_MIN;
  int64_t last_redemption_ms_ = INT64_MIN;
  int64_t last_sentiment_ms_ = INT64_MIN;  // INT64_MIN: no scored text yet
  float last_sentiment_ = 0;
  int64_t spend_minor_ = 0;
  int64_t first_day_spend_minor_ = 0;
  int32_t first_purchase_day_ = INT32_MAX;
  int32_t last_purchase_day_ = INT32_MIN;
  int32_t purchase_days_ = 0;
  double gap_mean_ = 0;  // Welford over inter-purchase gaps, in days
  double gap_m2_ = 0;
  int32_t gaps_ = 0;
  int32_t purchases_ = 0;
  int32_t returns_ = 0;
  int32_t offer_impressions_ = 0;
  int32_t offer_accepts_ = 0;
  int32_t newest_day_ = INT32_MIN;
  int16_t open_tickets_ = 0;
  int8_t last_rating_ = 0;
  uint8_t consents_granted_ = 0;  // bit per known purpose (see member_state.cpp)
  std::vector<Day> days_;              // ascending by day, within 365 days of newest_day_
  std::vector<CategoryDay> categories_;  // ascending by day
  // Sentiment of scored texts per day, the last 90 days (only members who wrote have any).
  struct TextDay {
    int32_t day = 0;
    float score_sum = 0;
    uint16_t texts = 0;
    bool operator==(const TextDay&) const = default;
  };
  std::vector<TextDay> texts_;  // ascending by day
};

}  // namespace loyalty::features
