#include "loyalty/events/event_log.hpp"

#include <gtest/gtest.h>

#include <map>

#include "support/test_store.hpp"

namespace loyalty::events {
namespace {

Event Make(const std::string& id, const std::string& member, const std::string& at, std::string channel = "app",
           core::Json properties = core::Json::object()) {
  return Event{id, EventType::kAppOpen, *core::ParseTimestamp(at), *core::MemberId::Parse(member), std::move(channel),
               std::move(properties), ""};
}

core::MemberId Member(const std::string& id) { return *core::MemberId::Parse(id); }

// PostgreSQL: the table (partition) each event's row is in.
std::map<std::string, std::string> PartitionOfEachEvent(store::Database& db) {
  std::map<std::string, std::string> where;
  auto read = db.Read([&](store::Transaction& tx) -> core::Status {
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT event_id, CAST(CAST(tableoid AS regclass) AS TEXT) FROM events"));
    for (const auto& row : rows) where[row.Text(0)] = row.Text(1);
    return {};
  });
  EXPECT_TRUE(read) << read.error().message;
  return where;
}

// An event log on a real store: SQLite, or PostgreSQL in the "postgres:" run.
class EventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store_.Open();
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    auto log = EventLog::Open(*db_, clock_);
    ASSERT_TRUE(log) << log.error().message;
    log_ = std::move(*log);
  }

  std::vector<std::string> Ids(const std::vector<Event>& events) {
    std::vector<std::string> ids;
    for (const auto& e : events) ids.push_back(e.id);
    return ids;
  }

  testing::TestStore store_;
  core::ManualClock clock_{*core::ParseTimestamp("2026-05-01")};
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<EventLog> log_;
};

TEST_F(EventLogTest, AppendsOnceAndReportsDuplicates) {
  std::vector<Event> batch = {Make("a", "ana", "2026-04-01"), Make("b", "ana", "2026-04-02"),
                              Make("a", "ana", "2026-04-03")};
  auto inserted = log_->Append(batch);
  ASSERT_TRUE(inserted);
  EXPECT_EQ(*inserted, (std::vector<bool>{true, true, false}));
  EXPECT_EQ(*log_->Append(std::vector<Event>{Make("b", "ana", "2026-04-02")}), std::vector<bool>{false});
  EXPECT_EQ(*log_->Count(), 2);

  ASSERT_TRUE(log_->Append(std::vector<Event>{Make("c", "ben", "2026-04-05"), Make("d", "ana", "2026-04-09")}));
  auto timeline = log_->ForMember(*core::MemberId::Parse("ana"), std::nullopt, 10);
  ASSERT_TRUE(timeline);
  ASSERT_EQ(timeline->size(), 3u);
  EXPECT_EQ((*timeline)[0].id, "d");  // newest first
  EXPECT_EQ((*timeline)[2].id, "a");
  auto older = log_->ForMember(*core::MemberId::Parse("ana"), *core::ParseTimestamp("2026-04-02"), 10);
  ASSERT_EQ(older->size(), 1u);
  EXPECT_EQ((*older)[0].id, "a");
  EXPECT_FALSE(log_->ForMember(*core::MemberId::Parse("ana"), std::nullopt, 0));
}

TEST_F(EventLogTest, AnIdIsLoggedOnceWhateverItsTimeUntilRetentionRemovesIt) {
  ASSERT_TRUE(log_->Append(std::vector<Event>{Make("a", "ana", "2026-01-10")}));
  // The same id in another month (another partition on PostgreSQL) is still a duplicate.
  auto again = log_->Append(std::vector<Event>{Make("a", "ben", "2026-04-10"), Make("b", "ben", "2025-11-30")});
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, (std::vector<bool>{false, true}));
  EXPECT_EQ((*log_->Find(std::vector<std::string>{"a"}))[0]->member, Member("ana"));

  auto removed = db_->WriteValue<std::vector<std::string>>([&](store::Transaction& tx) {
    return log_->RemoveIn(tx, EventType::kAppOpen, *core::ParseTimestamp("2026-01-01"),
                          *core::ParseTimestamp("2026-02-01"), /*count=*/false);
  });
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(*removed, std::vector<std::string>{"a"});
  EXPECT_EQ(*log_->Append(std::vector<Event>{Make("a", "cy", "2026-04-11")}), std::vector<bool>{true});
  EXPECT_EQ(*log_->Append(std::vector<Event>{Make("b", "cy", "2026-04-11")}), std::vector<bool>{false});
  EXPECT_EQ(*log_->Count(), 2);
}

TEST_F(EventLogTest, OnPostgresEachMonthOfTheWindowIsAPartition) {
  if (!store_.postgres()) GTEST_SKIP() << "partitions are PostgreSQL's";
  // The clock says 2026-05: months back to 1996-05 get their own table, older ones share the
  // DEFAULT partition.
  ASSERT_TRUE(log_->Append(std::vector<Event>{Make("jan", "ana", "2026-01-31T23:59:59.999Z"),
                                              Make("feb", "ana", "2026-02-01T00:00:00Z"),
                                              Make("old", "ben", "2001-07-04"), Make("ancient", "ben", "1990-01-01"),
                                              Make("may", "cy", "2026-05-01T12:00:00Z")}));
  auto where = PartitionOfEachEvent(*db_);
  EXPECT_EQ(where["jan"], "events_2026_01");
  EXPECT_EQ(where["feb"], "events_2026_02");
  EXPECT_EQ(where["old"], "events_2001_07");
  EXPECT_EQ(where["ancient"], "events_default");
  EXPECT_EQ(where["may"], "events_2026_05");

  // Everything reads across partitions as before.
  auto ben = log_->ForMember(Member("ben"), std::nullopt, 10);
  ASSERT_TRUE(ben);
  EXPECT_EQ(Ids(*ben), (std::vector<std::string>{"old", "ancient"}));
  std::vector<std::string> replayed;
  ASSERT_TRUE(log_->ReplayAll(std::nullopt, [&](const Event& e) { replayed.push_back(e.id); }));
  EXPECT_EQ(replayed, (std::vector<std::string>{"jan", "feb", "ancient", "old", "may"}));

  // A row in the DEFAULT partition for a month of the window (written there by hand, as a
  // log from before partitioning would be) moves into its month when the log is opened.
  ASSERT_TRUE(db_->Write([&](store::Transaction& tx) -> core::Status {
    LOYALTY_TRY(tx.Execute("INSERT INTO events_default (event_id, member_id, type, at, channel, properties, "
                           "received_at) VALUES ('stray', 'cy', 'app_open', ?1, 'app', '{}', 0)",
                           {core::ToUnixMillis(*core::ParseTimestamp("2024-02-29T10:00:00Z"))}));
    LOYALTY_TRY(tx.Execute("INSERT INTO event_ids (event_id) VALUES ('stray')"));
    return {};
  }));
  auto reopened = EventLog::Open(*db_, clock_);
  ASSERT_TRUE(reopened) << reopened.error().message;
  where = PartitionOfEachEvent(*db_);
  EXPECT_EQ(where["stray"], "events_2024_02");
  EXPECT_EQ(where["ancient"], "events_default");
  EXPECT_EQ((*(*reopened)->Find(std::vector<std::string>{"stray"}))[0]->member, Member("cy"));
  // This month and the next exist before any event reaches them.
  EXPECT_EQ(*(*reopened)->Append(std::vector<Event>{Make("june", "cy", "2026-06-01")}), std::vector<bool>{true});
  EXPECT_EQ(PartitionOfEachEvent(*db_)["june"], "events_2026_06");
}

TEST_F(EventLogTest, OnPostgresALogFromBeforePartitioningMovesIntoMonths) {
  if (!store_.postgres()) GTEST_SKIP() << "partitions are PostgreSQL's";
  testing::TestStore fresh;
  auto db = fresh.Open();
  ASSERT_TRUE(db) << db.error().message;
  // The log at schema version 3, with two events in it.
  ASSERT_TRUE((*db)->Write([&](store::Transaction& tx) -> core::Status {
    LOYALTY_TRY(tx.ExecuteScript(
        "CREATE TABLE schema_migrations (component TEXT NOT NULL, version INTEGER NOT NULL, "
        "description TEXT NOT NULL, PRIMARY KEY (component, version));"
        "CREATE TABLE events (event_id TEXT PRIMARY KEY, member_id TEXT NOT NULL, type TEXT NOT NULL, "
        "at INTEGER NOT NULL, channel TEXT NOT NULL, properties TEXT NOT NULL, received_at INTEGER NOT NULL);"
        "CREATE INDEX events_by_member ON events(member_id, at);"
        "CREATE INDEX events_by_type ON events(type, at);"
        "CREATE TABLE event_daily_counts (day TEXT NOT NULL, type TEXT NOT NULL, channel TEXT NOT NULL, "
        "events INTEGER NOT NULL, members INTEGER NOT NULL, PRIMARY KEY (day, type, channel));"
        "INSERT INTO schema_migrations VALUES ('events', 1, 'a'), ('events', 2, 'b'), ('events', 3, 'c')"));
    for (const auto& [id, at] : {std::pair{"e1", "2025-12-24T18:00:00Z"}, std::pair{"e2", "2026-03-01T00:00:00Z"}}) {
      LOYALTY_TRY(tx.Execute("INSERT INTO events VALUES (?1, 'ana', 'app_open', ?2, 'web', '{\"page\":1}', 0)",
                             {std::string(id), core::ToUnixMillis(*core::ParseTimestamp(at))}));
    }
    return {};
  }));
  auto log = EventLog::Open(**db, clock_);
  ASSERT_TRUE(log) << log.error().message;
  EXPECT_EQ(*(*log)->Count(), 2);
  auto found = (*log)->Find(std::vector<std::string>{"e1", "e2"});
  ASSERT_TRUE(found && (*found)[0] && (*found)[1]);
  EXPECT_EQ((*found)[1]->properties, (core::Json{{"page", 1}}));
  EXPECT_EQ(*(*log)->Append(std::vector<Event>{Make("e1", "ben", "2026-04-01")}), std::vector<bool>{false});
  auto where = PartitionOfEachEvent(**db);
  EXPECT_EQ(where["e1"], "events_2025_12");
  EXPECT_EQ(where["e2"], "events_2026_03");
}

TEST_F(EventLogTest, HooksSeeWhatWasAddedInsideTheTransactionAndHearOfTheCommit) {
  std::vector<std::string> staged;
  int committed = 0;
  log_->SetAppendHook([&](store::Transaction&, std::span<const Event> added) -> core::Status {
    for (const auto& e : added) staged.push_back(e.id);
    if (added.front().id == "bad") return core::Fail(core::ErrorCode::kUnavailable, "the outbox is full");
    return {};
  });
  log_->SetAfterAppend([&] { ++committed; });
  ASSERT_TRUE(log_->Append(std::vector<Event>{Make("a", "ana", "2026-04-01"), Make("b", "ana", "2026-04-02")}));
  ASSERT_TRUE(log_->Append(std::vector<Event>{Make("a", "ana", "2026-04-01")}));  // a duplicate: nothing added
  EXPECT_EQ(staged, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(committed, 1);
  // A hook's failure fails the append: the event is not logged, and nothing committed.
  EXPECT_FALSE(log_->Append(std::vector<Event>{Make("bad", "ana", "2026-04-03")}));
  EXPECT_FALSE((*log_->Find(std::vector<std::string>{"bad"}))[0].has_value());
  EXPECT_EQ(committed, 1);
}

TEST_F(EventLogTest, ReplaysThePersonsProfilesTogetherInTimeOrder) {
  ASSERT_TRUE(log_->Append(std::vector<Event>{Make("a1", "ana", "2026-04-01"), Make("b1", "ben", "2026-04-02"),
                                              Make("d1", "ana_old", "2026-04-03"), Make("a2", "ana", "2026-04-04"),
                                              Make("d2", "ana_old", "2026-04-04"), Make("a3", "ana", "2026-04-20")}));
  const std::vector<core::MemberId> person = {Member("ana"), Member("ana_old")};
  std::vector<std::string> seen;
  ASSERT_TRUE(log_->Replay(person, *core::ParseTimestamp("2026-04-10"), [&](const Event& e) { seen.push_back(e.id); }));
  EXPECT_EQ(seen, (std::vector<std::string>{"a1", "d1", "a2", "d2"}));  // ties by id; a3 is after the cutoff
  seen.clear();
  ASSERT_TRUE(log_->Replay(std::span(person).first(1), std::nullopt, [&](const Event& e) { seen.push_back(e.id); }));
  EXPECT_EQ(seen, (std::vector<std::string>{"a1", "a2", "a3"}));
  auto newest = log_->ForMembers(person, std::nullopt, 3);
  ASSERT_TRUE(newest);
  EXPECT_EQ(Ids(*newest), (std::vector<std::string>{"a3", "d2", "a2"}));

  seen.clear();
  ASSERT_TRUE(log_->ReplayAll(std::nullopt, [&](const Event& e) { seen.push_back(e.member.str() + ":" + e.id); }));
  EXPECT_EQ(seen, (std::vector<std::string>{"ana:a1", "ana:a2", "ana:a3", "ana_old:d1", "ana_old:d2", "ben:b1"}));
}

TEST_F(EventLogTest, RetentionRemovesARangeAndKeepsAnonymousDailyCounts) {
  ASSERT_TRUE(log_->Append(std::vector<Event>{
      Make("e1", "ana", "2026-03-01T08:00:00Z", "app"), Make("e2", "ben", "2026-03-01T23:59:59Z", "app"),
      Make("e3", "ana", "2026-03-01T12:00:00Z", "app"), Make("e4", "ana", "2026-03-01T12:00:00Z", "web"),
      Make("e5", "ana", "2026-03-02T00:00:00Z", "app"), Make("e6", "ana", "2026-04-15T00:00:00Z", "app")}));
  auto oldest = log_->OldestOfType(EventType::kAppOpen);
  ASSERT_TRUE(oldest && *oldest);
  EXPECT_EQ(**oldest, *core::ParseTimestamp("2026-03-01T08:00:00Z"));

  auto removed = db_->WriteValue<std::vector<std::string>>([&](store::Transaction& tx) {
    return log_->RemoveIn(tx, EventType::kAppOpen, *core::ParseTimestamp("2026-01-01"),
                          *core::ParseTimestamp("2026-04-01"), /*count=*/true);
  });
  ASSERT_TRUE(removed) << removed.error().message;
  std::sort(removed->begin(), removed->end());
  EXPECT_EQ(*removed, (std::vector<std::string>{"e1", "e2", "e3", "e4", "e5"}));
  EXPECT_EQ(*log_->Count(), 1);

  // A late event of a day already counted adds to that day's row.
  ASSERT_TRUE(log_->Append(std::vector<Event>{Make("late", "cy", "2026-03-01T09:00:00Z", "app")}));
  ASSERT_TRUE(db_->WriteValue<std::vector<std::string>>([&](store::Transaction& tx) {
    return log_->RemoveIn(tx, EventType::kAppOpen, *core::ParseTimestamp("2026-01-01"),
                          *core::ParseTimestamp("2026-04-01"), /*count=*/true);
  }));
  auto counts = log_->DailyCounts("2026-03-01", "2026-03-31");
  ASSERT_TRUE(counts) << counts.error().message;
  ASSERT_EQ(counts->size(), 3u);
  EXPECT_EQ((*counts)[0].day, "2026-03-01");
  EXPECT_EQ((*counts)[0].channel, "app");
  EXPECT_EQ((*counts)[0].events, 4);   // e1, e2, e3, then the late one
  EXPECT_EQ((*counts)[0].members, 3);  // ana and ben, then cy
  EXPECT_EQ((*counts)[1].day, "2026-03-01");
  EXPECT_EQ((*counts)[1].channel, "web");
  EXPECT_EQ((*counts)[1].events, 1);
  EXPECT_EQ((*counts)[2].day, "2026-03-02");
  EXPECT_EQ((*counts)[2].events, 1);
}

TEST_F(EventLogTest, ErasureFilesTheEventsUnderAPseudonymWithoutPersonalProperties) {
  ASSERT_TRUE(log_->Append(std::vector<Event>{
      Make("s1", "ana", "2026-04-01", "web", {{"query", "shoes for Ana"}, {"results", 12}}),
      Make("o1", "ana", "2026-04-02", "app", {{"device", "phone-of-ana"}, {"screen", "home"}}),
      Make("b1", "ben", "2026-04-02", "app", {{"device", "phone-of-ben"}})}));
  auto moved = db_->WriteValue<int64_t>(
      [&](store::Transaction& tx) { return log_->PseudonymiseIn(tx, Member("ana"), Member("erased_1")); });
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(*moved, 2);
  EXPECT_TRUE(log_->ForMember(Member("ana"), std::nullopt, 10)->empty());
  auto kept = log_->ForMember(Member("erased_1"), std::nullopt, 10);
  ASSERT_TRUE(kept);
  ASSERT_EQ(kept->size(), 2u);
  EXPECT_EQ((*kept)[0].properties, (core::Json{{"screen", "home"}}));
  EXPECT_EQ((*kept)[1].properties, (core::Json{{"results", 12}}));
  auto other = log_->ForMember(Member("ben"), std::nullopt, 10);
  ASSERT_EQ(other->size(), 1u);
  EXPECT_EQ((*other)[0].properties.value("device", ""), "phone-of-ben");
}

}  // namespace
}  // namespace loyalty::events
