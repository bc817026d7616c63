#include "loyalty/server/http_server.hpp"

#include <atomic>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <variant>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "beast_method.hpp"

namespace loyalty::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// What the server needs of a connection whatever its transport.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Called on shutdown from any thread: closes the connection if it waits for a request.
  virtual void CloseIfIdle() = 0;
};

struct HttpServer::Impl {
  ServerOptions options;
  const Router& router;
  Metrics& metrics;
  // Declared before the io_context so they outlive it: sessions still held by its pending
  // handlers are destroyed with it, and their destructors read these.
  std::atomic<bool> draining{false};
  std::atomic<int> connections{0};
  std::atomic<int> queued{0};
  std::optional<ssl::context> tls;  // set when a certificate is configured: HTTPS only
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  asio::steady_timer accept_retry{ioc};
  asio::thread_pool workers;  // handlers that write: many, so their commits group
  asio::thread_pool readers;  // handlers that only read: about one per core
  std::vector<std::thread> io_threads;
  std::once_flag shutdown_once;
  std::mutex sessions_mu;
  std::list<std::weak_ptr<SessionBase>> sessions;  // GUARDED_BY(sessions_mu)
  asio::steady_timer drain_timer{ioc};

  Impl(const ServerOptions& o, const Router& r, Metrics& m)
      : options(o),
        router(r),
        metrics(m),
        workers(static_cast<size_t>(std::max(1, o.worker_threads))),
        readers(static_cast<size_t>(std::max(1, o.reader_threads))) {}

  void Accept();
  void CloseIdleSessions();
};

namespace {

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One client connection: reads requests one at a time (HTTP/1.1 keep-alive), dispatches each,
// writes the response. All its handlers run on its strand. `Stream` is a plain TCP stream or
// a TLS stream over one.
template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <class... StreamArgs>
  Session(HttpServer::Impl& server, StreamArgs&&... stream_args)
      : stream_(std::forward<StreamArgs>(stream_args)...), server_(server) {
    server_.connections++;
  }
  ~Session() override {
    // The last connection to close during a drain ends it early.
    if (--server_.connections == 0 && server_.draining && !server_.ioc.stopped()) {
      asio::post(server_.ioc, [&server = server_] { server.drain_timer.cancel(); });
    }
  }

  // Runs on the connection's strand, like everything else it does (CloseIfIdle included).
  void Start() {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->StartOnStrand(); });
  }

  void CloseIfIdle() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->idle_) self->Close();
    });
  }

 private:
  void StartOnStrand() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      // The handshake counts against the header timeout: a client that opens a connection
      // and says nothing is dropped as on plain HTTP.
      idle_ = true;
      Transport().expires_after(server_.options.header_timeout);
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) return self->Close();  // not TLS, an unknown CA, an old protocol: nothing to answer
        self->ReadHeader();
      });
    } else {
      ReadHeader();
    }
  }

  beast::tcp_stream& Transport() { return beast::get_lowest_layer(stream_); }

  void ReadHeader() {
    if (server_.draining) return Close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.max_header_bytes));
    parser_->body_limit(server_.options.max_body_bytes);  // narrowed per route once the target is known
    body_limit_ = server_.options.max_body_bytes;
    idle_ = true;
    Transport().expires_after(first_ ? server_.options.header_timeout : server_.options.idle_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    idle_ = false;
    first_ = false;
    started_ = Clock::now();
    if (ec == http::error::body_limit) return RefuseBody();  // a Content-Length already over the limit
    if (ec == http::error::header_limit) {
      return SendAndClose(ProblemResponse(431, "headers_too_large",
                                          "request headers exceed " + std::to_string(server_.options.max_header_bytes) +
                                              " bytes"));
    }
    // A TLS client that hangs up without saying goodbye (no close_notify) truncates the stream.
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof || ec == ssl::error::stream_truncated) {
      return Close();
    }
    if (ec) return SendAndClose(ProblemResponse(400, "bad_request", "malformed HTTP request: " + ec.message()));
    // Only batch routes take large bodies; the rest are refused past a few KiB, so a crowd of
    // clients cannot make the server hold gigabytes.
    const auto& header = parser_->get();
    const std::string_view target(header.target().data(), header.target().size());
    matched_ = server_.router.Match(FromVerb(header.method()), target.substr(0, target.find('?')));
    const auto* match = std::get_if<RouteMatch>(&matched_);
    body_limit_ = match != nullptr && match->route->body_size == BodySize::kLarge
                      ? server_.options.max_body_bytes
                      : server_.options.max_small_body_bytes;
    if (const auto length = parser_->content_length(); length && *length > body_limit_) return RefuseBody();
    parser_->body_limit(body_limit_);
    Transport().expires_after(server_.options.body_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code read_ec, size_t) { self->OnBody(read_ec); });
  }

  void RefuseBody() {
    SendAndClose(ProblemResponse(413, "body_too_large",
                                 "request body exceeds " + std::to_string(body_limit_) +
                                     " bytes; split it into smaller requests"));
  }

  void OnBody(beast::error_code ec) {
    if (ec == http::error::body_limit) return RefuseBody();
    if (ec == beast::error::timeout || ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
        ec == ssl::error::stream_truncated) {
      return Close();
    }
    if (ec) return SendAndClose(ProblemResponse(400, "bad_request", "malformed HTTP request body: " + ec.message()));
    Transport().expires_never();  // handler time is ours, not the client's
    Dispatch(parser_->release());
  }

  void Dispatch(http::request<http::string_body>&& message) {
    try {
      DispatchUnguarded(std::move(message));
    } catch (const std::exception& e) {
      // Nothing a client sends may end the process.
      SendAndClose(ProblemResponse(500, "internal", std::string("unexpected failure: ") + e.what()));
    }
  }

  void DispatchUnguarded(http::request<http::string_body>&& message) {
    keep_alive_ = message.keep_alive();
    version_ = message.version();
    head_ = message.method() == http::verb::head;
    Request request;
    request.method = FromVerb(message.method());
    // The method's name as we know it, not as sent: invented methods must not grow the
    // metrics' label set.
    method_name_ = std::string(MethodName(request.method));
    const std::string_view target(message.target().data(), message.target().size());
    const size_t question = target.find('?');
    request.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) {
      auto query = ParseQuery(target.substr(question + 1));
      if (!query) return Send(ProblemResponse(query.error()));
      request.query = std::move(*query);
    }
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request.headers[std::move(name)] = std::string(field.value());
    }
    request.body = std::move(message.body());

    // Every body this API reads is JSON (or NDJSON); anything else is refused up front.
    if (auto type = request.Header("content-type");
        !request.body.empty() && type && type->find("json") == std::string::npos) {
      route_ = "unmatched";
      return Send(ProblemResponse(415, "unsupported_media_type",
                                  "Content-Type must be application/json, not " + *type));
    }
    auto matched = std::move(matched_);  // matched when the headers arrived
    if (auto* problem = std::get_if<Response>(&matched)) {
      route_ = "unmatched";
      return Send(std::move(*problem));
    }
    auto& match = std::get<RouteMatch>(matched);
    route_ = match.route->pattern;
    request.path_params = std::move(match.params);
    const Route* route = match.route;
    if (route->execution == Execution::kInline) return Send(Handle(*route, request));

    if (server_.queued.load() >= server_.options.max_queued_requests) {
      Response busy = ProblemResponse(429, "overloaded", "the server is at capacity; retry after the indicated delay");
      busy.headers.emplace_back("Retry-After", "1");
      return Send(std::move(busy));
    }
    server_.queued++;
    // Reads are short and CPU-bound: a small pool avoids switching between dozens of threads.
    const bool compute =
        route->execution == Execution::kCompute || request.method == Method::kGet || request.method == Method::kHead;
    auto& pool = compute ? server_.readers : server_.workers;
    asio::post(pool, [self = this->shared_from_this(), route, request = std::move(request)]() mutable {
      self->server_.queued--;
      Response response = Handle(*route, request);
      asio::post(self->stream_.get_executor(),
                 [self, response = std::move(response)]() mutable { self->Send(std::move(response)); });
    });
  }

  static Response Handle(const Route& route, const Request& request) {
    try {
      return route.handler(request);
    } catch (const std::exception& e) {
      return ProblemResponse(500, "internal", std::string("unexpected failure: ") + e.what());
    }
  }

  void SendAndClose(Response response) {
    keep_alive_ = false;
    if (route_.empty()) route_ = "unmatched";
    if (method_name_.empty()) method_name_ = "UNKNOWN";
    if (started_ == Clock::time_point()) started_ = Clock::now();
    Send(std::move(response));
  }

  void Send(Response response) {
    server_.metrics.ObserveRequest(route_, method_name_, response.status,
                                   std::chrono::duration<double>(Clock::now() - started_).count());
    auto message = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(response.status),
                                                                        version_ == 0 ? 11 : version_);
    message->set(http::field::server, "loyalty");
    message->set(http::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers) message->set(name, value);
    const bool keep_alive = keep_alive_ && !server_.draining;
    message->keep_alive(keep_alive);
    message->body() = std::move(response.body);
    message->prepare_payload();
    if (head_) message->body().clear();
    Transport().expires_after(server_.options.body_timeout);
    http::async_write(stream_, *message,
                      [self = this->shared_from_this(), message, keep_alive](beast::error_code ec, size_t) {
                        if (ec || !keep_alive) return self->Close();
                        self->route_.clear();
                        self->ReadHeader();
                      });
  }

  // Closes the socket at once. Over TLS no close_notify is sent: every response carries its
  // length, so a peer cannot mistake a cut connection for a whole answer.
  void Close() {
    beast::error_code ignored;
    Transport().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Transport().socket().close(ignored);
  }

  Stream stream_;
  HttpServer::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::variant<RouteMatch, Response> matched_;
  size_t body_limit_ = 0;
  bool idle_ = false;
  bool first_ = true;
  bool keep_alive_ = true;
  bool head_ = false;
  unsigned version_ = 11;
  std::string route_;
  std::string method_name_;
  Clock::time_point started_;
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      // Out of file descriptors and the like: back off instead of spinning.
      accept_retry.expires_after(std::chrono::milliseconds(100));
      accept_retry.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec) Accept();
      });
      return;
    }
    socket.set_option(tcp::no_delay(true), ec);
    if (connections.load() >= options.max_connections && tls) {
      socket.close(ec);  // a plain-text answer means nothing before a TLS handshake
      return Accept();
    }
    if (connections.load() >= options.max_connections) {
      // Refuse with a short answer the client can read, without holding a slot.
      static const std::string kBusy = [] {
        const std::string body =
            ProblemResponse(503, "too_many_connections", "the server is at its connection limit; retry shortly").body;
        return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\nConnection: close\r\n"
               "Retry-After: 1\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body;
      }();
      socket.non_blocking(true, ec);
      socket.write_some(asio::buffer(kBusy), ec);
      socket.close(ec);
      return Accept();
    }
    // Registered before it starts, so a shutdown from now on finds it.
    auto serve = [this](auto session) {
      {
        std::lock_guard lock(sessions_mu);
        sessions.remove_if([](const std::weak_ptr<SessionBase>& s) { return s.expired(); });
        sessions.push_back(session);
      }
      metrics.SetGauge("loyalty_http_open_connections", "Open HTTP connections.", connections.load());
      session->Start();
    };
    if (tls) {
      serve(std::make_shared<Session<TlsStream>>(*this, std::move(socket), *tls));
    } else {
      serve(std::make_shared<Session<PlainStream>>(*this, std::move(socket)));
    }
    Accept();
  });
}

void HttpServer::Impl::CloseIdleSessions() {
  std::lock_guard lock(sessions_mu);
  for (auto& weak : sessions) {
    if (auto session = weak.lock()) session->CloseIfIdle();
  }
}

core::Result<ServerOptions> ParseServerOptions(const core::Json& section) {
  ServerOptions options;
  if (section.is_null()) return options;
  LOYALTY_TRY(core::RejectUnknownFields(
      section,
      {"address", "port", "io_threads", "worker_threads", "max_body_bytes", "max_small_body_bytes", "max_header_bytes",
       "header_timeout_ms",
       "body_timeout_ms", "idle_timeout_ms", "drain_timeout_ms", "max_connections", "max_queued_requests",
       "reader_threads", "auth", "web_root", "tls_certificate", "tls_private_key"},
      "server"));
  LOYALTY_ASSIGN_OR_RETURN(auto address, core::OptionalString(section, "address", "server"));
  if (address) options.address = *address;
  LOYALTY_ASSIGN_OR_RETURN(auto web_root, core::OptionalString(section, "web_root", "server"));
  if (web_root) options.web_root = *web_root;
  LOYALTY_ASSIGN_OR_RETURN(auto certificate, core::OptionalString(section, "tls_certificate", "server"));
  if (certificate) options.tls_certificate = *certificate;
  LOYALTY_ASSIGN_OR_RETURN(auto private_key, core::OptionalString(section, "tls_private_key", "server"));
  if (private_key) options.tls_private_key = *private_key;
  LOYALTY_ASSIGN_OR_RETURN(auto auth, core::OptionalString(section, "auth", "server"));
  if (auth) {
    if (*auth != "api_keys" && *auth != "off") {
      return core::Fail(core::ErrorCode::kInvalidArgument, "'server.auth' must be \"api_keys\" or \"off\"");
    }
    options.require_keys = *auth == "api_keys";
  }
  auto read_int = [&](std::string_view key, int64_t min, int64_t max) -> core::Result<std::optional<int64_t>> {
    LOYALTY_ASSIGN_OR_RETURN(auto value, core::OptionalInt(section, key, "server"));
    if (value && (*value < min || *value > max)) {
      return core::Fail(core::ErrorCode::kInvalidArgument, "'server." + std::string(key) + "' must be " +
                                                               std::to_string(min) + " to " + std::to_string(max));
    }
    return value;
  };
  using std::chrono::milliseconds;
  LOYALTY_ASSIGN_OR_RETURN(auto port, read_int("port", 0, 65535));
  if (port) options.port = static_cast<uint16_t>(*port);
  LOYALTY_ASSIGN_OR_RETURN(auto io, read_int("io_threads", 1, 256));
  if (io) options.io_threads = static_cast<int>(*io);
  LOYALTY_ASSIGN_OR_RETURN(auto workers, read_int("worker_threads", 1, 1024));
  if (workers) options.worker_threads = static_cast<int>(*workers);
  LOYALTY_ASSIGN_OR_RETURN(auto readers, read_int("reader_threads", 1, 1024));
  if (readers) options.reader_threads = static_cast<int>(*readers);
  LOYALTY_ASSIGN_OR_RETURN(auto body, read_int("max_body_bytes", 1024, int64_t{1} << 32));
  if (body) options.max_body_bytes = static_cast<size_t>(*body);
  LOYALTY_ASSIGN_OR_RETURN(auto small_body, read_int("max_small_body_bytes", 1024, int64_t{1} << 32));
  if (small_body) options.max_small_body_bytes = static_cast<size_t>(*small_body);
  LOYALTY_ASSIGN_OR_RETURN(auto header, read_int("max_header_bytes", 1024, 1 << 20));
  if (header) options.max_header_bytes = static_cast<size_t>(*header);
  LOYALTY_ASSIGN_OR_RETURN(auto header_ms, read_int("header_timeout_ms", 1, 3'600'000));
  if (header_ms) options.header_timeout = milliseconds(*header_ms);
  LOYALTY_ASSIGN_OR_RETURN(auto body_ms, read_int("body_timeout_ms", 1, 3'600'000));
  if (body_ms) options.body_timeout = milliseconds(*body_ms);
  LOYALTY_ASSIGN_OR_RETURN(auto idle_ms, read_int("idle_timeout_ms", 1, 3'600'000));
  if (idle_ms) options.idle_timeout = milliseconds(*idle_ms);
  LOYALTY_ASSIGN_OR_RETURN(auto drain_ms, read_int("drain_timeout_ms", 0, 3'600'000));
  if (drain_ms) options.drain_timeout = milliseconds(*drain_ms);
  LOYALTY_ASSIGN_OR_RETURN(auto conns, read_int("max_connections", 1, 1'000'000));
  if (conns) options.max_connections = static_cast<int>(*conns);
  LOYALTY_ASSIGN_OR_RETURN(auto queued, read_int("max_queued_requests", 1, 1'000'000));
  if (queued) options.max_queued_requests = static_cast<int>(*queued);
  return options;
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  Shutdown();
  Wait();
}

namespace {

// A TLS context holding the server's certificate chain and key: TLS 1.2 and later only.
core::Result<ssl::context> LoadTls(const ServerOptions& options) {
  if (options.tls_certificate.empty() != options.tls_private_key.empty()) {
    return core::Fail(core::ErrorCode::kInvalidArgument,
                      "TLS needs both 'server.tls_certificate' and 'server.tls_private_key'; one is missing");
  }
  ssl::context context(ssl::context::tls_server);
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                      ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  // TLS 1.2 with forward-secret AEAD suites only (TLS 1.3's are all of that kind), and keys
  // of at least 112-bit strength.
  SSL_CTX_set_security_level(context.native_handle(), 2);
  if (SSL_CTX_set_cipher_list(context.native_handle(), "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
    return core::Fail(core::ErrorCode::kInternal, "OpenSSL refused the server's cipher list");
  }
  // An encrypted key would make OpenSSL ask for its passphrase on the terminal; refuse instead.
  context.set_password_callback([](size_t, ssl::context::password_purpose) { return std::string(); });
  beast::error_code ec;
  // The key first: OpenSSL checks a key against a certificate already loaded with a cryptic
  // message, and our own check below says which files disagree.
  context.use_private_key_file(options.tls_private_key, ssl::context::pem, ec);
  if (ec) {
    return core::Fail(core::ErrorCode::kInvalidArgument,
                      "cannot read the TLS private key '" + options.tls_private_key + "' (PEM, not encrypted): " +
                          ec.message());
  }
  context.use_certificate_chain_file(options.tls_certificate, ec);
  if (ec) {
    return core::Fail(core::ErrorCode::kInvalidArgument, "cannot read the TLS certificate chain '" +
                                                             options.tls_certificate + "' (PEM): " + ec.message());
  }
  if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
    return core::Fail(core::ErrorCode::kInvalidArgument, "the TLS private key '" + options.tls_private_key +
                                                             "' does not belong to the certificate '" +
                                                             options.tls_certificate + "'");
  }
  return context;
}

}  // namespace

core::Result<std::unique_ptr<HttpServer>> HttpServer::Start(const ServerOptions& options, const Router& router,
                                                            Metrics& metrics) {
  auto impl = std::make_unique<Impl>(options, router, metrics);
  if (!options.tls_certificate.empty() || !options.tls_private_key.empty()) {
    LOYALTY_ASSIGN_OR_RETURN(auto context, LoadTls(options));
    impl->tls.emplace(std::move(context));
  }
  beast::error_code ec;
  const auto address = asio::ip::make_address(options.address, ec);
  if (ec) {
    return core::Fail(core::ErrorCode::kInvalidArgument, "server address '" + options.address + "' is not an IP address");
  }
  const tcp::endpoint endpoint(address, options.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::Fail(core::ErrorCode::kUnavailable, "cannot listen on " + options.address + ":" +
                                                         std::to_string(options.port) + ": " + ec.message());
  }
  impl->Accept();
  for (int i = 0; i < std::max(1, options.io_threads); ++i) {
    impl->io_threads.emplace_back([raw = impl.get()] { raw->ioc.run(); });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

uint16_t HttpServer::port() const { return impl_->acceptor.local_endpoint().port(); }

int HttpServer::queued_requests() const { return impl_->queued.load(); }

void HttpServer::Shutdown() {
  std::call_once(impl_->shutdown_once, [this] {
    Impl* impl = impl_.get();
    asio::post(impl->ioc, [impl] {
      // Requests still in flight after the drain timeout are abandoned.
      impl->drain_timer.expires_after(impl->options.drain_timeout);
      impl->drain_timer.async_wait([impl](beast::error_code ec) {
        if (ec) return;
        // Requests still queued are abandoned with the connections they came on.
        impl->workers.stop();
        impl->readers.stop();
        impl->ioc.stop();
      });
      impl->draining = true;
      beast::error_code ignored;
      impl->acceptor.close(ignored);
      impl->accept_retry.cancel();
      impl->CloseIdleSessions();
      if (impl->connections.load() == 0) impl->drain_timer.cancel();
    });
  });
}

void HttpServer::Wait() {
  // The io threads return once every connection has closed (the drain timer is cancelled
  // below when that happens first).
  for (auto& thread : impl_->io_threads) {
    if (thread.joinable()) thread.join();
  }
  impl_->workers.join();
  impl_->readers.join();
}

}  // namespace loyalty::server
