#include "loyalty/core/money.hpp"

#include <array>
#include <charconv>
#include <limits>

namespace loyalty::core {

namespace {

// 128-bit intermediates for multiply-then-divide; __extension__ keeps -Wpedantic quiet.
__extension__ using Int128 = __int128;

Result<int64_t> Overflow() {
  return Fail(ErrorCode::kInvalidArgument, "amount is out of range (overflows a 64-bit integer)");
}

// Active ISO 4217 codes. Minor digits are 2 unless listed in the exceptions below.
constexpr std::string_view kIsoCodes[] = {
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD",
    "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLF", "CLP",
    "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD",
    "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS",
    "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD",
    "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU",
    "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK",
    "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP",
    "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VES", "VND", "VUV", "WST", "XAF", "XCD",
    "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWL", "UYI", "UYW"};

int MinorDigits(std::string_view code) {
  constexpr std::string_view kZero[] = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
                                                      "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"};
  constexpr std::string_view kThree[] = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"};
  for (auto c : kZero) if (c == code) return 0;
  for (auto c : kThree) if (c == code) return 3;
  if (code == "CLF" || code == "UYW") return 4;
  return 2;
}

int64_t Pow10(int digits) {
  int64_t p = 1;
  for (int i = 0; i < digits; ++i) p *= 10;
  return p;
}

}  // namespace

Result<int64_t> CheckedAdd(int64_t a, int64_t b) {
  int64_t out;
  if (__builtin_add_overflow(a, b, &out)) return Overflow();
  return out;
}

Result<int64_t> CheckedMultiply(int64_t a, int64_t b) {
  int64_t out;
  if (__builtin_mul_overflow(a, b, &out)) return Overflow();
  return out;
}

Result<int64_t> CheckedMulDiv(int64_t a, int64_t numerator, int64_t denominator) {
  if (denominator <= 0) return Fail(ErrorCode::kInvalidArgument, "divisor must be positive");
  const Int128 product = static_cast<Int128>(a) * numerator;
  Int128 quotient = product / denominator;
  if (product % denominator != 0 && product < 0) --quotient;  // floor, not truncation
  if (quotient > std::numeric_limits<int64_t>::max() || quotient < std::numeric_limits<int64_t>::min()) {
    return Overflow();
  }
  return static_cast<int64_t>(quotient);
}

Result<Points> Points::Plus(Points other) const {
  LOYALTY_ASSIGN_OR_RETURN(int64_t v, CheckedAdd(value_, other.value_));
  return Points(v);
}

Result<Points> Points::Minus(Points other) const {
  int64_t out;
  if (__builtin_sub_overflow(value_, other.value_, &out)) return std::unexpected(Overflow().error());
  return Points(out);
}

Result<Points> Points::Negated() const { return Points(0).Minus(*this); }

Result<Points> Points::Parse(std::string_view text) {
  int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec == std::errc::result_out_of_range) {
    return Fail(ErrorCode::kInvalidArgument, "points '" + std::string(text) + "' overflow a 64-bit integer");
  }
  if (text.empty() || ec != std::errc() || ptr != end) {
    return Fail(ErrorCode::kInvalidArgument, "points '" + std::string(text) + "' is not a whole number");
  }
  return Points(v);
}

Result<Currency> Currency::FromCode(std::string_view code) {
  for (auto c : kIsoCodes) {
    if (c == code) return Currency{c, MinorDigits(c)};
  }
  return Fail(ErrorCode::kInvalidArgument,
              "unknown currency '" + std::string(code) + "' (use an ISO 4217 code such as EUR or USD)");
}

Result<Money> Money::Parse(std::string_view amount, std::string_view currency_code) {
  LOYALTY_ASSIGN_OR_RETURN(Currency currency, Currency::FromCode(currency_code));
  auto invalid = [&](std::string_view why) {
    return Fail(ErrorCode::kInvalidArgument, "amount '" + std::string(amount) + "' " + std::string(why));
  };
  std::string_view s = amount;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  const size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (whole.empty() && fraction.empty()) return invalid("is not a number");
  if (dot != std::string_view::npos && fraction.empty()) return invalid("ends with '.'");
  if (static_cast<int>(fraction.size()) > currency.minor_digits) {
    return invalid("has more than " + std::to_string(currency.minor_digits) + " decimal places for " +
                   std::string(currency.code));
  }
  int64_t minor = 0;
  for (std::string_view part : {whole, fraction}) {
    for (char c : part) {
      if (c < '0' || c > '9') return invalid("is not a decimal number");
      auto times_ten = CheckedMultiply(minor, 10);
      if (!times_ten) return invalid("is out of range");
      auto step = CheckedAdd(*times_ten, c - '0');
      if (!step) return invalid("is out of range");
      minor = *step;
    }
  }
  auto scaled = CheckedMultiply(minor, Pow10(currency.minor_digits - static_cast<int>(fraction.size())));
  if (!scaled) return invalid("is out of range");
  return Money(negative ? -*scaled : *scaled, currency);
}

Result<Money> Money::Plus(const Money& other) const {
  if (!(currency_ == other.currency_)) {
    return Fail(ErrorCode::kInvalidArgument, "cannot add " + std::string(other.currency_.code) + " to " +
                                                 std::string(currency_.code));
  }
  LOYALTY_ASSIGN_OR_RETURN(int64_t v, CheckedAdd(minor_, other.minor_));
  return Money(v, currency_);
}

Result<Money> Money::Minus(const Money& other) const {
  if (other.minor_ == std::numeric_limits<int64_t>::min()) return std::unexpected(Overflow().error());
  return Plus(Money(-other.minor_, other.currency_));
}

Result<Money> Money::Times(int64_t factor) const {
  LOYALTY_ASSIGN_OR_RETURN(int64_t v, CheckedMultiply(minor_, factor));
  return Money(v, currency_);
}

std::string Money::ToDecimalString() const {
  const bool negative = minor_ < 0;
  // Work in unsigned so INT64_MIN prints correctly.
  const uint64_t magnitude = negative ? (~static_cast<uint64_t>(minor_) + 1) : static_cast<uint64_t>(minor_);
  const uint64_t scale = static_cast<uint64_t>(Pow10(currency_.minor_digits));
  std::string out = negative ? "-" : "";
  out += std::to_string(magnitude / scale);
  if (currency_.minor_digits > 0) {
    std::string frac = std::to_string(magnitude % scale);
    out += "." + std::string(currency_.minor_digits - frac.size(), '0') + frac;
  }
  return out;
}

std::string Money::ToString() const { return ToDecimalString() + " " + std::string(currency_.code); }

}  // namespace loyalty::core
