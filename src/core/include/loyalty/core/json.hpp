#pragma once
// JSON helpers over nlohmann::json for the places where convenience beats speed (API
// payloads, configuration, stored command results). Every reader names the field path in
// its error ("lines[2].quantity must be an integer"), so a user knows exactly what to fix.
// Stateless functions; safe from any thread.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/error.hpp"
#include "loyalty/core/ids.hpp"
#include "loyalty/core/money.hpp"

namespace loyalty::core {

using Json = nlohmann::json;

// Parses text; a syntax error reports its byte offset. Nesting deeper than kMaxJsonDepth is
// refused before parsing: copying or printing such a value would exhaust the stack.
inline constexpr int kMaxJsonDepth = 64;
[[nodiscard]] Result<Json> ParseJson(std::string_view text);

// The same result as ParseJson, parsed by simdjson (several times faster on small documents):
// for bulk ingestion. Errors are ParseJson's, with its byte positions.
[[nodiscard]] Result<Json> ParseJsonFast(std::string_view text);

// Serialises for storage or the wire. Never throws: bytes that are not UTF-8 (which can come
// from a command line) are replaced by U+FFFD instead of aborting the caller.
std::string Dump(const Json& value, int indent = -1);

// Joins a parent path and a key for error messages: JoinPath("lines[2]", "sku").
std::string JoinPath(std::string_view parent, std::string_view key);

// Field readers. `object` must be a JSON object; `path` is its location for messages.
[[nodiscard]] Result<std::string> RequireString(const Json& object, std::string_view key, std::string_view path = "");
[[nodiscard]] Result<int64_t> RequireInt(const Json& object, std::string_view key, std::string_view path = "");
[[nodiscard]] Result<const Json*> RequireArray(const Json& object, std::string_view key, std::string_view path = "");
[[nodiscard]] Result<std::optional<std::string>> OptionalString(const Json& object, std::string_view key,
                                                                std::string_view path = "");
[[nodiscard]] Result<std::optional<int64_t>> OptionalInt(const Json& object, std::string_view key,
                                                         std::string_view path = "");
[[nodiscard]] Result<std::optional<bool>> OptionalBool(const Json& object, std::string_view key,
                                                       std::string_view path = "");

// Fails naming the first key of `object` that is not in `allowed` (catches typos in input).
[[nodiscard]] Status RejectUnknownFields(const Json& object, std::initializer_list<std::string_view> allowed,
                                         std::string_view path = "");

}  // namespace loyalty::core

// JSON forms of the core value types, so structs holding them convert with nlohmann's
// NLOHMANN_DEFINE_TYPE_* macros: Points as an integer, Money as {"amount":"12.50","currency":"EUR"},
// ids as strings, Timestamp as ISO 8601 text, optional as null or the value. Reading a
// malformed value throws nlohmann::json::type_error/out_of_range: callers that read untrusted
// JSON use the Require* readers above instead.
namespace nlohmann {

template <typename T>
struct adl_serializer<std::optional<T>> {
  static void to_json(json& j, const std::optional<T>& v) {
    if (v) j = *v; else j = nullptr;
  }
  static void from_json(const json& j, std::optional<T>& v) {
    if (j.is_null()) v.reset(); else v = j.get<T>();
  }
};

template <>
struct adl_serializer<loyalty::core::Points> {
  static void to_json(json& j, const loyalty::core::Points& p) { j = p.value(); }
  static loyalty::core::Points from_json(const json& j) { return loyalty::core::Points(j.get<int64_t>()); }
  static void from_json(const json& j, loyalty::core::Points& out) { out = from_json(j); }
};

template <>
struct adl_serializer<loyalty::core::Money> {
  static void to_json(json& j, const loyalty::core::Money& m) {
    j = json{{"amount", m.ToDecimalString()}, {"currency", m.currency().code}};
  }
  static loyalty::core::Money from_json(const json& j) {
    auto money = loyalty::core::Money::Parse(j.at("amount").get<std::string>(), j.at("currency").get<std::string>());
    if (!money) throw json::other_error::create(501, money.error().message, &j);
    return *money;
  }
  static void from_json(const json& j, loyalty::core::Money& out) { out = from_json(j); }
};

template <typename Tag>
struct adl_serializer<loyalty::core::StrongId<Tag>> {
  static void to_json(json& j, const loyalty::core::StrongId<Tag>& id) { j = id.str(); }
  static loyalty::core::StrongId<Tag> from_json(const json& j) {
    auto id = loyalty::core::StrongId<Tag>::Parse(j.get<std::string>());
    if (!id) throw json::other_error::create(501, id.error().message, &j);
    return *id;
  }
  static void from_json(const json& j, loyalty::core::StrongId<Tag>& out) { out = from_json(j); }
};

template <>
struct adl_serializer<loyalty::core::Timestamp> {
  static void to_json(json& j, const loyalty::core::Timestamp& t) { j = loyalty::core::FormatTimestamp(t); }
  static loyalty::core::Timestamp from_json(const json& j) {
    auto t = loyalty::core::ParseTimestamp(j.get<std::string>());
    if (!t) throw json::other_error::create(501, t.error().message, &j);
    return *t;
  }
  static void from_json(const json& j, loyalty::core::Timestamp& out) { out = from_json(j); }
};

}  // namespace nlohmann
