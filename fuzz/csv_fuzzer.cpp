// libFuzzer target for what `loyalty import` makes of CSV files: the CSV reader, and the two
// mappings of its records to events (event CSV and sales exports). Any bytes give items or an
// error naming the record, never a crash, a loop or unbounded memory. Checked on the way:
// record numbers never go back, a header found by name points inside the header, every item is
// an event object or a reason, and each event object goes through the ingest parser. Run with
// scripts/fuzz.

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "loyalty/core/csv.hpp"
#include "loyalty/events/csv_import.hpp"
#include "loyalty/events/event.hpp"

namespace {

void ReadRecords(const std::string& bytes) {
  std::istringstream in(bytes);
  loyalty::core::CsvReader reader(in);
  size_t last = 0;
  bool first = true;
  while (true) {
    auto record = reader.Next();
    if (!record || !*record) break;
    if (reader.record() <= last) __builtin_trap();
    last = reader.record();
    if (first) {
      first = false;
      const loyalty::core::CsvHeader header(**record);
      const auto found = header.Find({"customer_id", "member", "id"});
      if (found && *found >= header.size()) __builtin_trap();
    }
  }
}

template <typename Reader>
void ReadItems(Reader& reader) {
  const auto now = loyalty::core::FromUnixMillis(1'780'000'000'000);
  size_t last = 0;
  while (true) {
    auto item = reader.Next();
    if (!item || !*item) return;
    if ((*item)->record < last || (*item)->record < 2) __builtin_trap();
    last = (*item)->record;
    if (!(*item)->event) {
      if ((*item)->event.error().message.empty()) __builtin_trap();
      continue;
    }
    if (!(*item)->event->is_object()) __builtin_trap();
    (void)loyalty::events::ParseEvent(*(*item)->event, now);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  ReadRecords(bytes);
  {
    std::istringstream in(bytes);
    if (auto reader = loyalty::events::EventCsvReader::Open(in)) ReadItems(**reader);
  }
  {
    std::istringstream in(bytes);
    if (auto reader = loyalty::events::SalesCsvReader::Open(in, "EUR")) ReadItems(**reader);
  }
  return 0;
}
