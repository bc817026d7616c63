// The audit trail over HTTP: entries by member, actor and time, and the chain's verification.

#include <charconv>

#include "loyalty/server/routes.hpp"
#include "route_helpers.hpp"

namespace loyalty::server {

namespace {

Result<std::optional<core::Timestamp>> TimeParam(const Request& request, const std::string& name) {
  auto it = request.query.find(name);
  if (it == request.query.end()) return std::optional<core::Timestamp>();
  auto at = core::ParseTimestamp(it->second);
  if (!at) return core::Wrap(at.error(), "query parameter '" + name + "'");
  return std::optional<core::Timestamp>(*at);
}

}  // namespace

void AddAuditRoutes(Router& router, oversight::AuditLog& audit) {
  router.Add(Method::kGet, "/v1/audit", [&audit](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      oversight::AuditQuery query;
      if (auto it = request.query.find("member"); it != request.query.end()) query.member = it->second;
      if (auto it = request.query.find("actor"); it != request.query.end()) query.actor = it->second;
      LOYALTY_ASSIGN_OR_RETURN(query.from, TimeParam(request, "from"));
      LOYALTY_ASSIGN_OR_RETURN(query.to, TimeParam(request, "to"));
      if (auto it = request.query.find("limit"); it != request.query.end()) {
        auto [ptr, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), query.limit);
        if (ec != std::errc() || ptr != it->second.data() + it->second.size()) {
          return Fail(ErrorCode::kInvalidArgument, "query parameter 'limit' must be a whole number from 1 to 1000");
        }
      }
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
