#pragma once
// The HTTP/1.1 server (Boost.Beast on Asio). Network threads only parse and write; route
// handlers that may block run on a worker pool, so a slow store never stalls the event loop,
// and many workers let concurrent writes share one group commit.
//
// TLS (OpenSSL) when a certificate is configured.
//
// Protections: header and body size limits (431, 413), header, body and idle timeouts (a
// slow client cannot hold a worker), a connection limit (503 beyond it; closed over TLS), a bounded handler
// queue (429 with Retry-After beyond it), and a graceful shutdown that stops accepting,
// finishes the requests in flight and closes idle connections.
//
// Threads: Start, Shutdown and Wait may be called from any thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "loyalty/core/error.hpp"
#include "loyalty/server/metrics.hpp"
#include "loyalty/server/router.hpp"

namespace loyalty::server {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port (see HttpServer::port)
  int io_threads = 1;
  int worker_threads = 32;  // for handlers that write (POST, PUT, ...)
  int reader_threads = static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));  // GET and HEAD
  size_t max_body_bytes = 16 * 1024 * 1024;    // batch routes (POST /v1/events)
  size_t max_small_body_bytes = 64 * 1024;      // every other route
  size_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds header_timeout{10'000};  // from the first byte to the end of the headers
  std::chrono::milliseconds body_timeout{30'000};    // to read the body, and to write a response
  std::chrono::milliseconds idle_timeout{60'000};    // a keep-alive connection's wait for its next request
  std::chrono::milliseconds drain_timeout{10'000};   // shutdown's wait for requests in flight
  int max_connections = 4096;
  int max_queued_requests = 4096;  // requests waiting for a worker
  // API keys required on every route but /healthz, /readyz and /metrics ([server] auth =
  // "api_keys", the default); "off" serves everyone as if signed in (local trials only).
  bool require_keys = true;
  // The dashboard's built files ([server] web_root); empty: the build next to the sources
  // when there is one (`loyalty serve` decides; the server itself only serves routes).
  std::string web_root;
  // PEM files ([server] tls_certificate, tls_private_key). Both set: the server speaks HTTPS
  // only (TLS 1.2 or later); neither: plain HTTP. The certificate file may hold the chain.
  std::string tls_certificate;
  std::string tls_private_key;

  bool tls_enabled() const { return !tls_certificate.empty(); }
};

// Reads the [server] section of a configuration; missing keys keep their defaults.
[[nodiscard]] core::Result<ServerOptions> ParseServerOptions(const core::Json& section);

class HttpServer {
 public:
  // Binds and starts serving. `router` and `metrics` must outlive the server.
  [[nodiscard]] static core::Result<std::unique_ptr<HttpServer>> Start(const ServerOptions& options,
                                                                       const Router& router, Metrics& metrics);
  ~HttpServer();

  // The bound port (useful with port 0).
  uint16_t port() const;

  // Requests waiting for a handler thread right now.
  int queued_requests() const;

  // Stops accepting, lets requests in flight finish (up to drain_timeout), closes idle
  // connections. Idempotent; returns at once — Wait() blocks until done.
  void Shutdown();
  void Wait();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace loyalty::server
