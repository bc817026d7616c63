#include "loyalty/core/json.hpp"

#include <gtest/gtest.h>

namespace loyalty::core {
namespace {

TEST(Json, ParseReportsTheByteOffsetOfASyntaxError) {
  auto bad = ParseJson(R"({"a": 1,})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message.find("byte 9"), std::string::npos) << bad.error().message;
  EXPECT_TRUE(ParseJson(R"({"a": [1, 2]})"));
}

TEST(Json, DeepNestingIsRefusedBeforeItCanExhaustTheStack) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto parsed = ParseJson(deep);
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("nested deeper than 64"), std::string::npos);
  EXPECT_TRUE(ParseJson(std::string(64, '[') + std::string(64, ']')));
  EXPECT_TRUE(ParseJson(R"({"text": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})"));
}

// Found by the event batch fuzzer: a number beyond a double made the parser throw an
// exception nobody caught (the process ended).
TEST(Json, ANumberBeyondADoubleIsAnErrorNotACrash) {
  for (const char* text : {"9E489", "[1e999]", "{\"points\": -1e400}"}) {
    auto slow = ParseJson(text);
    ASSERT_FALSE(slow) << text;
    EXPECT_EQ(slow.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(slow.error().message.find("overflow"), std::string::npos) << slow.error().message;
    EXPECT_FALSE(ParseJsonFast(text)) << text;
  }
}

TEST(Json, DumpNeverThrowsOnBytesThatAreNotUtf8) {
  const Json value = {{"reason", std::string("bad \xff byte")}};
  EXPECT_EQ(Dump(value), "{\"reason\":\"bad \xef\xbf\xbd byte\"}");
}

TEST(Json, ReadersNameTheFieldPathAndTheWrongType) {
  const Json order = *ParseJson(R"({"id": 7, "lines": [{"qty": "two"}], "note": null})");
  auto id = RequireString(order, "id", "order");
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().message, "field 'order.id' must be a string, not number");
  auto qty = RequireInt(order["lines"][0], "qty", "order.lines[0]");
  EXPECT_EQ(qty.error().message, "field 'order.lines[0].qty' must be an integer, not string");
  auto missing = RequireInt(order, "total");
  EXPECT_EQ(missing.error().message, "field 'total' is required");
  EXPECT_FALSE(OptionalString(order, "note")->has_value());
  EXPECT_EQ(**OptionalInt(order, "id"), 7);
  EXPECT_FALSE(RequireInt(*ParseJson(R"({"n": 18446744073709551615})"), "n"));
  EXPECT_FALSE(RequireInt(*ParseJson(R"({"n": 1.5})"), "n"));
}

TEST(Json, RejectUnknownFieldsListsTheKnownOnes) {
  const Json body = *ParseJson(R"({"member": "a", "pionts": 5})");
  auto status = RejectUnknownFields(body, {"member", "points"});
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message, "unknown field 'pionts' (known fields: member, points)");
  EXPECT_TRUE(RejectUnknownFields(body, {"member", "pionts"}));
}

TEST(Json, CoreValueTypesRoundTrip) {
  Json j = {{"points", Points(12)},
            {"money", *Money::Parse("3.50", "EUR")},
            {"member", *MemberId::Parse("ana")},
            {"at", *ParseTimestamp("2026-01-02T03:04:05Z")},
            {"none", std::optional<int64_t>()}};
  EXPECT_EQ(j.dump(),
            R"({"at":"2026-01-02T03:04:05Z","member":"ana","money":{"amount":"3.50","currency":"EUR"},)"
            R"("none":null,"points":12})");
  EXPECT_EQ(j["points"].get<Points>(), Points(12));
  EXPECT_EQ(j["money"].get<Money>(), *Money::Parse("3.50", "EUR"));
  EXPECT_EQ(j["member"].get<MemberId>().str(), "ana");
  EXPECT_EQ(j["none"].get<std::optional<int64_t>>(), std::nullopt);
}

}  // namespace
}  // namespace loyalty::core

namespace loyalty::core {
namespace {

// The bulk path must read every document exactly as the convenient one does.
TEST(Json, FastParsingGivesTheSameValuesAndTheSameErrors) {
  const std::vector<std::string> documents = {
      R"({"a":1,"b":[true,false,null],"c":{"d":"é ☃ \u00e9","e":-2.5e3}})",
      R"({"dup":1,"dup":2})",
      R"([18446744073709551615, -9223372036854775808, 1.0, 0, -0])",
      R"({"big": 123456789012345678901234567890})",
      R"("just a string")",
      "  {\"x\" : [ ] , \"y\" : { } }  ",
  };
  for (const auto& doc : documents) {
    auto slow = ParseJson(doc);
    auto fast = ParseJsonFast(doc);
    ASSERT_TRUE(slow && fast) << doc;
    EXPECT_EQ(*slow, *fast) << doc;
    EXPECT_EQ(Dump(*slow), Dump(*fast)) << doc;
  }
  for (const std::string& bad : std::vector<std::string>{"{\"a\":", "[1,2", "{\"a\" 1}", "\xff\xfe", std::string(100, '[')}) {
    auto slow = ParseJson(bad);
    auto fast = ParseJsonFast(bad);
    ASSERT_FALSE(slow);
    ASSERT_FALSE(fast);
    EXPECT_EQ(slow.error().message, fast.error().message);
  }
}

}  // namespace
}  // namespace loyalty::core
