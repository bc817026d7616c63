#include "context.hpp"

#include <pwd.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include "loyalty/core/config.hpp"
#include "loyalty/core/logging.hpp"
#include "loyalty/oversight/audit_log.hpp"
#include "loyalty/store/configured.hpp"

namespace loyalty::cli {

using core::ErrorCode;
using core::Fail;

core::Result<core::Json> LoadCliConfig(const GlobalOptions& options) {
  std::optional<std::filesystem::path> file = options.config_file;
  if (!file) {
    const auto candidate = options.data_dir / "loyalty.toml";
    if (std::filesystem::exists(candidate)) file = candidate;
  }
  return core::LoadConfig(file, core::ProcessEnvironment());
}

core::Result<std::unique_ptr<Context>> Context::Open(const GlobalOptions& options) {
  auto context = std::unique_ptr<Context>(new Context());
  LOYALTY_ASSIGN_OR_RETURN(context->config_, LoadCliConfig(options));
  const core::Json& config = context->config_;

  // The data directory holds the SQLite store, and on either backend the default vault key file.
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) {
    return Fail(ErrorCode::kInvalidArgument,
                "cannot create data directory '" + options.data_dir.string() + "': " + ec.message());
  }
  LOYALTY_ASSIGN_OR_RETURN(auto opened,
                           store::OpenConfigured(config.value("store", core::Json::object()), options.data_dir));
  context->db_ = std::move(opened.db);
  core::Log(core::LogLevel::kInfo, "store.open", opened.description);

  if (options.now) {
    LOYALTY_ASSIGN_OR_RETURN(auto now, core::ParseTimestamp(*options.now));
    context->clock_ = std::make_unique<core::ManualClock>(now);
  } else {
    context->clock_ = std::make_unique<core::SystemClock>();
  }
  LOYALTY_ASSIGN_OR_RETURN(auto platform_options, engine::ParsePlatformOptions(config));
  LOYALTY_ASSIGN_OR_RETURN(platform_options.vault_key, engine::ResolveVaultKey(config, options.data_dir / "vault.key"));
  LOYALTY_ASSIGN_OR_RETURN(context->platform_,
                           engine::Platform::Open(*context->db_, std::move(platform_options), *context->clock_));
  // On several nodes every command that logs events stages them for the bus.
  LOYALTY_ASSIGN_OR_RETURN(context->bus_, engine::ParseBusOptions(config));
  if (context->bus_) {
    LOYALTY_ASSIGN_OR_RETURN(context->bus_staging_,
                             engine::EventStaging::Install(*context->platform_, context->bus_->jetstream));
  }
  return context;
}

std::string OperatorName() {
  passwd entry{};
  passwd* found = nullptr;
  std::string buffer(4096, '\0');
  if (getpwuid_r(geteuid(), &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr &&
      found->pw_name != nullptr && *found->pw_name != '\0') {
    return found->pw_name;
  }
  return "uid:" + std::to_string(geteuid());
}

int PrintResult(const GlobalOptions& options, const core::Json& value, const std::string& text) {
  if (options.json) {
    std::cout << core::Dump(value, 2) << "\n";
  } else {
    std::cout << text;
    if (!text.empty() && text.back() != '\n') std::cout << "\n";
  }
  return 0;
}

int PrintError(const core::Error& error) {
  std::string message = error.message;
  for (char& c : message) {
    if (c == '\n') c = ' ';
  }
  std::cerr << "error: " << message << "\n";
  return core::ExitCode(error.code);
}

std::function<int()> Runner(GlobalOptions& options, CommandBody body) {
  return [&options, body = std::move(body)]() -> int {
    auto context = Context::Open(options);
    if (!context) return PrintError(context.error());
    auto result = body(**context);
    if (!result) return PrintError(result.error());
    return PrintResult(options, result->first, result->second);
  };
}

core::Status RecordChange(const GlobalOptions& options, Context& context, std::string_view action, int status,
                          std::string_view result) {
  const ChangeRecord& change = context.change();
  oversight::AuditEntry entry;
  entry.actor = change.actor;
  entry.role = "operator";
  entry.action = std::string(action);
  entry.target = change.target.empty() ? std::string(action) : change.target;
  entry.member = change.member;
  entry.reason = change.reason;
  entry.status = status;
  // Keyed (the vault's lookup key): arguments may hold an e-mail, and an unkeyed digest would
  // let a reader of the trail test a guess against it.
  auto arguments = context.platform().vault().Digest(options.command_line);
  entry.request_digest = arguments ? *arguments : "";
  entry.result_digest = oversight::Digest(result);
  if (auto recorded = context.platform().audit().Append(std::move(entry)); !recorded) {
    return core::Fail(core::ErrorCode::kInternal, std::string(action) + (status < 300 ? " done" : " refused") +
                                                      ", but the audit trail could not record it: " +
                                                      recorded.error().message);
  }
  return {};
}

std::function<int()> Change(GlobalOptions& options, std::string action, CommandBody body) {
  return [&options, action = std::move(action), body = std::move(body)]() -> int {
    auto context = Context::Open(options);
    if (!context) return PrintError(context.error());
    auto result = body(**context);
    const int status = result ? 200 : core::HttpStatus(result.error().code);
    const std::string outcome = result ? core::Dump(result->first) : result.error().message;
    if (auto recorded = RecordChange(options, **context, action, status, outcome); !recorded) {
      return PrintError(recorded.error());
    }
    if (!result) return PrintError(result.error());
    return PrintResult(options, result->first, result->second);
  };
}

core::Result<std::optional<core::Timestamp>> OptionalTime(const std::string& text, std::string_view flag) {
  if (text.empty()) return std::optional<core::Timestamp>();
  auto at = core::ParseTimestamp(text);
  if (!at) return core::Wrap(at.error(), flag);
  return std::optional<core::Timestamp>(*at);
}

core::Result<core::Json> ReadJsonFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::Fail(core::ErrorCode::kInvalidArgument, "cannot read --file " + path);
  std::stringstream text;
  text << in.rdbuf();
  auto doc = core::ParseJson(text.str());
  if (!doc) return core::Wrap(doc.error(), path);
  return doc;
}

}  // namespace loyalty::cli
