// Two `loyalty serve` nodes on one PostgreSQL store, as a load balancer would use them: clients
// post purchase events to both; one node is killed (SIGKILL) mid-stream and restarted, and a
// client whose request failed resends it to the other node. Afterwards every acknowledged
// event is in the event log exactly once, every purchase posted exactly once, and the ledger
// balances. With the event bus (NATS JetStream), two workers consume the events and one of them
// is killed and restarted too: every purchase still triggers exactly one decision. Runs as
// postgres:MultiNode (ctest starts PostgreSQL and NATS).

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "loyalty/core/json.hpp"
#include "server/http_client.hpp"
#include "support/test_nats.hpp"
#include "support/test_store.hpp"

namespace loyalty::cli {
namespace {

using core::Json;
using server::testing::HttpClient;
using server::testing::HttpReply;

// One `loyalty serve` or `loyalty worker` process on its own data directory.
class Node {
 public:
  Node(std::filesystem::path data_dir, std::map<std::string, std::string> env, std::vector<std::string> command)
      : data_dir_(std::move(data_dir)), env_(std::move(env)), command_(std::move(command)) {
    std::filesystem::create_directories(data_dir_);
  }
  ~Node() { Kill(); }

  // Starts the process and waits for its first line ("loyalty serving on ...", "loyalty
  // worker consuming ..."); false (the test failing) if it does not come up.
  bool Start() {
    // Everything the child needs is made before fork(): the test's client threads run on, and
    // a child of a threaded process may only call async-signal-safe functions before exec.
    std::vector<std::string> args = {LOYALTY_BINARY, "--data-dir", data_dir_.string(), "--log-level", "warn"};
    args.insert(args.end(), command_.begin(), command_.end());
    std::vector<std::string> environment;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry = *e;
      const std::string name = entry.substr(0, entry.find('='));
      if (name.starts_with("LOYALTY_TEST_") || env_.contains(name)) continue;
      environment.push_back(entry);
    }
    for (const auto& [name, value] : env_) environment.push_back(name + "=" + value);
    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : environment) envp.push_back(e.data());
    envp.push_back(nullptr);
    const std::string log_path = (data_dir_ / "process.log").string();
    const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int out[2];
    if (log_fd < 0 || pipe2(out, O_CLOEXEC) != 0) return false;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      dup2(log_fd, STDERR_FILENO);
      execve(LOYALTY_BINARY, argv.data(), envp.data());
      _exit(127);
    }
    close(log_fd);
    close(out[1]);
    FILE* child_out = fdopen(out[0], "r");
    char line[256] = {};
    const bool started = fgets(line, sizeof line, child_out) != nullptr;
    fclose(child_out);  // nothing else is written to stdout before it stops
    banner_ = line;
    if (!started || banner_.rfind("loyalty ", 0) != 0 || banner_.find("error") != std::string::npos) {
      std::ifstream log(data_dir_ / "process.log");
      const std::string said((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
      ADD_FAILURE() << "'" << command_[0] << "' did not start: '" << banner_ << "'; it said: " << said;
      return false;
    }
    if (const auto colon = banner_.rfind(':'); banner_.starts_with("loyalty serving on ")) {
      port_ = std::stoi(banner_.substr(colon + 1));
    }
    return true;
  }

  void Kill() {
    if (pid_ <= 0) return;
    port_ = 0;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  int port() const { return port_.load(); }

 private:
  std::filesystem::path data_dir_;
  std::map<std::string, std::string> env_;
  std::vector<std::string> command_;
  pid_t pid_ = -1;
  std::atomic<int> port_{0};
  std::string banner_;
};

constexpr int kMembers = 24;
constexpr int kBatches = 40;  // per client
constexpr int kBatchSize = 5;

std::string MemberName(int i) { return "m" + std::to_string(i); }

// A batch of purchases; event i of it buys (i + 1) items at 3.00, so earns are easy to tell apart.
std::string PurchaseBatch(int client, int batch, std::vector<std::string>& ids) {
  Json events = Json::array();
  for (int i = 0; i < kBatchSize; ++i) {
    const std::string id = "c" + std::to_string(client) + "-b" + std::to_string(batch) + "-" + std::to_string(i);
    ids.push_back(id);
    events.push_back({{"id", id},
                      {"type", "purchase"},
                      {"member", MemberName((batch * kBatchSize + i + client) % kMembers)},
                      {"at", "2026-03-01T10:00:00Z"},
                      {"channel", "pos"},
                      {"properties", {{"order", id}, {"lines", {{{"sku", "SKU-1"}, {"quantity", i + 1}, {"unit_price", "3.00"}}}}}}});
  }
  return events.dump();
}

class MultiNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!store_.postgres()) GTEST_SKIP() << "runs as postgres:MultiNode";
    const auto& pg = *store_.postgres_options();
    env_ = {{"LOYALTY_STORE__BACKEND", "postgres"},
            {"LOYALTY_STORE__URL", pg.url},
            {"LOYALTY_STORE__SCHEMA", pg.schema},
            {"LOYALTY_STORE__READ_CONNECTIONS", "2"},
            {"LOYALTY_SERVER__AUTH", "off"},
            {"LOYALTY_SERVER__WORKER_THREADS", "8"},
            // Every node seals and opens the same vault: one key for all.
            {"LOYALTY_PRIVACY__VAULT_KEY", "7c1f0c2a9e4b3d5f6a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f"}};
    // With the test NATS server: events go out on the bus, and two workers decide on purchases.
    if (const auto nats = ::loyalty::testing::TestNatsUrl()) {
      const auto stream = ::loyalty::testing::FreshStream(*nats);
      env_.insert({{"LOYALTY_BUS__BACKEND", "nats"},
                   {"LOYALTY_BUS__URL", stream.url},
                   {"LOYALTY_BUS__STREAM", stream.stream},
                   {"LOYALTY_BUS__SUBJECT_PREFIX", stream.subject_prefix},
                   {"LOYALTY_BUS__PARTITIONS", std::to_string(stream.partitions)},
                   {"LOYALTY_BUS__ACK_WAIT_MS", "1000"},
                   {"LOYALTY_WORKER__DECIDE_ON", "purchase"}});
      for (int i = 0; i < 2; ++i) {
        workers_.push_back(std::make_unique<Node>(store_.dir().path() / ("worker" + std::to_string(i)), env_,
                                                  std::vector<std::string>{"worker"}));
      }
    }
    for (int i = 0; i < 2; ++i) {
      nodes_.push_back(std::make_unique<Node>(store_.dir().path() / ("node" + std::to_string(i)), env_,
                                              std::vector<std::string>{"serve", "--port", "0"}));
    }
  }

  // Runs a command of the `loyalty` binary with the nodes' configuration; its exit code and output.
  std::pair<int, std::string> RunCli(const std::string& args) {
    std::string command = "env -u LOYALTY_TEST_POSTGRES_URL_FILE -u LOYALTY_TEST_NATS_URL_FILE ";
    for (const auto& [name, value] : env_) command += name + "='" + value + "' ";
    command += std::string(LOYALTY_BINARY) + " --data-dir " + (store_.dir().path() / "cli").string() + " " + args;
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    std::string out(65536, '\0');
    out.resize(fread(out.data(), 1, out.size(), pipe));
    const int status = pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
  }

  // The decisions stored per triggering event, straight from the store.
  std::map<std::string, int64_t> DecisionsPerEvent() {
    std::map<std::string, int64_t> out;
    auto db = store_.Open();
    EXPECT_TRUE(db) << db.error().message;
    if (!db) return out;
    auto status = (*db)->Read([&](store::Transaction& tx) -> core::Status {
      LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT trigger_event, COUNT(*) FROM decisions "
                                                   "WHERE trigger_event IS NOT NULL GROUP BY trigger_event"));
      for (const auto& row : rows) out[row.Text(0)] = row.Int(1);
      return {};
    });
    EXPECT_TRUE(status) << status.error().message;
    return out;
  }

  // Sends to `preferred` and, while that fails (connection refused or dropped, 5xx, 429), to
  // whichever node is up; returns the first definite answer.
  HttpReply SendUntilAnswered(size_t preferred, const std::string& method, const std::string& target,
                              const std::string& body) {
    for (int attempt = 0; attempt < 400; ++attempt) {
      const int port = nodes_[(preferred + attempt) % nodes_.size()]->port();
      if (port != 0) {
        try {
          HttpClient client(static_cast<uint16_t>(port));
          HttpReply reply = client.Send(method, target, body);
          if (reply.status < 500 && reply.status != 429) return reply;
        } catch (const std::exception&) {
          // The node died under the request: it may or may not have kept it; resending is safe.
        }
      }
      ++failovers_;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ADD_FAILURE() << "no node answered " << method << " " << target;
    return {};
  }

  ::loyalty::testing::TestStore store_;
  std::map<std::string, std::string> env_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::unique_ptr<Node>> workers_;  // with the event bus only
  std::atomic<int> failovers_{0};
};

TEST_F(MultiNodeTest, EveryAcknowledgedEventAndPostingSurvivesAKilledNodeExactlyOnce) {
  for (auto& node : nodes_) ASSERT_TRUE(node->Start());
  for (auto& worker : workers_) ASSERT_TRUE(worker->Start());
  for (int m = 0; m < kMembers; ++m) {
    const HttpReply created =
        SendUntilAnswered(m % 2, "POST", "/v1/members", Json{{"id", MemberName(m)}}.dump());
    ASSERT_EQ(created.status, 201) << created.body;
  }

  // Events loaded by the command line go out on the bus too (staged by that process, published
  // by a node's relay).
  const std::filesystem::path imported = store_.dir().path() / "imported.ndjson";
  {
    std::ofstream file(imported);
    std::vector<std::string> ids;
    const Json batch = Json::parse(PurchaseBatch(9, 0, ids));
    for (const auto& event : batch) file << event.dump() << "\n";
  }
  const auto [import_status, import_said] = RunCli("import events " + imported.string());
  ASSERT_EQ(import_status, 0) << import_said;

  // Two clients, one per node; node 0 is killed when both are a third of the way through.
  std::atomic<int> sent{0};
  std::vector<std::vector<std::string>> acknowledged(2);
  std::vector<std::thread> clients;
  for (int c = 0; c < 2; ++c) {
    clients.emplace_back([&, c] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<std::string> ids;
        const std::string body = PurchaseBatch(c, b, ids);
        const HttpReply reply = SendUntilAnswered(c, "POST", "/v1/events", body);
        EXPECT_EQ(reply.status, 200) << reply.body;
        EXPECT_EQ(reply.json()["rejected"], 0) << reply.body;
        if (reply.status == 200) acknowledged[c].insert(acknowledged[c].end(), ids.begin(), ids.end());
        ++sent;
      }
    });
  }
  while (sent.load() < 2 * kBatches / 3) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  nodes_[0]->Kill();
  if (!workers_.empty()) workers_[0]->Kill();
  const int sent_before_the_kill = sent.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(nodes_[0]->Start());  // the restarted node serves again, on a new port
  if (!workers_.empty()) {
    ASSERT_TRUE(workers_[0]->Start());  // and the worker resumes its consumers
  }
  for (auto& client : clients) client.join();
  EXPECT_LT(sent_before_the_kill, 2 * kBatches) << "the node died after the traffic, not during it";
  EXPECT_GT(failovers_.load(), 0) << "no request met the dead node";

  // What the restarted node and the survivor both see.
  std::set<std::string> expected;
  for (const auto& ids : acknowledged) expected.insert(ids.begin(), ids.end());
  for (int i = 0; i < kBatchSize; ++i) expected.insert("c9-b0-" + std::to_string(i));  // the imported ones
  ASSERT_EQ(expected.size(), size_t{2 * kBatches * kBatchSize + kBatchSize});
  std::multiset<std::string> logged;
  std::multiset<std::string> posted;
  int64_t balances = 0;
  int64_t earned = 0;
  for (int m = 0; m < kMembers; ++m) {
    const std::string member = MemberName(m);
    const HttpReply events = SendUntilAnswered(m % 2, "GET", "/v1/members/" + member + "/events?limit=1000", "");
    ASSERT_EQ(events.status, 200) << events.body;
    const Json logged_events = events.json();
    for (const auto& event : logged_events) logged.insert(event["id"].get<std::string>());
    const HttpReply statement =
        SendUntilAnswered(m % 2, "GET", "/v1/members/" + member + "/statement?limit=500", "");
    ASSERT_EQ(statement.status, 200) << statement.body;
    const Json lines = statement.json()["lines"];
    for (const auto& line : lines) {
      ASSERT_EQ(line["kind"], "earn") << line.dump();
      posted.insert(line["details"]["order"].get<std::string>());
      earned += line["points"].get<int64_t>();
    }
    const HttpReply balance = SendUntilAnswered((m + 1) % 2, "GET", "/v1/members/" + member + "/balance", "");
    ASSERT_EQ(balance.status, 200) << balance.body;
    balances += balance.json()["total"].get<int64_t>();
  }
  EXPECT_EQ(logged.size(), expected.size()) << "an event logged twice, or lost";
  EXPECT_EQ(std::set<std::string>(logged.begin(), logged.end()), expected);
  EXPECT_EQ(posted.size(), expected.size()) << "a purchase posted twice, or not at all";
  EXPECT_EQ(std::set<std::string>(posted.begin(), posted.end()), expected);
  // Event i of each batch bought i + 1 items at 3.00: 3 points per item at the base rate.
  int64_t bought = 0;
  for (int i = 0; i < kBatchSize; ++i) bought += i + 1;
  EXPECT_EQ(earned, 3 * bought * (2 * kBatches + 1));
  EXPECT_EQ(balances, earned);

  // Through the bus: every purchase triggered exactly one decision, whichever worker took it
  // and however often it was delivered (the killed worker's unacknowledged ones come again).
  if (!workers_.empty()) {
    std::map<std::string, int64_t> decided;
    for (int i = 0; i < 300; ++i) {
      decided = DecisionsPerEvent();
      if (decided.size() >= expected.size()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_EQ(decided.size(), expected.size()) << "an acknowledged event never reached a worker";
    for (const auto& id : expected) EXPECT_EQ(decided[id], 1) << id;
  }

  // The ledger's own invariants, recomputed from the journal by the command line.
  const auto [verified, said] = RunCli("ledger verify");
  EXPECT_EQ(verified, 0) << said;
}

}  // namespace
}  // namespace loyalty::cli
