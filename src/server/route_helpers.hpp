#pragma once
// Helpers the route files share: body and parameter parsing with errors that say what to
// fix, and turning results into responses. Private to the server module.

#include <charconv>
#include <optional>
#include <string>
#include <type_traits>

#include "loyalty/core/error.hpp"
#include "loyalty/core/ids.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/ledger/commands.hpp"
#include "loyalty/server/http.hpp"

namespace loyalty::server {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;

// Parses a JSON object body (the server has already refused non-JSON content types).
inline Result<Json> ParseBody(const Request& request) {
  if (request.body.empty()) return Fail(ErrorCode::kInvalidArgument, "the request needs a JSON object body");
  LOYALTY_ASSIGN_OR_RETURN(Json body, core::ParseJson(request.body));
  if (!body.is_object()) return Fail(ErrorCode::kInvalidArgument, "the request body must be a JSON object");
  return body;
}

// Who acts: the signed-in user when API keys are on (a body's "actor" cannot override it),
// else the body's "actor" (1 to 200 characters), else `fallback` (empty: required).
inline Result<std::string> ActingUser(const Request& request, const Json& body, const std::string& fallback) {
  if (!request.actor.empty()) return request.actor;
  LOYALTY_ASSIGN_OR_RETURN(auto actor, core::OptionalString(body, "actor"));
  if (!actor && fallback.empty()) return Fail(ErrorCode::kInvalidArgument, "field 'actor' is required");
  const std::string value = actor.value_or(fallback);
  if (value.empty() || value.size() > 200) return Fail(ErrorCode::kInvalidArgument, "field 'actor' needs 1 to 200 characters");
  return value;
}

inline Result<core::IdempotencyKey> RequireKey(const Request& request) {
  auto key = request.Header("idempotency-key");
  if (!key) {
    return Fail(ErrorCode::kInvalidArgument,
                "the Idempotency-Key header is required: a unique string per command, reused only to retry it");
  }
  auto parsed = core::IdempotencyKey::Parse(*key);
  if (!parsed) return core::Wrap(parsed.error(), "Idempotency-Key header");
  LOYALTY_TRY(ledger::CheckClientKey(*parsed));
  return parsed;
}

template <typename Id>
Result<Id> PathId(const Request& request, const std::string& name) {
  auto id = Id::Parse(request.path_params.at(name));
  if (!id) return core::Wrap(id.error(), "path");
  return id;
}

template <typename Id>
Result<Id> BodyId(const Json& body, std::string_view field) {
  LOYALTY_ASSIGN_OR_RETURN(std::string text, core::RequireString(body, field));
  auto id = Id::Parse(text);
  if (!id) return core::Wrap(id.error(), "field '" + std::string(field) + "'");
  return id;
}

// A whole-number query parameter within [low, high], `fallback` when absent.
inline Result<int64_t> IntParam(const Request& request, const std::string& name, int64_t fallback, int64_t low,
                                int64_t high) {
  auto it = request.query.find(name);
  if (it == request.query.end()) return fallback;
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), n);
  if (ec != std::errc() || ptr != it->second.data() + it->second.size() || n < low || n > high) {
    return core::Fail(core::ErrorCode::kInvalidArgument, "query parameter '" + name + "' must be a whole number from " +
                                                             std::to_string(low) + " to " + std::to_string(high));
  }
  return n;
}

// An ISO-8601 time query parameter; nullopt when absent.
inline Result<std::optional<core::Timestamp>> TimeParam(const Request& request, const std::string& name) {
  auto it = request.query.find(name);
  if (it == request.query.end()) return std::optional<core::Timestamp>();
  auto at = core::ParseTimestamp(it->second);
  if (!at) return core::Wrap(at.error(), "query parameter '" + name + "'");
  return std::optional<core::Timestamp>(*at);
}

// Runs `body` and turns its result into a response: `status` with the value's JSON, or
// the error's problem+json.
template <typename F>
Response Respond(int status, F&& body) {
  auto result = body();
  if (!result) return ProblemResponse(result.error());
  if constexpr (std::is_same_v<std::decay_t<decltype(*result)>, Json>) {
    return JsonResponse(status, *result);  // no copy of a large document
  } else {
    return JsonResponse(status, Json(*result));
  }
}

}  // namespace loyalty::server
