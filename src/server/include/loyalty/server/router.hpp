#pragma once
// Routes: (method, path pattern) -> handler. Patterns are literal segments and {name}
// segments ("/v1/members/{id}/balance"). Built once at start-up, then read-only: safe to
// match from any thread.

#include <functional>
#include <map>
#include <optional>
#include <variant>
#include <string>
#include <vector>

#include "loyalty/server/http.hpp"

namespace loyalty::server {

using Handler = std::function<Response(const Request&)>;

enum class Execution {
  kWorker,   // may block (store reads and writes): GET and HEAD on the reader pool, others on the worker pool
  kCompute,  // CPU-bound, never waits for a commit whatever its method: runs on the reader pool
  kInline,   // cheap and non-blocking (health, metrics): runs on the network thread
};

enum class BodySize {
  kSmall,  // commands and queries: up to ServerOptions::max_small_body_bytes
  kLarge,  // batches: up to ServerOptions::max_body_bytes
};

struct Route {
  Method method;
  std::string pattern;
  Handler handler;
  Execution execution = Execution::kWorker;
  BodySize body_size = BodySize::kSmall;
};

struct RouteMatch {
  const Route* route = nullptr;
  std::map<std::string, std::string> params;
};

class Router {
 public:
  // REQUIRES: no route with the same method and pattern was added before.
  void Add(Method method, std::string pattern, Handler handler, Execution execution = Execution::kWorker,
           BodySize body_size = BodySize::kSmall);

  // The route for this request, or the problem to answer with: 404 when no pattern matches
  // the path, 405 (with an Allow header) when patterns match but none for this method.
  [[nodiscard]] std::variant<RouteMatch, Response> Match(Method method, std::string_view path) const;

  // Answers the GET and HEAD requests outside /v1/ that no route matches (the dashboard's
  // files); without one they are 404 problems like any other.
  void SetFallback(Handler handler);

  const std::vector<Route>& routes() const { return routes_; }
  // Replaces every route's handler with wrap(route) (the access guard); before serving only.
  void WrapHandlers(const std::function<Handler(const Route&)>& wrap);

 private:
  std::vector<Route> routes_;
  std::optional<Route> fallback_;
};

}  // namespace loyalty::server
