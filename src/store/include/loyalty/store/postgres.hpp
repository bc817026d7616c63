#pragma once
// The PostgreSQL backend of the store (libpqxx): the system of record when one box is not
// enough. Same interface and group commit as the embedded SQLite store.
//
// Writes: one writer connection per process runs batches of Write() calls in READ COMMITTED
// transactions that first take a transaction-scoped advisory lock on the schema, so writes
// from every process serialise exactly as on SQLite: a read-check-write (a redemption checking
// a balance) can never interleave with another's. Reads run in REPEATABLE READ, READ ONLY
// transactions on a pool of connections: one snapshot each, never waiting for writers.
//
// Dialect: statements use `?1`... (sent as `$1`...); parameter types are inferred from their
// use, so a parameter must appear where PostgreSQL can tell its type (write
// `CAST(?1 AS TEXT) IS NULL`, not `?1 IS NULL`, for an optional filter). A failed statement
// aborts the rest of its Write(): return the error. Schema scripts (ExecuteScript) are read
// in the store's portable DDL: INTEGER is a 64-bit BIGINT, `INTEGER PRIMARY KEY` a generated
// identity (never insert explicit values into one: its sequence would not follow), REAL a
// DOUBLE PRECISION, TEXT compares byte by byte (COLLATE "C", as in SQLite); `WITHOUT ROWID`
// is dropped. BLOB is not part of the portable dialect.
//
// A lost connection is never reconnected under a transaction: the statement fails as
// unavailable (retry), the batch is rolled back, and the next batch opens a new session.

#include <memory>
#include <string>

#include "loyalty/store/database.hpp"

namespace loyalty::store {

struct PostgresOptions {
  // libpq connection string or URI, e.g. "postgresql://loyalty@db.internal:5432/loyalty".
  std::string url;
  // Schema holding the tables, created when missing; lets several programs (or test runs)
  // share one database. Lowercase letters, digits and '_'.
  std::string schema = "loyalty";
  // How the server lists this process's connections (pg_stat_activity): e.g. the node's name.
  // Letters, digits, '_' and '-'.
  std::string application_name = "loyalty";
  int read_connections = 8;       // kept open between reads
  int max_read_connections = 32;  // reads at once; more wait for a connection
  // Upper bound on calls batched into one commit. Each call is a savepoint; beyond 64 written
  // savepoints in one transaction the server's subtransaction cache overflows and every
  // snapshot on the server slows down.
  int max_batch = 64;
  // How long a writer waits for the write lock (held by another node's batch) or a row lock
  // before failing as unavailable.
  int lock_timeout_ms = 30000;
  // How long a batch leader waits for the writers of the previous batch before committing
  // without them (0: never wait). Waits happen only while writers are concurrent.
  int commit_delay_us = 200;
};

// Connects, creates the schema if needed, and opens the writer connection. Fails with
// kUnavailable when the server cannot be reached, kInvalidArgument on a malformed option.
[[nodiscard]] Result<std::unique_ptr<Database>> OpenPostgres(const PostgresOptions& options);

// Reads a store's portable DDL as PostgreSQL DDL (see above). Exposed for tests.
std::string PostgresDdl(std::string_view portable);

}  // namespace loyalty::store
