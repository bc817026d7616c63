#include "loyalty/events/event_log.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "partitions.hpp"

namespace loyalty::events {

using core::ErrorCode;
using core::Fail;
using core::Result;

namespace {

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE events (
  event_id    TEXT PRIMARY KEY,
  member_id   TEXT NOT NULL,
  type        TEXT NOT NULL,
  at          INTEGER NOT NULL,
  channel     TEXT NOT NULL,
  properties  TEXT NOT NULL,
  received_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX events_by_member ON events(member_id, at);
)sql";

constexpr std::string_view kSchemaV2 = "CREATE INDEX events_by_type ON events(type, at)";

// What the retention policy keeps of the events it removes: counts per UTC day, type and
// channel, with no member in them.
constexpr std::string_view kSchemaV3 = R"sql(
CREATE TABLE event_daily_counts (
  day     TEXT NOT NULL,     -- YYYY-MM-DD, UTC
  type    TEXT NOT NULL,
  channel TEXT NOT NULL,
  events  INTEGER NOT NULL,
  members INTEGER NOT NULL,  -- distinct members that day
  PRIMARY KEY (day, type, channel)
) WITHOUT ROWID;
)sql";

// PostgreSQL: the log partitioned by month of `at` (see partitions.hpp). A unique index of a
// partitioned table must hold the partition key, so ids are kept unique by `event_ids`. The
// rows move into the DEFAULT partition here; opening the log splits their months out.
constexpr std::string_view kSchemaV4Postgres = R"sql(
ALTER TABLE events RENAME TO events_unpartitioned;
DROP INDEX events_by_member;
DROP INDEX events_by_type;
CREATE TABLE events (
  event_id    TEXT NOT NULL,
  member_id   TEXT NOT NULL,
  type        TEXT NOT NULL,
  at          INTEGER NOT NULL,
  channel     TEXT NOT NULL,
  properties  TEXT NOT NULL,
  received_at INTEGER NOT NULL
) PARTITION BY RANGE (at);
CREATE TABLE events_default PARTITION OF events DEFAULT;
CREATE INDEX events_by_member ON events (member_id, at);
CREATE INDEX events_by_type ON events (type, at);
CREATE INDEX events_by_id ON events (event_id);
CREATE TABLE event_ids (event_id TEXT PRIMARY KEY);
INSERT INTO event_ids (event_id) SELECT event_id FROM events_unpartitioned;
INSERT INTO events (event_id, member_id, type, at, channel, properties, received_at)
  SELECT event_id, member_id, type, at, channel, properties, received_at FROM events_unpartitioned;
DROP TABLE events_unpartitioned;
)sql";

constexpr store::Migration kMigrations[] = {{1, "event log", kSchemaV1},
                                            {2, "events by type and time", kSchemaV2},
                                            {3, "daily counts of removed events", kSchemaV3},
                                            {4, "events partitioned by month", "", kSchemaV4Postgres}};

}  // namespace

EventLog::EventLog(store::Database& db, const core::Clock& clock) : db_(db), clock_(clock) {
  if (db.backend() == "postgres") partitions_ = std::make_unique<internal::MonthlyPartitions>(clock);
}

EventLog::~EventLog() = default;

Result<std::unique_ptr<EventLog>> EventLog::Open(store::Database& db, const core::Clock& clock) {
  LOYALTY_TRY(store::Migrate(db, "events", kMigrations));
  std::unique_ptr<EventLog> log(new EventLog(db, clock));
  if (log->partitions_) {
    std::vector<int> created;
    LOYALTY_TRY(db.Write([&](store::Transaction& tx) {
      created.clear();  // a retried batch starts over
      return log->partitions_->Prepare(tx, created);
    }));
    log->partitions_->Remember(created);
  }
  return log;
}

core::Result<bool> EventLog::Insert(store::Transaction& tx, const Event& event, int64_t received) const {
  const std::string properties = core::Dump(event.properties);
  if (!partitions_) {
    LOYALTY_ASSIGN_OR_RETURN(
        int64_t changed,
        tx.Execute("INSERT INTO events (event_id, member_id, type, at, channel, properties, received_at) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (event_id) DO NOTHING",
                   {event.id, event.member.str(), EventTypeName(event.type), core::ToUnixMillis(event.at),
                    event.channel, properties, received}));
    return changed == 1;
  }
  // The id is claimed first: the row goes in only when the claim is new.
  LOYALTY_ASSIGN_OR_RETURN(
      int64_t changed,
      tx.Execute("WITH claimed AS (INSERT INTO event_ids (event_id) VALUES (?1) ON CONFLICT (event_id) DO NOTHING "
                 "RETURNING event_id) "
                 "INSERT INTO events (event_id, member_id, type, at, channel, properties, received_at) "
                 "SELECT event_id, CAST(?2 AS TEXT), CAST(?3 AS TEXT), CAST(?4 AS BIGINT), CAST(?5 AS TEXT), "
                 "CAST(?6 AS TEXT), CAST(?7 AS BIGINT) FROM claimed",
                 {event.id, event.member.str(), EventTypeName(event.type), core::ToUnixMillis(event.at), event.channel,
                  properties, received}));
  return changed == 1;
}

Result<std::vector<bool>> EventLog::Append(std::span<const Event> events) {
  std::vector<int> months_created;
  auto appended = db_.WriteValue<std::vector<bool>>([&](store::Transaction& tx) -> Result<std::vector<bool>> {
    const int64_t received = core::ToUnixMillis(clock_.Now());
    if (partitions_) {
      months_created.clear();  // a retried batch starts over
      std::vector<int64_t> ats;
      ats.reserve(events.size());
      for (const auto& event : events) ats.push_back(core::ToUnixMillis(event.at));
      LOYALTY_TRY(partitions_->Ensure(tx, ats, months_created));
    }
    std::vector<bool> inserted;
    inserted.reserve(events.size());
    for (const auto& event : events) {
      LOYALTY_ASSIGN_OR_RETURN(bool added, Insert(tx, event, received));
      inserted.push_back(added);
    }
    if (append_hook_) {
      std::vector<Event> added;
      for (size_t i = 0; i < events.size(); ++i) {
        if (inserted[i]) added.push_back(events[i]);
      }
      if (!added.empty()) LOYALTY_TRY(append_hook_(tx, added));
    }
    return inserted;
  });
  if (appended && partitions_) partitions_->Remember(months_created);
  if (appended && after_append_ && std::find(appended->begin(), appended->end(), true) != appended->end()) {
    after_append_();
  }
  return appended;
}

namespace {

Result<Event> EventFromRow(const store::Row& row) {
  Event event;
  event.id = row.Text(0);
  LOYALTY_ASSIGN_OR_RETURN(event.member, core::MemberId::Parse(row.Text(1)));
  LOYALTY_ASSIGN_OR_RETURN(event.type, ParseEventType(row.Text(2)));
  event.at = core::FromUnixMillis(row.Int(3));
  event.channel = row.Text(4);
  LOYALTY_ASSIGN_OR_RETURN(event.properties, core::ParseJson(row.Text(5)));
  return event;
}

constexpr int64_t kReplayPage = 4096;

// Appends the events of `rows` to `out`.
core::Status AppendEvents(const std::vector<store::Row>& rows, std::vector<Event>& out) {
  out.reserve(out.size() + rows.size());
  for (const auto& row : rows) {
    LOYALTY_ASSIGN_OR_RETURN(Event event, EventFromRow(row));
    out.push_back(std::move(event));
  }
  return {};
}

}  // namespace

Result<std::vector<Event>> EventLog::ForMember(const core::MemberId& member, std::optional<core::Timestamp> before,
                                               int limit) {
  return ForMembers(std::span<const core::MemberId>(&member, 1), before, limit);
}

Result<std::vector<Event>> EventLog::ForMembers(std::span<const core::MemberId> members,
                                                std::optional<core::Timestamp> before, int limit) {
  if (limit < 1 || limit > 1000) return Fail(ErrorCode::kInvalidArgument, "limit must be 1 to 1000");
  const int64_t cutoff = before ? core::ToUnixMillis(*before) : INT64_MAX;
  return db_.ReadValue<std::vector<Event>>([&](store::Transaction& tx) -> Result<std::vector<Event>> {
    std::vector<Event> out;
    // Each profile's newest `limit` come from its (member_id, at) index; the merge of those
    // lists, newest first, is the answer.
    for (const auto& member : members) {
      LOYALTY_ASSIGN_OR_RETURN(
          auto rows, tx.Query("SELECT event_id, member_id, type, at, channel, properties FROM events "
                              "WHERE member_id = ?1 AND at < ?2 ORDER BY at DESC, event_id DESC LIMIT ?3",
                              {member.str(), cutoff, int64_t{limit}}));
      LOYALTY_TRY(AppendEvents(rows, out));
    }
    std::sort(out.begin(), out.end(), [](const Event& a, const Event& b) {
      return a.at != b.at ? a.at > b.at : a.id > b.id;
    });
    if (out.size() > static_cast<size_t>(limit)) out.resize(static_cast<size_t>(limit));
    return out;
  });
}


core::Status EventLog::ReplaceProperties(store::Transaction& tx, std::span<const Event> events) const {
  for (const Event& event : events) {
    LOYALTY_ASSIGN_OR_RETURN(const int64_t changed, tx.Execute("UPDATE events SET properties = ?2 WHERE event_id = ?1",
                                                               {event.id, core::Dump(event.properties)}));
    if (changed != 1) return Fail(ErrorCode::kNotFound, "event '" + event.id + "' is not in the log");
  }
  return {};
}

core::Result<int64_t> EventLog::PseudonymiseIn(store::Transaction& tx, const core::MemberId& member,
                                               const core::MemberId& pseudonym) const {
  // Properties that identify the person or hold their own words (device ids, search queries,
  // clicked links) go; what the program counts (orders, amounts, types, times) stays. Edited
  // here rather than with either SQL dialect's JSON functions.
  LOYALTY_ASSIGN_OR_RETURN(auto rows,
                           tx.Query("SELECT event_id, properties FROM events WHERE member_id = ?1", {member.str()}));
  for (const auto& row : rows) {
    LOYALTY_ASSIGN_OR_RETURN(core::Json properties, core::ParseJson(row.Text(1)));
    if (!properties.is_object()) continue;
    size_t removed = 0;
    for (const char* personal : {"device", "query", "link", "text"}) removed += properties.erase(personal);
    if (removed == 0) continue;
    LOYALTY_TRY(tx.Execute("UPDATE events SET properties = ?2 WHERE event_id = ?1",
                           {row.Text(0), core::Dump(properties)}));
  }
  return tx.Execute("UPDATE events SET member_id = ?2 WHERE member_id = ?1", {member.str(), pseudonym.str()});
}

core::Result<std::optional<core::Timestamp>> EventLog::OldestOfType(EventType type) {
  std::optional<core::Timestamp> oldest;
  LOYALTY_TRY(db_.Read([&](store::Transaction& tx) -> core::Status {
    LOYALTY_ASSIGN_OR_RETURN(auto row,
                             tx.QueryOne("SELECT min(at) FROM events WHERE type = ?1", {std::string(EventTypeName(type))}));
    if (row && row->OptionalInt(0)) oldest = core::FromUnixMillis(*row->OptionalInt(0));
    return {};
  }));
  return oldest;
}

core::Result<std::vector<std::string>> EventLog::RemoveIn(store::Transaction& tx, EventType type, core::Timestamp from,
                                                          core::Timestamp to, bool count) const {
  // Params view their text: the type's name is a static string, so it outlives them.
  const std::array<store::Param, 3> range{EventTypeName(type), core::ToUnixMillis(from), core::ToUnixMillis(to)};
  if (count) {
    // UTC days as day numbers (floored for times before 1970), named in C++: the dialects
    // spell date arithmetic differently.
    LOYALTY_ASSIGN_OR_RETURN(
        auto days, tx.Query("SELECT CASE WHEN at >= 0 THEN at / 86400000 ELSE (at + 1) / 86400000 - 1 END AS day, "
                            "channel, count(*), count(DISTINCT member_id) FROM events "
                            "WHERE type = ?1 AND at >= ?2 AND at < ?3 GROUP BY 1, 2",
                            std::span<const store::Param>(range)));
    for (const auto& day : days) {
      const std::string name = core::FormatTimestamp(core::FromUnixMillis(day.Int(0) * 86'400'000)).substr(0, 10);
      // Counts only grow: a day counted before (events sent late) adds to its row.
      LOYALTY_TRY(tx.Execute("INSERT INTO event_daily_counts (day, type, channel, events, members) "
                             "VALUES (?1, ?2, ?3, ?4, ?5) "
                             "ON CONFLICT (day, type, channel) DO UPDATE SET "
                             "events = event_daily_counts.events + excluded.events, "
                             "members = event_daily_counts.members + excluded.members",
                             {name, EventTypeName(type), day.Text(1), day.Int(2), day.Int(3)}));
    }
  }
  // On PostgreSQL the ids go too (as the rows do on SQLite): an id removed may come again.
  LOYALTY_ASSIGN_OR_RETURN(
      auto rows, tx.Query(partitions_ ? "WITH gone AS (DELETE FROM events WHERE type = ?1 AND at >= ?2 AND at < ?3 "
                                        "RETURNING event_id) "
                                        "DELETE FROM event_ids WHERE event_id IN (SELECT event_id FROM gone) "
                                        "RETURNING event_id"
                                      : "DELETE FROM events WHERE type = ?1 AND at >= ?2 AND at < ?3 RETURNING event_id",
                          std::span<const store::Param>(range)));
  std::vector<std::string> ids;
  ids.reserve(rows.size());
  for (const auto& row : rows) ids.push_back(row.Text(0));
  return ids;
}

core::Result<std::vector<EventLog::DailyCount>> EventLog::DailyCounts(std::string_view from_day, std::string_view to_day) {
  std::vector<DailyCount> counts;
  LOYALTY_TRY(db_.Read([&](store::Transaction& tx) -> core::Status {
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT day, type, channel, events, members FROM event_daily_counts "
                                                 "WHERE day >= ?1 AND day <= ?2 ORDER BY day, type, channel",
                                                 {std::string(from_day), std::string(to_day)}));
    for (const auto& row : rows) {
      LOYALTY_ASSIGN_OR_RETURN(EventType type, ParseEventType(row.Text(1)));
      counts.push_back({row.Text(0), type, row.Text(2), row.Int(3), row.Int(4)});
    }
    return {};
  }));
  return counts;
}

core::Status EventLog::OfType(EventType type, core::Timestamp from, core::Timestamp to, const Visitor& visit) {
  constexpr int64_t kPage = 5000;
  int64_t after_at = core::ToUnixMillis(from);  // with an empty id: every event at or after `from`
  std::string after_id;  // (at, event_id) of the last event visited: pages resume after it
  const int64_t end = core::ToUnixMillis(to);
  const std::string type_name(EventTypeName(type));
  for (;;) {
    std::vector<Event> page;
    LOYALTY_TRY(db_.Read([&](store::Transaction& tx) -> core::Status {
      LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT event_id, member_id, type, at, channel, properties FROM events "
                                                   "WHERE type = ?1 AND (at > ?2 OR (at = ?2 AND event_id > ?3)) AND at < ?4 "
                                                   "ORDER BY at, event_id LIMIT ?5",
                                                   {type_name, after_at, after_id, end, kPage}));
      return AppendEvents(rows, page);
    }));
    for (const Event& event : page) visit(event);
    if (static_cast<int64_t>(page.size()) < kPage) return {};
    after_at = core::ToUnixMillis(page.back().at);
    after_id = page.back().id;
  }
}

core::Status EventLog::Replay(std::span<const core::MemberId> members, std::optional<core::Timestamp> before,
                              const Visitor& visit) {
  if (members.empty()) return {};
  const int64_t cutoff = before ? core::ToUnixMillis(*before) : INT64_MAX;
  // The profiles of one person are few: one parameter each. One member's events come in order
  // straight from the (member_id, at) index; several members' are merged by the query.
  std::vector<std::string> ids;
  ids.reserve(members.size());
  std::string sql = "SELECT event_id, member_id, type, at, channel, properties FROM events WHERE at < ?1 AND member_id ";
  sql += members.size() == 1 ? "= ?2" : "IN (";
  for (size_t i = 0; i < members.size(); ++i) {
    ids.push_back(members[i].str());
    if (members.size() > 1) sql += (i == 0 ? "?" : ", ?") + std::to_string(i + 2);
  }
  sql += members.size() == 1 ? " ORDER BY at, event_id" : ") ORDER BY at, event_id";
  std::vector<store::Param> params{cutoff};
  for (const auto& id : ids) params.emplace_back(id);
  return db_.Read([&](store::Transaction& tx) -> core::Status {
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query(sql, params));
    for (const auto& row : rows) {
      LOYALTY_ASSIGN_OR_RETURN(Event event, EventFromRow(row));
      visit(event);
    }
    return {};
  });
}

core::Status EventLog::ReplayAll(std::optional<core::Timestamp> before, const Visitor& visit) {
  const int64_t cutoff = before ? core::ToUnixMillis(*before) : INT64_MAX;
  std::string last_member;
  int64_t last_at = INT64_MIN;
  std::string last_id;
  while (true) {
    std::vector<Event> page;
    LOYALTY_TRY(db_.Read([&](store::Transaction& tx) -> core::Status {
      LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT event_id, member_id, type, at, channel, properties "
                                                   "FROM events WHERE (member_id, at, event_id) > (?1, ?2, ?3) "
                                                   "AND at < ?4 ORDER BY member_id, at, event_id LIMIT ?5",
                                                   {last_member, last_at, last_id, cutoff, kReplayPage}));
      return AppendEvents(rows, page);
    }));
    for (const auto& event : page) visit(event);
    if (page.size() < static_cast<size_t>(kReplayPage)) return {};
    last_member = page.back().member.str();
    last_at = core::ToUnixMillis(page.back().at);
    last_id = page.back().id;
  }
}

Result<std::vector<std::optional<Event>>> EventLog::Find(std::span<const std::string> ids) {
  using Found = std::vector<std::optional<Event>>;
  return db_.ReadValue<Found>([&](store::Transaction& tx) -> Result<Found> {
    Found out;
    out.reserve(ids.size());
    for (const auto& id : ids) {
      LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT event_id, member_id, type, at, channel, properties "
                                                     "FROM events WHERE event_id = ?1",
                                                     {id}));
      if (!row) {
        out.emplace_back();
        continue;
      }
      LOYALTY_ASSIGN_OR_RETURN(Event event, EventFromRow(*row));
      out.emplace_back(std::move(event));
    }
    return out;
  });
}

Result<int64_t> EventLog::Count() {
  return db_.ReadValue<int64_t>([](store::Transaction& tx) -> Result<int64_t> {
    LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT COUNT(*) FROM events"));
    return row->Int(0);
  });
}

}  // namespace loyalty::events
