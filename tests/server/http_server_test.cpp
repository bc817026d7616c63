// The server's protections: size limits, slow clients, connection and queue limits, and a
// graceful shutdown.

#include <future>
#include <thread>

#include "server_fixture.hpp"

namespace loyalty::server::testing {
namespace {

using core::Json;

class HttpServerTest : public ServerFixture {};

TEST_F(HttpServerTest, HugeBodiesAndHeadersAreRefusedBeforeTheyAreRead) {
  options_.max_body_bytes = 4096;
  StartServer();
  auto client = Client();
  auto big = client.Send("POST", "/v1/members", std::string(10000, ' '));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.json()["title"], "body_too_large");
  auto other = Client();
  auto headers = other.Send("GET", "/healthz", "", {{"X-Filler", std::string(20000, 'x')}});
  EXPECT_EQ(headers.status, 431);
}

TEST_F(HttpServerTest, ASlowClientIsDisconnectedAfterTheHeaderTimeout) {
  options_.header_timeout = std::chrono::milliseconds(200);
  StartServer();
  auto client = Client();
  boost::asio::write(client.socket(), boost::asio::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: x\r\n")));
  // The server closes the connection: the read ends instead of waiting for ever.
  char byte;
  boost::system::error_code ec;
  client.socket().read_some(boost::asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset) << ec.message();
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
  options_.worker_threads = 1;
  options_.max_queued_requests = 1;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> entered;
  router_.Add(Method::kGet, "/test/block", [released, &entered](const Request&) {
    entered.set_value();
    released.wait();
    return JsonResponse(200, Json{{"ok", true}});
  });
  StartServer();
  auto first = Client();
  boost::asio::write(first.socket(), boost::asio::buffer(std::string("GET /test/block HTTP/1.1\r\nHost: x\r\n\r\n")));
  entered.get_future().wait();  // the only worker is now busy
  auto second = Client();
  boost::asio::write(second.socket(), boost::asio::buffer(std::string("GET /v1/rewards HTTP/1.1\r\nHost: x\r\n\r\n")));
  // The second request waits in the queue (which is then full); a third is shed.
  HttpReply shed;
  for (int attempt = 0; attempt < 100 && shed.status != 429; ++attempt) {
    auto third = Client();
    shed = third.Send("GET", "/v1/rewards");
  }
  EXPECT_EQ(shed.status, 429);
  EXPECT_EQ(shed.headers["Retry-After"], "1");
  release.set_value();
  EXPECT_EQ(first.Read().status, 200);
  EXPECT_EQ(second.Read().status, 200);
  EXPECT_EQ(Client().Send("GET", "/v1/rewards").status, 200);  // recovered without a restart
}

TEST_F(HttpServerTest, ShutdownFinishesRequestsInFlightAndClosesIdleConnections) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> entered;
  router_.Add(Method::kGet, "/test/block", [released, &entered](const Request&) {
    entered.set_value();
    released.wait();
    return JsonResponse(200, Json{{"ok", true}});
  });
  StartServer();
  auto idle = Client();
  EXPECT_EQ(idle.Send("GET", "/healthz").status, 200);
  auto busy = Client();
  boost::asio::write(busy.socket(), boost::asio::buffer(std::string("GET /test/block HTTP/1.1\r\nHost: x\r\n\r\n")));
  entered.get_future().wait();

  server_->Shutdown();
  std::thread finisher([&] { release.set_value(); });
  auto reply = busy.Read();
  EXPECT_EQ(reply.status, 200);  // the request in flight completed
  EXPECT_EQ(reply.headers["Connection"], "close");
  server_->Wait();
  finisher.join();
  char byte;
  boost::system::error_code ec;
  idle.socket().read_some(boost::asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec) << "the idle connection should have been closed";
}

}  // namespace
}  // namespace loyalty::server::testing
