#pragma once
// The event log: every accepted event, once. Appending an event whose id is already in the
// log changes nothing and reports it as a duplicate, so a producer may resend freely.
// Threads: safe to share; appends are group-committed by the store.

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "loyalty/events/event.hpp"
#include "loyalty/store/database.hpp"

namespace loyalty::events {

namespace internal {
class MonthlyPartitions;
}

// On PostgreSQL the log is partitioned by month of the events' time (see partitions.hpp).
class EventLog {
 public:
  // Migrates the log's schema. `db` and `clock` must outlive the log.
  [[nodiscard]] static core::Result<std::unique_ptr<EventLog>> Open(store::Database& db, const core::Clock& clock);

  // Appends the events in one transaction; for each, true when it was new and false when
  // its id was already in the log.
  [[nodiscard]] core::Result<std::vector<bool>> Append(std::span<const Event> events);
  // Called inside each Append's transaction with the events that were new; its failure fails
  // the append. Set once, before the first append (the event bus's outbox stages them).
  using AppendHook = std::function<core::Status(store::Transaction&, std::span<const Event> added)>;
  void SetAppendHook(AppendHook hook) { append_hook_ = std::move(hook); }
  // Called after an Append that added events has committed (the bus's relay publishes at once
  // instead of at its next poll). Set once, before the first append.
  void SetAfterAppend(std::function<void()> notify) { after_append_ = std::move(notify); }

  // The member's events, newest first, before `before` (exclusive) when given.
  [[nodiscard]] core::Result<std::vector<Event>> ForMember(const core::MemberId& member,
                                                           std::optional<core::Timestamp> before, int limit);
  // The events of several profiles of one person (a survivor and the profiles merged into
  // it), newest first across all of them.
  [[nodiscard]] core::Result<std::vector<Event>> ForMembers(std::span<const core::MemberId> members,
                                                            std::optional<core::Timestamp> before, int limit);

  [[nodiscard]] core::Result<int64_t> Count();
  // Replaces the properties of logged events (by id) inside a caller's transaction: only for
  // moving personal data out of the log (the engine's text sealing), never for history.
  [[nodiscard]] core::Status ReplaceProperties(store::Transaction& tx, std::span<const Event> events) const;
  // Erasure: files the member's events under `pseudonym` (inside a caller's transaction), so
  // aggregates keep them and nothing ties them to the person; returns how many.
  [[nodiscard]] core::Result<int64_t> PseudonymiseIn(store::Transaction& tx, const core::MemberId& member,
                                                     const core::MemberId& pseudonym) const;
  // For each id, the event the log holds under it, if any.
  [[nodiscard]] core::Result<std::vector<std::optional<Event>>> Find(std::span<const std::string> ids);

  // Calls `visit` with every event of the given member profiles that happened before
  // `before` (all when nullopt), in time order (ties by event id): a replay.
  using Visitor = std::function<void(const Event&)>;
  [[nodiscard]] core::Status Replay(std::span<const core::MemberId> members, std::optional<core::Timestamp> before,
                                    const Visitor& visit);
  // Every event of one type with `from` <= at < `to`, in time order, read a page at a time.
  [[nodiscard]] core::Status OfType(EventType type, core::Timestamp from, core::Timestamp to, const Visitor& visit);
  // Retention. The time of the oldest event of `type`, if any.
  [[nodiscard]] core::Result<std::optional<core::Timestamp>> OldestOfType(EventType type);
  // Removes the events of `type` with `from` <= at < `to` inside a caller's transaction and
  // returns their ids. With `count`, first adds them to the daily counts (per UTC day, type and
  // channel: events and distinct members; nothing names a member).
  [[nodiscard]] core::Result<std::vector<std::string>> RemoveIn(store::Transaction& tx, EventType type,
                                                                core::Timestamp from, core::Timestamp to,
                                                                bool count) const;
  struct DailyCount {
    std::string day;  // YYYY-MM-DD, UTC
    EventType type = EventType::kAppOpen;
    std::string channel;
    int64_t events = 0;
    int64_t members = 0;  // distinct that day (summed if some of the day's events came later)
  };
  // The daily counts of removed events for days from `from_day` to `to_day` (YYYY-MM-DD,
  // inclusive), by day, type and channel.
  [[nodiscard]] core::Result<std::vector<DailyCount>> DailyCounts(std::string_view from_day, std::string_view to_day);

  // Every event in the log before `before`, member by member, each member's in time order.
  // Read a page at a time: memory stays flat whatever the size of the log.
  [[nodiscard]] core::Status ReplayAll(std::optional<core::Timestamp> before, const Visitor& visit);

  ~EventLog();

 private:
  EventLog(store::Database& db, const core::Clock& clock);
  // Adds one event unless its id is logged; true when added.
  core::Result<bool> Insert(store::Transaction& tx, const Event& event, int64_t received) const;

  store::Database& db_;
  const core::Clock& clock_;
  std::unique_ptr<internal::MonthlyPartitions> partitions_;  // PostgreSQL only
  AppendHook append_hook_;
  std::function<void()> after_append_;
};

}  // namespace loyalty::events
