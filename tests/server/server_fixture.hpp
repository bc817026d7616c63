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
    engine::PlatformOptions platform_options{.program = program, .default_region = "DE"};
    ConfigurePlatform(platform_options);
    auto platform = engine::Platform::Open(*db_, std::move(platform_options), clock_);
    ASSERT_TRUE(platform) << platform.error().message;
    platform_ = std::move(*platform);
    ledger_ = &platform_->ledger();
    event_log_ = &platform_->event_log();
    ingestor_ = &platform_->ingestor();
    AddSystemRoutes(router_, metrics_, [] { return core::Status{}; });
    AddLedgerRoutes(router_, *ledger_, metrics_,
                    [this](const core::MemberId& m) { return platform_->members().ResolveForLedger(m); });
    AddEventRoutes(router_, *ingestor_, *event_log_, platform_->identity(), metrics_);
    AddMemberRoutes(router_, platform_->members(), metrics_);
    AddModelRoutes(router_, platform_->predictions(), platform_->registry(), metrics_);
    AddDecisionRoutes(router_, platform_->decisions());
    AddTextRoutes(router_, platform_->text());
    AddPrivacyRoutes(router_, platform_->subject_requests(), platform_->retention());
    AddReviewRoutes(router_, platform_->reviews());
    AddAuditRoutes(router_, platform_->audit());
    AddSessionRoutes(router_);
    AddProgramRoutes(router_, platform_->kpis());
    AddFairnessRoutes(router_, platform_->fairness(), platform_->members());
    options_.port = 0;
    options_.worker_threads = 4;
  }

  // A test fixture's own platform settings (e.g. a retention policy).
  virtual void ConfigurePlatform(engine::PlatformOptions&) {}

  // Serves with API keys required (as `loyalty serve` does); Client() signs in as an admin.
  void StartServer() {
    if (options_.require_keys) {
      ASSERT_TRUE(GuardRoutes(router_, platform_->access(), platform_->audit()));
      admin_key_ = IssueKey(engine::Role::kAdmin);
    }
    auto server = HttpServer::Start(options_, router_, metrics_);
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
  }

  void TearDown() override { server_.reset(); }

  // A key for a new user with this role.
  std::string IssueKey(engine::Role role) {
    const std::string name = std::string(engine::RoleName(role)) + "-" + std::to_string(++users_);
    EXPECT_TRUE(platform_->access().CreateUser(name, role));
    auto key = platform_->access().IssueKey(name, "test");
    EXPECT_TRUE(key) << key.error().message;
    return key ? key->secret : "";
  }

  HttpClient Client() {
    HttpClient client = Anonymous();
    if (!admin_key_.empty()) client.SetDefaultHeader("Authorization", "Bearer " + admin_key_);
    return client;
  }
  HttpClient Anonymous() { return HttpClient(server_->port()); }

  static HttpReply Post(HttpClient& client, const std::string& target, const core::Json& body,
                        const std::string& key = "") {
    std::map<std::string, std::string> headers;
    if (!key.empty()) headers["Idempotency-Key"] = key;
    return client.Send("POST", target, body.dump(), headers);
  }

  // A problem+json answer with this status, type code and a detail containing `detail`.
  static void ExpectProblem(const HttpReply& reply, int status, const std::string& type, const std::string& detail) {
    EXPECT_EQ(reply.status, status) << reply.body;
    EXPECT_EQ(reply.content_type, "application/problem+json");
    const core::Json problem = reply.json();
    EXPECT_EQ(problem["status"], status);
    EXPECT_EQ(problem["type"], "urn:loyalty:problem:" + type) << reply.body;
    EXPECT_NE(problem["detail"].get<std::string>().find(detail), std::string::npos) << reply.body;
  }

  // A purchase body for POST /v1/purchases: one line of one tee shirt.
  static core::Json Purchase(const std::string& member, const std::string& order, const std::string& price) {
    return core::Json{{"member", member},
                      {"order", order},
                      {"lines", core::Json::array({{{"sku", "TEE"}, {"category", "apparel"}, {"quantity", 1},
                                                    {"unit_price", price}}})}};
  }

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
  std::string admin_key_;
  int users_ = 0;
};

}  // namespace loyalty::server::testing
