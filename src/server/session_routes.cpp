// Who is calling: the dashboard signs in by asking this with the key it was given, and shows
// only what the key's role may do (the server still checks every route itself).

#include "loyalty/server/routes.hpp"
#include "route_helpers.hpp"

namespace loyalty::server {

void AddSessionRoutes(Router& router) {
  // On the reader pool, not inline: the guard reads the key from the store.
  router.Add(
      Method::kGet, "/v1/session",
      [](const Request& request) {
        // Without the guard (keys off) every caller acts as an administrator.
        const bool keys_on = !request.role.empty();
        const engine::Role role = keys_on ? *engine::ParseRole(request.role) : engine::Role::kAdmin;
        Json permissions = Json::array();
        for (int p = 0; p < engine::kPermissionCount; ++p) {
          const auto permission = static_cast<engine::Permission>(p);
          if (permission != engine::Permission::kPublic && engine::Allowed(role, permission)) {
            permissions.push_back(engine::PermissionCode(permission));
          }
        }
        return JsonResponse(200, Json{{"user", keys_on ? Json(request.actor) : Json(nullptr)},
                                      {"role", engine::RoleName(role)},
                                      {"auth", keys_on ? "api_keys" : "off"},
                                      {"permissions", std::move(permissions)}});
      });
}

}  // namespace loyalty::server
