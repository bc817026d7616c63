// Streaming features: exact windows, trends, interval statistics, category mix, consent, and
// the equality of live state and replay that point-in-time snapshots rely on.

#include "loyalty/features/member_state.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <set>

#include "loyalty/features/feature_store.hpp"

namespace loyalty::features {
namespace {

using core::Json;
using events::Event;
using events::EventType;

core::Timestamp Day(int day, int hour = 12) {
  return *core::ParseTimestamp("2026-01-01T00:00:00Z") + std::chrono::hours(24 * day + hour);
}

Event Make(EventType type, core::Timestamp at, Json props = Json::object()) {
  static int seq = 0;
  return Event{"e" + std::to_string(++seq), type, at, *core::MemberId::Parse("ana"), "app", std::move(props), ""};
}

Event Purchase(int day, std::string price, std::string category = "shoes", int quantity = 1) {
  return Make(EventType::kPurchase, Day(day),
              Json{{"order", "o"},
                   {"lines", {{{"sku", "s"}, {"category", category}, {"quantity", quantity}, {"unit_price", price}}}}});
}

class MemberStateTest : public ::testing::Test {
 protected:
  FeatureVector Apply(const std::vector<Event>& events, core::Timestamp at) {
    MemberState state;
    for (const auto& e : events) store_.ApplyTo(state, e);
    return store_.ComputeFor(state, at);
  }
  FeatureStore store_{*core::Currency::FromCode("EUR")};
};

Event Text(EventType type, int day, double score, Json props = Json::object()) {
  props["sentiment"] = {{"score", score}, {"label", score < 0 ? "negative" : "positive"}};
  return Make(type, Day(day), std::move(props));
}

TEST_F(MemberStateTest, SentimentFeaturesFollowTheScoredTexts) {
  const auto none = Apply({Purchase(0, "10.00")}, Day(10));
  EXPECT_TRUE(std::isnan(none[Feature::sentiment_last]));
  EXPECT_TRUE(std::isnan(none[Feature::sentiment_mean_90d]));
  EXPECT_TRUE(std::isnan(none[Feature::sentiment_trend]));

  // Day 100 falls out of the 90-day window seen from day 200; 130 and 150 are the 60 days
  // before the last 30; 180 and 195 are the last 30.
  const auto f = Apply({Text(EventType::kReview, 100, 0.9, {{"rating", 5}}),
                        Text(EventType::kServiceTicketOpened, 130, 0.5, {{"ticket", "t1"}}),
                        Text(EventType::kMessage, 150, 0.3),
                        Text(EventType::kMessage, 180, -0.4),
                        Text(EventType::kServiceTicketClosed, 195, -0.8, {{"ticket", "t1"}}),
                        Make(EventType::kMessage, Day(196), Json{{"text_ref", "evt:x"}})},  // not scored
                       Day(200));
  EXPECT_FLOAT_EQ(f[Feature::sentiment_last], -0.8f);
  EXPECT_NEAR(f[Feature::sentiment_mean_90d], (0.5 + 0.3 - 0.4 - 0.8) / 4, 1e-6);
  EXPECT_NEAR(f[Feature::sentiment_trend], (-0.4 - 0.8) / 2 - (0.5 + 0.3) / 2, 1e-6);
  // A text arriving late does not replace the latest one.
  const auto late = Apply({Text(EventType::kMessage, 50, -0.5), Text(EventType::kMessage, 40, 0.7)}, Day(60));
  EXPECT_FLOAT_EQ(late[Feature::sentiment_last], -0.5f);
  EXPECT_TRUE(std::isnan(late[Feature::sentiment_trend]));  // nothing in the 60 days before the last 30
}

TEST_F(MemberStateTest, WindowsCountExactlyToTheDay) {
  const auto f = Apply({Purchase(0, "10.00"), Purchase(300, "20.00"), Purchase(340, "5.00", "shoes", 2),
                        Purchase(369, "1.50")},
                       Day(369, 20));
  EXPECT_EQ(f[Feature::frequency], 4);
  EXPECT_DOUBLE_EQ(f[Feature::monetary], 41.5);
  EXPECT_EQ(f[Feature::frequency_30d], 2);  // days 340..369
  EXPECT_DOUBLE_EQ(f[Feature::monetary_30d], 11.5);
  EXPECT_EQ(f[Feature::frequency_90d], 3);
  EXPECT_EQ(f[Feature::frequency_365d], 3);  // day 0 is 369 days back
  EXPECT_DOUBLE_EQ(f[Feature::avg_basket], 41.5 / 4);
  EXPECT_NEAR(f[Feature::recency_days], 8.0 / 24, 1e-9);
  EXPECT_NEAR(f[Feature::tenure_days], 369 + 8.0 / 24, 1e-9);
}

TEST_F(MemberStateTest, InterPurchaseIntervalMeanAndSpread) {
  const auto f = Apply({Purchase(0, "1.00"), Purchase(10, "1.00"), Purchase(30, "1.00")}, Day(31));
  EXPECT_DOUBLE_EQ(f[Feature::interpurchase_mean_days], 15);
  EXPECT_NEAR(f[Feature::interpurchase_std_days], std::sqrt(50.0), 1e-9);  // gaps 10 and 20
  const auto single = Apply({Purchase(0, "1.00")}, Day(1));
  EXPECT_TRUE(std::isnan(single[Feature::interpurchase_mean_days]));
  EXPECT_TRUE(std::isnan(Apply({}, Day(1))[Feature::recency_days]));
}

TEST_F(MemberStateTest, TrendsCompareTheLast30DaysWithThe60Before) {
  std::vector<Event> events;
  for (int d = 0; d < 60; d += 2) events.push_back(Make(EventType::kLogin, Day(d)));  // 30 logins in the earlier 60 days
  for (int d = 60; d < 90; d += 3) events.push_back(Make(EventType::kLogin, Day(d)));  // 10 in the last 30
  events.push_back(Make(EventType::kEmailOpen, Day(80)));
  events.push_back(Make(EventType::kEmailOpen, Day(81)));
  events.push_back(Make(EventType::kEmailClick, Day(81)));
  events.push_back(Make(EventType::kCartAbandon, Day(85)));
  const auto f = Apply(events, Day(89));
  EXPECT_EQ(f[Feature::logins_30d], 10);
  // 10 logins in 30 days against 30 in the 60 before: (1/3 - 1/2) / (1/3 + 1/2).
  EXPECT_NEAR(f[Feature::logins_trend], -0.2, 1e-9);
  EXPECT_EQ(f[Feature::visits_30d], 10);
  EXPECT_NEAR(f[Feature::visits_trend], -0.2, 1e-9);
  EXPECT_DOUBLE_EQ(f[Feature::email_response_rate_30d], 0.5);
  EXPECT_EQ(f[Feature::cart_abandons_30d], 1);
  EXPECT_TRUE(std::isnan(f[Feature::basket_trend]));  // no purchases in either period
}

TEST_F(MemberStateTest, CategoryMixAndItsShift) {
  const auto f = Apply({Purchase(0, "30.00", "shoes"), Purchase(100, "10.00", "bags"), Purchase(300, "40.00", "bags")},
                       Day(300));
  EXPECT_EQ(f[Feature::category_count_365d], 2);
  EXPECT_EQ(f.top_category, "bags");
  EXPECT_DOUBLE_EQ(f[Feature::top_category_share_365d], 50.0 / 80.0);
  // Last 90 days: all bags. Before: 30 shoes, 10 bags -> shift = |1 - 0.25| + |0 - 0.75| over 2.
  EXPECT_DOUBLE_EQ(f[Feature::category_shift], 0.75);
}

TEST_F(MemberStateTest, ServiceReviewsOffersRedemptionsAndConsent) {
  const auto f = Apply({Make(EventType::kServiceTicketOpened, Day(1), {{"ticket", "t1"}}),
                        Make(EventType::kServiceTicketOpened, Day(2), {{"ticket", "t2"}}),
                        Make(EventType::kServiceTicketClosed, Day(3), {{"ticket", "t1"}}),
                        Make(EventType::kServiceTicketClosed, Day(3), {{"ticket", "t9"}}),
                        Make(EventType::kServiceTicketClosed, Day(3), {{"ticket", "t8"}}),
                        Make(EventType::kReview, Day(4), {{"rating", 2}}),
                        Make(EventType::kOfferImpression, Day(5), {{"offer", "x"}}),
                        Make(EventType::kOfferImpression, Day(5), {{"offer", "y"}}),
                        Make(EventType::kOfferResponse, Day(6), {{"offer", "x"}, {"response", "accepted"}}),
                        Make(EventType::kRedemption, Day(7), Json::object()),
                        Make(EventType::kConsentChanged, Day(1), {{"purpose", "marketing_email"}, {"granted", true}}),
                        Make(EventType::kConsentChanged, Day(1), {{"purpose", "marketing_sms"}, {"granted", true}}),
                        Make(EventType::kConsentChanged, Day(8), {{"purpose", "marketing_sms"}, {"granted", false}})},
                       Day(10));
  EXPECT_EQ(f[Feature::open_tickets], 0);  // closes never go below zero
  EXPECT_EQ(f[Feature::last_review_rating], 2);
  EXPECT_DOUBLE_EQ(f[Feature::offer_response_rate], 0.5);
  EXPECT_DOUBLE_EQ(f[Feature::days_since_redemption], 3);
  EXPECT_EQ(f.consents, std::vector<std::string>{"marketing_email"});
}

TEST_F(MemberStateTest, PurchasesInAnotherCurrencyCountButAddNoSpend) {
  auto usd = Make(EventType::kPurchase, Day(1),
                  Json{{"order", "o"}, {"currency", "USD"},
                       {"lines", {{{"sku", "s"}, {"quantity", 1}, {"unit_price", "9.00"}}}}});
  const auto f = Apply({usd, Purchase(2, "1.00")}, Day(3));
  EXPECT_EQ(f[Feature::frequency], 2);
  EXPECT_DOUBLE_EQ(f[Feature::monetary], 1.0);
}

TEST_F(MemberStateTest, MemoryStaysBoundedForAYearOfDailyActivity) {
  MemberState state;
  for (int d = 0; d < 1000; ++d) {
    store_.ApplyTo(state, Purchase(d, "3.00", d % 2 ? "a" : "b"));
    store_.ApplyTo(state, Make(EventType::kLogin, Day(d)));
  }
  // At most 365 day records and 2 x 365 category records are kept, whatever the history length.
  EXPECT_LT(state.MemoryBytes(), sizeof(MemberState) + 2 * (365 * 16 + 730 * 12) + 4096);
  EXPECT_EQ(store_.ComputeFor(state, Day(999))[Feature::frequency_365d], 365);
}

// Against a reference that recomputes each window from the raw event list: the streaming
// state, updated event by event in bounded memory, must give the same numbers at any cutoff
// after the events it saw.
RC_GTEST_PROP(MemberStateProperty, StreamingWindowsEqualARecomputationFromTheRawEvents, ()) {
  FeatureStore store(*core::Currency::FromCode("EUR"));
  const auto count = *rc::gen::inRange(1, 120);
  std::vector<Event> events;
  int minute = 0;
  for (int i = 0; i < count; ++i) {
    minute += *rc::gen::inRange(0, 60 * 24 * 12);
    const auto at = Day(0, 0) + std::chrono::minutes(minute);
    switch (*rc::gen::inRange(0, 5)) {
      case 0:
        events.push_back(Make(EventType::kPurchase, at,
                              Json{{"order", "o"},
                                   {"lines",
                                    {{{"sku", "s"},
                                      {"category", *rc::gen::element<std::string>("a", "b", "c")},
                                      {"quantity", *rc::gen::inRange(1, 4)},
                                      {"unit_price", std::to_string(*rc::gen::inRange(1, 500)) + ".25"}}}}}));
        break;
      case 1: events.push_back(Make(EventType::kLogin, at)); break;
      case 2: events.push_back(Make(EventType::kEmailOpen, at)); break;
      case 3: events.push_back(Make(EventType::kEmailClick, at)); break;
      default: events.push_back(Make(EventType::kAppOpen, at)); break;
    }
  }
  MemberState state;
  for (const auto& e : events) store.ApplyTo(state, e);
  const auto as_of = events.back().at + std::chrono::minutes(*rc::gen::inRange(0, 60 * 24 * 400));
  const auto f = store.ComputeFor(state, as_of);

  auto day_of = [](core::Timestamp t) { return std::chrono::floor<std::chrono::days>(t).time_since_epoch().count(); };
  const auto today = day_of(as_of);
  struct Reference {
    double purchases = 0, spend = 0, logins = 0, opens = 0, clicks = 0;
    std::set<int64_t> visit_days;
  };
  Reference w30, w90, w365, all;
  for (const auto& e : events) {
    const auto age = today - day_of(e.at);
    std::vector<Reference*> in{&all};
    if (age < 365) in.push_back(&w365);
    if (age < 90) in.push_back(&w90);
    if (age < 30) in.push_back(&w30);
    for (Reference* r : in) {
      if (e.type == EventType::kPurchase) {
        const auto& line = e.properties["lines"][0];
        r->purchases += 1;
        r->spend += std::stod(line["unit_price"].get<std::string>()) * line["quantity"].get<int>();
      }
      if (e.type == EventType::kLogin) r->logins += 1;
      if (e.type == EventType::kEmailOpen) r->opens += 1;
      if (e.type == EventType::kEmailClick) r->clicks += 1;
      if (e.type != EventType::kEmailOpen && e.type != EventType::kEmailClick) r->visit_days.insert(day_of(e.at));
    }
  }
  RC_ASSERT(f[Feature::frequency] == all.purchases);
  RC_ASSERT(std::abs(f[Feature::monetary] - all.spend) < 1e-6);
  RC_ASSERT(f[Feature::frequency_30d] == w30.purchases);
  RC_ASSERT(f[Feature::frequency_90d] == w90.purchases);
  RC_ASSERT(f[Feature::frequency_365d] == w365.purchases);
  RC_ASSERT(std::abs(f[Feature::monetary_30d] - w30.spend) < 1e-6);
  RC_ASSERT(std::abs(f[Feature::monetary_365d] - w365.spend) < 1e-6);
  RC_ASSERT(f[Feature::logins_30d] == w30.logins);
  RC_ASSERT(f[Feature::visits_30d] == static_cast<double>(w30.visit_days.size()));
  if (w30.opens > 0) RC_ASSERT(std::abs(f[Feature::email_response_rate_30d] - w30.clicks / w30.opens) < 1e-12);
  if (w30.opens == 0) RC_ASSERT(std::isnan(f[Feature::email_response_rate_30d]));
}

}  // namespace
}  // namespace loyalty::features

namespace loyalty::features {
namespace {

TEST(FeatureInWordsTest, ReadsLikeAManagerWouldSayIt) {
  EXPECT_EQ(FeatureInWords("recency_days", 41.2), "no purchase in 41 days");
  EXPECT_EQ(FeatureInWords("recency_days", 1), "no purchase in 1 day");
  EXPECT_EQ(FeatureInWords("recency_days", std::nan("")), "never purchased");
  EXPECT_EQ(FeatureInWords("frequency_90d", 1), "1 purchase in the last 90 days");
  EXPECT_EQ(FeatureInWords("visits_trend", -0.4), "visits falling");
  EXPECT_EQ(FeatureInWords("email_response_rate_30d", 0.25), "clicks 25% of e-mails opened");
  EXPECT_EQ(FeatureInWords("visits_trend", std::nan("")), "visits trend unknown");
  EXPECT_EQ(FeatureInWords("shoe_size", 9), "shoe_size = 9.00");
  for (size_t i = 0; i < kFeatureCount; ++i) {
    const std::string name(FeatureName(static_cast<Feature>(i)));
    EXPECT_EQ(FeatureByName(name), static_cast<Feature>(i));
    EXPECT_EQ(FeatureInWords(name, 2).find(" = "), std::string::npos) << name;  // every feature has words
  }
}

}  // namespace
}  // namespace loyalty::features
