#include "loyalty/server/router.hpp"

#include <variant>

namespace loyalty::server {

namespace {

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t slash = path.find('/', start);
    const std::string_view segment = path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!segment.empty()) out.push_back(segment);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

bool MatchPattern(std::string_view pattern, const std::vector<std::string_view>& path,
                  std::map<std::string, std::string>& params) {
  const auto parts = Segments(pattern);
  if (parts.size() != path.size()) return false;
  std::map<std::string, std::string> found;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].size() > 2 && parts[i].front() == '{' && parts[i].back() == '}') {
      found[std::string(parts[i].substr(1, parts[i].size() - 2))] = std::string(path[i]);
    } else if (parts[i] != path[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

}  // namespace

void Router::Add(Method method, std::string pattern, Handler handler, Execution execution, BodySize body_size) {
  routes_.push_back(Route{method, std::move(pattern), std::move(handler), execution, body_size});
}

std::variant<RouteMatch, Response> Router::Match(Method method, std::string_view path) const {
  const auto segments = Segments(path);
  std::string allowed;
  for (const auto& route : routes_) {
    std::map<std::string, std::string> params;
    if (!MatchPattern(route.pattern, segments, params)) continue;
    if (route.method == method || (method == Method::kHead && route.method == Method::kGet)) {
      return RouteMatch{&route, std::move(params)};
    }
    allowed += (allowed.empty() ? "" : ", ") + std::string(MethodName(route.method));
  }
  if (!allowed.empty()) {
    Response response = ProblemResponse(405, "method_not_allowed",
                                        std::string(MethodName(method)) + " is not allowed on " + std::string(path) +
                                            "; allowed: " + allowed);
    response.headers.emplace_back("Allow", allowed);
    return response;
  }
  if (fallback_ && (method == Method::kGet || method == Method::kHead) && !path.starts_with("/v1/")) {
    return RouteMatch{&*fallback_, {}};
  }
  return ProblemResponse(404, "not_found", "no route for " + std::string(path) + " (see docs/openapi.yaml)");
}

void Router::SetFallback(Handler handler) {
  fallback_ = Route{Method::kGet, "dashboard", std::move(handler), Execution::kInline, BodySize::kSmall};
}

void Router::WrapHandlers(const std::function<Handler(const Route&)>& wrap) {
  for (auto& route : routes_) route.handler = wrap(route);
}

}  // namespace loyalty::server
