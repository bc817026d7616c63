// Text signals: score texts, topic and sentiment counts over time, a member's own words.

#include "loyalty/server/routes.hpp"
#include "route_helpers.hpp"

namespace loyalty::server {

namespace {

constexpr size_t kMaxTexts = 1000;

}  // namespace

void AddTextRoutes(Router& router, engine::TextSignals& text) {
  // {"text": "..."} -> one result; {"texts": ["...", ...]} -> {"results": [...]} in order.
  router.Add(
      Method::kPost, "/v1/text/score",
      [&text](const Request& request) {
        return Respond(200, [&]() -> Result<Json> {
          LOYALTY_ASSIGN_OR_RETURN(Json body, ParseBody(request));
          LOYALTY_TRY(core::RejectUnknownFields(body, {"text", "texts"}));
          if (body.contains("text") == body.contains("texts")) {
            return Fail(ErrorCode::kInvalidArgument,
                        "send {\"text\": \"...\"} for one text or {\"texts\": [\"...\", ...]} for up to 1000");
          }
          if (body.contains("text")) {
            LOYALTY_ASSIGN_OR_RETURN(std::string one, core::RequireString(body, "text"));
            LOYALTY_ASSIGN_OR_RETURN(auto scored, text.Score(one));
            return engine::ToJson(scored);
          }
          const Json& texts = body["texts"];
          if (!texts.is_array() || texts.empty() || texts.size() > kMaxTexts) {
            return Fail(ErrorCode::kInvalidArgument, "field 'texts' must be an array of 1 to 1000 strings");
          }
          Json results = Json::array();
          for (size_t i = 0; i < texts.size(); ++i) {
            if (!texts[i].is_string()) {
              return Fail(ErrorCode::kInvalidArgument, "texts[" + std::to_string(i) + "] must be a string");
            }
            auto scored = text.Score(texts[i].get_ref<const std::string&>());
            if (!scored)
              return Fail(scored.error().code, "texts[" + std::to_string(i) + "]: " + scored.error().message);
            results.push_back(engine::ToJson(*scored));
          }
          return Json{{"results", std::move(results)}};
        });
      },
      Execution::kCompute);

  router.Add(Method::kGet, "/v1/text/topics", [&text](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto from, TimeParam(request, "from"));
      LOYALTY_ASSIGN_OR_RETURN(auto to, TimeParam(request, "to"));
      if (!from || !to) {
        return Fail(ErrorCode::kInvalidArgument, "query parameters 'from' and 'to' are required (ISO 8601 times)");
      }
      const auto bucket = request.query.find("bucket");
      LOYALTY_ASSIGN_OR_RETURN(auto report,
                               text.Topics(*from, *to, bucket == request.query.end() ? "week" : bucket->second));
      return engine::ToJson(report);
    });
  });

  router.Add(Method::kGet, "/v1/members/{id}/texts", [&text](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto id, PathId<core::MemberId>(request, "id"));
      LOYALTY_ASSIGN_OR_RETURN(const int64_t limit, IntParam(request, "limit", 50, 1, 500));
      LOYALTY_ASSIGN_OR_RETURN(auto texts, text.Texts(id, static_cast<int>(limit)));
      Json out = Json::array();
      for (const auto& one : texts) out.push_back(engine::ToJson(one));
      return Json{{"member", id.str()}, {"texts", std::move(out)}};
    });
  });

  router.Add(Method::kDelete, "/v1/members/{id}/texts", [&text](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto id, PathId<core::MemberId>(request, "id"));
      LOYALTY_ASSIGN_OR_RETURN(const int64_t erased, text.Forget(id));
      return Json{{"member", id.str()}, {"erased", erased}};
    });
  });
}

}  // namespace loyalty::server
