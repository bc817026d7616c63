// The server's protections: size limits, slow clients, connection and queue limits, and a
// graceful shutdown.

#include <future>
#include <thread>

#include "server_fixture.hpp"

namespace loyalty::server::testing {
namespace {

using core::Json;

class HttpServerTest : public ServerFixture {};

// A route whose handler holds its thread until released, to fill the handler pools.
class BlockingRoute {
 public:
  explicit BlockingRoute(Router& router) : released_(release_.get_future().share()) {
    router.Add(Method::kGet, "/test/block", [this](const Request&) {
      entered_.set_value();
      released_.wait();
      return JsonResponse(200, Json{{"ok", true}});
    });
  }
  void WaitUntilEntered() { entered_.get_future().wait(); }
  void Release() { release_.set_value(); }

 private:
  std::promise<void> release_;
  std::shared_future<void> released_;
  std::promise<void> entered_;
};

void SendRaw(HttpClient& client, const std::string& request) { client.WriteRaw(request); }

TEST_F(HttpServerTest, HugeBodiesAndHeadersAreRefusedBeforeTheyAreRead) {
  options_.max_body_bytes = 8192;
  options_.max_small_body_bytes = 1024;
  StartServer();
  auto client = Client();
  auto big = client.Send("POST", "/v1/members", std::string(2000, ' '));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.json()["title"], "body_too_large");
  EXPECT_NE(big.json()["detail"].get<std::string>().find("exceeds 1024 bytes"), std::string::npos);
  // The batch route takes more, up to its own limit.
  auto batch = Client().Send("POST", "/v1/events", "[" + std::string(3000, ' ') + "]");
  EXPECT_EQ(batch.status, 400) << batch.body;  // read in full, then judged: an empty batch
  auto huge_batch = Client().Send("POST", "/v1/events", std::string(10000, ' '));
  EXPECT_EQ(huge_batch.status, 413);
  auto other = Client();
  auto headers = other.Send("GET", "/healthz", "", {{"X-Filler", std::string(20000, 'x')}});
  EXPECT_EQ(headers.status, 431);
}

TEST_F(HttpServerTest, ASlowClientIsDisconnectedAfterTheHeaderTimeout) {
  options_.header_timeout = std::chrono::milliseconds(200);
  StartServer();
  auto client = Client();
  SendRaw(client, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
  // The server closes the connection: the read ends instead of waiting for ever.
  const auto closed = client.WaitForClose();
  EXPECT_TRUE(closed == HttpClient::Closed::kEndOfFile || closed == HttpClient::Closed::kReset);
  auto fresh = Client();
  EXPECT_EQ(fresh.Send("GET", "/healthz").status, 200);  // and keeps serving others
}

TEST_F(HttpServerTest, ConnectionsBeyondTheLimitGet503) {
  options_.max_connections = 2;
  StartServer();
  auto a = Client();
  auto b = Client();
  EXPECT_EQ(a.Send("GET", "/healthz").status, 200);
  EXPECT_EQ(b.Send("GET", "/healthz").status, 200);
  auto c = Client();
  auto refused = c.Read();
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.headers["Retry-After"], "1");
}

TEST_F(HttpServerTest, AFullHandlerQueueAnswers429AndRecovers) {
  options_.reader_threads = 1;
  options_.max_queued_requests = 1;
  BlockingRoute block(router_);
  options_.require_keys = false;  // the test route is not in the access table
  StartServer();
  auto first = Client();
  SendRaw(first, "GET /test/block HTTP/1.1\r\nHost: x\r\n\r\n");
  block.WaitUntilEntered();  // the only reader is now busy
  auto second = Client();
  SendRaw(second, "GET /v1/rewards HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (server_->queued_requests() < 1 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  ASSERT_EQ(server_->queued_requests(), 1);  // the queue is full
  auto shed = Client().Send("GET", "/v1/rewards");
  EXPECT_EQ(shed.status, 429);
  EXPECT_EQ(shed.headers["Retry-After"], "1");
  EXPECT_EQ(shed.json()["title"], "overloaded");
  block.Release();
  EXPECT_EQ(first.Read().status, 200);
  EXPECT_EQ(second.Read().status, 200);
  EXPECT_EQ(Client().Send("GET", "/v1/rewards").status, 200);  // recovered without a restart
}

TEST_F(HttpServerTest, ShutdownFinishesRequestsInFlightAndClosesIdleConnections) {
  BlockingRoute block(router_);
  options_.require_keys = false;  // the test route is not in the access table
  StartServer();
  auto idle = Client();
  EXPECT_EQ(idle.Send("GET", "/healthz").status, 200);
  auto busy = Client();
  SendRaw(busy, "GET /test/block HTTP/1.1\r\nHost: x\r\n\r\n");
  block.WaitUntilEntered();

  server_->Shutdown();
  std::thread finisher([&] { block.Release(); });
  auto reply = busy.Read();
  EXPECT_EQ(reply.status, 200);  // the request in flight completed
  EXPECT_EQ(reply.headers["Connection"], "close");
  server_->Wait();
  finisher.join();
  EXPECT_NE(idle.WaitForClose(), HttpClient::Closed::kNo) << "the idle connection should have been closed";
}

}  // namespace
}  // namespace loyalty::server::testing
