#include "partitions.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace loyalty::events::internal {

namespace {

using std::chrono::sys_days;

int64_t Millis(sys_days day) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(day.time_since_epoch()).count();
}

Month MonthFrom(std::chrono::year_month ym) {
  Month month;
  const int year = static_cast<int>(ym.year());
  const unsigned number = static_cast<unsigned>(ym.month());
  month.number = year * 100 + static_cast<int>(number);
  month.from = Millis(sys_days(ym / 1));
  month.to = Millis(sys_days((ym + std::chrono::months(1)) / 1));
  char table[32];
  std::snprintf(table, sizeof table, "events_%04d_%02u", year, number);
  month.table = table;
  return month;
}

Month MonthFromNumber(int yyyymm) {
  return MonthFrom(std::chrono::year(yyyymm / 100) / std::chrono::month(static_cast<unsigned>(yyyymm % 100)));
}

// The YYYYMM of a partition's table name, or 0 for another table (the DEFAULT partition).
int MonthOfTable(std::string_view name) {
  int year = 0;
  unsigned month = 0;
  char rest = 0;
  if (name.size() != 14 || name.substr(0, 7) != "events_") return 0;
  const std::string text(name);
  if (std::sscanf(text.c_str(), "events_%4d_%2u%c", &year, &month, &rest) != 2 || month < 1 || month > 12) return 0;
  return year * 100 + static_cast<int>(month);
}

}  // namespace

Month MonthOf(int64_t at_ms) {
  const auto day = std::chrono::floor<std::chrono::days>(
      std::chrono::sys_time<std::chrono::milliseconds>(std::chrono::milliseconds(at_ms)));
  const std::chrono::year_month_day ymd(day);
  return MonthFrom(ymd.year() / ymd.month());
}

bool MonthlyPartitions::InWindow(const Month& month) const {
  const Month now = MonthOf(core::ToUnixMillis(clock_.Now()));
  // Events may be stamped up to a day ahead: the next month is inside.
  return month.number >= now.number - kWindowYears * 100 && month.number <= MonthOf(now.to).number;
}

core::Status MonthlyPartitions::Create(store::Transaction& tx, const Month& month) {
  LOYALTY_ASSIGN_OR_RETURN(auto exists, tx.QueryOne("SELECT CASE WHEN to_regclass(CAST(?1 AS TEXT)) IS NULL "
                                                    "THEN 0 ELSE 1 END",
                                                    {month.table}));
  if (exists && exists->Int(0) == 1) return {};
  // Attaching checks that the DEFAULT partition holds no row of the month, so its rows move
  // first. The bounds are integers this code made: nothing outside is spliced into the DDL.
  const std::string from = std::to_string(month.from);
  const std::string to = std::to_string(month.to);
  return tx.ExecuteScript("CREATE TABLE " + month.table + " (LIKE events);\n"
                          "WITH moved AS (DELETE FROM events_default WHERE at >= " + from + " AND at < " + to +
                          " RETURNING *) INSERT INTO " + month.table + " SELECT * FROM moved;\n"
                          "ALTER TABLE events ATTACH PARTITION " + month.table + " FOR VALUES FROM (" + from +
                          ") TO (" + to + ")");
}

core::Status MonthlyPartitions::Prepare(store::Transaction& tx, std::vector<int>& created) {
  LOYALTY_ASSIGN_OR_RETURN(auto tables, tx.Query("SELECT CAST(c.relname AS TEXT) FROM pg_inherits i "
                                                 "JOIN pg_class c ON c.oid = i.inhrelid "
                                                 "WHERE i.inhparent = to_regclass('events')"));
  std::vector<int> existing;
  for (const auto& row : tables) {
    if (int number = MonthOfTable(row.Text(0)); number != 0) existing.push_back(number);
  }
  Remember(existing);

  const Month now = MonthOf(core::ToUnixMillis(clock_.Now()));
  std::set<int> wanted{now.number, MonthOf(now.to).number};
  const Month oldest = MonthFromNumber(now.number - kWindowYears * 100);
  LOYALTY_ASSIGN_OR_RETURN(
      auto stray, tx.Query("SELECT DISTINCT CAST(to_char(to_timestamp(at / 1000.0) AT TIME ZONE 'UTC', 'YYYYMM') "
                           "AS INTEGER) FROM events_default WHERE at >= ?1 AND at < ?2",
                           {oldest.from, MonthOf(now.to).to}));
  for (const auto& row : stray) wanted.insert(static_cast<int>(row.Int(0)));
  for (int number : wanted) {
    if (std::find(existing.begin(), existing.end(), number) != existing.end()) continue;
    LOYALTY_TRY(Create(tx, MonthFromNumber(number)));
    created.push_back(number);
  }
  return {};
}

core::Status MonthlyPartitions::Ensure(store::Transaction& tx, std::span<const int64_t> ats, std::vector<int>& created) {
  std::vector<Month> missing;
  {
    std::lock_guard lock(mutex_);
    for (int64_t at : ats) {
      Month month = MonthOf(at);
      if (known_.contains(month.number)) continue;
      if (std::any_of(missing.begin(), missing.end(), [&](const Month& m) { return m.number == month.number; })) continue;
      missing.push_back(std::move(month));
    }
  }
  for (const Month& month : missing) {
    if (!InWindow(month)) continue;  // stays in the DEFAULT partition
    LOYALTY_TRY(Create(tx, month));
    created.push_back(month.number);
  }
  return {};
}

void MonthlyPartitions::Remember(std::span<const int> months) {
  std::lock_guard lock(mutex_);
  known_.insert(months.begin(), months.end());
}

}  // namespace loyalty::events::internal
