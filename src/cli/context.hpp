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
#include "loyalty/engine/bus_link.hpp"
#include "loyalty/engine/platform.hpp"
#include "loyalty/store/database.hpp"

namespace loyalty::cli {

struct GlobalOptions {
  std::filesystem::path data_dir = "data";
  std::optional<std::filesystem::path> config_file;
  std::optional<std::string> now;  // evaluate as of this time instead of the wall clock
  bool json = false;
  std::string command_line;  // the arguments as given: their digest goes to the audit trail
};

// The name of the operating-system user running the command: who changed the store, when a
// command is not told otherwise (--actor).
std::string OperatorName();

// What the audit trail records of a command that changes the store (see Change). The command's
// body fills in what it knows; the rest keeps these defaults.
struct ChangeRecord {
  std::string actor = OperatorName();
  std::string member;  // the member concerned, when there is one
  std::string reason;  // the reason given, if any
  std::string target;  // what was changed; empty: the command's name
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
  // The event bus between nodes ([bus] backend = "nats"); nullopt on the in-process default.
  const std::optional<engine::BusOptions>& bus() const { return bus_; }
  // Under Change: what its audit entry will say.
  ChangeRecord& change() { return change_; }

 private:
  ChangeRecord change_;
  core::Json config_;
  std::unique_ptr<core::Clock> clock_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<engine::Platform> platform_;
  std::optional<engine::BusOptions> bus_;
  std::unique_ptr<engine::EventStaging> bus_staging_;  // with bus_
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

// Runner for a command that changes the store: whether it succeeds or is refused, an entry
// goes to the audit trail (actor, role "operator", `action` such as "ledger earn", target,
// member, reason, the outcome as an HTTP status, digests of the arguments and the result), as
// for a change through the API. A change that cannot be recorded exits non-zero and says so.
std::function<int()> Change(GlobalOptions& options, std::string action, CommandBody body);

// Appends Change's audit entry for a command that runs its own way (imports): `status` is the
// outcome as an HTTP status, `result` what is digested as its result.
[[nodiscard]] core::Status RecordChange(const GlobalOptions& options, Context& context, std::string_view action,
                                        int status, std::string_view result);

// A JSON document from a --file (errors name the file).
[[nodiscard]] core::Result<core::Json> ReadJsonFile(const std::string& path);

// An optional time flag's value: nullopt when `text` is empty; an error naming `flag` when it
// is not ISO 8601.
[[nodiscard]] core::Result<std::optional<core::Timestamp>> OptionalTime(const std::string& text, std::string_view flag);

}  // namespace loyalty::cli
