#include "loyalty/events/event.hpp"

#include <gtest/gtest.h>

namespace loyalty::events {
namespace {

using core::Json;

const core::Timestamp kNow = *core::ParseTimestamp("2026-05-01T12:00:00Z");

Json Base(const std::string& type, Json properties) {
  return Json{{"id", "e1"}, {"type", type}, {"at", "2026-05-01T10:00:00Z"}, {"member", "ana"}, {"channel", "app"},
              {"properties", std::move(properties)}};
}

TEST(Event, EveryTypeParsesWithItsProperties) {
  const std::vector<Json> valid = {
      Base("purchase", {{"order", "o1"}, {"lines", {{{"sku", "A"}, {"quantity", 2}, {"unit_price", "9.99"}}}}}),
      Base("return", {{"order", "o1"}}),
      Base("product_view", {{"sku", "A"}}),
      Base("search", {{"query", "running shoes"}}),
      Base("cart_add", {{"sku", "A"}, {"quantity", 1}}),
      Base("cart_abandon", {{"cart_value", "45.00"}}),
      Base("app_open", Json::object()),
      Base("login", Json::object()),
      Base("email_open", {{"campaign", "spring"}}),
      Base("email_click", {{"campaign", "spring"}, {"link", "https://shop/x"}}),
      Base("offer_impression", {{"offer", "double-points"}}),
      Base("offer_response", {{"offer", "double-points"}, {"response", "accepted"}}),
      Base("redemption", {{"reward", "coffee"}, {"points", 150}}),
      Base("service_ticket_opened", {{"ticket", "t-9"}, {"text", "my parcel is late"}}),
      Base("service_ticket_closed", {{"ticket", "t-9"}}),
      Base("review", {{"rating", 2}, {"text", "meh"}}),
      Base("consent_changed", {{"purpose", "marketing_email"}, {"granted", false}}),
  };
  for (const auto& json : valid) {
    auto event = ParseEvent(json, kNow);
    ASSERT_TRUE(event) << json.dump() << ": " << event.error().message;
    EXPECT_EQ(EventTypeName(event->type), json["type"]);
    EXPECT_EQ(ToJson(*event)["properties"], json["properties"]);
  }
}

TEST(Event, InvalidEventsNameTheFieldToFix) {
  struct Case {
    Json json;
    const char* message;
  };
  Json no_id = Base("login", Json::object());
  no_id.erase("id");
  Json extra = Base("login", Json::object());
  extra["colour"] = "red";
  const Case cases[] = {
      {no_id, "field 'id' is required"},
      {extra, "unknown field 'event.colour'"},
      {Base("teleport", Json::object()), "unknown event type 'teleport'"},
      {Base("purchase", {{"order", "o1"}, {"lines", Json::array()}}), "needs at least one line"},
      {Base("purchase", {{"order", "o1"}, {"lines", {{{"sku", "A"}, {"quantity", "2"}, {"unit_price", "1"}}}}}),
       "'properties.lines[0].quantity' must be an integer"},
      {Base("purchase", {{"lines", {{{"sku", "A"}, {"quantity", 1}, {"unit_price", "1"}}}}}),
       "'properties.order' is required"},
      {Base("review", {{"rating", 9}}), "rating must be 1 to 5"},
      {Base("offer_response", {{"offer", "x"}, {"response", "maybe"}}), "accepted, declined or clicked"},
      {Base("consent_changed", {{"purpose", "marketing_email"}}), "properties.granted"},
      {Base("search", {{"query", std::string(20000, 'q')}}), "longer than 10000"},
      {Base("login", {{"pin", 1234}}), "unknown field 'properties.pin'"},
  };
  for (const auto& c : cases) {
    auto event = ParseEvent(c.json, kNow);
    ASSERT_FALSE(event) << c.json.dump();
    EXPECT_EQ(event.error().code, core::ErrorCode::kInvalidArgument);
    EXPECT_NE(event.error().message.find(c.message), std::string::npos) << event.error().message;
  }
  Json future = Base("login", Json::object());
  future["at"] = "2026-05-03T12:00:00Z";
  EXPECT_NE(ParseEvent(future, kNow).error().message.find("in the future"), std::string::npos);
  Json channel = Base("login", Json::object());
  channel["channel"] = "fax";
  EXPECT_NE(ParseEvent(channel, kNow).error().message.find("'channel' must be one of"), std::string::npos);
  Json member = Base("login", Json::object());
  member["member"] = "a b";
  EXPECT_NE(ParseEvent(member, kNow).error().message.find("field 'member'"), std::string::npos);
}

}  // namespace
}  // namespace loyalty::events
