#include "loyalty/store/configured.hpp"

#include "loyalty/core/settings.hpp"
#include "loyalty/store/postgres.hpp"
#include "loyalty/store/sqlite.hpp"

namespace loyalty::store {

using core::ErrorCode;
using core::Fail;

namespace {

Result<ConfiguredStore> OpenSqliteSection(const core::Json& section, const std::filesystem::path& data_dir) {
  LOYALTY_TRY(core::RejectUnknownFields(section, {"backend", "durability", "busy_timeout_ms"}, "store"));
  SqliteOptions sqlite;
  LOYALTY_ASSIGN_OR_RETURN(auto durability, core::OptionalString(section, "durability", "store"));
  if (durability) {
    auto parsed = ParseDurability(*durability);
    if (!parsed) return core::Wrap(parsed.error(), "store.durability");
    sqlite.durability = *parsed;
  }
  LOYALTY_TRY(core::ReadSetting(section, "busy_timeout_ms", "store", 0, 3'600'000, sqlite.busy_timeout_ms));
  sqlite.path = data_dir / "loyalty.db";
  LOYALTY_ASSIGN_OR_RETURN(auto db, OpenSqlite(sqlite));
  return ConfiguredStore{std::move(db),
                         {{"backend", "sqlite"},
                          {"path", sqlite.path.string()},
                          {"durability", sqlite.durability == Durability::kFull ? "full" : "normal"}}};
}

// host:port/database of a libpq URI or keyword string, without user or password.
std::string ServerOf(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return "(keyword connection string)";  // may hold a password
  std::string rest = url.substr(scheme + 3);
  if (const auto at = rest.find('@'); at != std::string::npos) rest = rest.substr(at + 1);
  if (const auto query = rest.find('?'); query != std::string::npos) rest = rest.substr(0, query);
  return rest;
}

Result<ConfiguredStore> OpenPostgresSection(const core::Json& section) {
  LOYALTY_TRY(core::RejectUnknownFields(section,
                                        {"backend", "url", "schema", "application_name", "read_connections",
                                         "max_read_connections", "lock_timeout_ms"},
                                        "store"));
  PostgresOptions options;
  LOYALTY_ASSIGN_OR_RETURN(auto url, core::OptionalString(section, "url", "store"));
  if (!url || url->empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "store.url is required with backend \"postgres\" (e.g. LOYALTY_STORE__URL=postgresql://user@host/db)");
  }
  options.url = *url;
  LOYALTY_TRY(core::ReadSetting(section, "schema", "store", options.schema));
  LOYALTY_TRY(core::ReadSetting(section, "application_name", "store", options.application_name));
  LOYALTY_TRY(core::ReadSetting(section, "read_connections", "store", 0, 1000, options.read_connections));
  LOYALTY_TRY(core::ReadSetting(section, "max_read_connections", "store", 1, 1000, options.max_read_connections));
  LOYALTY_TRY(core::ReadSetting(section, "lock_timeout_ms", "store", 1, 3'600'000, options.lock_timeout_ms));
  if (options.read_connections > options.max_read_connections) {
    return Fail(ErrorCode::kInvalidArgument, "store.read_connections must not exceed store.max_read_connections");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto db, OpenPostgres(options));
  return ConfiguredStore{std::move(db),
                         {{"backend", "postgres"}, {"server", ServerOf(options.url)}, {"schema", options.schema}}};
}

}  // namespace

Result<ConfiguredStore> OpenConfigured(const core::Json& section, const std::filesystem::path& data_dir) {
  if (!section.is_object()) return Fail(ErrorCode::kInvalidArgument, "[store] must be a table");
  LOYALTY_ASSIGN_OR_RETURN(auto backend, core::OptionalString(section, "backend", "store"));
  if (!backend || *backend == "sqlite") return OpenSqliteSection(section, data_dir);
  if (*backend == "postgres") return OpenPostgresSection(section);
  return Fail(ErrorCode::kInvalidArgument, "store.backend '" + *backend + "' is not \"sqlite\" or \"postgres\"");
}

}  // namespace loyalty::store
