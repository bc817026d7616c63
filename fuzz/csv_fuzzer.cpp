// libFuzzer target for the CSV reader the importers stream files through: any bytes give
// records or an error naming the record, never a crash, a loop or unbounded memory; record
// numbers only grow, and a header found by name points inside the header. Run with scripts/fuzz.

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "loyalty/core/csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
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
  return 0;
}
