// The program's indicators against figures worked out by hand from a handful of members, and
// the lift against the holdout from decisions and the purchases that followed them.

#include "loyalty/engine/program_kpis.hpp"

#include <gtest/gtest.h>

#include "loyalty/engine/platform.hpp"
#include "loyalty/store/sqlite.hpp"
#include "support/temp_dir.hpp"
#include "support/test_store.hpp"

namespace loyalty::engine {
namespace {

using core::Json;

class ProgramKpisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(*store_.Open());
    auto platform = Platform::Open(*db_, {.buffered_decision_log = false}, clock_);
    ASSERT_TRUE(platform) << platform.error().message;
    platform_ = std::move(*platform);
  }

  void Add(const std::string& member, events::EventType type, const std::string& at, Json properties = Json::object()) {
    events::Event e;
    e.id = member + "-" + std::to_string(++events_);
    e.type = type;
    e.at = *core::ParseTimestamp(at);
    e.member = *core::MemberId::Parse(member);
    e.channel = "app";
    e.properties = std::move(properties);
    ASSERT_TRUE(platform_->event_log().Append(std::span(&e, 1)));
  }
  void Buy(const std::string& member, const std::string& at, const std::string& unit_price, int quantity = 1,
           const std::string& currency = "EUR") {
    Add(member, events::EventType::kPurchase, at,
        Json{{"currency", currency},
             {"lines", Json::array({{{"sku", "TEE"}, {"category", "apparel"}, {"quantity", quantity}, {"unit_price", unit_price}}})}});
  }

  ::loyalty::testing::TempDir dir_;

  ::loyalty::testing::TestStore store_;
  core::ManualClock clock_{*core::ParseTimestamp("2026-03-15T12:00:00Z")};
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Platform> platform_;
  int events_ = 0;
};

TEST_F(ProgramKpisTest, MonthlyAndCurrentFiguresMatchTheHandCount) {
  using events::EventType;
  Buy("a", "2024-06-10T10:00:00Z", "15.00");
  Buy("a", "2025-06-01T10:00:00Z", "30.00");
  Buy("a", "2025-12-01T10:00:00Z", "5.00");
  Buy("a", "2026-03-01T10:00:00Z", "10.00", 2);
  Add("a", EventType::kRedemption, "2026-03-05T10:00:00Z");
  Add("a", EventType::kLogin, "2026-03-10T10:00:00Z");
  Buy("b", "2024-05-01T10:00:00Z", "40.00");
  Buy("b", "2025-11-10T10:00:00Z", "8.00");  // bought the quarter before, not since: not retained
  Add("c", EventType::kAppOpen, "2026-02-20T10:00:00Z");
  Add("c", EventType::kOfferImpression, "2026-03-02T10:00:00Z", {{"offer", "bonus"}});
  Add("c", EventType::kOfferResponse, "2026-03-03T10:00:00Z", {{"offer", "bonus"}, {"response", "accepted"}});
  Add("d", EventType::kOfferImpression, "2026-03-04T10:00:00Z", {{"offer", "bonus"}});
  Buy("d", "2026-03-06T10:00:00Z", "5.00", 1, "USD");  // a buyer, but not revenue in EUR
  Add("e", EventType::kAppOpen, "2024-01-15T10:00:00Z");  // the log reaches back far enough for retention
  Add("a", EventType::kLogin, "2026-03-16T10:00:00Z");    // after now: not counted
  Add("a", EventType::kConsentChanged, "2025-01-01T10:00:00Z", {{"purpose", "marketing_email"}, {"granted", true}});
  Add("a", EventType::kConsentChanged, "2025-02-01T10:00:00Z", {{"purpose", "marketing_email"}, {"granted", false}});
  Add("c", EventType::kConsentChanged, "2025-02-01T10:00:00Z", {{"purpose", "marketing_email"}, {"granted", true}});
  Add("d", EventType::kConsentChanged, "2025-02-01T10:00:00Z", {{"purpose", "analytics"}, {"granted", true}});

  auto kpis = platform_->kpis().Compute(3);
  ASSERT_TRUE(kpis) << kpis.error().message;
  const Json& k = *kpis;
  EXPECT_EQ(k["currency"], "EUR");
  ASSERT_EQ(k["months"].size(), 3u) << k.dump();
  const Json& jan = k["months"][0];
  const Json& feb = k["months"][1];
  const Json& mar = k["months"][2];
  EXPECT_EQ(jan["month"], "2026-01");
  EXPECT_EQ(jan["buyers"], 0);
  EXPECT_TRUE(jan["retention_rate"].is_null());  // nobody bought in 2025-08..2025-10
  EXPECT_DOUBLE_EQ(feb["retention_rate"].get<double>(), 0.0);  // b bought in 2025-09..11, not in 2025-12..2026-02
  EXPECT_EQ(feb["engaged_members"], 1);
  EXPECT_TRUE(feb["revenue_per_active_member"].is_null());
  EXPECT_EQ(mar["month"], "2026-03");
  EXPECT_EQ(mar["buyers"], 2);
  EXPECT_EQ(mar["engaged_members"], 3);
  EXPECT_EQ(mar["redeemers"], 1);
  EXPECT_DOUBLE_EQ(mar["revenue"].get<double>(), 20.0);
  EXPECT_DOUBLE_EQ(mar["revenue_per_active_member"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(mar["redemption_rate"].get<double>(), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(mar["retention_rate"].get<double>(), 0.5);  // a and b bought in 2025-10..12; a again since
  EXPECT_EQ(mar["offers_made"], 2);
  EXPECT_EQ(mar["offers_accepted"], 1);
  EXPECT_DOUBLE_EQ(mar["offer_response_rate"].get<double>(), 0.5);

  const Json& now = k["current"];
  EXPECT_EQ(now["members"], 5);
  EXPECT_EQ(now["active_members"], 2);                             // a and d bought in 90 days
  EXPECT_DOUBLE_EQ(now["engagement_rate"].get<double>(), 0.6);     // a, c, d of five
  EXPECT_DOUBLE_EQ(now["redemption_rate"].get<double>(), 0.5);     // a of the two active
  EXPECT_DOUBLE_EQ(now["offer_response_rate"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(now["revenue_per_member"].get<double>(), 21.0);  // a's 30 + 5 + 20 and b's 8 over a, b and d
  EXPECT_DOUBLE_EQ(now["retention_rate"].get<double>(), 0.5);
  EXPECT_EQ(k["consent"]["marketing_email"]["members"], 1);  // c; a withdrew
  EXPECT_DOUBLE_EQ(k["consent"]["marketing_email"]["share"].get<double>(), 0.2);
  EXPECT_EQ(k["consent"]["analytics"]["members"], 1);
  EXPECT_EQ(k["consent"]["marketing_sms"]["members"], 0);
  EXPECT_EQ(k["holdout"]["treated_members"], 0);
  EXPECT_TRUE(k["holdout"]["incremental_revenue"].is_null());

  // A new event is counted at once (the kept answer is for the log as it was).
  Buy("b", "2026-03-14T10:00:00Z", "8.00");
  auto again = platform_->kpis().Compute(3);
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)["months"][2]["buyers"], 3);
  EXPECT_DOUBLE_EQ((*again)["current"]["retention_rate"].get<double>(), 1.0);
}

TEST_F(ProgramKpisTest, TheLiftIsTreatedAgainstHeldOutRevenueWithinTheAttributionWindow) {
  ASSERT_TRUE(platform_->decisions().PutPolicy(Json{{"holdout_percent", 50}, {"attribution_days", 7}}, "manager"));
  ASSERT_TRUE(platform_->decisions().PutOffer(
      "sorry", Json{{"kind", "service_recovery"}, {"channels", {"pos"}}, {"points", 100}, {"marketing", false}}, "manager"));
  std::map<std::string, bool> held_out;
  for (int i = 0; i < 40; ++i) {
    const std::string member = "m" + std::to_string(i);
    ASSERT_TRUE(platform_->ledger().CreateMember(*core::MemberId::Parse(member)));
    auto decision = platform_->decisions().Decide(Json{{"member", member}, {"channel", "pos"}});
    ASSERT_TRUE(decision) << decision.error().message;
    held_out[member] = (*decision)["holdout"].get<bool>();
  }
  int holdouts = 0;
  for (const auto& [member, out] : held_out) holdouts += out;
  ASSERT_GT(holdouts, 5);
  ASSERT_LT(holdouts, 35);
  // Within the week after the decision: the treated spend 20 EUR more on average.
  int i = 0;
  for (const auto& [member, out] : held_out) {
    const bool even = ++i % 2 == 0;
    Buy(member, "2026-03-16T10:00:00Z", out ? (even ? "10.00" : "12.00") : (even ? "30.00" : "32.00"));
  }
  Buy("m0", "2026-03-30T10:00:00Z", "1000.00");  // after the window: not the decision's doing
  clock_.Advance(std::chrono::days(20));

  auto kpis = platform_->kpis().Compute(1);
  ASSERT_TRUE(kpis) << kpis.error().message;
  const Json& h = (*kpis)["holdout"];
  EXPECT_EQ(h["holdout_members"], holdouts) << h.dump();
  EXPECT_EQ(h["treated_members"], 40 - holdouts);
  EXPECT_EQ(h["window_days"], 7);
  EXPECT_NEAR(h["revenue_per_holdout"].get<double>(), 11.0, 1.0);
  EXPECT_NEAR(h["revenue_per_treated"].get<double>(), 31.0, 1.0);
  const Json& lift = h["incremental_revenue"];
  ASSERT_TRUE(lift.is_object()) << h.dump();
  EXPECT_NEAR(lift["mean"].get<double>(), 20.0, 1.0);
  EXPECT_LT(lift["ci_low"].get<double>(), lift["mean"].get<double>());
  EXPECT_GT(lift["ci_low"].get<double>(), 15.0);
  EXPECT_GT(lift["ci_high"].get<double>(), lift["mean"].get<double>());
}

TEST_F(ProgramKpisTest, AProfileMergedIntoAMemberCountsAsThatMember) {
  using events::EventType;
  for (const char* id : {"ana", "web-1", "bob"}) ASSERT_TRUE(platform_->ledger().CreateMember(*core::MemberId::Parse(id)));
  Buy("web-1", "2025-12-01T10:00:00Z", "10.00");  // as a web visitor, the quarter before
  Add("web-1", EventType::kConsentChanged, "2025-12-01T10:00:00Z", {{"purpose", "marketing_email"}, {"granted", true}});
  Buy("ana", "2026-03-01T10:00:00Z", "20.00");    // at the till, this quarter
  Add("ana", EventType::kConsentChanged, "2026-01-01T10:00:00Z", {{"purpose", "marketing_email"}, {"granted", false}});
  Buy("bob", "2026-03-02T10:00:00Z", "5.00");
  Add("bob", EventType::kAppOpen, "2025-01-15T10:00:00Z");  // the log reaches back far enough for retention
  auto merged = platform_->members().Merge(*core::MemberId::Parse("ana"), *core::MemberId::Parse("web-1"),
                                           "same e-mail", "test");
  ASSERT_TRUE(merged) << merged.error().message;

  auto kpis = platform_->kpis().Compute(1);
  ASSERT_TRUE(kpis) << kpis.error().message;
  const Json& now = (*kpis)["current"];
  EXPECT_EQ(now["members"], 2) << kpis->dump();                  // ana (with web-1) and bob
  EXPECT_DOUBLE_EQ(now["retention_rate"].get<double>(), 1.0);     // ana bought before (as web-1) and since
  EXPECT_DOUBLE_EQ(now["revenue_per_member"].get<double>(), 17.5);  // (10 + 20 + 5) over two buyers
  EXPECT_EQ((*kpis)["months"][0]["buyers"], 2);
  EXPECT_EQ((*kpis)["consent"]["marketing_email"]["members"], 0);  // ana's later choice stands
}

TEST_F(ProgramKpisTest, MonthsOutsideOneToThirtySixAreRefused) {
  for (int months : {0, 37}) {
    auto kpis = platform_->kpis().Compute(months);
    ASSERT_FALSE(kpis);
    EXPECT_EQ(kpis.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_NE(kpis.error().message.find("1 to 36"), std::string::npos);
  }
}

}  // namespace
}  // namespace loyalty::engine
