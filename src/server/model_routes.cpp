// Prediction routes: a member's scores and what-if, the score distributions, and the model
// registry (versions, metrics, promote, rollback).

#include "loyalty/models/registry.hpp"
#include "loyalty/server/routes.hpp"
#include "route_helpers.hpp"

namespace loyalty::server {

namespace {

Result<std::string> ModelKind(const Request& request) {
  const std::string& kind = request.path_params.at("kind");
  if (kind != "churn" && kind != "clv" && kind != "segments" && kind != "recs" && kind != "breakage" &&
      kind != "sentiment") {
    return Fail(ErrorCode::kNotFound,
                "no model kind '" + kind + "'; the kinds are churn, clv, segments, recs, breakage and sentiment");
  }
  return kind;
}


// ?n=10 (1 to 100).
Result<size_t> Count(const Request& request) {
  LOYALTY_ASSIGN_OR_RETURN(const int64_t n, IntParam(request, "n", 10, 1, 100));
  return static_cast<size_t>(n);
}

}  // namespace

void AddModelRoutes(Router& router, engine::Predictions& predictions, models::ModelRegistry& registry,
                    Metrics& metrics) {
  router.Add(Method::kGet, "/v1/members/{id}/scores", [&predictions](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto id, PathId<core::MemberId>(request, "id"));
      return predictions.Scores(id);
    });
  });

  router.Add(Method::kPost, "/v1/members/{id}/what-if", [&predictions](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto id, PathId<core::MemberId>(request, "id"));
      LOYALTY_ASSIGN_OR_RETURN(Json body, ParseBody(request));
      LOYALTY_TRY(core::RejectUnknownFields(body, {"features"}));
      if (!body.contains("features")) {
        return Fail(ErrorCode::kInvalidArgument, "field 'features' is required, like {\"features\": {\"recency_days\": 5}}");
      }
      return predictions.WhatIf(id, body["features"]);
    });
  });

  router.Add(Method::kGet, "/v1/members/{id}/recommendations", [&predictions](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto id, PathId<core::MemberId>(request, "id"));
      LOYALTY_ASSIGN_OR_RETURN(const size_t n, Count(request));
      return predictions.Recommend(id, n);
    });
  });

  router.Add(Method::kGet, "/v1/items/{sku}/similar", [&predictions](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(const size_t n, Count(request));
      return predictions.SimilarItems(request.path_params.at("sku"), n);
    });
  });

  router.Add(Method::kGet, "/v1/scores/summary", [&predictions](const Request&) {
    return Respond(200, [&]() -> Result<Json> { return predictions.Distributions(); });
  });

  router.Add(Method::kGet, "/v1/points/breakage", [&predictions](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(const int64_t months, IntParam(request, "months", 12, 1, 120));
      LOYALTY_ASSIGN_OR_RETURN(const int64_t draws, IntParam(request, "draws", 100, 20, 1000));
      return predictions.Breakage(static_cast<int>(months), static_cast<int>(draws));
    });
  });

  router.Add(Method::kGet, "/v1/micro-segments", [&predictions](const Request&) {
    return Respond(200, [&]() -> Result<Json> { return predictions.MicroSegments(); });
  });

  router.Add(Method::kGet, "/v1/models/churn/drift", [&predictions](const Request&) {
    return Respond(200, [&]() -> Result<Json> { return predictions.Drift(); });
  });

  router.Add(Method::kGet, "/v1/models", [&registry](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      std::string kind;
      if (auto it = request.query.find("kind"); it != request.query.end()) kind = it->second;
      LOYALTY_ASSIGN_OR_RETURN(auto versions, registry.List(kind));
      Json out = Json::array();
      for (const auto& v : versions) out.push_back(models::ToJson(v));
      return out;
    });
  });

  router.Add(Method::kPost, "/v1/models/predictions", [&predictions](const Request& request) {
    return Respond(201, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(Json body, ParseBody(request));
      LOYALTY_TRY(core::RejectUnknownFields(body, {"at", "clv_horizon_days"}));
      LOYALTY_ASSIGN_OR_RETURN(auto at_text, core::OptionalString(body, "at"));
      std::optional<core::Timestamp> at;
      if (at_text) {
        auto parsed = core::ParseTimestamp(*at_text);
        if (!parsed) return core::Wrap(parsed.error(), "field 'at'");
        at = *parsed;
      }
      LOYALTY_ASSIGN_OR_RETURN(auto horizon, core::OptionalInt(body, "clv_horizon_days"));
      return predictions.KeepPredictions(at, static_cast<int>(horizon.value_or(91)));
    });
  });

  router.Add(Method::kGet, "/v1/models/{kind}/accuracy", [&predictions](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto kind, ModelKind(request));
      return predictions.Accuracy(kind);
    });
  });

  router.Add(Method::kGet, "/v1/models/{kind}", [&registry](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto kind, ModelKind(request));
      LOYALTY_ASSIGN_OR_RETURN(auto versions, registry.List(kind));
      LOYALTY_ASSIGN_OR_RETURN(auto moves, registry.AliasHistory(kind));
      Json list = Json::array();
      for (const auto& v : versions) list.push_back(models::ToJson(v));
      Json history = Json::array();
      for (const auto& m : moves) {
        history.push_back({{"alias", m.alias},
                           {"version", m.version},
                           {"previous", m.previous ? Json(*m.previous) : Json(nullptr)},
                           {"action", m.action},
                           {"actor", m.actor},
                           {"at", core::FormatTimestamp(m.at)}});
      }
      return Json{{"kind", kind}, {"versions", list}, {"alias_history", history}};
    });
  });

  router.Add(Method::kPost, "/v1/models/{kind}/promote", [&registry, &metrics](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto kind, ModelKind(request));
      LOYALTY_ASSIGN_OR_RETURN(Json body, ParseBody(request));
      LOYALTY_TRY(core::RejectUnknownFields(body, {"version", "actor"}));
      if (!body.contains("version") || !body["version"].is_number_integer() || body["version"].get<int64_t>() < 1 ||
          body["version"].get<int64_t>() > 1000000000) {
        return Fail(ErrorCode::kInvalidArgument, "field 'version' must be a version number, like {\"version\": 2}");
      }
      LOYALTY_ASSIGN_OR_RETURN(auto actor, ActingUser(request, body, "api"));
      LOYALTY_ASSIGN_OR_RETURN(auto version, registry.Promote(kind, static_cast<int>(body["version"].get<int64_t>()), actor));
      metrics.AddCounter("loyalty_model_promotions_total", "Model versions promoted to champion.", 1);
      return models::ToJson(version);
    });
  });

  router.Add(Method::kPost, "/v1/models/{kind}/rollback", [&registry, &metrics](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto kind, ModelKind(request));
      Json body = Json::object();  // the body is optional: it only names the actor
      if (!request.body.empty()) {
        LOYALTY_ASSIGN_OR_RETURN(body, ParseBody(request));
      }
      LOYALTY_TRY(core::RejectUnknownFields(body, {"actor"}));
      LOYALTY_ASSIGN_OR_RETURN(auto actor, ActingUser(request, body, "api"));
      LOYALTY_ASSIGN_OR_RETURN(auto version, registry.Rollback(kind, actor));
      metrics.AddCounter("loyalty_model_rollbacks_total", "Champion models rolled back.", 1);
      return models::ToJson(version);
    });
  });
}

}  // namespace loyalty::server
