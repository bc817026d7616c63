#include "loyalty/core/money.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace loyalty::core {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

TEST(Points, CheckedArithmeticRefusesOverflow) {
  EXPECT_EQ(Points(40).Plus(Points(2))->value(), 42);
  EXPECT_EQ(Points(40).Minus(Points(42))->value(), -2);
  EXPECT_FALSE(Points(kMax).Plus(Points(1)));
  EXPECT_FALSE(Points(kMin).Minus(Points(1)));
  EXPECT_FALSE(Points(kMin).Negated());
  EXPECT_EQ(Points(5).Negated()->value(), -5);
}

TEST(Points, ParseAcceptsWholeNumbersOnly) {
  EXPECT_EQ(Points::Parse("250")->value(), 250);
  EXPECT_EQ(Points::Parse("-40")->value(), -40);
  for (const char* bad : {"", "1.5", "12a", " 3", "9223372036854775808", "abc"}) {
    EXPECT_FALSE(Points::Parse(bad)) << bad;
  }
  EXPECT_NE(Points::Parse("99999999999999999999").error().message.find("overflow"), std::string::npos);
}

TEST(Currency, KnowsIso4217CodesAndTheirMinorUnits) {
  EXPECT_EQ(Currency::FromCode("EUR")->minor_digits, 2);
  EXPECT_EQ(Currency::FromCode("JPY")->minor_digits, 0);
  EXPECT_EQ(Currency::FromCode("KWD")->minor_digits, 3);
  for (const char* bad : {"", "eur", "EURO", "XXX", "ABC"}) {
    auto c = Currency::FromCode(bad);
    ASSERT_FALSE(c) << bad;
    EXPECT_NE(c.error().message.find("unknown currency"), std::string::npos);
  }
}

TEST(Money, ParsesDecimalAmountsIntoMinorUnits) {
  EXPECT_EQ(Money::Parse("12.5", "EUR")->minor_units(), 1250);
  EXPECT_EQ(Money::Parse("12.05", "EUR")->minor_units(), 1205);
  EXPECT_EQ(Money::Parse("-3.99", "USD")->minor_units(), -399);
  EXPECT_EQ(Money::Parse("1000", "JPY")->minor_units(), 1000);
  EXPECT_EQ(Money::Parse(".5", "EUR")->minor_units(), 50);
  EXPECT_EQ(Money::Parse("1.234", "KWD")->minor_units(), 1234);
}

TEST(Money, RefusesMoreDecimalsThanTheCurrencyHasAndJunk) {
  auto too_precise = Money::Parse("1.999", "EUR");
  ASSERT_FALSE(too_precise);
  EXPECT_NE(too_precise.error().message.find("more than 2 decimal places"), std::string::npos);
  EXPECT_FALSE(Money::Parse("1.5", "JPY"));
  for (const char* bad : {"", "-", "1.", "1,50", "1e3", "--1", "92233720368547758.08"}) {
    EXPECT_FALSE(Money::Parse(bad, "EUR")) << bad;
  }
  EXPECT_FALSE(Money::Parse("1.00", "QQQ"));
}

TEST(Money, ArithmeticChecksCurrencyAndOverflow) {
  const Money a = *Money::Parse("10.00", "EUR");
  const Money b = *Money::Parse("2.50", "EUR");
  EXPECT_EQ(a.Plus(b)->minor_units(), 1250);
  EXPECT_EQ(a.Minus(b)->minor_units(), 750);
  EXPECT_EQ(b.Times(3)->minor_units(), 750);
  auto mixed = a.Plus(*Money::Parse("1.00", "USD"));
  ASSERT_FALSE(mixed);
  EXPECT_NE(mixed.error().message.find("USD"), std::string::npos);
  EXPECT_FALSE(Money(kMax, a.currency()).Plus(Money(1, a.currency())));
  EXPECT_FALSE(Money(kMax, a.currency()).Times(2));
}

TEST(Money, FormatsForPeople) {
  EXPECT_EQ(Money::Parse("12.5", "EUR")->ToString(), "12.50 EUR");
  EXPECT_EQ(Money::Parse("-0.05", "EUR")->ToDecimalString(), "-0.05");
  EXPECT_EQ(Money::Parse("1000", "JPY")->ToString(), "1000 JPY");
  EXPECT_EQ(Money(kMin, *Currency::FromCode("EUR")).ToDecimalString(), "-92233720368547758.08");
}

TEST(CheckedMulDiv, FloorsAndDetectsOverflowThrough128Bits) {
  EXPECT_EQ(*CheckedMulDiv(kMax, 3, 3), kMax);  // intermediate exceeds 64 bits
  EXPECT_EQ(*CheckedMulDiv(7, 1, 2), 3);
  EXPECT_EQ(*CheckedMulDiv(-7, 1, 2), -4);
  EXPECT_FALSE(CheckedMulDiv(kMax, 2, 1));
  EXPECT_FALSE(CheckedMulDiv(1, 1, 0));
}

}  // namespace
}  // namespace loyalty::core
