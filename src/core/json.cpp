#include "loyalty/core/json.hpp"

#include <simdjson.h>

#include <algorithm>
#include <optional>

namespace loyalty::core {

namespace {

std::string TypeMismatch(std::string_view path, std::string_view key, std::string_view expected, const Json& got) {
  return "field '" + JoinPath(path, key) + "' must be " + std::string(expected) + ", not " + got.type_name();
}

Result<const Json*> Find(const Json& object, std::string_view key, std::string_view path, bool required) {
  if (!object.is_object()) {
    return Fail(ErrorCode::kInvalidArgument,
                "'" + (path.empty() ? std::string("body") : std::string(path)) + "' must be a JSON object");
  }
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (required) return Fail(ErrorCode::kInvalidArgument, "field '" + JoinPath(path, key) + "' is required");
    return nullptr;
  }
  return &*it;
}

}  // namespace

namespace {

// Deepest nesting of arrays and objects, ignoring brackets inside strings.
int NestingDepth(std::string_view text) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

std::string Dump(const Json& value, int indent) {
  return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

Result<Json> ParseJson(std::string_view text) {
  if (NestingDepth(text) > kMaxJsonDepth) {
    return Fail(ErrorCode::kInvalidArgument,
                "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels is not accepted");
  }
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    return Fail(ErrorCode::kInvalidArgument,
                "malformed JSON at byte " + std::to_string(e.byte) + ": " + std::string(e.what()));
  } catch (const Json::exception& e) {
    // Well-formed but not representable, e.g. a number beyond a double ("1e999": out_of_range).
    return Fail(ErrorCode::kInvalidArgument, "unreadable JSON: " + std::string(e.what()));
  }
}

namespace {

// simdjson's DOM to nlohmann's: the bulk path parses fast, the rest of the code keeps one
// JSON type. Depth is bounded by the ParseJson limit checked before.
Json FromSimd(simdjson::dom::element element) {
  switch (element.type()) {
    case simdjson::dom::element_type::OBJECT: {
      Json out = Json::object();
      for (auto field : simdjson::dom::object(element)) {
        out[std::string(field.key)] = FromSimd(field.value);  // a repeated key: the last wins, as in ParseJson
      }
      return out;
    }
    case simdjson::dom::element_type::ARRAY: {
      Json out = Json::array();
      for (auto item : simdjson::dom::array(element)) out.push_back(FromSimd(item));
      return out;
    }
    case simdjson::dom::element_type::STRING: return Json(std::string(std::string_view(element)));
    case simdjson::dom::element_type::INT64: return Json(int64_t(element));
    case simdjson::dom::element_type::UINT64: return Json(uint64_t(element));
    case simdjson::dom::element_type::DOUBLE: return Json(double(element));
    case simdjson::dom::element_type::BOOL: return Json(bool(element));
    case simdjson::dom::element_type::NULL_VALUE: return Json(nullptr);
  }
  return Json(nullptr);
}

}  // namespace

Result<Json> ParseJsonFast(std::string_view text) {
  if (NestingDepth(text) > kMaxJsonDepth) return ParseJson(text);  // the same refusal
  // A parser keeps buffers sized for the largest document it saw: reuse one per thread for
  // small documents (event lines), and a transient one for large bodies so a thread does not
  // hold a batch-sized buffer forever.
  constexpr size_t kReusedParserLimit = 1 << 20;
  thread_local simdjson::dom::parser reused;
  std::optional<simdjson::dom::parser> transient;
  simdjson::dom::parser& parser = text.size() <= kReusedParserLimit ? reused : transient.emplace();
  simdjson::dom::element root;
  if (parser.parse(text.data(), text.size()).get(root) != simdjson::SUCCESS) {
    return ParseJson(text);  // for nlohmann's error message with its byte position
  }
  return FromSimd(root);
}

std::string JoinPath(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  if (!key.empty() && key.front() == '[') return std::string(parent) + std::string(key);
  return std::string(parent) + "." + std::string(key);
}

Result<std::string> RequireString(const Json& object, std::string_view key, std::string_view path) {
  LOYALTY_ASSIGN_OR_RETURN(const Json* value, Find(object, key, path, true));
  if (!value->is_string()) return Fail(ErrorCode::kInvalidArgument, TypeMismatch(path, key, "a string", *value));
  return value->get<std::string>();
}

Result<int64_t> RequireInt(const Json& object, std::string_view key, std::string_view path) {
  LOYALTY_ASSIGN_OR_RETURN(const Json* value, Find(object, key, path, true));
  if (value->is_number_unsigned() && value->get<uint64_t>() > uint64_t(INT64_MAX)) {
    return Fail(ErrorCode::kInvalidArgument, "field '" + JoinPath(path, key) + "' overflows a 64-bit integer");
  }
  if (!value->is_number_integer()) {
    return Fail(ErrorCode::kInvalidArgument, TypeMismatch(path, key, "an integer", *value));
  }
  return value->get<int64_t>();
}

Result<const Json*> RequireArray(const Json& object, std::string_view key, std::string_view path) {
  LOYALTY_ASSIGN_OR_RETURN(const Json* value, Find(object, key, path, true));
  if (!value->is_array()) return Fail(ErrorCode::kInvalidArgument, TypeMismatch(path, key, "an array", *value));
  return value;
}

Result<std::optional<std::string>> OptionalString(const Json& object, std::string_view key, std::string_view path) {
  LOYALTY_ASSIGN_OR_RETURN(const Json* value, Find(object, key, path, false));
  if (value == nullptr) return std::optional<std::string>();
  if (!value->is_string()) return Fail(ErrorCode::kInvalidArgument, TypeMismatch(path, key, "a string", *value));
  return value->get<std::string>();
}

Result<std::optional<int64_t>> OptionalInt(const Json& object, std::string_view key, std::string_view path) {
  LOYALTY_ASSIGN_OR_RETURN(const Json* value, Find(object, key, path, false));
  if (value == nullptr) return std::optional<int64_t>();
  LOYALTY_ASSIGN_OR_RETURN(int64_t v, RequireInt(object, key, path));
  return v;
}

Result<std::optional<bool>> OptionalBool(const Json& object, std::string_view key, std::string_view path) {
  LOYALTY_ASSIGN_OR_RETURN(const Json* value, Find(object, key, path, false));
  if (value == nullptr) return std::optional<bool>();
  if (!value->is_boolean()) return Fail(ErrorCode::kInvalidArgument, TypeMismatch(path, key, "true or false", *value));
  return value->get<bool>();
}

Status RejectUnknownFields(const Json& object, std::initializer_list<std::string_view> allowed,
                           std::string_view path) {
  if (!object.is_object()) {
    return Fail(ErrorCode::kInvalidArgument,
                "'" + (path.empty() ? std::string("body") : std::string(path)) + "' must be a JSON object");
  }
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string known;
      for (auto a : allowed) known += (known.empty() ? "" : ", ") + std::string(a);
      return Fail(ErrorCode::kInvalidArgument,
                  "unknown field '" + JoinPath(path, key) + "' (known fields: " + known + ")");
    }
  }
  return {};
}

}  // namespace loyalty::core
