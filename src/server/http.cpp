#include "loyalty/server/http.hpp"

namespace loyalty::server {

std::string_view MethodName(Method method) {
  switch (method) {
    case Method::kGet: return "GET";
    case Method::kHead: return "HEAD";
    case Method::kPost: return "POST";
    case Method::kPut: return "PUT";
    case Method::kPatch: return "PATCH";
    case Method::kDelete: return "DELETE";
    case Method::kOptions: return "OPTIONS";
    case Method::kOther: return "OTHER";
  }
  return "OTHER";
}

std::optional<std::string> Request::Header(const std::string& name) const {
  auto it = headers.find(name);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

Response JsonResponse(int status, const core::Json& body) {
  return Response{status, "application/json", core::Dump(body), {}};
}

Response ProblemResponse(int status, std::string_view type, std::string detail) {
  const core::Json body = {{"type", "urn:loyalty:problem:" + std::string(type)},
                           {"title", std::string(type)},
                           {"status", status},
                           {"detail", std::move(detail)}};
  return Response{status, "application/problem+json", core::Dump(body), {}};
}

Response ProblemResponse(const core::Error& error) {
  return ProblemResponse(core::HttpStatus(error.code), core::ErrorCodeName(error.code), error.message);
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

core::Result<std::string> Decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%') {
      const int hi = i + 1 < text.size() ? HexValue(text[i + 1]) : -1;
      const int lo = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) return core::Fail(core::ErrorCode::kInvalidArgument, "malformed %-escape in the query string");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}
}  // namespace

core::Result<std::map<std::string, std::string>> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    LOYALTY_ASSIGN_OR_RETURN(std::string key, Decode(pair.substr(0, eq)));
    LOYALTY_ASSIGN_OR_RETURN(std::string value,
                             Decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1)));
    out[std::move(key)] = std::move(value);
  }
  return out;
}

}  // namespace loyalty::server
