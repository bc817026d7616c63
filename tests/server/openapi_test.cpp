// docs/openapi.yaml must describe every route the server registers, and nothing else.

#include <fstream>
#include <map>
#include <set>

#include "server_fixture.hpp"

namespace loyalty::server::testing {
namespace {

// Reads "METHOD path" -> its x-permission ("" when it has none) from the spec's `paths:`
// section (two-space indented path keys, four-space indented method keys).
std::map<std::string, std::string> DocumentedRoutes() {
  std::ifstream in(LOYALTY_OPENAPI_FILE);
  std::map<std::string, std::string> routes;
  std::string line, path, route;
  bool in_paths = false;
  while (std::getline(in, line)) {
    if (line == "paths:") {
      in_paths = true;
      continue;
    }
    if (!in_paths) continue;
    if (!line.empty() && line[0] != ' ') break;
    if (line.rfind("  /", 0) == 0 && line.back() == ':') {
      path = line.substr(2, line.size() - 3);
    } else if (line.size() > 4 && line.rfind("    ", 0) == 0 && line[4] != ' ' && line.back() == ':') {
      std::string method = line.substr(4, line.size() - 5);
      for (char& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      route = method + " " + path;
      routes[route];
    } else if (line.rfind("      x-permission: ", 0) == 0) {
      routes[route] = line.substr(std::string("      x-permission: ").size());
    }
  }
  return routes;
}

class OpenApiTest : public ServerFixture {};

TEST_F(OpenApiTest, EveryRouteIsDocumentedAndEveryDocumentedRouteExists) {
  std::set<std::string> registered;
  for (const auto& route : router_.routes()) {
    registered.insert(std::string(MethodName(route.method)) + " " + route.pattern);
  }
  const auto documented = DocumentedRoutes();
  ASSERT_FALSE(documented.empty()) << "could not read " << LOYALTY_OPENAPI_FILE;
  for (const auto& route : registered) EXPECT_TRUE(documented.count(route)) << route << " is missing from openapi.yaml";
  for (const auto& [route, permission] : documented) {
    EXPECT_TRUE(registered.count(route)) << route << " is documented but not served";
  }
}

TEST_F(OpenApiTest, EveryRouteDocumentsThePermissionItIsGuardedBy) {
  const auto documented = DocumentedRoutes();
  for (const auto& route : router_.routes()) {
    const std::string name = std::string(MethodName(route.method)) + " " + route.pattern;
    const auto permission = RoutePermission(route.method, route.pattern);
    ASSERT_TRUE(permission) << name << " has no permission";
    const auto it = documented.find(name);
    ASSERT_NE(it, documented.end()) << name << " has no x-permission in openapi.yaml";
    EXPECT_EQ(it->second, engine::PermissionCode(*permission)) << name;
  }
}

}  // namespace
}  // namespace loyalty::server::testing
