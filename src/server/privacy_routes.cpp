// What members may ask of the program about their own data, over HTTP.

#include "loyalty/server/routes.hpp"
#include "route_helpers.hpp"

namespace loyalty::server {

void AddPrivacyRoutes(Router& router, engine::SubjectRequests& requests, engine::EventRetention& retention) {
  router.Add(Method::kGet, "/v1/members/{id}/export", [&requests](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto id, PathId<core::MemberId>(request, "id"));
      LOYALTY_ASSIGN_OR_RETURN(Json document, requests.Export(id));
      request.audit_member = document["member"].get<std::string>();  // the survivor of a merged id
      return document;
    });
  });
  router.Add(Method::kPost, "/v1/members/{id}/erasure", [&requests](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto id, PathId<core::MemberId>(request, "id"));
      LOYALTY_ASSIGN_OR_RETURN(auto body, ParseBody(request));
      LOYALTY_TRY(core::RejectUnknownFields(body, {"reason"}, "body"));
      LOYALTY_ASSIGN_OR_RETURN(auto reason, core::RequireString(body, "reason"));
      return requests.Erase(id, reason);
    });
  });
  router.Add(Method::kPost, "/v1/jobs/event-retention", [&retention](const Request&) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto report, retention.Run());
      return engine::ToJson(report);
    });
  });
  router.Add(Method::kGet, "/v1/events/daily-counts", [&retention](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      auto param = [&](const char* name) {
        const auto it = request.query.find(name);
        return it == request.query.end() ? std::string() : it->second;
      };
      return retention.DailyCounts(param("from"), param("to"));
    });
  });
}

}  // namespace loyalty::server
