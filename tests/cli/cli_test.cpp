// The `loyalty` binary, run as a user would: output, --json, exit codes and one-line errors.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "loyalty/core/json.hpp"
#include "server/http_client.hpp"
#include "cli/cli_fixture.hpp"

namespace loyalty::cli {
namespace {

TEST_F(CliTest, VersionAndHelp) {
  EXPECT_EQ(Loyalty("version").out, "loyalty 0.1.0\n");
  EXPECT_EQ(LoyaltyJson("version")["version"], "0.1.0");
  CliRun help = Loyalty("ledger earn --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--line"), std::string::npos);
}

TEST_F(CliTest, EarnRedeemAndQueryAMember) {
  ASSERT_EQ(Loyalty("ledger member add ana").exit_code, 0);
  auto earned = LoyaltyJson("ledger earn --member ana --order o1 --line TEE:apparel:2:19.99 --key k1");
  EXPECT_EQ(earned["points"], 39);
  EXPECT_EQ(earned["key"], "k1");
  auto retried = LoyaltyJson("ledger earn --member ana --order o1 --line TEE:apparel:2:19.99 --key k1");
  EXPECT_EQ(retried["entry_id"], earned["entry_id"]);
  ASSERT_EQ(Loyalty("ledger reward add --id mug --name Mug --points 30 --stock 5").exit_code, 0);
  auto redeemed = LoyaltyJson("ledger redeem --member ana --reward mug");
  EXPECT_EQ(redeemed["stock_left"], 4);
  auto balance = LoyaltyJson("ledger balance --member ana");
  EXPECT_EQ(balance["total"], 9);
  EXPECT_EQ(Loyalty("ledger balance --member ana").out, "9 points (9 available, 0 pending)\n");
  auto statement = LoyaltyJson("ledger statement --member ana");
  EXPECT_EQ(statement["lines"].size(), 2u);
  EXPECT_EQ(LoyaltyJson("ledger liability")["outstanding"], 9);
  EXPECT_EQ(LoyaltyJson("ledger lots --member ana").size(), 1u);
  EXPECT_EQ(LoyaltyJson("ledger tier --member ana")["tier"], "Member");
  auto verify = Loyalty("ledger verify");
  EXPECT_EQ(verify.exit_code, 0);
  EXPECT_NE(verify.out.find("every invariant holds"), std::string::npos);
}

TEST_F(CliTest, ReturnsExpiryAndTiersAsOfAGivenTime) {
  ASSERT_EQ(Loyalty("ledger member add ana").exit_code, 0);
  ASSERT_EQ(Loyalty("--now 2026-01-01 ledger earn --member ana --order o1 --line A:x:1:1500.00").exit_code, 0);
  EXPECT_EQ(LoyaltyJson("--now 2026-01-02 ledger tier --member ana")["tier"], "Silver");
  auto returned = LoyaltyJson("--now 2026-01-03 ledger return --member ana --order o1 --line A:1");
  EXPECT_EQ(returned["clawed_back"], 1500);
  ASSERT_EQ(Loyalty("--now 2026-01-04 ledger bonus --member ana --points 70 --reason welcome --actor crm").exit_code, 0);
  auto expired = LoyaltyJson("--now 2028-01-05 ledger expire");
  EXPECT_EQ(expired["points"], 70);
  auto tiers = LoyaltyJson("--now 2028-01-05 ledger tiers");
  EXPECT_EQ(tiers["changes"].size(), 1u);
}

TEST_F(CliTest, ErrorsAreOneLineWithAnExitCodePerKind) {
  ExpectOneLineError(Loyalty("ledger balance --member ghost"), 3, "member 'ghost' does not exist");
  ASSERT_EQ(Loyalty("ledger member add ana").exit_code, 0);
  ExpectOneLineError(Loyalty("ledger earn --member ana --order o1 --line TEE:apparel:two:1.00"), 2,
                     "quantity is not a whole number");
  ExpectOneLineError(Loyalty("ledger earn --member ana --order o1 --line TEE:apparel:1:1.999"), 2,
                     "more than 2 decimal places");
  ExpectOneLineError(Loyalty("ledger earn --member ana --order o1 --line TEE:1:1.00"), 2,
                     "must be SKU:CATEGORY:QUANTITY:UNIT_PRICE");
  ExpectOneLineError(Loyalty("ledger redeem-points --member ana --points 10"), 5, "has 0 available points");
  ASSERT_EQ(Loyalty("ledger earn --member ana --order o1 --line A:x:1:5.00 --key same").exit_code, 0);
  ExpectOneLineError(Loyalty("ledger earn --member ana --order o2 --line A:x:1:6.00 --key same"), 4, "already used");
  ExpectOneLineError(Loyalty("ledger adjust --member ana --points 5 --reason x"), 106, "--actor is required");
  ExpectOneLineError(Loyalty("ledger frobnicate"), 106, "unknown command 'frobnicate'");
  ExpectOneLineError(Loyalty("--now yesterday ledger liability"), 2, "timestamp 'yesterday'");
  ExpectOneLineError(Loyalty("ledger member add 'bad id'"), 2, "member id 'bad id'");
}

TEST_F(CliTest, ConfigurationFileAndEnvironmentAreReadAndCheckedAtStart) {
  const std::string config = (dir_ / "loyalty.toml").string();
  std::ofstream(config) << "[program.earn]\npoints_per_unit = 10\n";
  ASSERT_EQ(Loyalty("--config " + config + " ledger member add ana").exit_code, 0);
  EXPECT_EQ(LoyaltyJson("--config " + config + " ledger earn --member ana --order o1 --line A:x:1:2.00")["points"], 20);
  std::ofstream(config) << "[program.earn]\npoints_per_unit = \"ten\"\n";
  ExpectOneLineError(Loyalty("--config " + config + " ledger liability"), 2, "program.earn.points_per_unit");
  ExpectOneLineError(Loyalty("--config /nonexistent.toml ledger liability"), 2, "cannot read configuration file");
  CliRun env = Loyalty("ledger liability");
  EXPECT_EQ(env.exit_code, 0);
  setenv("LOYALTY_STORE__DURABILITY", "sometimes", 1);
  ExpectOneLineError(Loyalty("ledger liability"), 2, "store.durability");
  unsetenv("LOYALTY_STORE__DURABILITY");
}

TEST_F(CliTest, AWorkerNeedsTheEventBusAndAReachableStore) {
  ExpectOneLineError(Loyalty("worker"), 2, "[bus] backend = \"nats\"");
  setenv("LOYALTY_BUS__BACKEND", "nats", 1);
  ExpectOneLineError(Loyalty("worker --partitions 0-99"), 2, "--partitions");
  setenv("LOYALTY_BUS__URL", "nats://127.0.0.1:1", 1);
  ExpectOneLineError(Loyalty("worker"), 6, "cannot connect");
  unsetenv("LOYALTY_BUS__URL");
  unsetenv("LOYALTY_BUS__BACKEND");
  setenv("LOYALTY_STORE__BACKEND", "postgres", 1);
  ExpectOneLineError(Loyalty("ledger liability"), 2, "store.url is required");
  unsetenv("LOYALTY_STORE__BACKEND");
}

TEST_F(CliTest, StructuredLogsGoToStderrAsJsonLines) {
  CliRun r = Loyalty("--log-level info --log-format json ledger liability");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto line = core::ParseJson(r.err.substr(0, r.err.find('\n')));
  ASSERT_TRUE(line) << r.err;
  EXPECT_EQ((*line)["event"], "store.open");
  EXPECT_EQ((*line)["level"], "info");
  EXPECT_EQ((*line)["durability"], "full");
  EXPECT_EQ(r.out.find("store.open"), std::string::npos);  // stdout stays the command's output
  ExpectOneLineError(Loyalty("--log-format xml ledger liability"), 105, "--log-format");
}

TEST_F(CliTest, ServeAnswersOverHttpAndStopsCleanlyOnSigterm) {
  ASSERT_EQ(Loyalty("access user create --name ops --role admin").exit_code, 0);
  const std::string key = LoyaltyJson("access key issue --user ops --label tests")["key"];
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  const std::string data_dir = (dir_ / "data").string();
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    execl(LOYALTY_BINARY, LOYALTY_BINARY, "serve", "--data-dir", data_dir.c_str(), "--port", "0", nullptr);
    _exit(127);
  }
  close(out[1]);
  FILE* child_out = fdopen(out[0], "r");
  char line[256] = {};
  ASSERT_NE(fgets(line, sizeof line, child_out), nullptr);
  const std::string banner = line;
  ASSERT_EQ(banner.rfind("loyalty serving on http://127.0.0.1:", 0), 0u) << banner;
  const int port = std::stoi(banner.substr(banner.rfind(':') + 1));
  {
    server::testing::HttpClient client(static_cast<uint16_t>(port));
    EXPECT_EQ(client.Send("GET", "/healthz").status, 200);
    EXPECT_EQ(client.Send("POST", "/v1/members", R"({"id":"ana"})").status, 401);  // keys are on by default
    client.SetDefaultHeader("Authorization", "Bearer " + key);
    EXPECT_EQ(client.Send("POST", "/v1/members", R"({"id":"ana"})").status, 201);
    EXPECT_EQ(client.Send("GET", "/v1/members/ana/balance").json()["total"], 0);
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  ASSERT_NE(fgets(line, sizeof line, child_out), nullptr);
  EXPECT_EQ(std::string(line), "loyalty stopped\n");
  fclose(child_out);
  // What the key did over HTTP is in the audit trail, and the chain is intact.
  const CliRun trail = Loyalty("audit list");
  EXPECT_NE(trail.out.find("ops (admin)"), std::string::npos) << trail.out;
  EXPECT_NE(trail.out.find("POST /v1/members -> 201"), std::string::npos) << trail.out;
  const CliRun verified = Loyalty("audit verify");
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  EXPECT_NE(verified.out.find("intact"), std::string::npos) << verified.out;
}

TEST_F(CliTest, EveryChangeFromTheCommandLineIsInTheAuditTrailRefusedOnesToo) {
  ASSERT_EQ(Loyalty("ledger member add ana").exit_code, 0);
  ASSERT_EQ(Loyalty("ledger earn --member ana --order o1 --line SKU:c:1:12.00 --key k1").exit_code, 0);
  ASSERT_EQ(Loyalty("ledger bonus --member ana --points 5 --reason goodwill --actor sam --key k2").exit_code, 0);
  ExpectOneLineError(Loyalty("ledger redeem-points --member ana --points 999"), 5, "");
  const std::string file = (dir_ / "events.ndjson").string();
  std::ofstream(file) << R"({"id":"e1","type":"login","at":"2026-01-02T10:01:00Z","member":"ana","channel":"app"})"
                      << "\n";
  ASSERT_EQ(Loyalty("--now 2026-01-03 import events " + file).exit_code, 0);
  // Reads leave no entry.
  ASSERT_EQ(Loyalty("ledger balance --member ana").exit_code, 0);

  const auto trail = LoyaltyJson("audit list --member ana");
  std::vector<std::string> seen;
  for (const auto& e : trail) {
    seen.push_back(e["action"].get<std::string>() + " " + std::to_string(e["status"].get<int>()) + " " +
                   e["actor"].get<std::string>());
    EXPECT_EQ(e["role"], "operator");
    EXPECT_FALSE(e["request_digest"].get<std::string>().empty());
  }
  const std::string me = LoginName();
  EXPECT_EQ(seen, (std::vector<std::string>{"ledger redeem-points 422 " + me, "ledger bonus 200 sam",
                                            "ledger earn 200 " + me, "ledger member add 200 " + me}));
  const auto imports = LoyaltyJson("audit list --actor " + me);
  bool imported = false;
  for (const auto& e : imports) imported = imported || (e["action"] == "import events" && e["target"] == file);
  EXPECT_TRUE(imported);
  EXPECT_EQ(Loyalty("audit verify").exit_code, 0);
}

TEST_F(CliTest, AccessUsersAndKeysAreManagedFromTheCommandLine) {
  ExpectOneLineError(Loyalty("access user create --name sam --role root"), 2, "no role 'root'");
  ASSERT_EQ(Loyalty("access user create --name sam --role analyst").exit_code, 0);
  ExpectOneLineError(Loyalty("access user create --name sam --role admin"), 4, "exists already");
  const CliRun issued = Loyalty("access key issue --user sam --label notebook");
  ASSERT_EQ(issued.exit_code, 0) << issued.err;
  const std::string key = issued.out.substr(0, issued.out.find('\n'));
  EXPECT_TRUE(key.starts_with("lk_")) << issued.out;
  EXPECT_NE(issued.out.find("shown this once"), std::string::npos);
  const CliRun listed = Loyalty("access key list --user sam");
  EXPECT_NE(listed.out.find("notebook"), std::string::npos) << listed.out;
  EXPECT_EQ(listed.out.find(key), std::string::npos) << "the key is never shown again";
  EXPECT_EQ(LoyaltyJson("access user list")[0]["role"], "analyst");
  const int64_t id = LoyaltyJson("access key list")[0]["id"];
  EXPECT_NE(LoyaltyJson("access key revoke --id " + std::to_string(id))["revoked_at"], nullptr);
  ExpectOneLineError(Loyalty("access key issue --user nobody"), 3, "no user 'nobody'");
  ExpectOneLineError(Loyalty("access key revoke --id 77"), 3, "no API key 77");
  EXPECT_EQ(LoyaltyJson("access user disable --name sam")["disabled"], true);
}

// One event line: ana buys something for 12.00 at the till.
constexpr std::string_view kAnaBuysOnJanuary2nd =
    R"({"id":"e1","type":"purchase","at":"2026-01-02T10:00:00Z","member":"ana","channel":"pos","properties":{"order":"o1","lines":[{"sku":"A","quantity":1,"unit_price":"12.00"}]}})";

TEST_F(CliTest, ImportEventsKeepsTheValidOnesAndReportsTheRest) {
  ASSERT_EQ(Loyalty("ledger member add ana").exit_code, 0);
  const std::string file = (dir_ / "events.ndjson").string();
  std::ofstream(file)
      << kAnaBuysOnJanuary2nd << "\n"
      << R"({"id":"e2","type":"login","at":"2026-01-02T10:01:00Z","member":"ana"})" << "\n"
      << "{oops\n"
      << R"({"id":"e3","type":"review","at":"2026-01-02T10:02:00Z","member":"ana","properties":{"rating":7}})" << "\n";
  CliRun first = Loyalty("--now 2026-01-03 import events " + file);
  EXPECT_EQ(first.exit_code, 2) << first.err;
  EXPECT_NE(first.out.find("imported 4 events"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("2 new, 0 duplicate, 2 rejected"), std::string::npos) << first.out;
  EXPECT_NE(first.err.find("rejected line 3: malformed JSON"), std::string::npos) << first.err;
  EXPECT_NE(first.err.find("rejected line 4 (e3): properties.rating must be 1 to 5"), std::string::npos);
  EXPECT_EQ(LoyaltyJson("ledger balance --member ana")["total"], 12);
  CliRun again = Loyalty("--json --now 2026-01-03 import events " + file);
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_EQ(core::ParseJson(again.out)->at("duplicates"), 2);
  EXPECT_EQ(LoyaltyJson("ledger balance --member ana")["total"], 12);
  ExpectOneLineError(Loyalty("import events /nonexistent.ndjson"), 2, "cannot read");
}

TEST_F(CliTest, EventsRetentionRemovesOldEventsOnceConfiguredAndKeepsTheirCounts) {
  ASSERT_EQ(Loyalty("ledger member add ana").exit_code, 0);
  const std::string file = (dir_ / "events.ndjson").string();
  std::ofstream(file)
      << kAnaBuysOnJanuary2nd << "\n"
      << R"({"id":"e2","type":"login","at":"2026-01-02T10:01:00Z","member":"ana","channel":"app"})" << "\n";
  ASSERT_EQ(Loyalty("--now 2026-01-03 import events " + file).exit_code, 0);
  ExpectOneLineError(Loyalty("events retention"), 5, "event_retention_days");

  std::ofstream(dir_ / "data" / "loyalty.toml") << "[privacy]\nevent_retention_days = 730\n";
  auto report = LoyaltyJson("--now 2028-02-01T09:00:00Z events retention");
  EXPECT_EQ(report["events_removed"], 2);
  EXPECT_EQ(report["cutoff"], "2026-02-01T00:00:00Z");
  auto counts = LoyaltyJson("events counts --from 2026-01-01 --to 2026-01-31");
  ASSERT_EQ(counts["days"].size(), 2u);
  EXPECT_EQ(counts["days"][0]["type"], "login");
  EXPECT_EQ(counts["days"][1]["type"], "purchase");
  EXPECT_NE(Loyalty("events counts").out.find("2026-01-02  purchase  pos  1 events, 1 members"), std::string::npos);
  ExpectOneLineError(Loyalty("events counts --from yesterday"), 2, "from must be a date");
  EXPECT_EQ(LoyaltyJson("ledger balance --member ana")["total"], 12);  // the ledger keeps its own record
  // An event from before the cutoff is refused, not stored to be dropped again.
  CliRun late = Loyalty("--now 2028-02-01T09:00:00Z import events " + file);
  EXPECT_EQ(late.exit_code, 2);
  EXPECT_NE(late.err.find("before the retention cutoff"), std::string::npos) << late.err;
}

TEST_F(CliTest, KpisCountBuyersEngagementAndRevenueByMonth) {
  ASSERT_EQ(Loyalty("ledger member add ana").exit_code, 0);
  const std::string file = (dir_ / "events.ndjson").string();
  std::ofstream(file)
      << R"({"id":"e1","type":"purchase","at":"2026-01-02T10:00:00Z","member":"ana","channel":"pos","properties":{"order":"o1","lines":[{"sku":"A","quantity":2,"unit_price":"12.50"}]}})"
      << "\n"
      << R"({"id":"e2","type":"login","at":"2025-12-20T10:01:00Z","member":"ben"})" << "\n";
  ASSERT_EQ(Loyalty("--now 2026-01-03 import events " + file).exit_code, 0);
  const core::Json kpis = LoyaltyJson("--now 2026-01-03 kpis --months 2");
  ASSERT_EQ(kpis["months"].size(), 2u) << kpis.dump();
  EXPECT_EQ(kpis["months"][0]["month"], "2025-12");
  EXPECT_EQ(kpis["months"][0]["engaged_members"], 1);
  EXPECT_EQ(kpis["months"][1]["buyers"], 1);
  EXPECT_DOUBLE_EQ(kpis["months"][1]["revenue"].get<double>(), 25.0);
  EXPECT_EQ(kpis["current"]["members"], 2);
  EXPECT_DOUBLE_EQ(kpis["current"]["engagement_rate"].get<double>(), 1.0);
  EXPECT_TRUE(kpis["months"][1]["retention_rate"].is_null());  // the log does not reach two years back
  const CliRun text = Loyalty("--now 2026-01-03 kpis --months 2");
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("members 2, active (bought in 90 days) 1"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("2026-01"), std::string::npos) << text.out;
  ExpectOneLineError(Loyalty("kpis --months 40"), 2, "1 to 36");
}

TEST_F(CliTest, ImportTransactionsFromASalesExportOnceAndCsvEvents) {
  const std::string sales = (dir_ / "sales.csv").string();
  // Quoted fields, an order over two rows, a BOM-free header with other spellings, a bad row.
  std::ofstream(sales) << "\"InvoiceNo\",\"StockCode\",\"Quantity\",\"InvoiceDate\",\"UnitPrice\",\"CustomerID\"\n"
                       << "\"1001\",\"A\",2,\"2026-01-01 08:26\",2.50,\"c1\"\n"
                       << "\"1001\",\"B, large\",1,\"2026-01-01 08:26\",5.00,\"c1\"\n"
                       << "\"1002\",\"A\",-1,\"2026-01-02 09:00\",2.50,\"c1\"\n"
                       << "\"1003\",\"C\",1,\"20260103\",7.00,\"c2\"\n";
  CliRun first = Loyalty("--now 2026-01-05 import transactions " + sales);
  EXPECT_EQ(first.exit_code, 2) << first.err;
  EXPECT_NE(first.out.find("2 new, 0 duplicate, 1 rejected"), std::string::npos) << first.out;
  EXPECT_NE(first.err.find("rejected record 4"), std::string::npos) << first.err;
  EXPECT_NE(first.err.find("is not a sale"), std::string::npos) << first.err;
  EXPECT_EQ(LoyaltyJson("ledger balance --member c1")["total"], 10);
  EXPECT_EQ(LoyaltyJson("ledger balance --member c2")["total"], 7);
  CliRun again = Loyalty("--json --now 2026-01-05 import transactions " + sales);
  EXPECT_EQ(core::ParseJson(again.out)->at("duplicates"), 2);
  EXPECT_EQ(LoyaltyJson("ledger balance --member c1")["total"], 10);
  std::ofstream(dir_ / "nodate.csv") << "customer_id,amount\nc1,3\n";
  ExpectOneLineError(Loyalty("import transactions " + (dir_ / "nodate.csv").string()), 2, "date column");
  std::ofstream(dir_ / "broken.csv") << "customer_id,date,amount\nc1,\"2026-01-01,3\n";
  ExpectOneLineError(Loyalty("import transactions " + (dir_ / "broken.csv").string()), 2, "malformed CSV");

  const std::string events = (dir_ / "events.csv").string();
  std::ofstream(events) << "id,type,at,identifier,properties\n"
                        << "x1,login,2026-01-04T10:00:00Z,email:Zed@Example.com,\n"
                        << "x2,review,2026-01-04T10:00:00Z,email:zed@example.com,\"{\"\"rating\"\":4}\"\n"
                        << "x3,review,2026-01-04T10:00:00Z,email:zed@example.com,{oops\n";
  CliRun csv = Loyalty("--now 2026-01-05 import events " + events);
  EXPECT_NE(csv.out.find("2 new, 0 duplicate, 1 rejected"), std::string::npos) << csv.out << csv.err;
  EXPECT_NE(csv.err.find("rejected record 4: column properties: malformed JSON"), std::string::npos) << csv.err;
  auto zed = LoyaltyJson("--now 2026-01-05 members show --identifier email:zed@example.com");
  EXPECT_EQ(zed["id"].get<std::string>().rfind("auto-", 0), 0u);
  auto features = LoyaltyJson("--now 2026-01-05 members features --member " + zed["id"].get<std::string>());
  EXPECT_EQ(features["features"]["last_review_rating"], 4.0);
}

TEST_F(CliTest, ImportMembersReadsQuotedCsvAndNamesTheRecordItCannotUse) {
  const std::string members = (dir_ / "members.csv").string();
  std::ofstream(members) << "\"name, full\",\"member_id\"\r\n\"Ann, A.\",ann\r\n\r\n\"Bo\",bo\r\n";
  CliRun imported = Loyalty("--json import members " + members);
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_EQ(core::ParseJson(imported.out)->at("members"), 2);
  EXPECT_EQ(LoyaltyJson("ledger balance --member bo")["total"], 0);

  std::ofstream(dir_ / "nomember.csv") << "id,name\n1,ann\n";
  ExpectOneLineError(Loyalty("import members " + (dir_ / "nomember.csv").string()), 2, "no member_id column");
  std::ofstream(dir_ / "short.csv") << "name,member_id\nann,ann\nbo\n";
  ExpectOneLineError(Loyalty("import members " + (dir_ / "short.csv").string()), 2, "record 3 has no member_id field");
  std::ofstream(dir_ / "bad.csv") << "member_id\nann\nnot valid!\n";
  ExpectOneLineError(Loyalty("import members " + (dir_ / "bad.csv").string()), 2, "record 3");
}

TEST_F(CliTest, MembersMergeUnmergeAndAFeatureSnapshot) {
  ASSERT_EQ(Loyalty("members create --member ann --identifier email:ann@example.com").exit_code, 0);
  ASSERT_EQ(Loyalty("members create --member bob --identifier card:600100").exit_code, 0);
  const std::string sales = (dir_ / "sales.csv").string();
  std::ofstream(sales) << "customer_id,date,amount\nann,2026-01-01,20\nbob,2026-01-02,5\nbob,2026-02-01,5\n";
  ASSERT_EQ(Loyalty("--now 2026-03-01 import transactions " + sales).exit_code, 0);
  auto merged = LoyaltyJson("members merge --into ann --member bob --reason 'same card'");
  EXPECT_EQ(merged["ledger"]["points_moved"], 10);
  EXPECT_EQ(LoyaltyJson("members show --identifier card:600-100")["id"], "ann");
  EXPECT_EQ(LoyaltyJson("--now 2026-03-01 members features --member bob")["features"]["frequency"], 3.0);
  ExpectOneLineError(Loyalty("members merge --into ann --member ann --reason x"), 2, "into itself");
  ExpectOneLineError(Loyalty("members show --identifier phone:abc"), 2, "not a phone number");

  const std::string snapshot = (dir_ / "snapshot.csv").string();
  auto wrote = LoyaltyJson("--now 2026-03-01 features snapshot --as-of 2026-01-15 --out " + snapshot);
  EXPECT_EQ(wrote["members"], 1);  // ann with bob merged in; bob's February purchase is after the cutoff
  std::ifstream in(snapshot);
  std::string header, row;
  std::getline(in, header);
  std::getline(in, row);
  EXPECT_EQ(header.rfind("member_id,tenure_days,recency_days,frequency,monetary,", 0), 0u) << header;
  EXPECT_EQ(row.rfind("ann,", 0), 0u) << row;
  EXPECT_NE(row.find(",2,25,"), std::string::npos) << row;  // two purchases, 25.00 before the cutoff

  auto undone = LoyaltyJson("members unmerge --member bob --reason 'different people'");
  EXPECT_EQ(undone["ledger"]["points_returned"], 10);
  EXPECT_EQ(LoyaltyJson("ledger verify")["ok"], true);
  ExpectOneLineError(Loyalty("features snapshot --as-of nope --out x.csv"), 2, "--as-of");
  ExpectOneLineError(Loyalty("ledger bonus --member ann --points 5 --reason r --actor a --key merge:9"), 2,
                     "reserved for member merges");
}

TEST_F(CliTest, MembersExportWritesAPrivateFileOnceAndIsAudited) {
  ASSERT_EQ(Loyalty("members create --member ann --identifier email:ann@example.com").exit_code, 0);
  ASSERT_EQ(Loyalty("ledger earn --member ann --order o1 --line SKU:c:1:12.00 --key k1").exit_code, 0);
  // To standard output: the document itself.
  auto doc = LoyaltyJson("members export --member ann");
  EXPECT_EQ(doc["member"], "ann");
  EXPECT_EQ(doc["points"]["balance"]["total"], 12);

  const std::string file = (dir_ / "ann.json").string();
  auto wrote = LoyaltyJson("members export --member ann --out " + file + " --actor dpo --reason ticket-42");
  EXPECT_EQ(wrote["file"], file);
  EXPECT_EQ(std::filesystem::status(file).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::ifstream in(file);
  auto saved = core::ParseJson(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()));
  ASSERT_TRUE(saved);
  EXPECT_EQ((*saved)["profile"]["identifiers"][0]["value"], "ann@example.com");
  // An existing file stays as it is, and a failed export leaves no record of a read.
  ExpectOneLineError(Loyalty("members export --member ann --out " + file), 4, "exists already");
  ExpectOneLineError(Loyalty("members export --member nobody"), 3, "nobody");
  ExpectOneLineError(Loyalty("members export --member ann --out " + (dir_ / "no-such-dir" / "x.json").string()), 2,
                     "cannot create");
  auto audit = LoyaltyJson("audit list --member ann");
  int exports = 0, written_by_dpo = 0, failed = 0;
  for (const auto& entry : audit) {
    if (entry["action"] != "members export") continue;
    ++exports;
    written_by_dpo += entry["actor"] == "dpo" && entry["reason"] == "ticket-42" && entry["status"] == 200 ? 1 : 0;
    failed += entry["status"] != 200 ? 1 : 0;
  }
  EXPECT_EQ(exports, 4);  // stdout, the file, and the failed write with its failure
  EXPECT_EQ(written_by_dpo, 1);
  EXPECT_EQ(failed, 1);
}

TEST_F(CliTest, MembersEraseRemovesTheMemberAndRecordsIt) {
  ASSERT_EQ(Loyalty("members create --member bea --identifier email:bea@example.com").exit_code, 0);
  ASSERT_EQ(Loyalty("ledger earn --member bea --order o1 --line SKU:c:1:12.00 --key k1").exit_code, 0);
  ExpectOneLineError(Loyalty("members erase --member bea"), 106, "--reason");
  ExpectOneLineError(Loyalty("members erase --member nobody --reason DSR-9"), 3, "nobody");
  auto erased = LoyaltyJson("members erase --member bea --reason DSR-9 --actor dpo");
  EXPECT_EQ(erased["identifiers_removed"], 1);
  EXPECT_TRUE(erased["scrubbed"].get<bool>());
  ExpectOneLineError(Loyalty("members show --member bea"), 3, "bea");
  ExpectOneLineError(Loyalty("members show --identifier email:bea@example.com"), 3, "email");
  EXPECT_TRUE(LoyaltyJson("ledger verify")["ok"].get<bool>());
  auto audit = LoyaltyJson("audit list --member bea");
  int erasures = 0;
  for (const auto& entry : audit) {
    erasures += entry["action"] == "members erase" && entry["actor"] == "dpo" && entry["reason"] == "DSR-9" ? 1 : 0;
  }
  EXPECT_EQ(erasures, 1);
  EXPECT_EQ(Loyalty("vault scrub").exit_code, 0);
}

TEST_F(CliTest, DemoTellsTheLedgerStoryAndVerifiesIt) {
  CliRun demo = Loyalty("demo --dir " + (dir_ / "demo").string());
  EXPECT_EQ(demo.exit_code, 0) << demo.err;
  EXPECT_NE(demo.out.find("upgraded to Silver"), std::string::npos) << demo.out;
  EXPECT_NE(demo.out.find("nothing posted twice"), std::string::npos);
  EXPECT_NE(demo.out.find("Verified: the journal balances"), std::string::npos);
  EXPECT_NE(demo.out.find("is merged into ana (shared email identifier)"), std::string::npos) << demo.out;
  EXPECT_NE(demo.out.find("RFM segments now: At Risk"), std::string::npos) << demo.out;
  EXPECT_NE(demo.out.find("offers wait for review"), std::string::npos) << demo.out;
  EXPECT_NE(demo.out.find("its budget goes back"), std::string::npos) << demo.out;
}

}  // namespace
}  // namespace loyalty::cli
