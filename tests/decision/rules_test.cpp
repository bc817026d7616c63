// The eligibility rule language: what it accepts, what it means, where its errors point, and
// that no input can crash it.

#include "loyalty/decision/rules.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <limits>

namespace loyalty::decision {
namespace {

Rule Parse(std::string_view text) {
  RuleParse parsed = ParseRule(text);
  EXPECT_TRUE(parsed.rule.has_value()) << text << ": at " << parsed.position << ": " << parsed.error;
  return parsed.rule.value_or(Rule());
}

Facts AtRisk() {
  Facts f;
  f.Set("churn_risk", 0.72);
  f.Set("days_since_redemption", 45.0);
  f.Set("open_ticket", false);
  f.Set("segment", std::string("at_risk"));
  f.Set("tier", std::string("gold"));
  f.Set("consent.marketing_email", true);
  return f;
}

TEST(Rules, TheIssueExampleSelectsAtRiskMembersWithoutATicket) {
  const Rule rule = Parse("churn_risk > 0.6 and days_since_redemption > 30 and not open_ticket");
  Facts f = AtRisk();
  EXPECT_TRUE(rule.Evaluate(f));
  f.Set("open_ticket", true);
  EXPECT_FALSE(rule.Evaluate(f));
  f.Set("open_ticket", false);
  f.Set("churn_risk", 0.6);
  EXPECT_FALSE(rule.Evaluate(f));
  EXPECT_EQ(rule.facts(), (std::vector<std::string>{"churn_risk", "days_since_redemption", "open_ticket"}));
}

TEST(Rules, OperatorsPrecedenceAndLists) {
  const Facts f = AtRisk();
  EXPECT_TRUE(Parse("segment in ('at_risk', \"hibernating\")").Evaluate(f));
  EXPECT_FALSE(Parse("segment in ('champions')").Evaluate(f));
  EXPECT_TRUE(Parse("tier == 'silver' or tier == 'gold' and churn_risk >= 0.72").Evaluate(f));
  EXPECT_FALSE(Parse("(tier == 'silver' or tier == 'gold') and churn_risk < 0.5").Evaluate(f));
  EXPECT_TRUE(Parse("0.5 < churn_risk").Evaluate(f));
  EXPECT_TRUE(Parse("days_since_redemption <= 45 and days_since_redemption != 44").Evaluate(f));
  EXPECT_TRUE(Parse("consent.marketing_email and not not consent.marketing_email").Evaluate(f));
  EXPECT_TRUE(Parse("open_ticket == false").Evaluate(f));
  EXPECT_TRUE(Parse("").Evaluate(f));
  EXPECT_TRUE(Parse("  ").empty());
}

TEST(Rules, UnknownOrMistypedFactsMakeComparisonsFalse) {
  const Facts f = AtRisk();
  EXPECT_FALSE(Parse("clv > 100").Evaluate(f));
  EXPECT_TRUE(Parse("not clv > 100").Evaluate(f));
  EXPECT_FALSE(Parse("clv != 100").Evaluate(f));
  EXPECT_FALSE(Parse("tier > 3").Evaluate(f));
  EXPECT_FALSE(Parse("churn_risk == 'high'").Evaluate(f));
  EXPECT_FALSE(Parse("missing_flag").Evaluate(f));
  Facts nan;
  nan.Set("x", std::numeric_limits<double>::quiet_NaN());
  EXPECT_FALSE(Parse("x > 0 or x <= 0 or x").Evaluate(nan));
}

TEST(Rules, ErrorsNameThePositionAndWhatToFix) {
  auto expect_error = [](std::string_view text, size_t position, std::string_view words) {
    RuleParse parsed = ParseRule(text);
    ASSERT_FALSE(parsed.rule) << text;
    EXPECT_EQ(parsed.position, position) << text << ": " << parsed.error;
    EXPECT_NE(parsed.error.find(words), std::string::npos) << parsed.error;
  };
  expect_error("churn_risk >", 13, "expected a value after '>'");
  expect_error("churn_risk > 0.6 and", 21, "expected a condition");
  expect_error("(a > 1 or b", 1, "not closed");
  expect_error("a = 1", 3, "use ==");
  expect_error("a > 1 b", 7, "join conditions");
  expect_error("a in 1", 6, "expected '('");
  expect_error("a in (b)", 7, "values, not facts");
  expect_error("'x' == 2", 1, "a fact on one side");
  expect_error("tier == 'gold", 9, "no closing");
  expect_error("a > 1e999", 5, "not a number");
  expect_error("a # b", 3, "unexpected character");
  expect_error("42", 1, "a value alone");
}

TEST(Rules, LimitsBoundNestingSizeAndLength) {
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "(";
  deep += "a";
  for (int i = 0; i < 40; ++i) deep += ")";
  RuleParse parsed = ParseRule(deep);
  ASSERT_FALSE(parsed.rule);
  EXPECT_NE(parsed.error.find("nests deeper"), std::string::npos);

  std::string nots;
  for (int i = 0; i < 100; ++i) nots += "not ";
  EXPECT_FALSE(ParseRule(nots + "a").rule);

  std::string wide = "a";
  for (int i = 0; i < 600; ++i) wide += " or a";
  parsed = ParseRule(wide);
  ASSERT_FALSE(parsed.rule);
  EXPECT_NE(parsed.error.find("too many"), std::string::npos);

  EXPECT_FALSE(ParseRule(std::string(kMaxRuleBytes + 1, ' ')).rule);
}

// Whatever bytes arrive, parsing answers (a rule or an error with a position inside the
// text) and evaluating a parsed rule answers.
RC_GTEST_PROP(RulesProperty, AnyInputParsesOrFailsCleanly, (const std::string& text)) {
  RuleParse parsed = ParseRule(text);
  if (parsed.rule) {
    Facts f;
    for (const auto& name : parsed.rule->facts()) f.Set(name, 1.0);
    (void)parsed.rule->Evaluate(f);
    (void)parsed.rule->Evaluate(Facts());
  } else {
    RC_ASSERT(!parsed.error.empty());
    RC_ASSERT(parsed.position >= 1);
    RC_ASSERT(parsed.position <= std::max<size_t>(text.size(), kMaxRuleBytes) + 1);
  }
}

// Rules built from the grammar's pieces always parse, and `not` always flips the answer.
RC_GTEST_PROP(RulesProperty, GeneratedRulesParseAndNotNegates, ()) {
  const std::vector<std::string> atoms = {"a > 1", "b <= 2.5", "c == 'x'", "d", "e in (1, 2, 'y')", "f != true"};
  const int terms = *rc::gen::inRange(1, 12);
  std::string text;
  for (int i = 0; i < terms; ++i) {
    if (i > 0) text += *rc::gen::element<std::string>(" and ", " or ");
    std::string atom = atoms[static_cast<size_t>(*rc::gen::inRange<int>(0, static_cast<int>(atoms.size())))];
    if (*rc::gen::arbitrary<bool>()) atom = "(" + atom + ")";
    if (*rc::gen::arbitrary<bool>()) atom = "not " + atom;
    text += atom;
  }
  RuleParse parsed = ParseRule(text);
  RC_ASSERT(parsed.rule.has_value());
  RuleParse negated = ParseRule("not (" + text + ")");
  RC_ASSERT(negated.rule.has_value());
  Facts f;
  f.Set("a", static_cast<double>(*rc::gen::inRange(0, 3)));
  f.Set("b", static_cast<double>(*rc::gen::inRange(0, 4)));
  f.Set("c", std::string(*rc::gen::element<std::string>("x", "z")));
  f.Set("d", *rc::gen::arbitrary<bool>());
  f.Set("e", static_cast<double>(*rc::gen::inRange(0, 3)));
  f.Set("f", *rc::gen::arbitrary<bool>());
  RC_ASSERT(parsed.rule->Evaluate(f) != negated.rule->Evaluate(f));
}

}  // namespace
}  // namespace loyalty::decision
