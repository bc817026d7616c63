// Event routes: batch ingestion with per-event results, and the member timeline.

#include "loyalty/server/routes.hpp"
#include "route_helpers.hpp"

namespace loyalty::server {

using core::Json;

void AddEventRoutes(Router& router, engine::Ingestor& ingestor, events::EventLog& log,
                    const identity::IdentityGraph& identity, Metrics& metrics) {
  router.Add(Method::kPost, "/v1/events", [&ingestor, &metrics](const Request& request) {
    auto items = events::SplitBatch(request.body);
    if (!items) return ProblemResponse(items.error());
    auto report = ingestor.Ingest(*items);
    if (!report) return ProblemResponse(report.error());
    metrics.AddCounter("loyalty_events_ingested_total", "Events accepted into the log.", report->accepted);
    metrics.AddCounter("loyalty_events_duplicate_total", "Events ignored as already in the log.", report->duplicates);
    metrics.AddCounter("loyalty_events_rejected_total", "Events rejected as invalid.", report->rejected);
    // Partial success is a success; a batch of which nothing could be kept is not.
    const bool nothing_kept = report->accepted == 0 && report->duplicates == 0;
    return JsonResponse(nothing_kept ? 422 : 200, engine::ToJson(*report));
  }, Execution::kWorker, BodySize::kLarge);

  router.Add(Method::kGet, "/v1/members/{id}/events", [&log, &identity](const Request& request) {
    auto member = core::MemberId::Parse(request.path_params.at("id"));
    if (!member) return ProblemResponse(member.error());
    auto before = TimeParam(request, "before");
    if (!before) return ProblemResponse(before.error());
    auto limit = IntParam(request, "limit", 50, 1, 1000);
    if (!limit) return ProblemResponse(limit.error());
    // A member's timeline holds the events of every profile merged into it.
    std::vector<core::MemberId> profiles = identity.Absorbed(identity.Resolve(*member));
    profiles.push_back(identity.Resolve(*member));
    auto found = log.ForMembers(profiles, *before, static_cast<int>(*limit));
    if (!found) return ProblemResponse(found.error());
    Json out = Json::array();
    for (const auto& event : *found) out.push_back(events::ToJson(event));
    return JsonResponse(200, out);
  });
}

}  // namespace loyalty::server
