#pragma once
// Structured logging on spdlog: one line per event, either human text or JSON lines
// ({"ts":..., "level":..., "event":..., ...fields}). Written to stderr so stdout stays
// the command's output. Safe from any thread once InitLogging has run.

#include <string_view>

#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"

namespace loyalty::core {

enum class LogLevel { kDebug, kInfo, kWarn, kError, kOff };

// Parses "debug", "info", "warn", "error" or "off".
[[nodiscard]] Result<LogLevel> ParseLogLevel(std::string_view text);

// Configures the process logger. Call once at start-up, before any thread logs.
void InitLogging(LogLevel level, bool json_lines);

// Logs `event` (a stable dotted name such as "ledger.open") with structured fields.
void Log(LogLevel level, std::string_view event, const Json& fields = Json::object());

}  // namespace loyalty::core
