// The review queue over HTTP: offers routed to a person, their verdicts, bulk verdicts,
// expiry and acceptance statistics.

#include "loyalty/server/routes.hpp"
#include "route_helpers.hpp"

namespace loyalty::server {

namespace {

Result<int> PathRank(const Request& request) {
  const std::string& text = request.path_params.at("rank");
  if (text.empty() || text.size() > 3 || text.find_first_not_of("0123456789") != std::string::npos) {
    return Fail(ErrorCode::kInvalidArgument, "the rank in the path must be an offer's position (0, 1, ...)");
  }
  return std::stoi(text);
}

Result<engine::Reviewer> Who(const Request& request, const Json& body) {
  LOYALTY_ASSIGN_OR_RETURN(auto name, ActingUser(request, body, "api"));
  return engine::Reviewer{std::move(name), request.role};
}

}  // namespace

void AddReviewRoutes(Router& router, engine::Reviews& reviews) {
  router.Add(Method::kGet, "/v1/reviews", [&reviews](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      Json query = Json::object();
      for (const auto& [name, value] : request.query) {
        if (name == "limit") {
          LOYALTY_ASSIGN_OR_RETURN(query[name], IntParam(request, "limit", 50, 1, 500));
        } else {
          query[name] = value;
        }
      }
      return reviews.List(query);
    });
  });
  router.Add(Method::kGet, "/v1/reviews/stats", [&reviews](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto since, TimeParam(request, "since"));
      return reviews.Stats(since);
    });
  });
  router.Add(Method::kPost, "/v1/reviews/bulk", [&reviews](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(auto body, ParseBody(request));
      LOYALTY_ASSIGN_OR_RETURN(auto who, Who(request, body));
      return reviews.Bulk(body, who);
    });
  });
  router.Add(Method::kPost, "/v1/jobs/expire-reviews", [&reviews](const Request&) {
    return Respond(200, [&]() -> Result<Json> { return reviews.ExpireStale(); });
  });
  router.Add(Method::kGet, "/v1/reviews/{decision}/{rank}", [&reviews](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(int rank, PathRank(request));
      return reviews.Get(request.path_params.at("decision"), rank);
    });
  });
  router.Add(Method::kPost, "/v1/reviews/{decision}/{rank}", [&reviews](const Request& request) {
    return Respond(200, [&]() -> Result<Json> {
      LOYALTY_ASSIGN_OR_RETURN(int rank, PathRank(request));
      LOYALTY_ASSIGN_OR_RETURN(auto body, ParseBody(request));
      LOYALTY_ASSIGN_OR_RETURN(auto who, Who(request, body));
      LOYALTY_ASSIGN_OR_RETURN(Json item, reviews.Act(request.path_params.at("decision"), rank, body, who));
      request.audit_member = item["member"].get<std::string>();
      return item;
    });
  });
}

}  // namespace loyalty::server
