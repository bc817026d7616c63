#include "loyalty/events/event.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace loyalty::events {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;
using core::Status;

namespace {

constexpr std::array<std::pair<EventType, std::string_view>, 18> kTypes = {{
    {EventType::kPurchase, "purchase"},
    {EventType::kReturn, "return"},
    {EventType::kProductView, "product_view"},
    {EventType::kSearch, "search"},
    {EventType::kCartAdd, "cart_add"},
    {EventType::kCartAbandon, "cart_abandon"},
    {EventType::kAppOpen, "app_open"},
    {EventType::kLogin, "login"},
    {EventType::kEmailOpen, "email_open"},
    {EventType::kEmailClick, "email_click"},
    {EventType::kOfferImpression, "offer_impression"},
    {EventType::kOfferResponse, "offer_response"},
    {EventType::kRedemption, "redemption"},
    {EventType::kServiceTicketOpened, "service_ticket_opened"},
    {EventType::kServiceTicketClosed, "service_ticket_closed"},
    {EventType::kReview, "review"},
    {EventType::kMessage, "message"},
    {EventType::kConsentChanged, "consent_changed"},
}};

constexpr std::array<std::string_view, 8> kChannels = {"pos", "app", "web", "email", "sms", "push", "call_center", "other"};
constexpr size_t kMaxText = 10000;
constexpr auto kFutureAllowance = std::chrono::hours(24);

Status RequireIdField(const Json& props, std::string_view key, std::string_view what) {
  LOYALTY_ASSIGN_OR_RETURN(std::string value, core::RequireString(props, key, "properties"));
  if (auto ok = core::ValidateId(value, what); !ok) return core::Wrap(ok.error(), "properties." + std::string(key));
  return {};
}

Status OptionalText(const Json& props, std::string_view key) {
  LOYALTY_ASSIGN_OR_RETURN(auto text, core::OptionalString(props, key, "properties"));
  if (text && text->size() > kMaxText) {
    return Fail(ErrorCode::kInvalidArgument,
                "properties." + std::string(key) + " is longer than " + std::to_string(kMaxText) + " bytes");
  }
  return {};
}

Status PositiveInt(const Json& object, std::string_view key, std::string_view path, bool required) {
  if (!required && !object.contains(key)) return {};
  LOYALTY_ASSIGN_OR_RETURN(int64_t value, core::RequireInt(object, key, path));
  if (value < 1) return Fail(ErrorCode::kInvalidArgument, std::string(path) + "." + std::string(key) + " must be at least 1");
  return {};
}

Status ValidateLines(const Json& props, bool purchase) {
  if (!purchase && !props.contains("lines")) return {};
  LOYALTY_ASSIGN_OR_RETURN(const Json* lines, core::RequireArray(props, "lines", "properties"));
  if (purchase && lines->empty()) return Fail(ErrorCode::kInvalidArgument, "properties.lines needs at least one line");
  for (size_t i = 0; i < lines->size(); ++i) {
    const std::string path = "properties.lines[" + std::to_string(i) + "]";
    const Json& line = (*lines)[i];
    if (purchase) {
      LOYALTY_TRY(core::RejectUnknownFields(line, {"sku", "category", "quantity", "unit_price"}, path));
      LOYALTY_TRY(core::RequireString(line, "unit_price", path));
      LOYALTY_TRY(core::OptionalString(line, "category", path));
    } else {
      LOYALTY_TRY(core::RejectUnknownFields(line, {"sku", "quantity"}, path));
    }
    LOYALTY_TRY(core::RequireString(line, "sku", path));
    LOYALTY_TRY(PositiveInt(line, "quantity", path, true));
  }
  return {};
}

// The properties each type requires and allows.
Status ValidateProperties(EventType type, const Json& props) {
  switch (type) {
    case EventType::kPurchase:
      LOYALTY_TRY(core::RejectUnknownFields(props, {"order", "lines", "currency"}, "properties"));
      LOYALTY_TRY(RequireIdField(props, "order", "order id"));
      LOYALTY_TRY(core::OptionalString(props, "currency", "properties"));
      return ValidateLines(props, true);
    case EventType::kReturn:
      LOYALTY_TRY(core::RejectUnknownFields(props, {"order", "lines"}, "properties"));
      LOYALTY_TRY(RequireIdField(props, "order", "order id"));
      return ValidateLines(props, false);
    case EventType::kProductView:
    case EventType::kCartAdd:
      LOYALTY_TRY(core::RejectUnknownFields(props, {"sku", "category", "quantity", "price"}, "properties"));
      LOYALTY_TRY(core::RequireString(props, "sku", "properties"));
      LOYALTY_TRY(core::OptionalString(props, "category", "properties"));
      LOYALTY_TRY(core::OptionalString(props, "price", "properties"));
      return PositiveInt(props, "quantity", "properties", false);
    case EventType::kSearch:
      LOYALTY_TRY(core::RejectUnknownFields(props, {"query"}, "properties"));
      LOYALTY_TRY(core::RequireString(props, "query", "properties"));
      return OptionalText(props, "query");
    case EventType::kCartAbandon:
      LOYALTY_TRY(core::RejectUnknownFields(props, {"cart_value", "items"}, "properties"));
      LOYALTY_TRY(core::OptionalString(props, "cart_value", "properties"));
      return PositiveInt(props, "items", "properties", false);
    case EventType::kAppOpen:
    case EventType::kLogin:
      return core::RejectUnknownFields(props, {"device"}, "properties");
    case EventType::kEmailOpen:
    case EventType::kEmailClick:
      LOYALTY_TRY(core::RejectUnknownFields(props, {"campaign", "link"}, "properties"));
      LOYALTY_TRY(core::OptionalString(props, "campaign", "properties"));
      LOYALTY_TRY(core::OptionalString(props, "link", "properties"));
      return {};
    case EventType::kOfferImpression:
      LOYALTY_TRY(core::RejectUnknownFields(props, {"offer"}, "properties"));
      return RequireIdField(props, "offer", "offer id");
    case EventType::kOfferResponse: {
      LOYALTY_TRY(core::RejectUnknownFields(props, {"offer", "response"}, "properties"));
      LOYALTY_TRY(RequireIdField(props, "offer", "offer id"));
      LOYALTY_ASSIGN_OR_RETURN(std::string response, core::RequireString(props, "response", "properties"));
      if (response != "accepted" && response != "declined" && response != "clicked") {
        return Fail(ErrorCode::kInvalidArgument, "properties.response must be accepted, declined or clicked");
      }
      return {};
    }
    case EventType::kRedemption:
      LOYALTY_TRY(core::RejectUnknownFields(props, {"reward", "points"}, "properties"));
      LOYALTY_TRY(core::OptionalString(props, "reward", "properties"));
      return PositiveInt(props, "points", "properties", true);  // the points spent leave the ledger
    case EventType::kServiceTicketOpened:
    case EventType::kServiceTicketClosed:
      LOYALTY_TRY(core::RejectUnknownFields(props, {"ticket", "text", "topic"}, "properties"));
      LOYALTY_TRY(RequireIdField(props, "ticket", "ticket id"));
      LOYALTY_TRY(core::OptionalString(props, "topic", "properties"));
      return OptionalText(props, "text");
    case EventType::kReview: {
      LOYALTY_TRY(core::RejectUnknownFields(props, {"rating", "text", "sku"}, "properties"));
      LOYALTY_ASSIGN_OR_RETURN(int64_t rating, core::RequireInt(props, "rating", "properties"));
      if (rating < 1 || rating > 5) return Fail(ErrorCode::kInvalidArgument, "properties.rating must be 1 to 5");
      LOYALTY_TRY(core::OptionalString(props, "sku", "properties"));
      return OptionalText(props, "text");
    }
    case EventType::kMessage:
      LOYALTY_TRY(core::RejectUnknownFields(props, {"text", "thread"}, "properties"));
      LOYALTY_TRY(core::RequireString(props, "text", "properties"));
      LOYALTY_TRY(core::OptionalString(props, "thread", "properties"));
      return OptionalText(props, "text");
    case EventType::kConsentChanged: {
      LOYALTY_TRY(core::RejectUnknownFields(props, {"purpose", "granted"}, "properties"));
      LOYALTY_TRY(core::RequireString(props, "purpose", "properties"));
      LOYALTY_ASSIGN_OR_RETURN(auto granted, core::OptionalBool(props, "granted", "properties"));
      if (!granted) return Fail(ErrorCode::kInvalidArgument, "field 'properties.granted' is required (true or false)");
      return {};
    }
  }
  return {};
}

}  // namespace

std::string_view EventTypeName(EventType type) {
  for (const auto& [t, name] : kTypes) {
    if (t == type) return name;
  }
  return "unknown";
}

Result<EventType> ParseEventType(std::string_view name) {
  for (const auto& [t, n] : kTypes) {
    if (n == name) return t;
  }
  std::string known;
  for (const auto& [t, n] : kTypes) known += (known.empty() ? "" : ", ") + std::string(n);
  return Fail(ErrorCode::kInvalidArgument, "unknown event type '" + std::string(name) + "' (known: " + known + ")");
}

Result<Event> ParseEvent(const Json& object, core::Timestamp now) {
  LOYALTY_TRY(core::RejectUnknownFields(object, {"id", "type", "at", "member", "identifier", "channel", "properties"}, "event"));
  Event event;
  LOYALTY_ASSIGN_OR_RETURN(event.id, core::RequireString(object, "id"));
  if (auto ok = core::ValidateId(event.id, "event id"); !ok) return std::unexpected(ok.error());
  LOYALTY_ASSIGN_OR_RETURN(std::string type, core::RequireString(object, "type"));
  LOYALTY_ASSIGN_OR_RETURN(event.type, ParseEventType(type));
  LOYALTY_ASSIGN_OR_RETURN(std::string at, core::RequireString(object, "at"));
  auto parsed_at = core::ParseTimestamp(at);
  if (!parsed_at) return core::Wrap(parsed_at.error(), "field 'at'");
  if (*parsed_at > now + kFutureAllowance) {
    return Fail(ErrorCode::kInvalidArgument, "field 'at' (" + at + ") is more than a day in the future");
  }
  event.at = *parsed_at;
  LOYALTY_ASSIGN_OR_RETURN(auto member, core::OptionalString(object, "member"));
  LOYALTY_ASSIGN_OR_RETURN(auto identifier, core::OptionalString(object, "identifier"));
  if (member.has_value() == identifier.has_value()) {
    return Fail(ErrorCode::kInvalidArgument,
                "an event needs exactly one of 'member' (a member id) or 'identifier' (like \"email:ann@example.com\")");
  }
  if (member) {
    auto member_id = core::MemberId::Parse(*member);
    if (!member_id) return core::Wrap(member_id.error(), "field 'member'");
    event.member = *member_id;
  } else {
    // Checked for shape here; the identity graph normalises it when the event is ingested.
    if (identifier->find(':') == std::string::npos || identifier->size() > 300) {
      return Fail(ErrorCode::kInvalidArgument,
                  "field 'identifier' must be written kind:value, like \"email:ann@example.com\"");
    }
    event.identifier = *identifier;
  }
  LOYALTY_ASSIGN_OR_RETURN(auto channel, core::OptionalString(object, "channel"));
  event.channel = channel.value_or("other");
  if (std::find(kChannels.begin(), kChannels.end(), event.channel) == kChannels.end()) {
    return Fail(ErrorCode::kInvalidArgument, "field 'channel' must be one of pos, app, web, email, sms, push, "
                                             "call_center, other; got '" + event.channel + "'");
  }
  event.properties = object.value("properties", Json::object());
  if (!event.properties.is_object()) {
    return Fail(ErrorCode::kInvalidArgument, "field 'properties' must be an object");
  }
  LOYALTY_TRY(ValidateProperties(event.type, event.properties));
  return event;
}

Json ToJson(const Event& event) {
  return Json{{"id", event.id},
              {"type", EventTypeName(event.type)},
              {"at", core::FormatTimestamp(event.at)},
              {"member", event.member.empty() ? Json(nullptr) : Json(event.member.str())},
              {"channel", event.channel},
              {"properties", event.properties}};
}

}  // namespace loyalty::events
