#pragma once
// The event retention policy: events older than a configured number of days are removed, and
// by default counted first into daily counts (per day, type and channel, no member in them).
// Consent changes are kept whatever their age: they are the record of what a member agreed to.
// A removed text event takes its sealed text in the vault with it. Once a policy is set, events
// older than its cutoff are refused at ingestion: the log would only drop them again.
//
// Removal runs a day and event type per transaction, so writers wait at most for one day's
// worth; `loyalty events retention` runs it (daily, from a timer).
// Threads: safe to share.

#include <optional>
#include <string>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/events/event_log.hpp"
#include "loyalty/privacy/vault.hpp"
#include "loyalty/store/database.hpp"

namespace loyalty::engine {

struct RetentionPolicy {
  // Two years: the longest feature window (a year) as of the earliest cutoff training uses (a
  // churn horizon or CLV holdout back, up to a year), so training sets stay whole.
  static constexpr int kMinimumDays = 730;
  int days = 0;          // 0: events are kept for ever
  bool count = true;     // false: removed without a trace ("purge")

  bool enabled() const { return days > 0; }
};

// [privacy] event_retention_days (0, or kMinimumDays or more) and event_retention
// ("aggregate", the default, or "purge") of a configuration's privacy section.
[[nodiscard]] core::Result<RetentionPolicy> ParseRetentionPolicy(const core::Json& privacy);

struct RetentionReport {
  core::Timestamp cutoff;  // events before it were removed
  int days = 0;
  bool counted = true;
  int64_t events_removed = 0;
  int64_t texts_erased = 0;  // sealed texts of removed events
  int64_t transactions = 0;
};
core::Json ToJson(const RetentionReport& report);

class EventRetention {
 public:
  // Everything passed must outlive it.
  EventRetention(store::Database& db, events::EventLog& log, privacy::Vault& vault, RetentionPolicy policy,
                 const core::Clock& clock)
      : db_(db), log_(log), vault_(vault), policy_(policy), clock_(clock) {}

  const RetentionPolicy& policy() const { return policy_; }

  // The oldest an event may be and still be kept: the start of the UTC day `days` before now.
  // nullopt when there is no policy.
  std::optional<core::Timestamp> Cutoff() const;

  // Removes every event older than the cutoff but consent changes, counting them first unless
  // the policy purges. kFailedPrecondition when no retention period is configured. Safe to run
  // again (and beside ingestion): a second run finds nothing left to do.
  [[nodiscard]] core::Result<RetentionReport> Run();

  // The daily counts of removed events from `from_day` to `to_day` (YYYY-MM-DD, inclusive;
  // unbounded when empty) as {"days": [{"day", "type", "channel", "events", "members"}]}.
  // kInvalidArgument names a day that is not a date.
  [[nodiscard]] core::Result<core::Json> DailyCounts(const std::string& from_day, const std::string& to_day);

 private:
  store::Database& db_;
  events::EventLog& log_;
  privacy::Vault& vault_;
  const RetentionPolicy policy_;
  const core::Clock& clock_;
};

}  // namespace loyalty::engine
