// Automation phases and risk classes: parsing (errors name the field), the risk each factor
// gives an offer, who acts on it in each phase, and what the decider does in each phase.

#include "loyalty/decision/automation.hpp"

#include <gtest/gtest.h>

#include <set>

#include "loyalty/decision/decider.hpp"
#include "loyalty/decision/offers.hpp"

namespace loyalty::decision {
namespace {

using core::Json;

const core::Timestamp kNoon = *core::ParseTimestamp("2026-03-02T12:00:00Z");

TEST(Automation, PhasesAndRiskClassesRoundTripAndUnknownNamesAreRefused) {
  for (size_t i = 0; i < kPhaseCount; ++i) {
    const auto phase = static_cast<AutomationPhase>(i);
    EXPECT_EQ(ParsePhase(PhaseName(phase)).value(), phase);
  }
  EXPECT_EQ(ParseRisk("high").value(), RiskClass::kHigh);
  auto bad = ParsePhase("autopilot");
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find("pilot, limited, expanded, dynamic and continuous"), std::string::npos);
  EXPECT_FALSE(ParseRisk("severe").has_value());
}

TEST(Automation, SettingsParseWithStrategyPhasesAndGuardrails) {
  const auto settings = ParseAutomation(
      {{"phase", "dynamic"}, {"strategies", {{"ai", "pilot"}}}, {"retraining", {{"every_days", 14}, {"min_auc", 0.7}}}});
  ASSERT_TRUE(settings.has_value()) << settings.error().message;
  EXPECT_EQ(settings->program, AutomationPhase::kDynamic);
  EXPECT_EQ(settings->For(Strategy::kAi), AutomationPhase::kPilot);
  EXPECT_EQ(settings->For(Strategy::kRules), AutomationPhase::kDynamic);
  EXPECT_EQ(settings->retraining.every_days, 14);
  EXPECT_DOUBLE_EQ(settings->retraining.min_auc, 0.7);
  EXPECT_DOUBLE_EQ(settings->retraining.max_auc_drop, RetrainingGuardrails{}.max_auc_drop);
  // What ToJson writes parses back to the same settings.
  EXPECT_EQ(ParseAutomation(ToJson(*settings)).value(), *settings);
  EXPECT_EQ(ToJson(*settings)["strategies"], (Json{{"ai", "pilot"}}));
}

TEST(Automation, SettingsErrorsNameTheFieldToFix) {
  auto message = [](const Json& doc) {
    auto r = ParseAutomation(doc);
    return r ? std::string("accepted") : r.error().message;
  };
  EXPECT_NE(message(Json::object()).find("'phase'"), std::string::npos);
  EXPECT_NE(message({{"phase", "warp"}}).find("field 'phase'"), std::string::npos);
  EXPECT_NE(message({{"phase", "pilot"}, {"strategies", {{"genius", "pilot"}}}}).find("field 'strategies'"), std::string::npos);
  EXPECT_NE(message({{"phase", "pilot"}, {"strategies", {{"ai", "warp"}}}}).find("strategies.ai"), std::string::npos);
  EXPECT_NE(message({{"phase", "pilot"}, {"retraining", {{"every_days", 0}}}}).find("retraining.every_days"), std::string::npos);
  EXPECT_NE(message({{"phase", "pilot"}, {"retraining", {{"min_auc", 0.3}}}}).find("retraining.min_auc"), std::string::npos);
  EXPECT_NE(message({{"phase", "pilot"}, {"speed", 3}}).find("speed"), std::string::npos);
}

TEST(Automation, EachFactorRaisesTheRiskAndTheHighestWinsWithItsReasons) {
  ContactPolicy policy;  // cost: review 5000, escalate 50000; tier change: medium; others unset
  auto assess = [&](RiskInputs in) { return AssessRisk(in, policy); };
  EXPECT_EQ(assess({.cost_minor = 100}).risk, RiskClass::kLow);
  EXPECT_TRUE(assess({.cost_minor = 100}).reasons.empty());
  EXPECT_EQ(assess({.cost_minor = 5000}).risk, RiskClass::kMedium);
  EXPECT_EQ(assess({.cost_minor = 50000}).risk, RiskClass::kHigh);
  EXPECT_EQ(assess({.cost_minor = 50000}).reasons, std::vector<std::string>{"cost"});
  EXPECT_EQ(assess({.tier_change = true}).risk, RiskClass::kMedium);
  EXPECT_EQ(assess({.review_rule = true}).reasons, std::vector<std::string>{"review_rule"});
  EXPECT_EQ(assess({.fairness_alert = true}).risk, RiskClass::kMedium);
  EXPECT_EQ(assess({.fairness_alert = true}).reasons, std::vector<std::string>{"fairness"});
  // Unset thresholds are not factors.
  EXPECT_EQ(assess({.points = 1e9, .member_clv_minor = 1e12, .response_uncertainty = 50}).risk, RiskClass::kLow);

  policy.review_points = 1000;
  policy.escalate_points = 10000;
  policy.review_member_clv_minor = 100000;
  policy.review_uncertainty = 0.5;
  policy.tier_change_risk = RiskClass::kHigh;
  EXPECT_EQ(assess({.points = 999}).risk, RiskClass::kLow);
  EXPECT_EQ(assess({.points = 1000}).risk, RiskClass::kMedium);
  EXPECT_EQ(assess({.points = 10000}).risk, RiskClass::kHigh);
  EXPECT_EQ(assess({.member_clv_minor = 100000}).reasons, std::vector<std::string>{"member_value"});
  EXPECT_EQ(assess({.response_uncertainty = 0.6}).reasons, std::vector<std::string>{"uncertainty"});
  EXPECT_EQ(assess({.tier_change = true}).risk, RiskClass::kHigh);
  // Several factors: the class is the highest; the reasons are those that reached it.
  const auto several = assess({.cost_minor = 6000, .points = 20000, .tier_change = true, .review_rule = true});
  EXPECT_EQ(several.risk, RiskClass::kHigh);
  EXPECT_EQ(several.reasons, (std::vector<std::string>{"points", "tier_change"}));
  policy.tier_change_risk = RiskClass::kLow;
  EXPECT_EQ(assess({.tier_change = true}).risk, RiskClass::kLow);
}

TEST(Automation, WhoActsDependsOnThePhaseAndTheRisk) {
  EXPECT_EQ(Routing(AutomationPhase::kPilot, RiskClass::kLow), "review");
  EXPECT_EQ(Routing(AutomationPhase::kPilot, RiskClass::kMedium), "review");
  EXPECT_EQ(Routing(AutomationPhase::kPilot, RiskClass::kHigh), "escalate");
  for (auto phase : {AutomationPhase::kLimited, AutomationPhase::kExpanded, AutomationPhase::kDynamic,
                     AutomationPhase::kContinuous}) {
    EXPECT_EQ(Routing(phase, RiskClass::kLow), "auto");
    EXPECT_EQ(Routing(phase, RiskClass::kMedium), "review");
    EXPECT_EQ(Routing(phase, RiskClass::kHigh), "escalate");
  }
}

TEST(Automation, PolicyRiskThresholdsParseAndAreChecked) {
  auto policy = ParseContactPolicy({{"review_points", 1000}, {"escalate_points", 5000}, {"review_member_clv_minor", 90000},
                                    {"review_uncertainty", 0.8}, {"tier_change_risk", "high"}});
  ASSERT_TRUE(policy.has_value()) << policy.error().message;
  EXPECT_EQ(policy->review_points, 1000);
  EXPECT_EQ(policy->escalate_points, 5000);
  EXPECT_EQ(policy->review_member_clv_minor, 90000);
  EXPECT_DOUBLE_EQ(policy->review_uncertainty.value(), 0.8);
  EXPECT_EQ(policy->tier_change_risk, RiskClass::kHigh);
  // What GET shows, PUT takes back (unset thresholds are null).
  const Json shown = ToJson(ContactPolicy{});
  EXPECT_TRUE(shown["review_points"].is_null());
  EXPECT_EQ(shown["tier_change_risk"], "medium");
  EXPECT_TRUE(ParseContactPolicy(shown).has_value());
  auto message = [](const Json& doc) {
    auto r = ParseContactPolicy(doc);
    return r ? std::string("accepted") : r.error().message;
  };
  EXPECT_NE(message({{"review_points", 5000}, {"escalate_points", 10}}).find("escalate_points"), std::string::npos);
  EXPECT_NE(message({{"review_uncertainty", 0}}).find("review_uncertainty"), std::string::npos);
  EXPECT_NE(message({{"tier_change_risk", "severe"}}).find("tier_change_risk"), std::string::npos);
  EXPECT_NE(message({{"review_points", -1}}).find("review_points"), std::string::npos);
}

// --- The decider in each phase ------------------------------------------------------------

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
  m.consents = {"marketing_email", "marketing_push"};
  return m;
}

ContactPolicy Policy() {
  ContactPolicy p;
  p.holdout_percent = 0;
  p.max_per_day = 100;
  p.max_per_week = 100;
  p.max_per_channel_per_day = 100;
  return p;
}

// Two offers of nearly the same worth: a Thompson draw picks either; the posterior mean, one.
std::vector<Offer> CloseOffers() {
  return {MakeOffer({{"id", "a"}, {"kind", "bonus_points"}, {"channels", {"email"}}, {"points", 100},
                     {"prior_response_rate", 0.10}, {"max_per_member_per_week", 100}}),
          MakeOffer({{"id", "b"}, {"kind", "bonus_points"}, {"channels", {"email"}}, {"points", 100},
                     {"prior_response_rate", 0.11}, {"max_per_member_per_week", 100}})};
}

AutomationSettings Phase(AutomationPhase phase) { return AutomationSettings{.program = phase, .strategies = {}, .retraining = {}}; }

TEST(DeciderPhases, PilotSendsEveryOfferToAPerson) {
  Decider decider;
  decider.Configure(CloseOffers(), Policy(), Phase(AutomationPhase::kPilot));
  const Decision d = decider.Decide(Member("ann"), {.at = kNoon, .k = 2, .reserve = false}, Strategy::kRules);
  ASSERT_EQ(d.offers.size(), 2u);
  EXPECT_EQ(d.phase, AutomationPhase::kPilot);
  for (const auto& o : d.offers) {
    EXPECT_EQ(o.risk, RiskClass::kLow);
    EXPECT_EQ(o.routing, "review");
  }
  EXPECT_EQ(ToJson(d)["phase"], "pilot");
  EXPECT_EQ(ToJson(d.offers[0])["risk"], "low");
}

TEST(DeciderPhases, BeforeTheDynamicPhaseTheAiStrategyTakesTheBestMeanWithoutExploring) {
  Decider limited(3);
  limited.Configure(CloseOffers(), Policy(), Phase(AutomationPhase::kLimited));
  std::set<std::string> chosen;
  for (int i = 0; i < 50; ++i) {
    const Decision d = limited.Decide(Member("m" + std::to_string(i)), {.at = kNoon, .reserve = false}, Strategy::kAi);
    ASSERT_EQ(d.offers.size(), 1u);
    chosen.insert(d.offers[0].offer);
    EXPECT_DOUBLE_EQ(d.offers[0].propensity, 1.0);
    EXPECT_EQ(d.offers[0].routing, "auto");
  }
  EXPECT_EQ(chosen, std::set<std::string>{"b"});

  Decider dynamic(3);
  dynamic.Configure(CloseOffers(), Policy(), Phase(AutomationPhase::kDynamic));
  chosen.clear();
  for (int i = 0; i < 50; ++i) {
    const Decision d = dynamic.Decide(Member("m" + std::to_string(i)), {.at = kNoon, .reserve = false}, Strategy::kAi);
    ASSERT_EQ(d.offers.size(), 1u);
    chosen.insert(d.offers[0].offer);
    EXPECT_LT(d.offers[0].propensity, 1.0);
  }
  EXPECT_EQ(chosen, (std::set<std::string>{"a", "b"}));
}

TEST(DeciderPhases, AStrategysOwnPhaseOverridesTheProgramsAndRiskFactorsReachTheOffer) {
  Decider decider;
  AutomationSettings settings = Phase(AutomationPhase::kDynamic);
  settings.strategies[static_cast<size_t>(Strategy::kRules)] = AutomationPhase::kPilot;
  ContactPolicy policy = Policy();
  policy.review_member_clv_minor = 10000;
  decider.Configure({MakeOffer({{"id", "nudge"}, {"kind", "tier_nudge"}, {"channels", {"email"}}, {"points", 50}})}, policy,
                    settings);
  MemberView modest = Member("bob");
  modest.clv_minor = 500;
  const Decision rules = decider.Decide(modest, {.at = kNoon, .reserve = false}, Strategy::kRules);
  ASSERT_EQ(rules.offers.size(), 1u);
  EXPECT_EQ(rules.phase, AutomationPhase::kPilot);
  EXPECT_EQ(rules.offers[0].risk, RiskClass::kMedium);
  EXPECT_EQ(rules.offers[0].risk_reasons, std::vector<std::string>{"tier_change"});
  EXPECT_EQ(rules.offers[0].routing, "review");

  const Decision valuable = decider.Decide(Member("cat"), {.at = kNoon, .reserve = false}, Strategy::kRandom);
  ASSERT_EQ(valuable.offers.size(), 1u);
  EXPECT_EQ(valuable.phase, AutomationPhase::kDynamic);
  EXPECT_EQ(valuable.offers[0].risk_reasons, (std::vector<std::string>{"tier_change", "member_value"}));
  EXPECT_EQ(valuable.offers[0].routing, "review");
}

}  // namespace
}  // namespace loyalty::decision
