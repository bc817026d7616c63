#pragma once
// Identifiers a member is known by across channels: email, phone, device id, card number,
// external customer id. Each is normalised once, here, so the same person typed two ways
// ("Ann@Example.com " and "ann@example.com") is one identifier, and malformed input is refused
// with a reason. Value types; a Normalizer is immutable and safe to share between threads.

#include <compare>
#include <string>
#include <string_view>

#include "loyalty/core/error.hpp"

namespace loyalty::identity {

enum class IdentifierKind { kEmail, kPhone, kDevice, kCard, kExternal };

// "email", "phone", "device", "card", "external".
std::string_view IdentifierKindName(IdentifierKind kind);
[[nodiscard]] core::Result<IdentifierKind> ParseIdentifierKind(std::string_view name);

struct Identifier {
  IdentifierKind kind = IdentifierKind::kEmail;
  std::string value;  // normalised

  auto operator<=>(const Identifier&) const = default;
};

// "email:ann@example.com": the form used in logs, URLs and event payloads.
std::string ToString(const Identifier& identifier);

class Normalizer {
 public:
  // `default_region`: ISO 3166 region ("DE", "US") that phone numbers without a +country
  // prefix belong to. Fails for a region the phone metadata does not know.
  [[nodiscard]] static core::Result<Normalizer> Create(std::string_view default_region);

  const std::string& default_region() const { return default_region_; }

  // Email: trimmed and lower-cased; one '@', a local part of 1-64 characters, a domain with a
  //   dot and valid labels. Provider-specific aliases (dots, +tags) are kept: they may be
  //   different people.
  // Phone: E.164 ("+4915112345678"), parsed for the default region unless it starts with '+';
  //   refused unless the number is valid for its region.
  // Card: spaces and dashes removed; 6-32 digits.
  // Device, external: trimmed; 1-128 printable ASCII characters without spaces.
  [[nodiscard]] core::Result<Identifier> Normalize(IdentifierKind kind, std::string_view raw) const;
  [[nodiscard]] core::Result<Identifier> Normalize(std::string_view kind, std::string_view raw) const;
  // "kind:value", as written by ToString.
  [[nodiscard]] core::Result<Identifier> Parse(std::string_view kind_and_value) const;

 private:
  explicit Normalizer(std::string region) : default_region_(std::move(region)) {}
  std::string default_region_;
};

}  // namespace loyalty::identity
