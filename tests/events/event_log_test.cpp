#include "loyalty/events/event_log.hpp"

#include <gtest/gtest.h>

#include "loyalty/store/sqlite.hpp"
#include "support/temp_dir.hpp"

namespace loyalty::events {
namespace {

Event Make(const std::string& id, const std::string& member, const std::string& at) {
  return Event{id, EventType::kAppOpen, *core::ParseTimestamp(at), *core::MemberId::Parse(member), "app",
               core::Json::object(), ""};
}

TEST(EventLog, AppendsOnceAndReportsDuplicates) {
  testing::TempDir dir;
  core::ManualClock clock(*core::ParseTimestamp("2026-05-01"));
  auto db = store::OpenSqlite({.path = dir / "events.db", .durability = store::Durability::kNormal});
  auto log = EventLog::Open(**db, clock);
  ASSERT_TRUE(log);
  std::vector<Event> batch = {Make("a", "ana", "2026-04-01"), Make("b", "ana", "2026-04-02"),
                              Make("a", "ana", "2026-04-03")};
  auto inserted = (*log)->Append(batch);
  ASSERT_TRUE(inserted);
  EXPECT_EQ(*inserted, (std::vector<bool>{true, true, false}));
  EXPECT_EQ(*(*log)->Append(std::vector<Event>{Make("b", "ana", "2026-04-02")}), std::vector<bool>{false});
  EXPECT_EQ(*(*log)->Count(), 2);

  ASSERT_TRUE((*log)->Append(std::vector<Event>{Make("c", "ben", "2026-04-05"), Make("d", "ana", "2026-04-09")}));
  auto timeline = (*log)->ForMember(*core::MemberId::Parse("ana"), std::nullopt, 10);
  ASSERT_TRUE(timeline);
  ASSERT_EQ(timeline->size(), 3u);
  EXPECT_EQ((*timeline)[0].id, "d");  // newest first
  EXPECT_EQ((*timeline)[2].id, "a");
  auto older = (*log)->ForMember(*core::MemberId::Parse("ana"), *core::ParseTimestamp("2026-04-02"), 10);
  ASSERT_EQ(older->size(), 1u);
  EXPECT_EQ((*older)[0].id, "a");
  EXPECT_FALSE((*log)->ForMember(*core::MemberId::Parse("ana"), std::nullopt, 0));
}

}  // namespace
}  // namespace loyalty::events
