// Access control for every route: which permission each needs, and the guard that checks the
// caller's API key and role before the handler runs.

#include <array>

#include "loyalty/core/logging.hpp"
#include "loyalty/server/routes.hpp"

namespace loyalty::server {

namespace {

using engine::Permission;

struct RouteRule {
  Method method;
  std::string_view pattern;
  Permission permission;
};

constexpr std::array kRules = {
    RouteRule{Method::kGet, "/healthz", Permission::kPublic},
    RouteRule{Method::kGet, "/readyz", Permission::kPublic},
    RouteRule{Method::kGet, "/metrics", Permission::kPublic},
    // Ledger
    RouteRule{Method::kGet, "/v1/members/{id}/balance", Permission::kReadMember},
    RouteRule{Method::kGet, "/v1/members/{id}/statement", Permission::kReadMember},
    RouteRule{Method::kGet, "/v1/members/{id}/lots", Permission::kReadMember},
    RouteRule{Method::kGet, "/v1/members/{id}/tier", Permission::kReadMember},
    RouteRule{Method::kPost, "/v1/purchases", Permission::kTransact},
    RouteRule{Method::kPost, "/v1/returns", Permission::kTransact},
    RouteRule{Method::kPost, "/v1/members/{id}/redemptions", Permission::kTransact},
    RouteRule{Method::kPost, "/v1/members/{id}/discounts", Permission::kTransact},
    RouteRule{Method::kPost, "/v1/members/{id}/bonus", Permission::kGrant},
    RouteRule{Method::kPost, "/v1/members/{id}/adjustments", Permission::kGrant},
    RouteRule{Method::kGet, "/v1/rewards", Permission::kReadAggregates},
    RouteRule{Method::kPut, "/v1/rewards/{id}", Permission::kGrant},
    RouteRule{Method::kGet, "/v1/liability", Permission::kReadAggregates},
    RouteRule{Method::kPost, "/v1/jobs/expire", Permission::kGrant},
    RouteRule{Method::kPost, "/v1/jobs/tier-evaluation", Permission::kGrant},
    // Members and events
    RouteRule{Method::kPost, "/v1/members", Permission::kManageMembers},
    RouteRule{Method::kGet, "/v1/members", Permission::kReadPii},  // lookup by e-mail, phone, card
    RouteRule{Method::kGet, "/v1/members/{id}", Permission::kReadPii},
    RouteRule{Method::kPost, "/v1/members/{id}/identifiers", Permission::kManageMembers},
    RouteRule{Method::kPost, "/v1/members/{id}/merge", Permission::kManageMembers},
    RouteRule{Method::kPost, "/v1/members/{id}/unmerge", Permission::kManageMembers},
    RouteRule{Method::kGet, "/v1/members/{id}/merges", Permission::kReadMember},
    RouteRule{Method::kGet, "/v1/members/{id}/features", Permission::kReadMember},
    RouteRule{Method::kGet, "/v1/segments", Permission::kReadAggregates},
    RouteRule{Method::kGet, "/v1/kpis", Permission::kReadAggregates},
    RouteRule{Method::kPost, "/v1/events", Permission::kIngest},
    RouteRule{Method::kGet, "/v1/members/{id}/events", Permission::kReadPii},  // free text of tickets and reviews
    // Models
    RouteRule{Method::kGet, "/v1/members/{id}/scores", Permission::kReadMember},
    RouteRule{Method::kPost, "/v1/members/{id}/what-if", Permission::kReadMember},
    RouteRule{Method::kGet, "/v1/members/{id}/recommendations", Permission::kReadMember},
    RouteRule{Method::kGet, "/v1/items/{sku}/similar", Permission::kReadAggregates},
    RouteRule{Method::kGet, "/v1/scores/summary", Permission::kReadAggregates},
    RouteRule{Method::kGet, "/v1/points/breakage", Permission::kReadAggregates},
    RouteRule{Method::kGet, "/v1/micro-segments", Permission::kReadAggregates},
    RouteRule{Method::kGet, "/v1/models/churn/drift", Permission::kReadAggregates},
    RouteRule{Method::kGet, "/v1/models", Permission::kReadAggregates},
    RouteRule{Method::kPost, "/v1/models/predictions", Permission::kManageModels},
    RouteRule{Method::kGet, "/v1/models/{kind}/accuracy", Permission::kReadAggregates},
    RouteRule{Method::kGet, "/v1/models/{kind}", Permission::kReadAggregates},
    RouteRule{Method::kPost, "/v1/models/{kind}/promote", Permission::kManageModels},
    RouteRule{Method::kPost, "/v1/models/{kind}/rollback", Permission::kManageModels},
    // Oversight
    // Decisions
    RouteRule{Method::kGet, "/v1/decisions/facts", Permission::kReadAggregates},
    RouteRule{Method::kPost, "/v1/decisions", Permission::kDecide},
    RouteRule{Method::kPost, "/v1/decisions/batch", Permission::kManageOffers},
    RouteRule{Method::kGet, "/v1/decisions/evaluation", Permission::kReadAggregates},
    RouteRule{Method::kGet, "/v1/decisions/budgets", Permission::kReadAggregates},
    RouteRule{Method::kGet, "/v1/decisions/policy", Permission::kReadAggregates},
    RouteRule{Method::kPut, "/v1/decisions/policy", Permission::kManageOffers},
    RouteRule{Method::kGet, "/v1/decisions/strategy", Permission::kReadAggregates},
    RouteRule{Method::kPut, "/v1/decisions/strategy", Permission::kManageOffers},
    RouteRule{Method::kPost, "/v1/decisions/strategy/rollback", Permission::kManageOffers},
    RouteRule{Method::kGet, "/v1/fairness", Permission::kReadAggregates},
    RouteRule{Method::kPost, "/v1/fairness/check", Permission::kManageOffers},
    RouteRule{Method::kGet, "/v1/fairness/settings", Permission::kReadAggregates},
    RouteRule{Method::kPut, "/v1/fairness/settings", Permission::kManageOffers},
    RouteRule{Method::kPost, "/v1/fairness/thresholds", Permission::kManageOffers},
    RouteRule{Method::kPut, "/v1/members/{id}/protected-attribute", Permission::kManageMembers},
    RouteRule{Method::kGet, "/v1/automation", Permission::kReadAggregates},
    RouteRule{Method::kPut, "/v1/automation", Permission::kSetAutomation},
    RouteRule{Method::kPost, "/v1/automation/rollback", Permission::kSetAutomation},
    RouteRule{Method::kGet, "/v1/decisions/{id}", Permission::kReadMember},
    RouteRule{Method::kPost, "/v1/decisions/{id}/outcomes", Permission::kDecide},
    RouteRule{Method::kGet, "/v1/offers", Permission::kReadAggregates},
    RouteRule{Method::kGet, "/v1/offers/{id}", Permission::kReadAggregates},
    RouteRule{Method::kPut, "/v1/offers/{id}", Permission::kManageOffers},
    RouteRule{Method::kDelete, "/v1/offers/{id}", Permission::kManageOffers},
    RouteRule{Method::kGet, "/v1/experiments", Permission::kReadAggregates},
    RouteRule{Method::kPost, "/v1/experiments", Permission::kManageOffers},
    RouteRule{Method::kPost, "/v1/experiments/{id}/stop", Permission::kManageOffers},
    RouteRule{Method::kGet, "/v1/experiments/{id}/results", Permission::kReadAggregates},
    // Text signals
    RouteRule{Method::kPost, "/v1/text/score", Permission::kReadAggregates},
    RouteRule{Method::kGet, "/v1/text/topics", Permission::kReadAggregates},
    RouteRule{Method::kGet, "/v1/members/{id}/texts", Permission::kReadPii},  // their own words, from the vault
    RouteRule{Method::kDelete, "/v1/members/{id}/texts", Permission::kManageMembers},
    // Data subject requests
    RouteRule{Method::kGet, "/v1/members/{id}/export", Permission::kReadPii},  // everything kept about them
    RouteRule{Method::kPost, "/v1/members/{id}/erasure", Permission::kErase},
    RouteRule{Method::kPost, "/v1/jobs/event-retention", Permission::kErase},  // removes old events of everyone
    RouteRule{Method::kGet, "/v1/events/daily-counts", Permission::kReadAggregates},
    // Review queue
    RouteRule{Method::kGet, "/v1/reviews", Permission::kReview},
    RouteRule{Method::kGet, "/v1/reviews/stats", Permission::kReview},
    RouteRule{Method::kPost, "/v1/reviews/bulk", Permission::kReview},
    RouteRule{Method::kPost, "/v1/jobs/expire-reviews", Permission::kReview},
    RouteRule{Method::kGet, "/v1/reviews/{decision}/{rank}", Permission::kReview},
    RouteRule{Method::kPost, "/v1/reviews/{decision}/{rank}", Permission::kReview},
    // Session (the dashboard's sign-in)
    RouteRule{Method::kGet, "/v1/session", Permission::kSignedIn},
    // Audit
    RouteRule{Method::kGet, "/v1/audit", Permission::kReadAudit},
    RouteRule{Method::kGet, "/v1/audit/verify", Permission::kReadAudit},
};

std::string BearerToken(const Request& request) {
  const auto header = request.Header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!header || header->size() <= kBearer.size() || !header->starts_with(kBearer)) return "";
  return header->substr(kBearer.size());
}

Response Refuse(const core::Error& error) {
  Response response = ProblemResponse(error);
  if (error.code == core::ErrorCode::kUnauthenticated) response.headers.emplace_back("WWW-Authenticate", "Bearer");
  return response;
}

}  // namespace

std::optional<Permission> RoutePermission(Method method, std::string_view pattern) {
  for (const auto& rule : kRules) {
    if (rule.method == method && rule.pattern == pattern) return rule.permission;
  }
  // HEAD is GET without the body.
  if (method == Method::kHead) return RoutePermission(Method::kGet, pattern);
  return std::nullopt;
}

namespace {

// The audit entry for a request a signed-in caller made.
oversight::AuditEntry EntryFor(Method method, const std::string& pattern, const Request& request,
                               const engine::Principal& who, const Response& response) {
  oversight::AuditEntry entry;
  entry.actor = who.user;
  entry.role = std::string(engine::RoleName(who.role));
  entry.action = std::string(MethodName(method)) + " " + pattern;
  entry.target = request.path;
  if (auto id = request.path_params.find("id"); id != request.path_params.end() && pattern.starts_with("/v1/members/")) {
    entry.member = id->second;
  }
  if (!request.body.empty()) {
    entry.request_digest = oversight::Digest(request.body);
    if (auto body = core::ParseJson(request.body); body && body->is_object()) {
      // Purchases and returns name the member in "member"; a new member's id is "id".
      const char* field = pattern == "/v1/members" ? "id" : "member";
      if (entry.member.empty() && body->contains(field) && (*body)[field].is_string()) {
        entry.member = (*body)[field].get<std::string>();
      }
      if (body->contains("reason") && (*body)["reason"].is_string()) entry.reason = (*body)["reason"].get<std::string>();
    }
  }
  if (!request.audit_member.empty()) entry.member = request.audit_member;
  entry.status = response.status;
  entry.result_digest = oversight::Digest(response.body);
  return entry;
}

}  // namespace

core::Status GuardRoutes(Router& router, engine::Access& access, oversight::AuditLog& audit) {
  for (const auto& route : router.routes()) {
    if (!RoutePermission(route.method, route.pattern)) {
      return core::Fail(core::ErrorCode::kInternal, "route " + std::string(MethodName(route.method)) + " " + route.pattern +
                                                        " has no permission in the access table");
    }
  }
  router.WrapHandlers([&access, &audit](const Route& route) -> Handler {
    const Permission permission = *RoutePermission(route.method, route.pattern);
    if (permission == Permission::kPublic) return route.handler;
    const bool changes = route.method != Method::kGet && route.method != Method::kHead;
    return [&access, &audit, permission, changes, method = route.method, pattern = route.pattern,
            inner = route.handler](const Request& request) -> Response {
      auto principal = access.Authenticate(BearerToken(request));
      if (!principal) return Refuse(principal.error());
      const bool personal = permission == Permission::kReadPii;
      Response response;
      if (auto allowed = engine::Access::Authorize(*principal, permission); !allowed) {
        response = Refuse(allowed.error());
      } else {
        request.actor = principal->user;
        request.role = std::string(engine::RoleName(principal->role));
        response = inner(request);
      }
      // Decisions and their outcomes have their own log (explanation, propensity, model
      // versions, what followed); a refused attempt is still audited here.
      const bool in_decision_log = permission == Permission::kDecide && response.status < 400;
      if ((changes && !in_decision_log) || personal) {
        auto recorded = audit.Append(EntryFor(method, pattern, request, *principal, response));
        if (!recorded) {
          core::Log(core::LogLevel::kError, "audit.append_failed",
                    core::Json{{"action", pattern}, {"actor", principal->user}, {"error", recorded.error().message}});
          // Personal data leaves only with a record of who read it.
          if (personal && response.status < 400) {
            return ProblemResponse({core::ErrorCode::kUnavailable, "the audit trail could not record this read; retry"});
          }
        }
      }
      return response;
    };
  });
  return {};
}

}  // namespace loyalty::server
