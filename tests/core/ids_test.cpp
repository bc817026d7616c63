#include "loyalty/core/ids.hpp"

#include <gtest/gtest.h>

#include <unordered_set>

namespace loyalty::core {
namespace {

TEST(Ids, AcceptCommonExternalIdentifiers) {
  for (const char* text : {"M1", "cust_00042", "4111-1111", "ana@example.com", "pos:store-7:1234", "+4915112345678"}) {
    EXPECT_TRUE(MemberId::Parse(text)) << text;
  }
}

TEST(Ids, RejectEmptyLongAndOddCharactersNamingTheProblem) {
  auto empty = MemberId::Parse("");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, "member id is empty");
  EXPECT_FALSE(RewardId::Parse(std::string(129, 'a')));
  auto space = OrderId::Parse("order 1");
  ASSERT_FALSE(space);
  EXPECT_NE(space.error().message.find("position 5"), std::string::npos);
  EXPECT_NE(space.error().message.find("order id"), std::string::npos);
}

TEST(Ids, AreComparableAndHashable) {
  auto a = *MemberId::Parse("a");
  auto b = *MemberId::Parse("b");
  EXPECT_LT(a, b);
  std::unordered_set<MemberId> set{a, b, *MemberId::Parse("a")};
  EXPECT_EQ(set.size(), 2u);
}

}  // namespace
}  // namespace loyalty::core
