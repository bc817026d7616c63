#include "loyalty/core/logging.hpp"

#include <atomic>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace loyalty::core {

namespace {
std::atomic<bool> g_json_lines{false};

spdlog::level::level_enum ToSpdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
    case LogLevel::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}
}  // namespace

Result<LogLevel> ParseLogLevel(std::string_view text) {
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "warn") return LogLevel::kWarn;
  if (text == "error") return LogLevel::kError;
  if (text == "off") return LogLevel::kOff;
  return Fail(ErrorCode::kInvalidArgument,
              "log level '" + std::string(text) + "' is not one of debug, info, warn, error, off");
}

void InitLogging(LogLevel level, bool json_lines) {
  auto logger = spdlog::stderr_logger_mt("loyalty");
  g_json_lines = json_lines;
  // JSON lines carry their own timestamp and level; text lines get spdlog's.
  logger->set_pattern(json_lines ? "%v" : "%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  logger->set_level(ToSpdlog(level));
  spdlog::set_default_logger(std::move(logger));
}

void Log(LogLevel level, std::string_view event, const Json& fields) {
  auto logger = spdlog::default_logger_raw();
  const auto spd_level = ToSpdlog(level);
  if (!logger->should_log(spd_level)) return;
  if (g_json_lines) {
    Json line = {{"level", spdlog::level::to_string_view(spd_level).data()}, {"event", event}};
    line["ts_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    for (const auto& [key, value] : fields.items()) line[key] = value;
    logger->log(spd_level, "{}", Dump(line));
  } else {
    logger->log(spd_level, "{} {}", event, fields.empty() ? std::string() : Dump(fields));
  }
}

}  // namespace loyalty::core
