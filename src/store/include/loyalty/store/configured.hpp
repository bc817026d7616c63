#pragma once
// Opens the store a `[store]` configuration section names: the embedded SQLite file in the
// data directory (the default), or a PostgreSQL server that several nodes share.

#include <filesystem>
#include <memory>

#include "loyalty/core/json.hpp"
#include "loyalty/store/database.hpp"

namespace loyalty::store {

struct ConfiguredStore {
  std::unique_ptr<Database> db;
  // Which store, for logs: backend and file and durability, or backend, server and schema
  // (never the user or password).
  core::Json description;
};

// `backend = "sqlite"` (default): durability, busy_timeout_ms; the file is DATA_DIR/loyalty.db
// (the directory must exist).
// `backend = "postgres"`: url (required), schema, application_name, read_connections,
// max_read_connections, lock_timeout_ms. A key of the other backend is an error, as is any
// unknown key.
[[nodiscard]] Result<ConfiguredStore> OpenConfigured(const core::Json& section,
                                                     const std::filesystem::path& data_dir);

}  // namespace loyalty::store
