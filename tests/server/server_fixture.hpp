#pragma once
// The real server on a free loopback port, with the real routes over a ledger on a SQLite
// file in a temp dir and a manual clock.

#include <gtest/gtest.h>

#include "http_client.hpp"
#include "loyalty/engine/platform.hpp"
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
    auto platform = engine::Platform::Open(*db_, {.program = program, .default_region = "DE"}, clock_);
    ASSERT_TRUE(platform) << platform.error().message;
    platform_ = std::move(*platform);
    ledger_ = &platform_->ledger();
    event_log_ = &platform_->event_log();
    ingestor_ = &platform_->ingestor();
    AddSystemRoutes(router_, metrics_, [] { return core::Status{}; });
    AddLedgerRoutes(router_, *ledger_, metrics_,
                    [this](const core::MemberId& m) { return platform_->identity().Resolve(m); });
    AddEventRoutes(router_, *ingestor_, *event_log_, metrics_);
    AddMemberRoutes(router_, platform_->members(), metrics_);
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
  std::unique_ptr<engine::Platform> platform_;
  ledger::Ledger* ledger_ = nullptr;
  events::EventLog* event_log_ = nullptr;
  engine::Ingestor* ingestor_ = nullptr;
  Metrics metrics_;
  Router router_;
  ServerOptions options_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace loyalty::server::testing
