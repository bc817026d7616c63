#include "loyalty/core/ids.hpp"

#include <string>

namespace loyalty::core {

namespace {
constexpr size_t kMaxIdLength = 128;

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == ':' || c == '@' || c == '+';
}
}  // namespace

Status ValidateId(std::string_view value, std::string_view what) {
  if (value.empty()) return Fail(ErrorCode::kInvalidArgument, std::string(what) + " is empty");
  if (value.size() > kMaxIdLength) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string(what) + " is longer than " + std::to_string(kMaxIdLength) + " characters");
  }
  for (size_t i = 0; i < value.size(); ++i) {
    if (!IsIdChar(value[i])) {
      return Fail(ErrorCode::kInvalidArgument,
                  std::string(what) + " '" + std::string(value) + "' has a character not allowed at position " +
                      std::to_string(i) + " (use letters, digits and . _ - : @ +)");
    }
  }
  return {};
}

}  // namespace loyalty::core
