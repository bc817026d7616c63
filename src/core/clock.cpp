#include "loyalty/core/clock.hpp"

#include <charconv>
#include <cstdio>

namespace loyalty::core {

using std::chrono::days;
using std::chrono::milliseconds;

Timestamp SystemClock::Now() const {
  return std::chrono::time_point_cast<milliseconds>(std::chrono::system_clock::now());
}

int64_t ToUnixMillis(Timestamp t) { return t.time_since_epoch().count(); }
Timestamp FromUnixMillis(int64_t ms) { return Timestamp(milliseconds(ms)); }

namespace {

// Reads exactly `width` digits at `pos`; advances `pos`.
bool ReadDigits(std::string_view text, size_t& pos, size_t width, int& out) {
  if (pos + width > text.size()) return false;
  for (size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  std::from_chars(text.data() + pos, text.data() + pos + width, out);
  pos += width;
  return true;
}

bool Expect(std::string_view text, size_t& pos, char c) {
  if (pos < text.size() && text[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

Result<Timestamp> Invalid(std::string_view text, std::string_view why) {
  return Fail(ErrorCode::kInvalidArgument, "timestamp '" + std::string(text) + "' " + std::string(why) +
                                               " (use 2026-03-01 or 2026-03-01T12:30:00Z)");
}

}  // namespace

Result<Timestamp> ParseTimestamp(std::string_view text) {
  size_t pos = 0;
  int year = 0, month = 0, day = 0;
  const bool compact = text.size() == 8;
  if (!ReadDigits(text, pos, 4, year)) return Invalid(text, "does not start with a 4-digit year");
  if (!compact && !Expect(text, pos, '-')) return Invalid(text, "is missing '-' after the year");
  if (!ReadDigits(text, pos, 2, month)) return Invalid(text, "has no 2-digit month");
  if (!compact && !Expect(text, pos, '-')) return Invalid(text, "is missing '-' after the month");
  if (!ReadDigits(text, pos, 2, day)) return Invalid(text, "has no 2-digit day");
  const std::chrono::year_month_day ymd{std::chrono::year(year), std::chrono::month(month),
                                        std::chrono::day(day)};
  if (!ymd.ok()) return Invalid(text, "is not a calendar date");
  Timestamp result = std::chrono::sys_days(ymd);
  if (pos == text.size()) return result;

  if (!Expect(text, pos, 'T') && !Expect(text, pos, ' ')) return Invalid(text, "has text after the date");
  int hour = 0, minute = 0, second = 0, millis = 0;
  if (!ReadDigits(text, pos, 2, hour) || !Expect(text, pos, ':') || !ReadDigits(text, pos, 2, minute)) {
    return Invalid(text, "has no HH:MM time");
  }
  if (Expect(text, pos, ':') && !ReadDigits(text, pos, 2, second)) return Invalid(text, "has bad seconds");
  if (Expect(text, pos, '.')) {
    size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start) return Invalid(text, "has no digits after '.'");
    int scale = 100;
    for (size_t i = start; i < pos && i < start + 3; ++i, scale /= 10) millis += (text[i] - '0') * scale;
  }
  if (hour > 23 || minute > 59 || second > 60) return Invalid(text, "has a time out of range");
  int offset_minutes = 0;
  if (pos < text.size()) {
    if (Expect(text, pos, 'Z')) {
    } else if (text[pos] == '+' || text[pos] == '-') {
      const int sign = text[pos] == '-' ? -1 : 1;
      ++pos;
      int oh = 0, om = 0;
      if (!ReadDigits(text, pos, 2, oh)) return Invalid(text, "has a bad UTC offset");
      Expect(text, pos, ':');
      if (!ReadDigits(text, pos, 2, om)) return Invalid(text, "has a bad UTC offset");
      offset_minutes = sign * (oh * 60 + om);
    } else {
      return Invalid(text, "has an unknown time zone designator");
    }
  }
  if (pos != text.size()) return Invalid(text, "has trailing characters");
  result += std::chrono::hours(hour) + std::chrono::minutes(minute - offset_minutes) +
            std::chrono::seconds(second) + milliseconds(millis);
  return result;
}

std::string FormatTimestamp(Timestamp t) {
  const auto day_start = std::chrono::floor<days>(t);
  const std::chrono::year_month_day ymd{day_start};
  const std::chrono::hh_mm_ss hms{t - day_start};
  char buf[40];
  const int ms = static_cast<int>(hms.subseconds().count());
  if (ms != 0) {
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", int(ymd.year()), unsigned(ymd.month()),
                  unsigned(ymd.day()), int(hms.hours().count()), int(hms.minutes().count()),
                  int(hms.seconds().count()), ms);
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", int(ymd.year()), unsigned(ymd.month()),
                  unsigned(ymd.day()), int(hms.hours().count()), int(hms.minutes().count()),
                  int(hms.seconds().count()));
  }
  return buf;
}

Timestamp AddMonths(Timestamp t, int months) {
  const auto day_start = std::chrono::floor<days>(t);
  const auto time_of_day = t - day_start;
  std::chrono::year_month_day ymd{day_start};
  ymd += std::chrono::months(months);
  if (!ymd.ok()) ymd = std::chrono::year_month_day_last(ymd.year(), std::chrono::month_day_last(ymd.month()));
  return std::chrono::sys_days(ymd) + time_of_day;
}

LocalTime ToLocal(Timestamp at, int offset_minutes) {
  constexpr int64_t kDayMs = 86'400'000, kHourMs = 3'600'000;
  const int64_t offset_ms = offset_minutes * 60'000LL;
  const int64_t local = ToUnixMillis(at) + offset_ms;
  const int64_t day = local >= 0 ? local / kDayMs : -((-local + kDayMs - 1) / kDayMs);  // floor
  LocalTime out;
  out.day_start = FromUnixMillis(day * kDayMs - offset_ms);
  out.hour = static_cast<int>((local - day * kDayMs) / kHourMs);
  out.weekday = static_cast<int>(((day % 7) + 7 + 3) % 7 + 1);  // 1970-01-01 was a Thursday
  return out;
}

}  // namespace loyalty::core
