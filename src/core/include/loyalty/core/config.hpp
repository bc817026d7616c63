#pragma once
// Configuration: a TOML file read into a JSON tree, then overridden by environment variables.
//
// An override is LOYALTY_<SECTION>__<KEY>=value, upper or lower case, "__" separating levels:
// LOYALTY_STORE__SYNCHRONOUS=normal sets store.synchronous. Values that read as integers or
// true/false become those types; everything else stays a string. Modules read their own
// section with the JSON helpers, so a wrong value names its full path.
// Stateless functions; safe from any thread.

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"

namespace loyalty::core {

using Environment = std::vector<std::pair<std::string, std::string>>;

// The process environment, for passing to LoadConfig.
Environment ProcessEnvironment();

// Parses TOML text (a syntax error names line and column). `source` names it in messages.
[[nodiscard]] Result<Json> ParseTomlConfig(std::string_view text, std::string_view source);

// Reads `file` when given (a missing file is an error), else starts empty; applies overrides.
[[nodiscard]] Result<Json> LoadConfig(const std::optional<std::filesystem::path>& file, const Environment& env);

// Applies LOYALTY_* overrides from `env` onto `config` in place of a copy.
[[nodiscard]] Result<Json> ApplyEnvironmentOverrides(Json config, const Environment& env);

}  // namespace loyalty::core
