#pragma once
// The store a backend-neutral suite runs on: a SQLite file in a temp dir by default, or a
// fresh schema on a PostgreSQL server when LOYALTY_TEST_POSTGRES_URL_FILE names a file holding
// the server's URL. ctest registers those suites twice, the second time (tests named
// "postgres:...") with that variable set and scripts/test-postgres serving.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "loyalty/store/postgres.hpp"
#include "loyalty/store/sqlite.hpp"
#include "support/store_files.hpp"
#include "support/temp_dir.hpp"

namespace loyalty::testing {

class TestStore {
 public:
  TestStore() {
    const char* url_file = std::getenv("LOYALTY_TEST_POSTGRES_URL_FILE");
    if (url_file == nullptr) return;
    std::ifstream in(url_file);
    std::string url;
    std::getline(in, url);
    // The schema is new to this process and this moment: runs never see each other's tables.
    const auto nanos = std::chrono::steady_clock::now().time_since_epoch().count();
    static int opened = 0;
    postgres_ = store::PostgresOptions{
        .url = url,
        .schema = "test_" + std::to_string(::getpid()) + "_" + std::to_string(nanos % 1'000'000'000) + "_" +
                  std::to_string(opened++),
        .read_connections = 2};
    if (url.empty()) ADD_FAILURE() << "no server URL in " << url_file << " (ctest starts scripts/test-postgres)";
  }
  ~TestStore() {
    if (!postgres_ || postgres_->url.empty()) return;
    // Leaves the server as it found it.
    auto db = store::OpenPostgres(*postgres_);
    if (db) {
      (void)(*db)->Write(
          [&](store::Transaction& tx) { return tx.ExecuteScript("DROP SCHEMA " + postgres_->schema + " CASCADE"); });
    }
  }
  TestStore(const TestStore&) = delete;
  TestStore& operator=(const TestStore&) = delete;

  bool postgres() const { return postgres_.has_value(); }
  // The server and schema, for a child process to open the same store.
  const std::optional<store::PostgresOptions>& postgres_options() const { return postgres_; }

  // Opens the store; each call opens the same one (data written before is there).
  core::Result<std::unique_ptr<store::Database>> Open(store::Durability durability = store::Durability::kNormal) {
    if (postgres_) return store::OpenPostgres(*postgres_);
    return store::OpenSqlite({.path = dir_ / "store.db", .durability = durability});
  }

  const TempDir& dir() const { return dir_; }

  // Everything the store holds, for tests that check what is (or is no longer) kept in the
  // clear: on SQLite every byte of its files (the database and its write-ahead log); on
  // PostgreSQL the text of every row of every table of the schema.
  std::string StoredBytes() {
    if (!postgres_) return StoreFileBytes(dir_ / "store.db");
    std::string out;
    auto db = Open();
    if (!db) {
      ADD_FAILURE() << db.error().message;
      return out;
    }
    auto status = (*db)->Read([&](store::Transaction& tx) -> core::Status {
      LOYALTY_ASSIGN_OR_RETURN(auto tables, tx.Query("SELECT table_name FROM information_schema.tables "
                                                     "WHERE table_schema = current_schema()"));
      if (tables.empty()) ADD_FAILURE() << "the schema holds no tables: nothing was read";
      for (const auto& table : tables) {
        LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT CAST(t AS TEXT) FROM " + table.Text(0) + " t"));
        for (const auto& row : rows) out += row.Text(0) + "\n";
      }
      return {};
    });
    if (!status) ADD_FAILURE() << status.error().message;
    return out;
  }

 private:
  TempDir dir_;
  std::optional<store::PostgresOptions> postgres_;
};

}  // namespace loyalty::testing
