#include "loyalty/identity/identifier.hpp"

#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <array>
#include <set>

namespace loyalty::identity {

using core::ErrorCode;
using core::Fail;
using core::Result;
using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

namespace {

constexpr std::array<std::pair<IdentifierKind, std::string_view>, 5> kKinds{{
    {IdentifierKind::kEmail, "email"},
    {IdentifierKind::kPhone, "phone"},
    {IdentifierKind::kDevice, "device"},
    {IdentifierKind::kCard, "card"},
    {IdentifierKind::kExternal, "external"},
}};

std::string_view Trim(std::string_view s) {
  const size_t first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const size_t last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool IsAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

Result<std::string> NormalizeEmail(std::string_view raw) {
  std::string email(Trim(raw));
  std::transform(email.begin(), email.end(), email.begin(), Lower);
  if (email.empty()) return Fail(ErrorCode::kInvalidArgument, "email is empty");
  if (email.size() > 254) return Fail(ErrorCode::kInvalidArgument, "email is longer than 254 characters");
  const size_t at = email.find('@');
  if (at == std::string::npos || email.find('@', at + 1) != std::string::npos) {
    return Fail(ErrorCode::kInvalidArgument, "email '" + email + "' must contain exactly one '@'");
  }
  const std::string_view local = std::string_view(email).substr(0, at);
  const std::string_view domain = std::string_view(email).substr(at + 1);
  if (local.empty() || local.size() > 64) {
    return Fail(ErrorCode::kInvalidArgument, "email '" + email + "' needs 1 to 64 characters before the '@'");
  }
  constexpr std::string_view kLocalSpecials = ".!#$%&'*+/=?^_`{|}~-";
  for (char c : local) {
    if (!IsAlnum(c) && kLocalSpecials.find(c) == std::string_view::npos) {
      return Fail(ErrorCode::kInvalidArgument, "email '" + email + "' has a character not allowed before the '@'");
    }
  }
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return Fail(ErrorCode::kInvalidArgument, "email '" + email + "' has a misplaced '.' before the '@'");
  }
  if (domain.find('.') == std::string_view::npos) {
    return Fail(ErrorCode::kInvalidArgument, "email '" + email + "' needs a domain with a dot, like example.com");
  }
  size_t start = 0;
  while (start <= domain.size()) {
    size_t end = domain.find('.', start);
    if (end == std::string_view::npos) end = domain.size();
    const std::string_view label = domain.substr(start, end - start);
    const bool valid = !label.empty() && label.size() <= 63 && label.front() != '-' && label.back() != '-' &&
                       std::all_of(label.begin(), label.end(), [](char c) { return IsAlnum(c) || c == '-'; });
    if (!valid) return Fail(ErrorCode::kInvalidArgument, "email '" + email + "' has an invalid domain");
    start = end + 1;
  }
  return email;
}

Result<std::string> NormalizeCard(std::string_view raw) {
  std::string digits;
  for (char c : Trim(raw)) {
    if (c == ' ' || c == '-') continue;
    if (c < '0' || c > '9') return Fail(ErrorCode::kInvalidArgument, "card number may hold only digits, spaces and dashes");
    digits.push_back(c);
  }
  if (digits.size() < 6 || digits.size() > 32) {
    return Fail(ErrorCode::kInvalidArgument, "card number must have 6 to 32 digits, not " + std::to_string(digits.size()));
  }
  return digits;
}

Result<std::string> NormalizeToken(std::string_view raw, std::string_view what) {
  const std::string_view value = Trim(raw);
  if (value.empty() || value.size() > 128) {
    return Fail(ErrorCode::kInvalidArgument, std::string(what) + " must have 1 to 128 characters");
  }
  for (char c : value) {
    if (c <= ' ' || c > '~') {
      return Fail(ErrorCode::kInvalidArgument, std::string(what) + " may hold only printable ASCII without spaces");
    }
  }
  return std::string(value);
}

}  // namespace

std::string_view IdentifierKindName(IdentifierKind kind) {
  for (const auto& [k, name] : kKinds) {
    if (k == kind) return name;
  }
  return "unknown";
}

Result<IdentifierKind> ParseIdentifierKind(std::string_view name) {
  for (const auto& [kind, kind_name] : kKinds) {
    if (kind_name == name) return kind;
  }
  return Fail(ErrorCode::kInvalidArgument,
              "identifier kind '" + std::string(name) + "' is not one of email, phone, device, card, external");
}

std::string ToString(const Identifier& identifier) {
  return std::string(IdentifierKindName(identifier.kind)) + ":" + identifier.value;
}

Result<Normalizer> Normalizer::Create(std::string_view default_region) {
  std::set<std::string> regions;
  PhoneNumberUtil::GetInstance()->GetSupportedRegions(&regions);
  if (!regions.contains(std::string(default_region))) {
    return Fail(ErrorCode::kInvalidArgument, "identity.default_region '" + std::string(default_region) +
                                                 "' is not an ISO 3166 region code like US, DE or GB");
  }
  return Normalizer(std::string(default_region));
}

Result<Identifier> Normalizer::Normalize(IdentifierKind kind, std::string_view raw) const {
  Identifier out{kind, {}};
  switch (kind) {
    case IdentifierKind::kEmail: {
      LOYALTY_ASSIGN_OR_RETURN(out.value, NormalizeEmail(raw));
      break;
    }
    case IdentifierKind::kPhone: {
      const std::string text(Trim(raw));
      if (text.empty() || text.size() > 40) return Fail(ErrorCode::kInvalidArgument, "phone must have 1 to 40 characters");
      const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
      PhoneNumber number;
      if (util.Parse(text, default_region_, &number) != PhoneNumberUtil::NO_PARSING_ERROR) {
        return Fail(ErrorCode::kInvalidArgument, "phone '" + text + "' is not a phone number");
      }
      if (!util.IsValidNumber(number)) {
        return Fail(ErrorCode::kInvalidArgument, "phone '" + text + "' is not a valid number for its region (default " +
                                                     default_region_ + "; write +<country code> for others)");
      }
      util.Format(number, PhoneNumberUtil::E164, &out.value);
      break;
    }
    case IdentifierKind::kCard: {
      LOYALTY_ASSIGN_OR_RETURN(out.value, NormalizeCard(raw));
      break;
    }
    case IdentifierKind::kDevice: {
      LOYALTY_ASSIGN_OR_RETURN(out.value, NormalizeToken(raw, "device id"));
      break;
    }
    case IdentifierKind::kExternal: {
      LOYALTY_ASSIGN_OR_RETURN(out.value, NormalizeToken(raw, "external customer id"));
      break;
    }
  }
  return out;
}

Result<Identifier> Normalizer::Normalize(std::string_view kind, std::string_view raw) const {
  LOYALTY_ASSIGN_OR_RETURN(IdentifierKind parsed, ParseIdentifierKind(kind));
  return Normalize(parsed, raw);
}

Result<Identifier> Normalizer::Parse(std::string_view kind_and_value) const {
  const size_t colon = kind_and_value.find(':');
  if (colon == std::string_view::npos) {
    return Fail(ErrorCode::kInvalidArgument, "identifier must be written kind:value, like email:ann@example.com");
  }
  return Normalize(kind_and_value.substr(0, colon), kind_and_value.substr(colon + 1));
}

}  // namespace loyalty::identity
