#pragma once
// What every `loyalty` subcommand shares: global options, the opened store and ledger, and
// the one way results and errors are printed. Private to the cli module.

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/engine/platform.hpp"
#include "loyalty/store/database.hpp"

namespace loyalty::cli {

struct GlobalOptions {
  std::filesystem::path data_dir = "data";
  std::optional<std::filesystem::path> config_file;
  std::optional<std::string> now;  // evaluate as of this time instead of the wall clock
  bool json = false;
};

// An opened data directory: configuration, store, clock and the platform's services.
class Context {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<Context>> Open(const GlobalOptions& options);

  engine::Platform& platform() { return *platform_; }
  ledger::Ledger& ledger() { return platform_->ledger(); }
  events::EventLog& event_log() { return platform_->event_log(); }
  engine::Ingestor& ingestor() { return platform_->ingestor(); }
  engine::Members& members() { return platform_->members(); }
  const core::Json& config() const { return config_; }
  const core::Clock& clock() const { return *clock_; }

 private:
  core::Json config_;
  std::unique_ptr<core::Clock> clock_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<engine::Platform> platform_;
};

// Loads the configuration GlobalOptions point at (explicit file, else DATA_DIR/loyalty.toml
// when present) with LOYALTY_* environment overrides.
[[nodiscard]] core::Result<core::Json> LoadCliConfig(const GlobalOptions& options);

// Prints `value` as JSON (with --json) or as the given text; returns exit code 0.
int PrintResult(const GlobalOptions& options, const core::Json& value, const std::string& text);

// Prints "error: <message>" on one line to stderr; returns the error's exit code.
int PrintError(const core::Error& error);

// A subcommand's body: the JSON result (for --json) and its text, or an error.
using CommandBody = std::function<core::Result<std::pair<core::Json, std::string>>(Context&)>;

// Wraps a body: opens the data directory, runs it, prints the result or the one-line error.
std::function<int()> Runner(GlobalOptions& options, CommandBody body);

// A JSON document from a --file (errors name the file).
[[nodiscard]] core::Result<core::Json> ReadJsonFile(const std::string& path);

// An optional time flag's value: nullopt when `text` is empty; an error naming `flag` when it
// is not ISO 8601.
[[nodiscard]] core::Result<std::optional<core::Timestamp>> OptionalTime(const std::string& text, std::string_view flag);

}  // namespace loyalty::cli
