#include "loyalty/store/sqlite.hpp"

#include <sqlite3.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "group_commit.hpp"
#include "idle_pool.hpp"

namespace loyalty::store {

using core::Error;
using core::ErrorCode;
using core::Fail;

namespace {

Error SqliteError(sqlite3* db, int rc, std::string_view what) {
  const int primary = rc & 0xff;
  ErrorCode code = ErrorCode::kInternal;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) code = ErrorCode::kUnavailable;
  if (primary == SQLITE_FULL) code = ErrorCode::kUnavailable;
  if (primary == SQLITE_CONSTRAINT) code = ErrorCode::kConflict;
  std::string message = "sqlite: " + std::string(what) + ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Error{code, std::move(message)};
}

// One SQLite connection with its prepared-statement cache. Used by one thread at a time.
class Connection final : public Transaction {
 public:
  static Result<std::unique_ptr<Connection>> Open(const SqliteOptions& options, bool read_only) {
    sqlite3* handle = nullptr;
    const int flags = (read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) |
                      SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(options.path.c_str(), &handle, flags, nullptr);
    auto conn = std::unique_ptr<Connection>(new Connection(handle));
    if (rc != SQLITE_OK) {
      return std::unexpected(SqliteError(handle, rc, "cannot open '" + options.path.string() + "'"));
    }
    sqlite3_busy_timeout(handle, options.busy_timeout_ms);
    std::string pragmas = "PRAGMA foreign_keys = ON; PRAGMA cache_size = -" +
                          std::to_string(int64_t{options.cache_mib} * 1024) + ";";
    if (!read_only) {
      // page_size takes effect only when the database file is created.
      pragmas += "PRAGMA page_size = " + std::to_string(options.page_size) + "; PRAGMA journal_mode = WAL;";
      // Deleted content is overwritten with zeros, so erased personal data does not linger in
      // free pages of the file.
      pragmas += "PRAGMA secure_delete = ON;";
      pragmas += options.durability == Durability::kFull ? "PRAGMA synchronous = FULL;" : "PRAGMA synchronous = NORMAL;";
      pragmas += "PRAGMA wal_autocheckpoint = " + std::to_string(options.wal_autocheckpoint_pages) + ";";
    }
    LOYALTY_TRY(conn->ExecuteScript(pragmas));
    return conn;
  }

  ~Connection() override {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  Result<int64_t> Execute(std::string_view sql, std::span<const Param> params) override {
    LOYALTY_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql, params));
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) return std::unexpected(SqliteError(db_, rc, "step"));
    return static_cast<int64_t>(sqlite3_changes64(db_));
  }

  Result<std::vector<Row>> Query(std::string_view sql, std::span<const Param> params) override {
    LOYALTY_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql, params));
    std::vector<Row> rows;
    const int columns = sqlite3_column_count(stmt);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::vector<Row::Value> values;
      values.reserve(columns);
      for (int c = 0; c < columns; ++c) {
        switch (sqlite3_column_type(stmt, c)) {
          case SQLITE_INTEGER: values.emplace_back(static_cast<int64_t>(sqlite3_column_int64(stmt, c))); break;
          case SQLITE_FLOAT: values.emplace_back(sqlite3_column_double(stmt, c)); break;
          case SQLITE_NULL: values.emplace_back(nullptr); break;
          default: {
            const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
            if (text == nullptr) {
              sqlite3_reset(stmt);
              return core::Fail(ErrorCode::kUnavailable, "sqlite: out of memory reading a row");
            }
            values.emplace_back(std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt, c))));
          }
        }
      }
      rows.emplace_back(std::move(values));
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) return std::unexpected(SqliteError(db_, rc, "step"));
    return rows;
  }

  void SetBusyTimeout(int ms) { sqlite3_busy_timeout(db_, ms); }

  // True when no transaction is open on this connection.
  bool InAutocommit() const { return sqlite3_get_autocommit(db_) != 0; }

  Status ExecuteScript(std::string_view sql) override {
    char* message = nullptr;
    const int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
      std::string text = message != nullptr ? message : sqlite3_errstr(rc);
      sqlite3_free(message);
      const Error base = SqliteError(nullptr, rc, "exec");
      return Fail(base.code, "sqlite: " + text);
    }
    return {};
  }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  Result<sqlite3_stmt*> Prepare(std::string_view sql, std::span<const Param> params) {
    sqlite3_stmt* stmt = nullptr;
    auto it = cache_.find(std::string(sql));
    if (it != cache_.end()) {
      stmt = it->second;
    } else {
      const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                        &stmt, nullptr);
      if (rc != SQLITE_OK) return std::unexpected(SqliteError(db_, rc, "prepare '" + std::string(sql) + "'"));
      cache_.emplace(std::string(sql), stmt);
    }
    sqlite3_clear_bindings(stmt);
    if (static_cast<int>(params.size()) != sqlite3_bind_parameter_count(stmt)) {
      return Fail(ErrorCode::kInternal, "statement '" + std::string(sql) + "' expects " +
                                            std::to_string(sqlite3_bind_parameter_count(stmt)) + " parameters, got " +
                                            std::to_string(params.size()));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      const int rc = std::visit(
          [&](const auto& v) -> int {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::nullptr_t>) return sqlite3_bind_null(stmt, index);
            if constexpr (std::is_same_v<T, int64_t>) return sqlite3_bind_int64(stmt, index, v);
            if constexpr (std::is_same_v<T, double>) return sqlite3_bind_double(stmt, index, v);
            if constexpr (std::is_same_v<T, std::string_view>) {
              return sqlite3_bind_text64(stmt, index, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
            }
          },
          params[i].value());
      if (rc != SQLITE_OK) return std::unexpected(SqliteError(db_, rc, "bind"));
    }
    return stmt;
  }

  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// The writer connection as the group commit drives it.
class SqliteWriter final : public internal::WriterConnection {
 public:
  explicit SqliteWriter(std::unique_ptr<Connection> conn) : conn_(std::move(conn)) {}

  Connection& connection() { return *conn_; }
  Transaction& transaction() override { return *conn_; }
  Status Begin() override { return Run("BEGIN IMMEDIATE"); }
  Status Savepoint() override { return Run("SAVEPOINT w"); }
  Status RollbackToSavepoint() override {
    LOYALTY_TRY(Run("ROLLBACK TO w"));
    return Run("RELEASE w");
  }
  Status ReleaseSavepoint() override { return Run("RELEASE w"); }
  Status Commit() override { return Run("COMMIT"); }
  void Rollback() override {
    if (!conn_->InAutocommit()) (void)Run("ROLLBACK");
  }
  // SQLite ends the whole transaction by itself on some errors (disk full, I/O error).
  bool InTransaction() const override { return !conn_->InAutocommit(); }

 private:
  // Runs a parameterless statement through the prepared-statement cache.
  Status Run(std::string_view sql) {
    auto result = conn_->Execute(sql, {});
    if (!result) return std::unexpected(result.error());
    return {};
  }

  std::unique_ptr<Connection> conn_;
};

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(SqliteOptions options, std::unique_ptr<Connection> writer)
      : options_(std::move(options)),
        writer_(std::move(writer)),
        commits_(writer_, {.max_batch = options_.max_batch, .commit_delay_us = options_.commit_delay_us}) {}

  std::string_view backend() const override { return "sqlite"; }

  WriteStats write_stats() const override { return commits_.stats(); }

  Status Write(const std::function<Status(Transaction&)>& work) override { return commits_.Write(work); }

  Status Scrub() override {
    return commits_.RunAlone([this]() -> Status {
      Connection& conn = writer_.connection();
      Status status;
      // A reader still on an old snapshot keeps the log busy; readers are short, so retry for
      // a moment, in short waits: every write queues behind the scrub meanwhile.
      conn.SetBusyTimeout(20);
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      while (true) {
        auto rows = conn.Query("PRAGMA wal_checkpoint(TRUNCATE)", {});
        if (!rows) {
          status = std::unexpected(rows.error());
          break;
        }
        if (rows->empty() || rows->front().Int(0) == 0) break;
        if (std::chrono::steady_clock::now() > give_up) {
          status = core::Fail(ErrorCode::kUnavailable, "readers kept the write-ahead log busy; run the scrub again");
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      conn.SetBusyTimeout(options_.busy_timeout_ms);
      return status;
    });
  }

  Status Read(const std::function<Status(Transaction&)>& work) override {
    LOYALTY_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn, AcquireReader());
    // Prepared (and cached) like any statement: parsing BEGIN on every read costs more than
    // a point query.
    Status status;
    if (auto begun = conn->Execute("BEGIN", {}); !begun) {
      status = std::unexpected(begun.error());
    } else {
      status = work(*conn);
      // A read transaction has nothing to keep; ROLLBACK ends the snapshot either way.
      (void)conn->Execute("ROLLBACK", {});
    }
    ReleaseReader(std::move(conn));
    return status;
  }

 private:
  Result<std::unique_ptr<Connection>> AcquireReader() {
    if (auto conn = readers_.Take()) return conn;
    return Connection::Open(options_, /*read_only=*/true);
  }

  void ReleaseReader(std::unique_ptr<Connection> conn) {
    if (!conn->InAutocommit()) return;  // a read that could not end its transaction: discard
    readers_.Return(std::move(conn));
  }

  const SqliteOptions options_;
  SqliteWriter writer_;
  internal::GroupCommit commits_;

  internal::IdlePool<Connection> readers_{options_.read_connections};
};

}  // namespace

Result<Durability> ParseDurability(std::string_view text) {
  if (text == "full") return Durability::kFull;
  if (text == "normal") return Durability::kNormal;
  return Fail(ErrorCode::kInvalidArgument, "durability '" + std::string(text) + "' is not 'full' or 'normal'");
}

Result<std::unique_ptr<Database>> OpenSqlite(const SqliteOptions& options) {
  if (options.path.empty() || options.path == ":memory:") {
    return Fail(ErrorCode::kInvalidArgument, "the SQLite store needs a file path");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto writer, Connection::Open(options, /*read_only=*/false));
  return std::unique_ptr<Database>(new SqliteDatabase(options, std::move(writer)));
}

}  // namespace loyalty::store
