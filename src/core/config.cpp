#include "loyalty/core/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

extern char** environ;

namespace loyalty::core {

namespace {

Json FromToml(const toml::node& node) {
  if (const auto* table = node.as_table()) {
    Json out = Json::object();
    for (const auto& [key, value] : *table) out[std::string(key.str())] = FromToml(value);
    return out;
  }
  if (const auto* array = node.as_array()) {
    Json out = Json::array();
    for (const auto& value : *array) out.push_back(FromToml(value));
    return out;
  }
  if (const auto* v = node.as_string()) return v->get();
  if (const auto* v = node.as_integer()) return v->get();
  if (const auto* v = node.as_floating_point()) return v->get();
  if (const auto* v = node.as_boolean()) return v->get();
  // Dates and times stay text; the module that reads them parses them.
  std::ostringstream text;
  if (const auto* v = node.as_date()) text << *v;
  if (const auto* v = node.as_time()) text << *v;
  if (const auto* v = node.as_date_time()) text << *v;
  return text.str();
}

Json ScalarFromText(const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  int64_t number = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (!text.empty() && ec == std::errc() && ptr == text.data() + text.size()) return number;
  return text;
}

}  // namespace

Environment ProcessEnvironment() {
  Environment env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view kv(*entry);
    const size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace_back(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

Result<Json> ParseTomlConfig(std::string_view text, std::string_view source) {
  try {
    toml::table table = toml::parse(text, source);
    return FromToml(table);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    return Fail(ErrorCode::kInvalidArgument, std::string(source) + ":" + std::to_string(where.line) + ":" +
                                                 std::to_string(where.column) + ": " +
                                                 std::string(e.description()));
  }
}

Result<Json> LoadConfig(const std::optional<std::filesystem::path>& file, const Environment& env) {
  Json config = Json::object();
  if (file) {
    std::ifstream in(*file, std::ios::binary);
    if (!in) {
      return Fail(ErrorCode::kInvalidArgument, "cannot read configuration file '" + file->string() + "'");
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    LOYALTY_ASSIGN_OR_RETURN(config, ParseTomlConfig(buffer.str(), file->string()));
  }
  return ApplyEnvironmentOverrides(std::move(config), env);
}

Result<Json> ApplyEnvironmentOverrides(Json config, const Environment& env) {
  constexpr std::string_view kPrefix = "LOYALTY_";
  for (const auto& [name, value] : env) {
    if (name.size() <= kPrefix.size() || name.compare(0, kPrefix.size(), kPrefix) != 0) continue;
    std::string path = name.substr(kPrefix.size());
    std::transform(path.begin(), path.end(), path.begin(), [](unsigned char c) { return std::tolower(c); });
    Json* node = &config;
    size_t start = 0;
    while (true) {
      const size_t sep = path.find("__", start);
      const std::string key = path.substr(start, sep == std::string::npos ? std::string::npos : sep - start);
      if (key.empty()) {
        return Fail(ErrorCode::kInvalidArgument, "environment variable " + name + " has an empty key");
      }
      if (sep == std::string::npos) {
        (*node)[key] = ScalarFromText(value);
        break;
      }
      Json& child = (*node)[key];
      if (child.is_null()) child = Json::object();
      if (!child.is_object()) {
        return Fail(ErrorCode::kInvalidArgument,
                    "environment variable " + name + " descends into '" + key + "', which is not a section");
      }
      node = &child;
      start = sep + 2;
    }
  }
  return config;
}

}  // namespace loyalty::core
