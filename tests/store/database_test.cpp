#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "loyalty/store/sqlite.hpp"
#include "support/store_files.hpp"
#include "support/test_store.hpp"

namespace loyalty::store {
namespace {

using core::ErrorCode;
using core::Fail;

// Runs on SQLite, and on PostgreSQL as the "postgres:" tests (support/test_store.hpp).
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store_.Open();
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    ASSERT_TRUE(db_->Write([](Transaction& tx) {
      return tx.ExecuteScript("CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL, note TEXT, r REAL)");
    }));
  }

  int64_t Count() {
    return *db_->ReadValue<int64_t>([](Transaction& tx) -> core::Result<int64_t> {
      LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT COUNT(*) FROM kv"));
      return row->Int(0);
    });
  }

  testing::TestStore store_;
  std::unique_ptr<Database> db_;
};

TEST_F(StoreTest, BindsAndReadsEveryValueType) {
  ASSERT_TRUE(db_->Write([](Transaction& tx) -> core::Status {
    std::optional<std::string> none;
    LOYALTY_TRY(tx.Execute("INSERT INTO kv VALUES (?1, ?2, ?3, ?4)", {"a", 1, none, 2.5}));
    LOYALTY_TRY(tx.Execute("INSERT INTO kv VALUES (?1, ?2, ?3, ?4)", {std::string("b"), int64_t{-7}, "note", nullptr}));
    return {};
  }));
  auto rows = db_->ReadValue<std::vector<Row>>(
      [](Transaction& tx) { return tx.Query("SELECT k, v, note, r FROM kv ORDER BY k"); });
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].Text(0), "a");
  EXPECT_EQ((*rows)[0].Int(1), 1);
  EXPECT_TRUE((*rows)[0].IsNull(2));
  EXPECT_DOUBLE_EQ((*rows)[0].Real(3), 2.5);
  EXPECT_EQ((*rows)[1].Int(1), -7);
  EXPECT_EQ((*rows)[1].Text(2), "note");
  EXPECT_EQ((*rows)[1].OptionalInt(3), std::nullopt);
}

TEST_F(StoreTest, FailedWorkLeavesNothingBehind) {
  auto status = db_->Write([](Transaction& tx) -> core::Status {
    LOYALTY_TRY(tx.Execute("INSERT INTO kv (k, v) VALUES ('x', 1)"));
    return Fail(ErrorCode::kInsufficientPoints, "changed my mind");
  });
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kInsufficientPoints);
  EXPECT_EQ(Count(), 0);
}

TEST_F(StoreTest, ConstraintViolationIsAConflictAndRollsBack) {
  auto status = db_->Write([](Transaction& tx) -> core::Status {
    LOYALTY_TRY(tx.Execute("INSERT INTO kv (k, v) VALUES ('x', 1)"));
    LOYALTY_TRY(tx.Execute("INSERT INTO kv (k, v) VALUES ('x', 2)"));
    return {};
  });
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kConflict);
  EXPECT_EQ(Count(), 0);
}

TEST_F(StoreTest, WrongParameterCountAndBadSqlAreReported) {
  auto status = db_->Write([](Transaction& tx) -> core::Status {
    LOYALTY_TRY(tx.Execute("INSERT INTO kv (k, v) VALUES (?1, ?2)", {"only-one"}));
    return {};
  });
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find("expects 2 parameters"), std::string::npos);
  auto bad = db_->Read([](Transaction& tx) -> core::Status {
    LOYALTY_TRY(tx.Query("SELEKT 1"));
    return {};
  });
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("syntax error"), std::string::npos);
}

TEST_F(StoreTest, ConcurrentWritersShareCommitsAndFailuresStayIsolated) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string key = std::to_string(t) + "-" + std::to_string(i);
        // Every fifth write fails: half of those refuse after writing, half break a key, so
        // the failing statement is the store's own error in the middle of a batch.
        const bool fail = i % 5 == 0;
        auto status = db_->Write([&](Transaction& tx) -> core::Status {
          LOYALTY_TRY(tx.Execute("INSERT INTO kv (k, v) VALUES (?1, ?2)", {key, i}));
          if (fail && i % 10 == 0) return Fail(ErrorCode::kInvalidArgument, "rejected");
          if (fail) LOYALTY_TRY(tx.Execute("INSERT INTO kv (k, v) VALUES (?1, ?2)", {key, i}));
          return {};
        });
        if (fail && i % 10 != 0 && !status) {
          EXPECT_EQ(status.error().code, ErrorCode::kConflict) << status.error().message;
        }
        if (!status) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), kThreads * kPerThread / 5);
  EXPECT_EQ(Count(), kThreads * kPerThread * 4 / 5);
  const auto stats = db_->write_stats();
  EXPECT_GT(stats.writes, 0);
  EXPECT_LT(stats.commits, stats.writes) << "concurrent writers share commits";
}

TEST_F(StoreTest, ScrubLeavesNoTraceOfDeletedRowsInTheFiles) {
  // The files are SQLite's to read; on PostgreSQL the scrub still queues with the writers.
  const bool files = !store_.postgres();
  auto file_bytes = [&] { return files ? testing::StoreFileBytes(store_.dir() / "store.db") : std::string(); };
  ASSERT_TRUE(db_->Write([](Transaction& tx) -> core::Status {
    LOYALTY_TRY(tx.Execute("INSERT INTO kv (k, v, note) VALUES ('a', 1, 'secret-note-of-ann')", {}));
    LOYALTY_TRY(tx.Execute("INSERT INTO kv (k, v, note) VALUES ('b', 2, 'kept')", {}));
    return {};
  }));
  if (files) {
    ASSERT_NE(file_bytes().find("secret-note-of-ann"), std::string::npos);
  }
  ASSERT_TRUE(db_->Write([](Transaction& tx) -> core::Status {
    LOYALTY_TRY(tx.Execute("DELETE FROM kv WHERE k = 'a'", {}));
    return {};
  }));
  if (files) {
    EXPECT_NE(file_bytes().find("secret-note-of-ann"), std::string::npos) << "the log still holds the old page";
  }

  // Concurrent writers queue behind the scrub and all land.
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string key = "w" + std::to_string(t) + "-" + std::to_string(i);
        EXPECT_TRUE(db_->Write([&](Transaction& tx) -> core::Status {
          LOYALTY_TRY(tx.Execute("INSERT INTO kv (k, v) VALUES (?1, 0)", {key}));
          return {};
        }));
      }
    });
  }
  ASSERT_TRUE(db_->Scrub());
  for (auto& w : writers) w.join();
  ASSERT_TRUE(db_->Scrub());
  if (files) {
    EXPECT_EQ(file_bytes().find("secret-note-of-ann"), std::string::npos);
    EXPECT_EQ(std::filesystem::file_size(store_.dir() / "store.db-wal"), 0u);
  }
  EXPECT_EQ(Count(), 1 + 4 * 50);
}

TEST_F(StoreTest, ReadersSeeOneSnapshotWhileWritersCommit) {
  ASSERT_TRUE(db_->Write([](Transaction& tx) -> core::Status {
    LOYALTY_TRY(tx.Execute("INSERT INTO kv (k, v) VALUES ('a', 1)"));
    return {};
  }));
  auto status = db_->Read([&](Transaction& tx) -> core::Status {
    LOYALTY_ASSIGN_OR_RETURN(auto before, tx.QueryOne("SELECT COUNT(*) FROM kv"));
    EXPECT_TRUE(db_->Write([](Transaction& w) -> core::Status {
      LOYALTY_TRY(w.Execute("INSERT INTO kv (k, v) VALUES ('b', 2)"));
      return {};
    }));
    LOYALTY_ASSIGN_OR_RETURN(auto after, tx.QueryOne("SELECT COUNT(*) FROM kv"));
    EXPECT_EQ(before->Int(0), after->Int(0));
    return {};
  });
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(Count(), 2);
}

TEST_F(StoreTest, AWriteThatThrowsFailsAloneAndLeavesTheStoreWritable) {
  auto thrown = db_->Write([](Transaction& tx) -> core::Status {
    LOYALTY_TRY(tx.Execute("INSERT INTO kv (k, v) VALUES ('x', 1)"));
    throw std::runtime_error("boom");
  });
  ASSERT_FALSE(thrown);
  EXPECT_EQ(thrown.error().code, ErrorCode::kInternal);
  EXPECT_NE(thrown.error().message.find("boom"), std::string::npos);
  EXPECT_EQ(Count(), 0);
  ASSERT_TRUE(db_->Write([](Transaction& tx) -> core::Status {
    LOYALTY_TRY(tx.Execute("INSERT INTO kv (k, v) VALUES ('y', 2)"));
    return {};
  }));
  EXPECT_EQ(Count(), 1);
}

TEST_F(StoreTest, DataSurvivesReopening) {
  ASSERT_TRUE(db_->Write([](Transaction& tx) -> core::Status {
    LOYALTY_TRY(tx.Execute("INSERT INTO kv (k, v) VALUES ('kept', 42)"));
    return {};
  }));
  db_.reset();
  auto reopened = store_.Open(Durability::kFull);
  ASSERT_TRUE(reopened);
  db_ = std::move(*reopened);
  EXPECT_EQ(Count(), 1);
}

TEST_F(StoreTest, IntegersAreSixtyFourBitsAndKeysAreGenerated) {
  constexpr int64_t kMillis = 1'796'000'000'000;  // beyond 32 bits, like every timestamp
  auto ids = db_->WriteValue<std::vector<int64_t>>([&](Transaction& tx) -> core::Result<std::vector<int64_t>> {
    LOYALTY_TRY(tx.ExecuteScript(
        "CREATE TABLE stamps (id INTEGER PRIMARY KEY, at INTEGER NOT NULL);"
        "CREATE TABLE named (name TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;"
        "INSERT INTO named VALUES ('it''s', 1796000000000)"));
    std::vector<int64_t> out;
    for (int i = 0; i < 3; ++i) {
      LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("INSERT INTO stamps (at) VALUES (?1) RETURNING id", {kMillis + i}));
      out.push_back(row->Int(0));
    }
    return out;
  });
  ASSERT_TRUE(ids) << ids.error().message;
  EXPECT_LT((*ids)[0], (*ids)[1]);
  EXPECT_LT((*ids)[1], (*ids)[2]);
  auto sums = db_->ReadValue<std::optional<Row>>(
      [](Transaction& tx) { return tx.QueryOne("SELECT SUM(at), COUNT(*), MAX(at) > ?1 FROM stamps", {kMillis}); });
  ASSERT_TRUE(sums && *sums);
  EXPECT_EQ((*sums)->Int(0), 3 * kMillis + 3);  // an integer, not a float, on both backends
  EXPECT_EQ((*sums)->Int(1), 3);
  EXPECT_EQ((*sums)->Int(2), 1);
  auto named = db_->ReadValue<std::optional<Row>>(
      [](Transaction& tx) { return tx.QueryOne("SELECT at FROM named WHERE name = ?1", {"it's"}); });
  ASSERT_TRUE(named && *named);
  EXPECT_EQ((*named)->Int(0), kMillis);
}

// Two handles on one store (two processes, two nodes) serialise their writes: a write that
// reads a value and stores it incremented never loses another's increment.
TEST_F(StoreTest, WritersOfTwoHandlesNeverLoseAnUpdate) {
  ASSERT_TRUE(db_->Write([](Transaction& tx) -> core::Status {
    LOYALTY_TRY(tx.Execute("INSERT INTO kv (k, v) VALUES ('counter', 0)"));
    return {};
  }));
  auto other = store_.Open();
  ASSERT_TRUE(other) << other.error().message;
  constexpr int kPerThread = 60;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (Database* handle : {db_.get(), other->get()}) {
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&, handle] {
        for (int i = 0; i < kPerThread; ++i) {
          auto status = handle->Write([](Transaction& tx) -> core::Status {
            LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT v FROM kv WHERE k = 'counter'"));
            LOYALTY_TRY(tx.Execute("UPDATE kv SET v = ?1 WHERE k = 'counter'", {row->Int(0) + 1}));
            return {};
          });
          if (!status) ++failures;
        }
      });
    }
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto counter = db_->ReadValue<std::optional<Row>>(
      [](Transaction& tx) { return tx.QueryOne("SELECT v FROM kv WHERE k = 'counter'"); });
  ASSERT_TRUE(counter && *counter);
  EXPECT_EQ((*counter)->Int(0), 4 * kPerThread);
}

constexpr Migration kV1[] = {{1, "create a", "CREATE TABLE a (x INTEGER)"}};
constexpr Migration kV2[] = {{1, "create a", "CREATE TABLE a (x INTEGER)"},
                             {2, "create b", "CREATE TABLE b (y INTEGER); INSERT INTO b VALUES (7)"}};

TEST_F(StoreTest, MigrationsApplyOnceInOrder) {
  ASSERT_TRUE(Migrate(*db_, "demo", kV1));
  ASSERT_TRUE(Migrate(*db_, "demo", kV2));
  ASSERT_TRUE(Migrate(*db_, "demo", kV2));  // again: nothing to do
  auto rows = db_->ReadValue<std::vector<Row>>([](Transaction& tx) { return tx.Query("SELECT y FROM b"); });
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->size(), 1u);  // the insert in version 2 ran once
}

TEST_F(StoreTest, MigrationsRefuseADatabaseFromANewerBinary) {
  ASSERT_TRUE(Migrate(*db_, "demo", kV2));
  auto status = Migrate(*db_, "demo", kV1);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(status.error().message.find("newer than this binary"), std::string::npos);
}

TEST_F(StoreTest, AFailingMigrationLeavesTheSchemaAtTheLastGoodVersion) {
  constexpr Migration kBroken[] = {{1, "create a", "CREATE TABLE a (x INTEGER)"},
                                   {2, "broken", "CREATE TABLE c (z INTEGER); CREATE TABLE a (x INTEGER)"}};
  auto failed = Migrate(*db_, "demo", kBroken);
  ASSERT_FALSE(failed);
  EXPECT_NE(failed.error().message.find("already exists"), std::string::npos) << "the statement's own error";
  auto table_exists = [&](const char* name) {
    auto read = db_->Read([&](Transaction& tx) -> core::Status {
      LOYALTY_TRY(tx.Query(std::string("SELECT COUNT(*) FROM ") + name));
      return {};
    });
    if (!read) {
      EXPECT_NE(read.error().message.find(name), std::string::npos) << read.error().message;
    }
    return read.has_value();
  };
  EXPECT_TRUE(table_exists("a"));
  EXPECT_FALSE(table_exists("c")) << "version 2 rolled back as a whole";
}

TEST(Sqlite, OpenFailsClearlyOnAnUnusablePath) {
  auto db = OpenSqlite({.path = "/nonexistent-dir/x/test.db"});
  ASSERT_FALSE(db);
  EXPECT_NE(db.error().message.find("cannot open"), std::string::npos);
  EXPECT_FALSE(OpenSqlite({.path = ":memory:"}));
  EXPECT_FALSE(ParseDurability("sometimes"));
}

}  // namespace
}  // namespace loyalty::store
