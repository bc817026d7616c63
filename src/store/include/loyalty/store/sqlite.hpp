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
  int read_connections = 8;  // kept open between reads; more are opened under load
  // Upper bound on calls batched into one commit.
  int max_batch = 512;
  // The WAL is checkpointed into the database file once it holds this many pages. A ledger
  // command touches a dozen b-trees, so the default of 1,000 would checkpoint (and fsync)
  // every few dozen commits; 10,000 pages is a 40 MB log.
  int wal_autocheckpoint_pages = 10000;
  // Page size of a new database file (an existing file keeps its own). Every page a commit
  // dirties is written to the WAL as one frame, and a ledger command dirties about a dozen
  // b-tree pages with a few rows each, so smaller pages write (and fsync) less per commit —
  // but reads then walk more pages. Measured here (BENCHMARKS.md): 2 KiB commits earns ~1.5x
  // faster than the default 4 KiB with statement reads as fast; 1 KiB commits a little faster
  // still but doubles statement latency.
  int page_size = 2048;
  // Page cache per connection, in MiB. SQLite's default (2 MiB) makes a ledger of any size
  // re-read index pages from the file system on every command.
  int cache_mib = 64;
  // How long a batch leader waits for the writers of the previous batch before committing
  // without them (0: never wait). Waits happen only while writers are concurrent.
  int commit_delay_us = 200;
};

[[nodiscard]] Result<std::unique_ptr<Database>> OpenSqlite(const SqliteOptions& options);

}  // namespace loyalty::store
