#pragma once
// Purchase histories as the buy-till-you-die models see them: a transaction file read into
// purchases, then each customer summarised over a calibration period (how many repeat
// purchases, when the last one was, how long they have been a customer, what they spent) and
// counted over a holdout period that follows it.

#include <chrono>
#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "loyalty/core/error.hpp"

namespace loyalty::models {

struct Purchase {
  std::string customer;
  std::chrono::sys_days day;
  double amount = 0;
};

struct TransactionFile {
  std::vector<Purchase> purchases;
  int64_t rows = 0;     // data rows read
  int64_t returns = 0;  // rows with a negative amount: refunds, not purchases; left out
};

// Reads a CSV whose header names the customer (customer_id, member_id, CustomerID), the date
// (ISO 8601 or YYYYMMDD; a time of day is ignored) and the amount (amount, dollar_value,
// total) or quantity and unit_price; other columns are ignored. A header without commas is
// read as whitespace-separated columns (CDNOW's layout). Errors name the line and column.
[[nodiscard]] core::Result<TransactionFile> ReadTransactions(std::istream& in);

// One customer's history in time units (weeks by default).
struct CustomerHistory {
  std::string id;
  int64_t frequency = 0;          // x: repeat purchases in the calibration period
  double recency = 0;             // t_x: first purchase to the last repeat purchase (0 if none)
  double age = 0;                 // T: first purchase to the end of the calibration period
  double mean_spend = 0;          // mean value of the repeat purchases (0 if none)
  int64_t holdout_purchases = 0;  // purchases after the calibration period, up to the holdout end
};

struct SummaryOptions {
  std::chrono::sys_days calibration_end;          // last day of the calibration period
  std::optional<std::chrono::sys_days> holdout_end;  // last day of the holdout period
  double days_per_unit = 7.0;                     // 7: weeks, 1: days
};

// Summarises every customer whose first purchase falls in the calibration period. Several
// purchases by one customer on one day are one transaction (their amounts summed), as in the
// published CDNOW analyses. Customers are returned in the order of their ids.
[[nodiscard]] core::Result<std::vector<CustomerHistory>> Summarize(std::vector<Purchase> purchases,
                                                                   const SummaryOptions& options);

// Parses "1997-09-30" or "19970930" (a time of day after the date is ignored).
[[nodiscard]] core::Result<std::chrono::sys_days> ParseDay(std::string_view text);

}  // namespace loyalty::models
