#pragma once
// The real server on a free loopback port, with the real routes over a ledger on a SQLite
// file in a temp dir and a manual clock.

#include <gtest/gtest.h>

#include "http_client.hpp"
#include "loyalty/ledger/ledger.hpp"
#include "loyalty/server/http_server.hpp"
#include "loyalty/server/routes.hpp"
#include "loyalty/store/sqlite.hpp"
#include "support/temp_dir.hpp"

namespace loyalty::server::testing {

class ServerFixture : public ::testing::Test {
 protected:
  // Tests may adjust options_ or add routes to router_ before calling StartServer().
  void SetUp() override {
    auto db = store::OpenSqlite({.path = dir_ / "api.db", .durability = store::Durability::kNormal});
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    ledger::ProgramConfig program = ledger::DefaultProgramConfig();
    program.rewards.push_back({"mug", "Mug", 30, 2});
    auto ledger = ledger::Ledger::Open(*db_, program, clock_);
    ASSERT_TRUE(ledger) << ledger.error().message;
    ledger_ = std::move(*ledger);
    auto log = events::EventLog::Open(*db_, clock_);
    ASSERT_TRUE(log) << log.error().message;
    event_log_ = std::move(*log);
    ingestor_ = std::make_unique<engine::Ingestor>(*event_log_, *ledger_, clock_);
    AddSystemRoutes(router_, metrics_, [] { return core::Status{}; });
    AddLedgerRoutes(router_, *ledger_, metrics_);
    AddEventRoutes(router_, *ingestor_, *event_log_, metrics_);
    options_.port = 0;
    options_.worker_threads = 4;
  }

  void StartServer() {
    auto server = HttpServer::Start(options_, router_, metrics_);
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
  }

  void TearDown() override { server_.reset(); }

  HttpClient Client() { return HttpClient(server_->port()); }

  ::loyalty::testing::TempDir dir_;
  core::ManualClock clock_{*core::ParseTimestamp("2026-04-01T10:00:00Z")};
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<events::EventLog> event_log_;
  std::unique_ptr<engine::Ingestor> ingestor_;
  Metrics metrics_;
  Router router_;
  ServerOptions options_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace loyalty::server::testing
