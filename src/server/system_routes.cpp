// Operational routes: liveness, readiness and Prometheus metrics.

#include "loyalty/server/routes.hpp"

namespace loyalty::server {

using core::Json;

void AddSystemRoutes(Router& router, Metrics& metrics, std::function<core::Status()> ready) {
  router.Add(
      Method::kGet, "/healthz", [](const Request&) { return JsonResponse(200, Json{{"status", "ok"}}); },
      Execution::kInline);
  router.Add(Method::kGet, "/readyz", [ready = std::move(ready)](const Request&) {
    if (auto status = ready(); !status) {
      return ProblemResponse(503, "not_ready", status.error().message);
    }
    return JsonResponse(200, Json{{"status", "ready"}});
  });
  router.Add(
      Method::kGet, "/metrics",
      [&metrics](const Request&) {
        return Response{200, "text/plain; version=0.0.4", metrics.Render(), {}};
      },
      Execution::kInline);
}

}  // namespace loyalty::server
