#pragma once
// Readers for a configuration section's optional settings: each leaves its default in place
// when the key is absent and names "<section>.<key>" when the value is wrong.

#include <string>
#include <string_view>

#include "loyalty/core/json.hpp"

namespace loyalty::core {

[[nodiscard]] Status ReadSetting(const Json& section, std::string_view key, std::string_view section_name,
                                 std::string& out);
// Refused outside [low, high].
[[nodiscard]] Status ReadSetting(const Json& section, std::string_view key, std::string_view section_name, int low,
                                 int high, int& out);

}  // namespace loyalty::core
