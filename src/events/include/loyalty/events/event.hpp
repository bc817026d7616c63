#pragma once
// Behavioural events: what members do at the POS, in the app, on the web, in email and with
// service. An event has a producer-assigned id (a retried delivery carries the same id and is
// ignored), a type, a time, the member, a channel and type-specific properties, validated here
// once so everything downstream can trust them. Value types; safe to copy between threads.

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/error.hpp"
#include "loyalty/core/ids.hpp"
#include "loyalty/core/json.hpp"

namespace loyalty::events {

enum class EventType {
  kPurchase,
  kReturn,
  kProductView,
  kSearch,
  kCartAdd,
  kCartAbandon,
  kAppOpen,
  kLogin,
  kEmailOpen,
  kEmailClick,
  kOfferImpression,
  kOfferResponse,
  kRedemption,
  kServiceTicketOpened,
  kServiceTicketClosed,
  kReview,
  kConsentChanged,
  kMessage,  // a member's message to the program (chat, e-mail reply, app feedback)
};

// Types whose properties may hold a member's free text ("text"): service tickets, reviews,
// messages. The engine scores it, keeps it in the PII vault and leaves a reference behind.
inline constexpr std::array<EventType, 4> kTextEventTypes = {
    EventType::kServiceTicketOpened, EventType::kServiceTicketClosed, EventType::kReview, EventType::kMessage};
constexpr bool CarriesText(EventType type) {
  return std::find(kTextEventTypes.begin(), kTextEventTypes.end(), type) != kTextEventTypes.end();
}

// "purchase", "service_ticket_opened", ...
std::string_view EventTypeName(EventType type);
[[nodiscard]] core::Result<EventType> ParseEventType(std::string_view name);

struct Event {
  std::string id;  // 1-128 id characters; unique per producer event
  EventType type = EventType::kAppOpen;
  core::Timestamp at;
  core::MemberId member;  // the member profile the event is recorded under
  std::string channel;    // pos, app, web, email, sms, push, call_center, other
  core::Json properties;  // always an object; its fields depend on the type (see README)
  // Set when the producer named the member by an identifier ("email:ann@example.com")
  // instead of a member id: the engine resolves it and fills `member` in.
  std::string identifier;
};

// Validates one event object:
//   {"id", "type", "at" (ISO 8601), "member" or "identifier", "channel", "properties": {...}}
// Errors name the field to fix ("properties.lines[0].quantity must be an integer").
// `now` bounds "at": more than a day in the future is refused.
[[nodiscard]] core::Result<Event> ParseEvent(const core::Json& object, core::Timestamp now);

core::Json ToJson(const Event& event);

}  // namespace loyalty::events
