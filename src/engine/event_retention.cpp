#include "loyalty/engine/event_retention.hpp"

#include <chrono>

#include "loyalty/engine/text_signals.hpp"

namespace loyalty::engine {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;

Result<RetentionPolicy> ParseRetentionPolicy(const Json& privacy) {
  RetentionPolicy policy;
  LOYALTY_ASSIGN_OR_RETURN(auto days, core::OptionalInt(privacy, "event_retention_days", "privacy"));
  if (days) {
    if (*days != 0 && (*days < RetentionPolicy::kMinimumDays || *days > 36500)) {
      return Fail(ErrorCode::kInvalidArgument, "privacy.event_retention_days must be 0 (keep events for ever) or " +
                                                   std::to_string(RetentionPolicy::kMinimumDays) +
                                                   " to 36500: features look a year back from training "
                                                   "cutoffs up to a year old");
    }
    policy.days = static_cast<int>(*days);
  }
  LOYALTY_ASSIGN_OR_RETURN(auto action, core::OptionalString(privacy, "event_retention", "privacy"));
  if (action) {
    if (*action != "aggregate" && *action != "purge") {
      return Fail(ErrorCode::kInvalidArgument,
                  "privacy.event_retention must be \"aggregate\" or \"purge\", not \"" + *action + "\"");
    }
    policy.count = *action == "aggregate";
  }
  return policy;
}

Json ToJson(const RetentionReport& report) {
  return Json{{"cutoff", report.cutoff},
              {"retention_days", report.days},
              {"action", report.counted ? "aggregate" : "purge"},
              {"events_removed", report.events_removed},
              {"texts_erased", report.texts_erased},
              {"transactions", report.transactions}};
}

std::optional<core::Timestamp> EventRetention::Cutoff() const {
  if (!policy_.enabled()) return std::nullopt;
  const auto today = std::chrono::floor<std::chrono::days>(clock_.Now());
  return core::Timestamp(today - std::chrono::days(policy_.days));
}

Result<RetentionReport> EventRetention::Run() {
  const auto cutoff = Cutoff();
  if (!cutoff) {
    return Fail(ErrorCode::kFailedPrecondition,
                "no retention period is configured: set [privacy] event_retention_days (at least " +
                    std::to_string(RetentionPolicy::kMinimumDays) + ")");
  }
  RetentionReport report{.cutoff = *cutoff, .days = policy_.days, .counted = policy_.count};
  for (int t = 0; t <= static_cast<int>(events::EventType::kMessage); ++t) {
    const auto type = static_cast<events::EventType>(t);
    if (type == events::EventType::kConsentChanged) continue;
    // A day per transaction, from the oldest day that holds any to the next that does: a first
    // run over years of history never holds the writer for long, nor walks empty days.
    for (;;) {
      LOYALTY_ASSIGN_OR_RETURN(auto oldest, log_.OldestOfType(type));
      if (!oldest || *oldest >= *cutoff) break;
      const core::Timestamp from = std::chrono::floor<std::chrono::days>(*oldest);
      const core::Timestamp to = std::min<core::Timestamp>(from + std::chrono::days(1), *cutoff);
      int64_t removed = 0;
      int64_t erased = 0;  // set, not added to, inside: the store may run a transaction again
      LOYALTY_TRY(db_.Write([&](store::Transaction& tx) -> core::Status {
        LOYALTY_ASSIGN_OR_RETURN(auto ids, log_.RemoveIn(tx, type, from, to, policy_.count));
        removed = static_cast<int64_t>(ids.size());
        erased = 0;
        if (events::CarriesText(type) && !ids.empty()) {
          std::vector<std::string> refs;
          refs.reserve(ids.size());
          for (const auto& id : ids) refs.push_back(TextVaultRef(id));
          LOYALTY_ASSIGN_OR_RETURN(erased, vault_.Erase(tx, refs));
        }
        return {};
      }));
      report.events_removed += removed;
      report.texts_erased += erased;
      ++report.transactions;
    }
  }
  return report;
}

namespace {

core::Status CheckDay(const std::string& day, std::string_view name) {
  if (day.empty()) return {};
  if (day.size() != 10 || !core::ParseTimestamp(day + "T00:00:00Z")) {
    return Fail(ErrorCode::kInvalidArgument, std::string(name) + " must be a date (YYYY-MM-DD), not '" + day + "'");
  }
  return {};
}

}  // namespace

Result<Json> EventRetention::DailyCounts(const std::string& from_day, const std::string& to_day) {
  LOYALTY_TRY(CheckDay(from_day, "from"));
  LOYALTY_TRY(CheckDay(to_day, "to"));
  LOYALTY_ASSIGN_OR_RETURN(auto counts, log_.DailyCounts(from_day.empty() ? "0000-01-01" : from_day,
                                                         to_day.empty() ? "9999-12-31" : to_day));
  Json days = Json::array();
  for (const auto& c : counts) {
    days.push_back({{"day", c.day},
                    {"type", events::EventTypeName(c.type)},
                    {"channel", c.channel},
                    {"events", c.events},
                    {"members", c.members}});
  }
  return Json{{"days", std::move(days)}};
}

}  // namespace loyalty::engine
