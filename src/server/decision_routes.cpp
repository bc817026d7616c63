// Next best action over HTTP: real-time and campaign decisions, outcomes, the offer catalogue,
// contact policy, strategy flag, experiments and budgets.

#include "loyalty/server/routes.hpp"
#include "route_helpers.hpp"

namespace loyalty::server {

namespace {

// The "fairness" risk reason says the member belongs to a group under a fairness alert, which
// hints at their protected attribute. Removing it alone would not do: a routed offer left with
// no reason would say the same. So only those who review routed offers (admins, managers) see
// an offer's risk reasons; others get its risk class and routing.
Json ForCaller(Json decision, const Request& request) {
  if (request.role.empty()) return decision;  // keys off: the local trial acts as an admin
  const auto role = engine::ParseRole(request.role);
  if (role && engine::Allowed(*role, engine::Permission::kReview)) return decision;
  for (auto& offer : decision["offers"]) {
    if (offer.contains("risk_reasons")) offer["risk_reasons"] = Json::array();
  }
  return decision;
}

}  // namespace

void AddDecisionRoutes(Router& router, engine::Decisions& decisions) {
  engine::Decisions* d = &decisions;
  router.Add(Method::kGet, "/v1/decisions/facts", [d](const Request&) {
    return Respond(200, [&]() -> Result<Json> { return d->Facts(); });
  });
  router.Add(Method::kPost, "/v1/decisions", [d](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto body, ParseBody(request));
      LOYALTY_ASSIGN_OR_RETURN(Json decision, d->Decide(body));
      return ForCaller(std::move(decision), request);
    });
  }, d->buffered() ? Execution::kCompute : Execution::kWorker);
  router.Add(Method::kPost, "/v1/decisions/batch", [d](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto body, ParseBody(request));
      return d->DecideBatch(body);
    });
  });
  router.Add(Method::kGet, "/v1/decisions/evaluation", [d](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto since, TimeParam(request, "since"));
      return d->Evaluate(since);
    });
  });
  router.Add(Method::kGet, "/v1/decisions/budgets", [d](const Request&) {
    return Respond(200, [&]() -> Result<Json> { return d->Budgets(); });
  });
  router.Add(Method::kGet, "/v1/decisions/policy", [d](const Request&) {
    return Respond(200, [&]() -> Result<Json> { return d->Policy(); });
  });
  router.Add(Method::kPut, "/v1/decisions/policy", [d](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto body, ParseBody(request));
      LOYALTY_ASSIGN_OR_RETURN(auto actor, ActingUser(request, Json::object(), "api"));
      return d->PutPolicy(body, actor);
    });
  });
  router.Add(Method::kGet, "/v1/decisions/strategy", [d](const Request&) {
    return Respond(200, [&]() -> Result<Json> { return d->Strategy(); });
  });
  router.Add(Method::kPut, "/v1/decisions/strategy", [d](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto body, ParseBody(request));
      LOYALTY_ASSIGN_OR_RETURN(auto actor, ActingUser(request, Json::object(), "api"));
      return d->PutStrategy(body, actor);
    });
  });
  router.Add(Method::kPost, "/v1/decisions/strategy/rollback", [d](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto actor, ActingUser(request, Json::object(), "api"));
      return d->RollbackStrategy(actor);
    });
  });
  router.Add(Method::kGet, "/v1/automation", [d](const Request&) {
    return Respond(200, [&]() -> Result<Json> { return d->Automation(); });
  });
  router.Add(Method::kPut, "/v1/automation", [d](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto body, ParseBody(request));
      LOYALTY_ASSIGN_OR_RETURN(auto actor, ActingUser(request, Json::object(), "api"));
      return d->MoveAutomation(body, actor);
    });
  });
  router.Add(Method::kPost, "/v1/automation/rollback", [d](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto body, ParseBody(request));
      LOYALTY_ASSIGN_OR_RETURN(auto actor, ActingUser(request, Json::object(), "api"));
      return d->RollbackAutomation(body, actor);
    });
  });
  router.Add(Method::kGet, "/v1/decisions/{id}", [d](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(Json decision, d->Get(request.path_params.at("id")));
      return ForCaller(std::move(decision), request);
    });
  });
  router.Add(Method::kPost, "/v1/decisions/{id}/outcomes", [d](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto body, ParseBody(request));
      return d->RecordOutcome(request.path_params.at("id"), body);
    });
  });

  router.Add(Method::kGet, "/v1/offers", [d](const Request&) {
    return Respond(200, [&]() -> Result<Json> { return d->ListOffers(); });
  });
  router.Add(Method::kGet, "/v1/offers/{id}", [d](const Request& request) {
    return Respond(200, [&]() -> Result<Json> { return d->GetOffer(request.path_params.at("id")); });
  });
  router.Add(Method::kPut, "/v1/offers/{id}", [d](const Request& request) {
    auto result = [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto body, ParseBody(request));
      LOYALTY_ASSIGN_OR_RETURN(auto actor, ActingUser(request, Json::object(), "api"));
      return d->PutOffer(request.path_params.at("id"), body, actor);
    }();
    if (!result) return ProblemResponse(result.error());
    return JsonResponse((*result)["created"].get<bool>() ? 201 : 200, (*result)["offer"]);
  });
  router.Add(Method::kDelete, "/v1/offers/{id}", [d](const Request& request) {
    auto status = d->DeleteOffer(request.path_params.at("id"));
    if (!status) return ProblemResponse(status.error());
    Response response;
    response.status = 204;
    return response;
  });

  router.Add(Method::kGet, "/v1/experiments", [d](const Request&) {
    return Respond(200, [&]() -> Result<Json> { return d->ListExperiments(); });
  });
  router.Add(Method::kPost, "/v1/experiments", [d](const Request& request) {
    return Respond(201, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto body, ParseBody(request));
      return d->CreateExperiment(body);
    });
  });
  router.Add(Method::kPost, "/v1/experiments/{id}/stop", [d](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_TRY(d->StopExperiment(request.path_params.at("id")));
      return Json{{"id", request.path_params.at("id")}, {"status", "stopped"}};
    });
  });
  router.Add(Method::kGet, "/v1/experiments/{id}/results", [d](const Request& request) {
    return Respond(200, [&]() -> Result<Json> { return d->ExperimentResults(request.path_params.at("id")); });
  });
}

}  // namespace loyalty::server
