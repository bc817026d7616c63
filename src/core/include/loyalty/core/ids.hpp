#pragma once
// Strong identifier types. A MemberId cannot be passed where a RewardId is expected, and
// every id is validated once, at the edge, by Parse(): 1 to 128 characters of letters,
// digits and ". _ - : @ +" (so external customer ids and card numbers fit unchanged).
// Value types; safe to copy between threads.

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "loyalty/core/error.hpp"

namespace loyalty::core {

// Checks the shared id grammar; `what` names the id in the error ("member id").
Status ValidateId(std::string_view value, std::string_view what);

// 64-bit FNV-1a: the same on every build and platform, for ids derived from content (a
// re-import must derive the same ids). Not for security.
constexpr uint64_t StableHash64(std::string_view text) {
  uint64_t hash = 14695981039346656037ULL;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

template <typename Tag>
class StrongId {
 public:
  StrongId() = default;

  // Validates `value`; the error names the kind of id (Tag::kWhat) and what is wrong.
  [[nodiscard]] static Result<StrongId> Parse(std::string_view value) {
    LOYALTY_TRY(ValidateId(value, Tag::kWhat));
    return StrongId(std::string(value));
  }

  const std::string& str() const { return value_; }
  bool empty() const { return value_.empty(); }
  auto operator<=>(const StrongId&) const = default;

 private:
  explicit StrongId(std::string value) : value_(std::move(value)) {}
  std::string value_;
};

struct MemberIdTag { static constexpr std::string_view kWhat = "member id"; };
struct RewardIdTag { static constexpr std::string_view kWhat = "reward id"; };
struct OrderIdTag { static constexpr std::string_view kWhat = "order id"; };
struct IdempotencyKeyTag { static constexpr std::string_view kWhat = "idempotency key"; };

using MemberId = StrongId<MemberIdTag>;
using RewardId = StrongId<RewardIdTag>;
using OrderId = StrongId<OrderIdTag>;
using IdempotencyKey = StrongId<IdempotencyKeyTag>;

}  // namespace loyalty::core

template <typename Tag>
struct std::hash<loyalty::core::StrongId<Tag>> {
  size_t operator()(const loyalty::core::StrongId<Tag>& id) const noexcept {
    return std::hash<std::string>{}(id.str());
  }
};
