// libFuzzer target for the event ingest parser (POST /v1/events, loyalty import events): any
// bytes split into a batch (a JSON array or NDJSON) or a whole-batch error, and every item into
// an event or an error saying what to fix, never a crash, a loop or a leak. A batch never holds
// more than kMaxBatch items, and an event that parses has an id, a member or identifier, and a
// time. Run with scripts/fuzz.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "loyalty/events/batch.hpp"
#include "loyalty/events/event.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto items = loyalty::events::SplitBatch(body);
  if (!items) {
    if (items.error().message.empty()) __builtin_trap();
    return 0;
  }
  if (items->empty() || items->size() > loyalty::events::kMaxBatch) __builtin_trap();
  const auto now = loyalty::core::FromUnixMillis(1'780'000'000'000);
  for (const auto& item : *items) {
    if (!item) {
      if (item.error().message.empty()) __builtin_trap();
      continue;
    }
    const auto event = loyalty::events::ParseEvent(*item, now);
    if (!event) {
      if (event.error().message.empty()) __builtin_trap();
      continue;
    }
    if (event->id.empty() || (event->member.str().empty() && event->identifier.empty())) __builtin_trap();
  }
  return 0;
}
