// libFuzzer target for the HTTP request path: any bytes go through the HTTP/1.1 parser the
// server uses (Boost.Beast, with the server's header limit), then, for a request that parses,
// through routing (404, 405 or a route with its {name} parameters) and query decoding. None
// may crash, loop or leak; a route that matches must hand back parameters that are non-empty
// path segments, and a response must be a problem or a handler's answer. Run with scripts/fuzz.

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "beast_method.hpp"
#include "loyalty/server/http.hpp"
#include "loyalty/server/router.hpp"

namespace {

namespace http = boost::beast::http;
using loyalty::server::Method;

// Patterns of the shapes the API has: literal segments, one and two {name} segments, and a
// literal beside a {name} at the same depth.
const loyalty::server::Router& Routes() {
  static const loyalty::server::Router router = [] {
    loyalty::server::Router r;
    auto ok = [](const loyalty::server::Request&) { return loyalty::server::Response{}; };
    r.Add(Method::kGet, "/healthz", ok);
    r.Add(Method::kPost, "/v1/members", ok);
    r.Add(Method::kGet, "/v1/members/{id}", ok);
    r.Add(Method::kGet, "/v1/members/{id}/balance", ok);
    r.Add(Method::kPost, "/v1/members/{id}/erasure", ok);
    r.Add(Method::kPost, "/v1/events", ok);
    r.Add(Method::kPost, "/v1/decisions", ok);
    r.Add(Method::kGet, "/v1/decisions/budgets", ok);
    r.Add(Method::kGet, "/v1/decisions/{id}", ok);
    r.Add(Method::kGet, "/v1/reviews/stats", ok);
    r.Add(Method::kGet, "/v1/reviews/{decision}/{rank}", ok);
    r.Add(Method::kPost, "/v1/reviews/{decision}/{rank}", ok);
    return r;
  }();
  return router;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_header_done()) return 0;
  const auto& request = parser.get();
  const std::string_view target(request.target().data(), request.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  const auto matched = Routes().Match(loyalty::server::FromVerb(request.method()), path);
  if (const auto* route = std::get_if<loyalty::server::RouteMatch>(&matched)) {
    if (route->route == nullptr) __builtin_trap();
    for (const auto& [name, value] : route->params) {
      if (name.empty() || value.empty() || value.find('/') != std::string::npos) __builtin_trap();
    }
  } else {
    const auto& problem = std::get<loyalty::server::Response>(matched);
    if (problem.status != 404 && problem.status != 405) __builtin_trap();
  }
  if (const size_t question = target.find('?'); question != std::string_view::npos) {
    (void)loyalty::server::ParseQuery(target.substr(question + 1));
  }
  return 0;
}
