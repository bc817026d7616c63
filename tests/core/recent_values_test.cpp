// Recently looked-up values: trusted until their time is up, dropped at once by Forget, and
// never re-remembered from an answer that a Forget may have overtaken.

#include "loyalty/core/recent_values.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace loyalty::core {
namespace {

TEST(RecentValues, RemembersUntilTheTimeIsUp) {
  RecentValues<int> recent(std::chrono::milliseconds(50));
  auto first = recent.Find("k");
  EXPECT_FALSE(first.value);
  recent.Remember("k", 7, first.ticket);
  EXPECT_EQ(recent.Find("k").value, 7);
  EXPECT_FALSE(recent.Find("other").value);
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  EXPECT_FALSE(recent.Find("k").value);
}

TEST(RecentValues, ForgetDropsEverythingAndOvertakenAnswersAreNotKept) {
  RecentValues<int> recent(std::chrono::seconds(60));
  recent.Remember("a", 1, recent.Find("a").ticket);
  const auto lookup = recent.Find("b");  // the store is asked for "b" ...
  recent.Forget();                       // ... while a change commits
  EXPECT_FALSE(recent.Find("a").value);
  recent.Remember("b", 2, lookup.ticket);  // the answer may predate the change: dropped
  EXPECT_FALSE(recent.Find("b").value);
  recent.Remember("b", 3, recent.Find("b").ticket);
  EXPECT_EQ(recent.Find("b").value, 3);
}

TEST(RecentValues, AFullMemoryStartsAfresh) {
  RecentValues<int> recent(std::chrono::seconds(60), 2);
  recent.Remember("a", 1, recent.Find("a").ticket);
  recent.Remember("b", 2, recent.Find("b").ticket);
  recent.Remember("c", 3, recent.Find("c").ticket);
  EXPECT_FALSE(recent.Find("a").value);
  EXPECT_EQ(recent.Find("c").value, 3);
}

}  // namespace
}  // namespace loyalty::core
