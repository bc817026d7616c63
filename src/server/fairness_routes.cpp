// Fairness over HTTP: the protected attribute's settings and values, the report per group
// with its alerts, the check that makes alerts count for decisions, and the per-group churn
// thresholds.

#include "loyalty/server/routes.hpp"
#include "route_helpers.hpp"

namespace loyalty::server {

void AddFairnessRoutes(Router& router, engine::Fairness& fairness, engine::Members& members) {
  engine::Fairness* f = &fairness;
  router.Add(
      Method::kGet, "/v1/fairness", [f](const Request&) { return Respond(200, [&]() -> Result<Json> { return f->Report(false); }); },
      Execution::kCompute);
  router.Add(
      Method::kPost, "/v1/fairness/check",
      [f](const Request&) { return Respond(200, [&]() -> Result<Json> { return f->Report(true); }); }, Execution::kCompute);
  router.Add(Method::kGet, "/v1/fairness/settings", [f](const Request&) {
    return Respond(200, [&]() -> Result<Json> { return f->Settings(); });
  });
  router.Add(Method::kPut, "/v1/fairness/settings", [f](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto body, ParseBody(request));
      LOYALTY_ASSIGN_OR_RETURN(auto actor, ActingUser(request, Json::object(), "api"));
      return f->PutSettings(body, actor);
    });
  });
  router.Add(
      Method::kPost, "/v1/fairness/thresholds",
      [f](const Request& request) {
        return Respond(200, [&]() -> Result<Json> {
          LOYALTY_ASSIGN_OR_RETURN(auto actor, ActingUser(request, Json::object(), "api"));
          return f->SetGroupThresholds(actor);
        });
      },
      Execution::kCompute);
  router.Add(Method::kPut, "/v1/members/{id}/protected-attribute", [f, &members](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto body, ParseBody(request));
      LOYALTY_TRY(core::RejectUnknownFields(body, {"value"}));
      LOYALTY_ASSIGN_OR_RETURN(auto value, core::RequireString(body, "value"));
      LOYALTY_ASSIGN_OR_RETURN(auto id, PathId<core::MemberId>(request, "id"));
      LOYALTY_ASSIGN_OR_RETURN(const auto profile, members.Get(id));
      const std::pair<core::MemberId, std::string> entry{profile.member, value};
      LOYALTY_TRY(f->SetAttributes(std::span(&entry, 1)));
      return Json{{"member", profile.member.str()}, {"attribute", f->settings().attribute}, {"kept", true}};
    });
  });
}

}  // namespace loyalty::server
