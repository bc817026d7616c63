#include "loyalty/core/clock.hpp"

#include <gtest/gtest.h>

namespace loyalty::core {
namespace {

Timestamp At(const char* text) { return *ParseTimestamp(text); }

TEST(Clock, ParsesDatesAndTimesInEveryAcceptedForm) {
  EXPECT_EQ(FormatTimestamp(At("2026-03-01")), "2026-03-01T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(At("20260301")), "2026-03-01T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(At("2026-03-01T12:30:05Z")), "2026-03-01T12:30:05Z");
  EXPECT_EQ(FormatTimestamp(At("2026-03-01 12:30")), "2026-03-01T12:30:00Z");
  EXPECT_EQ(FormatTimestamp(At("2026-03-01T12:30:05.25Z")), "2026-03-01T12:30:05.250Z");
  EXPECT_EQ(FormatTimestamp(At("2026-03-01T12:30:00+02:00")), "2026-03-01T10:30:00Z");
  EXPECT_EQ(FormatTimestamp(At("2026-03-01T00:30:00-01:00")), "2026-03-01T01:30:00Z");
}

TEST(Clock, RejectsMalformedTimestampsWithTheReason) {
  for (const char* bad : {"", "2026", "2026-13-01", "2026-02-30", "2026-03-01T25:00:00Z", "2026-03-01Tnoon",
                          "2026-03-01T12:00:00Q", "2026-03-01T12:00:00Zjunk", "yesterday"}) {
    auto parsed = ParseTimestamp(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message.find("timestamp"), std::string::npos);
  }
}

TEST(Clock, FormatRoundTripsThroughParse) {
  for (int64_t ms : {int64_t{0}, int64_t{1700000000123}, int64_t{951782400000}, int64_t{-86400000}}) {
    const Timestamp t = FromUnixMillis(ms);
    EXPECT_EQ(*ParseTimestamp(FormatTimestamp(t)), t) << FormatTimestamp(t);
  }
}

TEST(Clock, AddMonthsClampsToTheEndOfShortMonths) {
  EXPECT_EQ(FormatTimestamp(AddMonths(At("2026-01-31T08:00:00Z"), 1)), "2026-02-28T08:00:00Z");
  EXPECT_EQ(FormatTimestamp(AddMonths(At("2028-01-31"), 1)), "2028-02-29T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(AddMonths(At("2026-03-15"), 24)), "2028-03-15T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(AddMonths(At("2026-03-31"), -1)), "2026-02-28T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(AddMonths(At("2026-01-15"), -13)), "2024-12-15T00:00:00Z");
}

TEST(Clock, ManualClockMovesOnlyWhenTold) {
  ManualClock clock(At("2026-01-01"));
  EXPECT_EQ(clock.Now(), At("2026-01-01"));
  clock.Advance(std::chrono::hours(36));
  EXPECT_EQ(clock.Now(), At("2026-01-02T12:00:00Z"));
  clock.Set(At("2030-05-05"));
  EXPECT_EQ(clock.Now(), At("2030-05-05"));
}

TEST(LocalTime, ReadsTheMembersWallClockAcrossMidnightAndTheEpoch) {
  // Berlin in winter, half past midnight on Wednesday 25 November 2026.
  auto berlin = ToLocal(*ParseTimestamp("2026-11-24T23:30:00Z"), 60);
  EXPECT_EQ(berlin.hour, 0);
  EXPECT_EQ(berlin.weekday, 3);
  EXPECT_EQ(FormatTimestamp(berlin.day_start), "2026-11-24T23:00:00Z");
  // New York, ten in the evening of Monday 23 November.
  auto new_york = ToLocal(*ParseTimestamp("2026-11-24T03:00:00Z"), -300);
  EXPECT_EQ(new_york.hour, 22);
  EXPECT_EQ(new_york.weekday, 1);
  EXPECT_EQ(FormatTimestamp(new_york.day_start), "2026-11-23T05:00:00Z");
  // Before 1970 the day still starts at midnight (Wednesday 31 December 1969).
  auto before = ToLocal(*ParseTimestamp("1969-12-31T23:00:00Z"), 0);
  EXPECT_EQ(before.hour, 23);
  EXPECT_EQ(before.weekday, 3);
  EXPECT_EQ(FormatTimestamp(before.day_start), "1969-12-31T00:00:00Z");
}

}  // namespace
}  // namespace loyalty::core
