#pragma once
// PostgreSQL only: the event log's `events` table is partitioned by month of `at`
// (events_YYYY_MM, UTC months) with a DEFAULT partition for the rest. Scans by time read only
// the months they cover, and an old month can be dumped or moved on its own.
//
// Months are created before rows reach them: at open (this month and the next), and by an
// append that brings a month not seen yet. A month whose rows already sit in the DEFAULT
// partition (a log from before partitioning, or months outside the window below) is split out
// of it: its rows move into a new table that is then attached. Every step runs in a write
// transaction, so nodes creating the same month serialise on the store's write lock.

#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "loyalty/core/clock.hpp"
#include "loyalty/store/database.hpp"

namespace loyalty::events::internal {

struct Month {
  int number = 0;      // YYYYMM
  int64_t from = 0;    // first millisecond (UTC)
  int64_t to = 0;      // first millisecond of the next month
  std::string table;   // events_YYYY_MM
};

// The UTC month holding `at_ms`.
Month MonthOf(int64_t at_ms);

class MonthlyPartitions {
 public:
  explicit MonthlyPartitions(const core::Clock& clock) : clock_(clock) {}

  // At open: learns the months that exist, creates this month and the next, and splits out of
  // the DEFAULT partition every month of the window it holds rows of; adds the months it
  // created to `created`, to Remember once the transaction commits.
  [[nodiscard]] core::Status Prepare(store::Transaction& tx, std::vector<int>& created);
  // Inside an append's transaction: creates the months of `ats` (inside the window) that have
  // no partition yet and adds them to `created`, to Remember once the transaction commits.
  [[nodiscard]] core::Status Ensure(store::Transaction& tx, std::span<const int64_t> ats, std::vector<int>& created);
  void Remember(std::span<const int> months);

 private:
  // Months older than this many years share the DEFAULT partition: a stray import of ancient
  // timestamps must not create hundreds of tables.
  static constexpr int kWindowYears = 30;
  bool InWindow(const Month& month) const;
  core::Status Create(store::Transaction& tx, const Month& month);

  const core::Clock& clock_;
  std::mutex mutex_;
  std::set<int> known_;  // YYYYMM of the partitions known to exist (committed)
};

}  // namespace loyalty::events::internal
