#include "loyalty/core/settings.hpp"

namespace loyalty::core {

Status ReadSetting(const Json& section, std::string_view key, std::string_view section_name, std::string& out) {
  LOYALTY_ASSIGN_OR_RETURN(auto value, OptionalString(section, key, section_name));
  if (value) out = std::move(*value);
  return {};
}

Status ReadSetting(const Json& section, std::string_view key, std::string_view section_name, int low, int high,
                   int& out) {
  LOYALTY_ASSIGN_OR_RETURN(auto value, OptionalInt(section, key, section_name));
  if (!value) return {};
  if (*value < low || *value > high) {
    return Fail(ErrorCode::kInvalidArgument, std::string(section_name) + "." + std::string(key) + " must be from " +
                                                 std::to_string(low) + " to " + std::to_string(high));
  }
  out = static_cast<int>(*value);
  return {};
}

}  // namespace loyalty::core
