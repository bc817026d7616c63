// The audit trail over HTTP: entries by member, actor and time, and the chain's verification.

#include "loyalty/server/routes.hpp"
#include "route_helpers.hpp"

namespace loyalty::server {

void AddAuditRoutes(Router& router, oversight::AuditLog& audit) {
  router.Add(Method::kGet, "/v1/audit", [&audit](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      oversight::AuditQuery query;
      if (auto it = request.query.find("member"); it != request.query.end()) query.member = it->second;
      if (auto it = request.query.find("actor"); it != request.query.end()) query.actor = it->second;
      LOYALTY_ASSIGN_OR_RETURN(query.from, TimeParam(request, "from"));
      LOYALTY_ASSIGN_OR_RETURN(query.to, TimeParam(request, "to"));
      LOYALTY_ASSIGN_OR_RETURN(const int64_t limit, IntParam(request, "limit", query.limit, 1, 1000));
      query.limit = static_cast<decltype(query.limit)>(limit);
      LOYALTY_ASSIGN_OR_RETURN(auto entries, audit.Query(query));
      Json out = Json::array();
      for (const auto& e : entries) out.push_back(oversight::ToJson(e));
      return Json{{"entries", out}};
    });
  });

  router.Add(Method::kGet, "/v1/audit/verify", [&audit](const Request&) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto verification, audit.Verify());
      return oversight::ToJson(verification);
    });
  });
}

}  // namespace loyalty::server
