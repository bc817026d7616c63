#pragma once
// The SQL store: a backend-neutral interface over a transactional SQL database.
//
// Modules write portable SQL (SQLite and PostgreSQL both accept it): `?1`, `?2` ... for
// parameters, `RETURNING` instead of last-insert-id, integers for all amounts.
//
// Threads: a Database is safe to share. Write() may be called from many threads at once:
// concurrent calls are batched into one transaction and one commit (group commit), each call
// inside its own savepoint so a failing call rolls back only its own changes. Read() runs on a
// pool of connections, each call seeing one consistent snapshot. A Transaction is valid only
// inside the callback it was passed to and only on that thread.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "loyalty/core/error.hpp"

namespace loyalty::store {

using core::Result;
using core::Status;

// A query parameter. Strings are borrowed: they must outlive the Execute/Query call only.
class Param {
 public:
  using Storage = std::variant<std::nullptr_t, int64_t, double, std::string_view>;

  Param(std::nullptr_t) : value_(nullptr) {}
  Param(int v) : value_(int64_t{v}) {}
  Param(long v) : value_(int64_t{v}) {}
  Param(long long v) : value_(int64_t{v}) {}
  Param(double v) : value_(v) {}
  Param(std::string_view v) : value_(v) {}
  Param(const char* v) : value_(std::string_view(v)) {}
  Param(const std::string& v) : value_(std::string_view(v)) {}
  template <typename T>
  Param(const std::optional<T>& v) : value_(nullptr) {
    if (v) value_ = Param(*v).value_;
  }

  const Storage& value() const { return value_; }

 private:
  Storage value_;
};

using Params = std::initializer_list<Param>;

// One result row; it owns its values.
class Row {
 public:
  using Value = std::variant<std::nullptr_t, int64_t, double, std::string>;
  explicit Row(std::vector<Value> values) : values_(std::move(values)) {}

  size_t size() const { return values_.size(); }
  bool IsNull(size_t column) const { return std::holds_alternative<std::nullptr_t>(values_.at(column)); }
  // REQUIRES: the column holds an integer (NULL reads as 0).
  int64_t Int(size_t column) const;
  // REQUIRES: the column holds text (NULL reads as "").
  const std::string& Text(size_t column) const;
  double Real(size_t column) const;
  std::optional<int64_t> OptionalInt(size_t column) const;

 private:
  std::vector<Value> values_;
};

class Transaction {
 public:
  virtual ~Transaction() = default;

  // Runs a statement that returns no rows; returns the number of rows it changed.
  [[nodiscard]] virtual Result<int64_t> Execute(std::string_view sql, std::span<const Param> params) = 0;
  // Runs a query and returns all its rows.
  [[nodiscard]] virtual Result<std::vector<Row>> Query(std::string_view sql, std::span<const Param> params) = 0;

  [[nodiscard]] Result<int64_t> Execute(std::string_view sql, Params params = {}) {
    return Execute(sql, std::span<const Param>(params.begin(), params.size()));
  }
  [[nodiscard]] Result<std::vector<Row>> Query(std::string_view sql, Params params = {}) {
    return Query(sql, std::span<const Param>(params.begin(), params.size()));
  }
  // The first row, or nullopt when the query returns none.
  [[nodiscard]] Result<std::optional<Row>> QueryOne(std::string_view sql, Params params = {});
  // Runs several statements separated by ';' with no parameters (migrations).
  [[nodiscard]] virtual Status ExecuteScript(std::string_view sql) = 0;
};

// A versioned schema change. Versions of one component apply in increasing order, once.
struct Migration {
  int version;
  std::string_view description;
  std::string_view sql;  // portable DDL (see postgres.hpp)
  // Run on PostgreSQL instead of `sql`, where the two must differ (e.g. a column SQLite has
  // implicitly, like rowid).
  std::string_view postgres_sql = {};
};

class Database {
 public:
  virtual ~Database() = default;

  // Runs `work` in a write transaction and returns once the commit is durable. The work's
  // changes are kept only if it returns success and the commit succeeds.
  [[nodiscard]] virtual Status Write(const std::function<Status(Transaction&)>& work) = 0;

  // Runs `work` in a read-only snapshot. Never waits for writers.
  [[nodiscard]] virtual Status Read(const std::function<Status(Transaction&)>& work) = 0;

  // Makes content already deleted unrecoverable from the store's files (erasure calls it).
  // SQLite copies the write-ahead log into the database and empties it, so no old page images
  // of deleted rows remain (deleted content in the database file itself is overwritten as it
  // is deleted); PostgreSQL vacuums the dead rows away. Waits for the writes queued before it.
  [[nodiscard]] virtual Status Scrub() = 0;

  // Backend name for logs and reports: "sqlite" or "postgres".
  virtual std::string_view backend() const = 0;

  // Counters since open: Write() calls and the commits that carried them. With concurrent
  // writers commits < writes: that ratio is group commit at work.
  struct WriteStats {
    int64_t writes = 0;
    int64_t commits = 0;
  };
  virtual WriteStats write_stats() const = 0;

  // Write/Read for work that produces a value.
  template <typename T>
  [[nodiscard]] Result<T> WriteValue(const std::function<Result<T>(Transaction&)>& work) {
    std::optional<T> out;
    LOYALTY_TRY(Write([&](Transaction& tx) -> Status {
      LOYALTY_ASSIGN_OR_RETURN(out, work(tx));
      return {};
    }));
    return std::move(*out);
  }
  template <typename T>
  [[nodiscard]] Result<T> ReadValue(const std::function<Result<T>(Transaction&)>& work) {
    std::optional<T> out;
    LOYALTY_TRY(Read([&](Transaction& tx) -> Status {
      LOYALTY_ASSIGN_OR_RETURN(out, work(tx));
      return {};
    }));
    return std::move(*out);
  }
};

// Applies the migrations of `component` that the database has not seen yet, each in its own
// transaction, recording them in schema_migrations. Fails when the database holds a version
// of this component newer than any in `migrations` (a newer binary wrote it).
[[nodiscard]] Status Migrate(Database& db, std::string_view component, std::span<const Migration> migrations);

}  // namespace loyalty::store
