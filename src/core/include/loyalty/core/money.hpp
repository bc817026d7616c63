#pragma once
// Points and Money: the integer quantities every balance is made of. No floating point
// touches either. Arithmetic is checked: an overflow is an Error, never a wrapped value.
// Value types; safe to copy between threads.

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "loyalty/core/error.hpp"

namespace loyalty::core {

// A signed count of loyalty points.
class Points {
 public:
  constexpr Points() = default;
  constexpr explicit Points(int64_t value) : value_(value) {}

  constexpr int64_t value() const { return value_; }
  auto operator<=>(const Points&) const = default;

  [[nodiscard]] Result<Points> Plus(Points other) const;
  [[nodiscard]] Result<Points> Minus(Points other) const;
  [[nodiscard]] Result<Points> Negated() const;

  // Parses a decimal integer ("250", "-40"); rejects fractions, junk and overflow.
  [[nodiscard]] static Result<Points> Parse(std::string_view text);

 private:
  int64_t value_ = 0;
};

// An ISO 4217 currency: its alphabetic code and the number of digits of its minor unit.
struct Currency {
  std::string_view code;  // "EUR"; points into a static table, never dangles
  int minor_digits = 2;   // EUR 2, JPY 0, KWD 3

  // Looks the code up in the ISO 4217 table (upper case, 3 letters).
  [[nodiscard]] static Result<Currency> FromCode(std::string_view code);
  bool operator==(const Currency& other) const { return code == other.code; }
};

// An amount of money in integer minor units (cents for EUR) of one currency.
class Money {
 public:
  Money(int64_t minor_units, Currency currency) : minor_(minor_units), currency_(currency) {}

  // Parses a decimal amount ("12.5", "-3.99", "1000") in the given currency. More fraction
  // digits than the currency has is an error, not a silent rounding.
  [[nodiscard]] static Result<Money> Parse(std::string_view amount, std::string_view currency_code);

  int64_t minor_units() const { return minor_; }
  const Currency& currency() const { return currency_; }

  [[nodiscard]] Result<Money> Plus(const Money& other) const;
  [[nodiscard]] Result<Money> Minus(const Money& other) const;
  [[nodiscard]] Result<Money> Times(int64_t factor) const;

  // "12.50" (no currency code); "-0.05"; "1000" for a currency without minor unit.
  std::string ToDecimalString() const;
  // "12.50 EUR".
  std::string ToString() const;

  bool operator==(const Money& other) const = default;

 private:
  int64_t minor_;
  Currency currency_;
};

// Checked int64 helpers shared by Points, Money and the ledger's earn arithmetic.
[[nodiscard]] Result<int64_t> CheckedAdd(int64_t a, int64_t b);
[[nodiscard]] Result<int64_t> CheckedMultiply(int64_t a, int64_t b);
// floor(a * numerator / denominator) computed in 128 bits; denominator must be > 0.
[[nodiscard]] Result<int64_t> CheckedMulDiv(int64_t a, int64_t numerator, int64_t denominator);

}  // namespace loyalty::core
