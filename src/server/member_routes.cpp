// Member profile routes: identity (identifiers, lookup, merge, unmerge) and features.

#include "loyalty/ledger/json.hpp"
#include "loyalty/server/routes.hpp"
#include "route_helpers.hpp"

namespace loyalty::server {

namespace {

// [{"kind": "email", "value": "Ann@Example.com"}, ...] -> normalised identifiers.
Result<std::vector<identity::Identifier>> BodyIdentifiers(const Json& body, const identity::Normalizer& normalizer,
                                                          bool required) {
  std::vector<identity::Identifier> out;
  if (!required && (!body.contains("identifiers") || body["identifiers"].is_null())) return out;
  LOYALTY_ASSIGN_OR_RETURN(const Json* list, core::RequireArray(body, "identifiers"));
  if (required && list->empty()) return Fail(ErrorCode::kInvalidArgument, "field 'identifiers' needs at least one");
  if (list->size() > 100) return Fail(ErrorCode::kInvalidArgument, "field 'identifiers' holds at most 100");
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string path = "identifiers[" + std::to_string(i) + "]";
    const Json& item = (*list)[i];
    LOYALTY_TRY(core::RejectUnknownFields(item, {"kind", "value"}, path));
    LOYALTY_ASSIGN_OR_RETURN(std::string kind, core::RequireString(item, "kind", path));
    LOYALTY_ASSIGN_OR_RETURN(std::string value, core::RequireString(item, "value", path));
    auto identifier = normalizer.Normalize(kind, value);
    if (!identifier) return core::Wrap(identifier.error(), path);
    out.push_back(std::move(*identifier));
  }
  return out;
}

Result<std::string> BodyText(const Json& body, std::string_view field, std::string_view fallback) {
  LOYALTY_ASSIGN_OR_RETURN(auto text, core::OptionalString(body, field));
  const std::string value = text.value_or(std::string(fallback));
  if (value.empty() || value.size() > 500) {
    return Fail(ErrorCode::kInvalidArgument, "field '" + std::string(field) + "' needs 1 to 500 characters");
  }
  return value;
}

}  // namespace

void AddMemberRoutes(Router& router, engine::Members& members, Metrics& metrics) {
  router.Add(Method::kPost, "/v1/members", [&members](const Request& request) {
    return Respond(201, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(Json body, ParseBody(request));
      LOYALTY_TRY(core::RejectUnknownFields(body, {"id", "identifiers"}));
      LOYALTY_ASSIGN_OR_RETURN(auto id, BodyId<core::MemberId>(body, "id"));
      LOYALTY_ASSIGN_OR_RETURN(auto identifiers, BodyIdentifiers(body, members.normalizer(), false));
      LOYALTY_ASSIGN_OR_RETURN(auto profile, members.Create(id, identifiers));
      return engine::ToJson(profile);
    });
  });

  // GET /v1/members?identifier=email:ann@example.com
  router.Add(Method::kGet, "/v1/members", [&members](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      auto it = request.query.find("identifier");
      if (it == request.query.end()) {
        return Fail(ErrorCode::kInvalidArgument,
                    "query parameter 'identifier' is required, like ?identifier=email:ann@example.com");
      }
      auto identifier = members.normalizer().Parse(it->second);
      if (!identifier) return core::Wrap(identifier.error(), "query parameter 'identifier'");
      LOYALTY_ASSIGN_OR_RETURN(auto profile, members.Lookup(*identifier));
      return engine::ToJson(profile);
    });
  });

  router.Add(Method::kGet, "/v1/members/{id}", [&members](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto id, PathId<core::MemberId>(request, "id"));
      LOYALTY_ASSIGN_OR_RETURN(auto profile, members.Get(id));
      return engine::ToJson(profile);
    });
  });

  router.Add(Method::kPost, "/v1/members/{id}/identifiers", [&members](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto id, PathId<core::MemberId>(request, "id"));
      LOYALTY_ASSIGN_OR_RETURN(Json body, ParseBody(request));
      LOYALTY_TRY(core::RejectUnknownFields(body, {"identifiers", "actor"}));
      LOYALTY_ASSIGN_OR_RETURN(auto identifiers, BodyIdentifiers(body, members.normalizer(), true));
      LOYALTY_ASSIGN_OR_RETURN(std::string actor, ActingUser(request, body, "api"));
      LOYALTY_ASSIGN_OR_RETURN(auto result, members.AddIdentifiers(id, identifiers, actor));
      Json added = Json::array();
      for (const auto& a : result.added) added.push_back({{"kind", identity::IdentifierKindName(a.kind)}, {"value", a.value}});
      Json merges = Json::array();
      for (const auto& m : result.merges) merges.push_back(engine::ToJson(m));
      return Json{{"profile", engine::ToJson(result.profile)}, {"added", added}, {"merges", merges}};
    });
  });

  router.Add(Method::kPost, "/v1/members/{id}/merge", [&members, &metrics](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto survivor, PathId<core::MemberId>(request, "id"));
      LOYALTY_ASSIGN_OR_RETURN(Json body, ParseBody(request));
      LOYALTY_TRY(core::RejectUnknownFields(body, {"member", "reason", "actor"}));
      LOYALTY_ASSIGN_OR_RETURN(auto absorbed, BodyId<core::MemberId>(body, "member"));
      LOYALTY_ASSIGN_OR_RETURN(std::string reason, BodyText(body, "reason", ""));
      LOYALTY_ASSIGN_OR_RETURN(std::string actor, ActingUser(request, body, "api"));
      LOYALTY_ASSIGN_OR_RETURN(auto result, members.Merge(survivor, absorbed, reason, actor));
      metrics.AddCounter("loyalty_member_merges_total", "Member profiles merged.", 1);
      return engine::ToJson(result);
    });
  });

  router.Add(Method::kPost, "/v1/members/{id}/unmerge", [&members, &metrics](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto absorbed, PathId<core::MemberId>(request, "id"));
      LOYALTY_ASSIGN_OR_RETURN(Json body, ParseBody(request));
      LOYALTY_TRY(core::RejectUnknownFields(body, {"reason", "actor"}));
      LOYALTY_ASSIGN_OR_RETURN(std::string reason, BodyText(body, "reason", ""));
      LOYALTY_ASSIGN_OR_RETURN(std::string actor, ActingUser(request, body, "api"));
      LOYALTY_ASSIGN_OR_RETURN(auto result, members.Unmerge(absorbed, reason, actor));
      metrics.AddCounter("loyalty_member_unmerges_total", "Member merges undone.", 1);
      return engine::ToJson(result);
    });
  });

  router.Add(Method::kGet, "/v1/members/{id}/merges", [&members](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto id, PathId<core::MemberId>(request, "id"));
      LOYALTY_ASSIGN_OR_RETURN(auto history, members.History(id));
      Json out = Json::array();
      for (const auto& m : history) out.push_back(engine::ToJson(m));
      return out;
    });
  });

  router.Add(Method::kGet, "/v1/members/{id}/features", [&members](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto id, PathId<core::MemberId>(request, "id"));
      LOYALTY_ASSIGN_OR_RETURN(const auto as_of, TimeParam(request, "as_of"));
      LOYALTY_ASSIGN_OR_RETURN(auto report, members.Features(id, as_of));
      return engine::ToJson(report);
    });
  });

  router.Add(Method::kGet, "/v1/segments", [&members](const Request&) {
    return Respond(200, [&]() -> Result<Json> { return members.Segments(); });
  });
}

}  // namespace loyalty::server
