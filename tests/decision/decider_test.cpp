// The decision pipeline through Decider: eligibility, suppression, consent, scoring, caps and
// budgets (also under concurrent decisions), send times, routing, holdout and explanations.

#include "loyalty/decision/decider.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace loyalty::decision {
namespace {

using core::Json;

const core::Timestamp kNoon = *core::ParseTimestamp("2026-03-02T12:00:00Z");

Offer MakeOffer(Json doc) {
  auto offer = ParseOffer(doc, {});
  EXPECT_TRUE(offer.has_value()) << (offer ? "" : offer.error().message);
  return offer.value_or(Offer{});
}

MemberView Member(std::string id) {
  MemberView m;
  m.member = std::move(id);
  m.segment = "at_risk";
  m.churn_probability = 0.7;
  m.clv_minor = 20000;
  m.basket_minor = 5000;
  m.consents = {"marketing_email", "marketing_push", "personalization"};
  m.facts.Set("churn_risk", 0.7);
  m.facts.Set("open_ticket", false);
  return m;
}

ContactPolicy NoHoldout() {
  ContactPolicy p;
  p.holdout_percent = 0;
  return p;
}

TEST(Decider, PicksTheOfferWithTheHighestExpectedValueAndExplainsIt) {
  Decider decider(7);
  decider.Configure({MakeOffer({{"id", "small"}, {"kind", "bonus_points"}, {"channels", {"email"}}, {"points", 100},
                                {"prior_response_rate", 0.05}}),
                     MakeOffer({{"id", "winback"}, {"kind", "discount"}, {"channels", {"email"}}, {"discount_minor", 500},
                                {"eligibility", "churn_risk > 0.6"}, {"prior_response_rate", 0.3}}),
                     MakeOffer({{"id", "loyal-only"}, {"kind", "bonus_points"}, {"channels", {"email"}},
                                {"eligibility", "churn_risk < 0.2"}, {"prior_response_rate", 0.9}})},
                    NoHoldout());
  const Decision d = decider.Decide(Member("ann"), {.at = kNoon}, Strategy::kAi);
  ASSERT_EQ(d.offers.size(), 1u);
  EXPECT_EQ(d.offers[0].offer, "winback");
  // 0.3 x (5000 + 0.7 x 20000 - 500) = 5550
  EXPECT_NEAR(d.offers[0].expected_value_minor, 0.3 * (5000 + 0.7 * 20000 - 500), 1e-6);
  EXPECT_EQ(d.offers[0].cost_minor, 500);
  EXPECT_GT(d.offers[0].propensity, 0.5);
  EXPECT_EQ(d.offers[0].bandit_arm, "winback|at_risk");
  const Json explanation = ExplanationJson(d);
  EXPECT_EQ(explanation["excluded"]["eligibility rule not met"], Json::array({"loyal-only"}));
  EXPECT_EQ(explanation["candidates"].size(), 2u);  // the two scored, the winner first
  EXPECT_EQ(explanation["candidates"][0]["outcome"], "chosen");
  EXPECT_EQ(explanation["facts"]["churn_risk"], 0.7);
}

TEST(Decider, SuppressesUpsellDuringATicketAndMarketingWithoutConsent) {
  Decider decider;
  decider.Configure({MakeOffer({{"id", "upsell"}, {"kind", "discount"}, {"channels", {"email"}}}),
                     MakeOffer({{"id", "sms-only"}, {"kind", "bonus_points"}, {"channels", {"sms"}}, {"upsell", false}}),
                     MakeOffer({{"id", "sorry"}, {"kind", "service_recovery"}, {"channels", {"sms"}}, {"points", 200}})},
                    NoHoldout());
  MemberView m = Member("bob");
  m.open_ticket = true;
  const Decision d = decider.Decide(m, {.at = kNoon, .k = 3}, Strategy::kAi);
  // The service-recovery gesture is not marketing: no consent needed, and not an upsell.
  ASSERT_EQ(d.offers.size(), 1u);
  EXPECT_EQ(d.offers[0].offer, "sorry");
  EXPECT_EQ(d.offers[0].channel, Channel::kSms);
  std::map<std::string, std::string> outcomes;
  const Json explanation = ExplanationJson(d);
  for (const auto& [reason, offers] : explanation["excluded"].items()) {
    for (const auto& offer : offers) outcomes[offer.get<std::string>()] = reason;
  }
  EXPECT_EQ(outcomes["upsell"], "suppressed: a service ticket is open");
  EXPECT_EQ(outcomes["sms-only"], "suppressed: no consent on any of its channels");
}

TEST(Decider, CapsPerMemberHoldAcrossDecisions) {
  Decider decider;
  ContactPolicy policy = NoHoldout();
  policy.max_per_day = 2;
  decider.Configure({MakeOffer({{"id", "a"}, {"kind", "bonus_points"}, {"channels", {"email", "push"}},
                                {"max_per_member_per_week", 5}}),
                     MakeOffer({{"id", "b"}, {"kind", "bonus_points"}, {"channels", {"email", "push"}}})},
                    policy);
  int made = 0;
  for (int i = 0; i < 5; ++i) {
    made += static_cast<int>(decider.Decide(Member("cat"), {.at = kNoon + std::chrono::minutes(i)}, Strategy::kRules).offers.size());
  }
  EXPECT_EQ(made, 2);  // two channels, one contact per channel per day, two per day
  // The next day the member may be contacted again.
  EXPECT_EQ(decider.Decide(Member("cat"), {.at = kNoon + std::chrono::hours(25)}, Strategy::kRules).offers.size(), 1u);
}

TEST(Decider, CapsAndBudgetsAreNeverExceededUnderConcurrentDecisions) {
  Decider decider;
  ContactPolicy policy = NoHoldout();
  policy.max_per_day = 3;
  policy.max_per_channel_per_day = 3;
  policy.program_budget_minor = 100000;
  decider.Configure({MakeOffer({{"id", "a"}, {"kind", "discount"}, {"channels", {"email"}}, {"discount_minor", 1000},
                                {"budget_minor", 30000}, {"max_per_member_per_week", 3}}),
                     MakeOffer({{"id", "b"}, {"kind", "discount"}, {"channels", {"push"}}, {"discount_minor", 1000},
                                {"max_per_member_per_week", 3}})},
                    policy);
  std::atomic<int> per_member[20] = {};
  std::atomic<int64_t> offer_a{0}, total{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const int member = (i + t) % 20;
        const Decision d = decider.Decide(Member("m" + std::to_string(member)), {.at = kNoon, .k = 2}, Strategy::kRandom);
        for (const auto& o : d.offers) {
          ++per_member[member];
          total += o.cost_minor;
          if (o.offer == "a") offer_a += o.cost_minor;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& count : per_member) EXPECT_LE(count.load(), 3);
  EXPECT_LE(offer_a.load(), 30000);
  EXPECT_LE(total.load(), 100000);
  EXPECT_EQ(decider.BudgetReport()["program_committed_minor"], total.load());
}

TEST(Decider, SendsOutsideQuietHoursAndAheadOfTheNextPurchase) {
  Decider decider;
  ContactPolicy policy = NoHoldout();
  policy.quiet_start_hour = 21;
  policy.quiet_end_hour = 8;
  decider.Configure({MakeOffer({{"id", "a"}, {"kind", "bonus_points"}, {"channels", {"email"}}})}, policy);
  const core::Timestamp late = *core::ParseTimestamp("2026-03-02T22:30:00Z");
  Decision d = decider.Decide(Member("dan"), {.at = late}, Strategy::kRules);
  ASSERT_EQ(d.offers.size(), 1u);
  EXPECT_EQ(core::FormatTimestamp(d.offers[0].send_at), "2026-03-03T08:00:00Z");
  // Two hours east of UTC it is already 00:30 local: send at 08:00 local = 06:00 UTC.
  d = decider.Decide(Member("eve"), {.at = late, .utc_offset_minutes = 120}, Strategy::kRules);
  EXPECT_EQ(core::FormatTimestamp(d.offers[0].send_at), "2026-03-03T06:00:00Z");
  MemberView soon = Member("fay");
  soon.days_to_next_purchase = 4;
  d = decider.Decide(soon, {.at = kNoon}, Strategy::kRules);
  EXPECT_EQ(core::FormatTimestamp(d.offers[0].send_at), "2026-03-05T12:00:00Z");
  // At the point of sale the offer is shown now.
  Decider pos;
  pos.Configure({MakeOffer({{"id", "a"}, {"kind", "bonus_points"}, {"channels", {"pos", "email"}}})}, policy);
  d = pos.Decide(Member("gus"), {.at = late, .channel = Channel::kPos}, Strategy::kRules);
  ASSERT_EQ(d.offers.size(), 1u);
  EXPECT_EQ(d.offers[0].channel, Channel::kPos);
  EXPECT_EQ(d.offers[0].send_at, late);
}

TEST(Decider, RoutesCostlyOffersToPeople) {
  Decider decider;
  ContactPolicy policy = NoHoldout();
  policy.review_cost_minor = 1000;
  policy.escalate_cost_minor = 10000;
  decider.Configure({MakeOffer({{"id", "cheap"}, {"kind", "bonus_points"}, {"channels", {"email"}}, {"points", 100}}),
                     MakeOffer({{"id", "mid"}, {"kind", "discount"}, {"channels", {"push"}}, {"discount_minor", 2000}}),
                     MakeOffer({{"id", "big"}, {"kind", "free_reward"}, {"channels", {"email", "push", "pos"}},
                                {"discount_minor", 20000}, {"priority", 0.5}})},
                    policy);
  policy.max_per_channel_per_day = 3;
  policy.max_per_day = 3;
  decider.Configure(*decider.offers(), policy);
  const Decision d = decider.Decide(Member("hal"), {.at = kNoon, .k = 3}, Strategy::kRules);
  std::map<std::string, std::string> routing;
  for (const auto& o : d.offers) routing[o.offer] = o.routing;
  EXPECT_EQ(routing["cheap"], "auto");
  EXPECT_EQ(routing["mid"], "review");
  EXPECT_EQ(routing["big"], "escalate");
}

// A text signal as a trigger: an angry member with an open ticket gets the service-recovery
// gesture, but a person looks at it first; a calm one gets it at once.
TEST(Decider, AnOffersReviewRuleSendsItToAPersonWhenItHolds) {
  Decider decider;
  decider.Configure({MakeOffer({{"id", "sorry"},
                                {"kind", "service_recovery"},
                                {"channels", {"email"}},
                                {"points", 200},
                                {"eligibility", "open_ticket"},
                                {"review_when", "sentiment_last < -0.3"}})},
                    NoHoldout());
  MemberView angry = Member("ann");
  angry.facts.Set("open_ticket", true);
  angry.facts.Set("sentiment_last", -0.8);
  MemberView calm = Member("bob");
  calm.facts.Set("open_ticket", true);
  calm.facts.Set("sentiment_last", 0.2);
  const Decision to_review = decider.Decide(angry, {.at = kNoon, .k = 1, .reserve = false}, Strategy::kRules);
  ASSERT_EQ(to_review.offers.size(), 1u);
  EXPECT_EQ(to_review.offers[0].routing, "review");
  const Decision at_once = decider.Decide(calm, {.at = kNoon, .k = 1, .reserve = false}, Strategy::kRules);
  ASSERT_EQ(at_once.offers.size(), 1u);
  EXPECT_EQ(at_once.offers[0].routing, "auto");
  auto bad = ParseOffer({{"id", "x"}, {"kind", "service_recovery"}, {"channels", {"email"}}, {"review_when", "sentiment_last <"}},
                        {"sentiment_last"});
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("review_when at"), std::string::npos) << bad.error().message;
}

TEST(Decider, HoldoutMembersGetNoMarketing) {
  Decider decider;
  ContactPolicy policy;
  policy.holdout_percent = 50;
  decider.Configure({MakeOffer({{"id", "a"}, {"kind", "bonus_points"}, {"channels", {"email"}}, {"max_per_member_per_week", 9}})},
                    policy);
  int held = 0;
  for (int i = 0; i < 400; ++i) {
    const Decision d = decider.Decide(Member("h" + std::to_string(i)), {.at = kNoon, .reserve = false}, Strategy::kAi);
    if (d.holdout) {
      ++held;
      EXPECT_TRUE(d.offers.empty());
    }
  }
  EXPECT_NEAR(held, 200, 40);
}

TEST(Decider, AnOfferOutsideItsValidityWindowIsNotMade) {
  Decider decider;
  decider.Configure({MakeOffer({{"id", "spring"}, {"kind", "bonus_points"}, {"channels", {"email"}},
                                {"valid_from", "2026-04-01"}, {"valid_until", "2026-05-01"}})},
                    NoHoldout());
  EXPECT_TRUE(decider.Decide(Member("ivy"), {.at = kNoon}, Strategy::kRules).offers.empty());
  EXPECT_EQ(decider.Decide(Member("ivy"), {.at = *core::ParseTimestamp("2026-04-10T12:00:00Z")}, Strategy::kRules).offers.size(), 1u);
}

TEST(Offers, ParseErrorsSayWhatToFix) {
  auto error = [](Json doc, const std::vector<std::string>& known = {}) {
    auto offer = ParseOffer(doc, known);
    return offer ? std::string() : offer.error().message;
  };
  const Json base{{"id", "x"}, {"kind", "discount"}, {"channels", {"email"}}};
  EXPECT_EQ(error(base), "");
  Json bad = base;
  bad["kind"] = "coupon";
  EXPECT_NE(error(bad).find("unknown offer kind 'coupon'"), std::string::npos);
  bad = base;
  bad["channels"] = {"fax"};
  EXPECT_NE(error(bad).find("channels[0]"), std::string::npos);
  bad = base;
  bad["eligibility"] = "churn_risk >";
  EXPECT_NE(error(bad).find("eligibility at 13"), std::string::npos);
  bad = base;
  bad["eligibility"] = "churn_rsk > 0.5";
  EXPECT_NE(error(bad, {"churn_risk"}).find("unknown fact 'churn_rsk'"), std::string::npos);
  bad = base;
  bad["discount_minor"] = -5;
  EXPECT_NE(error(bad).find("must not be negative"), std::string::npos);
  bad = base;
  bad["colour"] = "red";
  EXPECT_NE(error(bad).find("colour"), std::string::npos);
  bad = base;
  bad["valid_from"] = "2026-05-01";
  bad["valid_until"] = "2026-04-01";
  EXPECT_NE(error(bad).find("after 'valid_from'"), std::string::npos);
  // Round trip.
  auto offer = ParseOffer(base, {});
  ASSERT_TRUE(offer);
  auto again = ParseOffer(ToJson(*offer), {});
  ASSERT_TRUE(again);
  EXPECT_EQ(ToJson(*again), ToJson(*offer));
}

}  // namespace
}  // namespace loyalty::decision
