#pragma once
// Time: the Timestamp type, an injectable Clock, and the calendar arithmetic the ledger needs.
//
// All logic takes a Clock rather than reading the wall clock, so simulations, backfills and
// tests run in simulated time. SystemClock and ManualClock are safe to call from any thread.

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>

#include "loyalty/core/error.hpp"

namespace loyalty::core {

// Milliseconds since the Unix epoch, UTC.
using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Timestamp Now() const override;
};

// A clock that only moves when told to. For tests and simulations.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp start) : now_ms_(start.time_since_epoch().count()) {}
  Timestamp Now() const override { return Timestamp(std::chrono::milliseconds(now_ms_.load())); }
  void Set(Timestamp t) { now_ms_.store(t.time_since_epoch().count()); }
  void Advance(std::chrono::milliseconds d) { now_ms_.fetch_add(d.count()); }

 private:
  std::atomic<int64_t> now_ms_;
};

// Parses "2026-03-01", "20260301", "2026-03-01T12:30:00Z", "2026-03-01T12:30:00.250+02:00".
// A date alone means midnight UTC.
[[nodiscard]] Result<Timestamp> ParseTimestamp(std::string_view text);

// ISO 8601 in UTC: "2026-03-01T12:30:00Z" (milliseconds shown only when non-zero).
std::string FormatTimestamp(Timestamp t);

int64_t ToUnixMillis(Timestamp t);
Timestamp FromUnixMillis(int64_t ms);

// The wall-clock reading at `at` for someone `offset_minutes` east of UTC.
struct LocalTime {
  Timestamp day_start;  // their local midnight, as a UTC instant
  int hour = 0;         // 0 to 23
  int weekday = 1;      // ISO: 1 Monday to 7 Sunday
};
LocalTime ToLocal(Timestamp at, int offset_minutes);

// Calendar months later (or earlier, for negative n). The day is clamped to the end of the
// target month: Jan 31 + 1 month = Feb 28 (or 29). The time of day is kept.
Timestamp AddMonths(Timestamp t, int months);

}  // namespace loyalty::core
