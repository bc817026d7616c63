// The program's indicators over time (the dashboard's overview).

#include "loyalty/server/routes.hpp"
#include "route_helpers.hpp"

namespace loyalty::server {

void AddProgramRoutes(Router& router, engine::ProgramKpis& kpis) {
  router.Add(
      Method::kGet, "/v1/kpis",
      [&kpis](const Request& request) {
        return Respond(200, [&]() -> Result<Json> {
          LOYALTY_ASSIGN_OR_RETURN(const int64_t months, IntParam(request, "months", 12, 1, engine::kMaxKpiMonths));
          return kpis.Compute(static_cast<int>(months));
        });
      },
      Execution::kCompute);
}

}  // namespace loyalty::server
