#pragma once
// The program's indicators, month by month, from the event log and the decision log: the
// leading ones (active and engaged members, redemption and offer response rates) and the
// lagging ones (revenue per member, quarter-over-quarter retention, and the revenue decisions added
// against the holdout group), and consent coverage per purpose. The dashboard's overview and
// governance pages and `loyalty kpis` show them.
//
// One pass over the whole event log; the answer is kept until an event or a decision arrives
// or the day changes. Threads: Compute may be called from any thread.

#include <mutex>
#include <optional>
#include <string>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/core/money.hpp"
#include "loyalty/decision/decision_log.hpp"
#include "loyalty/events/event_log.hpp"
#include "loyalty/identity/identity_graph.hpp"

namespace loyalty::engine {

inline constexpr int kMaxKpiMonths = 36;

class ProgramKpis {
 public:
  // All must outlive this object. `currency` is the program's: purchases in another currency
  // are left out of revenue.
  ProgramKpis(events::EventLog& events, decision::DecisionLog& decisions, const identity::IdentityGraph& identity,
              const core::Clock& clock, core::Currency currency);

  // The last `months` calendar months (1 to 36; the current month so far) and the figures as
  // of now. See docs/operations.md "Program indicators" for each definition.
  [[nodiscard]] core::Result<core::Json> Compute(int months);

 private:
  [[nodiscard]] core::Result<core::Json> ComputeUncached(int months, core::Timestamp now);
  [[nodiscard]] core::Result<std::string> Fingerprint(int months, core::Timestamp now);

  events::EventLog& events_;
  decision::DecisionLog& decisions_;
  const identity::IdentityGraph& identity_;  // profiles merged into one member count as one
  const core::Clock& clock_;
  core::Currency currency_;
  std::mutex mu_;
  std::string cached_for_;
  core::Json cached_;
};

}  // namespace loyalty::engine
