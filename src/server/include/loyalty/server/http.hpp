#pragma once
// HTTP request and response values shared by the router, the server and the route handlers,
// and the problem+json error form (RFC 9457) every failure is reported in.
// Value types; safe to copy between threads.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"

namespace loyalty::server {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

std::string_view MethodName(Method method);

struct Request {
  Method method = Method::kGet;
  std::string path;                                // without the query string
  std::map<std::string, std::string> query;        // decoded query parameters
  std::map<std::string, std::string> path_params;  // {name} segments of the matched route
  std::map<std::string, std::string> headers;      // names lower-cased
  std::string body;
  // Who is calling, once the access guard has checked the API key (empty when the route is
  // public or keys are off). Mutable: the guard fills them in on the way to the handler.
  mutable std::string actor;
  mutable std::string role;
  // The member the request concerned, when the handler knows better than the path (the
  // survivor a merged id led to, the member of a reviewed offer): the audit entry names it.
  mutable std::string audit_member;

  // The header's value, or nullopt. `name` must be lower case.
  std::optional<std::string> Header(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

Response JsonResponse(int status, const core::Json& body);

// A problem+json response for an expected failure: status from the error code, the code's
// name as "type", and the message (what to fix) as "detail".
Response ProblemResponse(const core::Error& error);
// A problem+json response for a protocol-level failure (404, 405, 413, 429...).
Response ProblemResponse(int status, std::string_view type, std::string detail);

// Splits "a=1&b=x%20y" into decoded pairs; a malformed escape is an error.
[[nodiscard]] core::Result<std::map<std::string, std::string>> ParseQuery(std::string_view query);

}  // namespace loyalty::server
