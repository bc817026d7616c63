#pragma once
// The embedded SQLite backend of the store: WAL journal, foreign keys on, a busy timeout,
// one writer connection with group commit and a pool of reader connections.

#include <filesystem>
#include <memory>

#include "loyalty/store/database.hpp"

namespace loyalty::store {

enum class Durability {
  kFull,    // fsync on every commit: survives power loss
  kNormal,  // WAL fsync at checkpoints only: survives a process crash, may lose the last
            // commits on power loss
};

// Parses "full" or "normal".
[[nodiscard]] Result<Durability> ParseDurability(std::string_view text);

struct SqliteOptions {
  std::filesystem::path path;  // the database file; ":memory:" is not supported (readers need a file)
  Durability durability = Durability::kFull;
  int busy_timeout_ms = 5000;
  int read_connections = 4;
  // Upper bound on calls batched into one commit.
  int max_batch = 512;
};

[[nodiscard]] Result<std::unique_ptr<Database>> OpenSqlite(const SqliteOptions& options);

}  // namespace loyalty::store
