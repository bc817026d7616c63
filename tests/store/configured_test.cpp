// The store a [store] section names: SQLite in the data directory by default, PostgreSQL by
// URL; every wrong key or value is refused with a message naming it.

#include "loyalty/store/configured.hpp"

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"
#include "support/test_store.hpp"

namespace loyalty::store {
namespace {

using core::ErrorCode;
using core::Json;

void ExpectRefused(const Json& section, std::string_view mentions) {
  ::loyalty::testing::TempDir dir;
  auto opened = OpenConfigured(section, dir.path());
  ASSERT_FALSE(opened) << section.dump();
  EXPECT_EQ(opened.error().code, ErrorCode::kInvalidArgument) << opened.error().message;
  EXPECT_NE(opened.error().message.find(mentions), std::string::npos) << opened.error().message;
}

TEST(ConfiguredStore, SqliteInTheDataDirectoryByDefault) {
  ::loyalty::testing::TempDir dir;
  auto opened = OpenConfigured(Json::object(), dir.path());
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->db->backend(), "sqlite");
  EXPECT_EQ(opened->description["path"], (dir.path() / "loyalty.db").string());
  EXPECT_EQ(opened->description["durability"], "full");
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "loyalty.db"));

  auto normal = OpenConfigured({{"backend", "sqlite"}, {"durability", "normal"}}, dir.path() / "other");
  EXPECT_FALSE(normal) << "the data directory is the caller's to create";
}

TEST(ConfiguredStore, WrongKeysAndValuesAreNamed) {
  ExpectRefused({{"backend", "mysql"}}, "store.backend 'mysql'");
  ExpectRefused({{"durability", "sometimes"}}, "store.durability");
  ExpectRefused({{"busy_timeout_ms", -1}}, "store.busy_timeout_ms");
  ExpectRefused({{"backend", "postgres"}}, "store.url is required");
  ExpectRefused({{"backend", "postgres"}, {"url", ""}}, "store.url is required");
  // A SQLite key under PostgreSQL (and the reverse) is a mistake, not something to ignore.
  ExpectRefused({{"backend", "postgres"}, {"url", "postgresql://h/db"}, {"durability", "full"}}, "store.durability");
  ExpectRefused({{"url", "postgresql://h/db"}}, "store.url");
  ExpectRefused({{"backend", "postgres"}, {"url", "postgresql://h/db"}, {"read_connections", 9},
                 {"max_read_connections", 4}},
                "store.read_connections");
  ExpectRefused({{"backend", "postgres"}, {"url", "postgresql://h/db"}, {"lock_timeout_ms", 0}},
                "store.lock_timeout_ms");
  ExpectRefused({{"backend", "postgres"}, {"url", "postgresql://h/db"}, {"schema", "Bad-Name"}}, "schema 'Bad-Name'");
  ExpectRefused(Json::array(), "[store] must be a table");
}

TEST(ConfiguredStore, AnUnreachableServerIsUnavailable) {
  ::loyalty::testing::TempDir dir;
  auto opened =
      OpenConfigured({{"backend", "postgres"}, {"url", "postgresql://nobody:secret@127.0.0.1:1/db"}}, dir.path());
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(opened.error().message.find("cannot connect"), std::string::npos) << opened.error().message;
  EXPECT_EQ(opened.error().message.find("secret"), std::string::npos) << opened.error().message;
}

TEST(ConfiguredStore, PostgresByUrlAndSchema) {
  ::loyalty::testing::TestStore store;
  if (!store.postgres()) GTEST_SKIP() << "runs as a postgres: test";
  const auto& options = *store.postgres_options();
  auto opened = OpenConfigured({{"backend", "postgres"},
                                {"url", options.url},
                                {"schema", options.schema},
                                {"application_name", "node-1"},
                                {"read_connections", 1},
                                {"max_read_connections", 2}},
                               store.dir().path());
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->db->backend(), "postgres");
  EXPECT_EQ(opened->description["schema"], options.schema);
  // The description names the server, never who connects or with what password.
  const std::string server = opened->description["server"];
  EXPECT_EQ(server.find('@'), std::string::npos) << server;
  EXPECT_NE(server.find("127.0.0.1"), std::string::npos) << server;
  EXPECT_FALSE(std::filesystem::exists(store.dir().path() / "loyalty.db"));
}

}  // namespace
}  // namespace loyalty::store
