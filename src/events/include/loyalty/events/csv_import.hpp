#pragma once
// Events out of CSV files: the mapping behind `loyalty import events` (*.csv) and `loyalty
// import transactions`. A reader yields one item at a time: an event object, to be parsed and
// ingested like any posted event, or the reason its record was refused. Files of any size
// stream in constant memory. Not thread-safe: one reader per stream.

#include <deque>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "loyalty/core/csv.hpp"
#include "loyalty/core/ids.hpp"
#include "loyalty/core/json.hpp"

namespace loyalty::events {

struct CsvItem {
  core::Result<core::Json> event;  // an event object, or why its record was refused
  size_t record = 0;               // where it starts in the file (the header is record 1)
  // Sales files create their customers as members: the member of a new purchase.
  std::optional<core::MemberId> new_member;
};

// Events written as CSV: a header naming id, type, at, member (or identifier), channel and
// properties (a JSON object in one field). Other columns are refused, so no data is silently
// dropped; an empty field is an absent one.
class EventCsvReader {
 public:
  // Reads the header: fails on an empty file or an unknown column.
  [[nodiscard]] static core::Result<std::unique_ptr<EventCsvReader>> Open(std::istream& in);
  // The next item; nullopt at the end. An error only when the file cannot be read on
  // (malformed CSV).
  [[nodiscard]] core::Result<std::optional<CsvItem>> Next();

 private:
  explicit EventCsvReader(std::istream& in) : reader_(in) {}
  core::CsvReader reader_;
  std::vector<std::string> names_;
};

// Purchases from a sales export: a header naming the customer (customer_id, member_id or
// CustomerID), the date (date or InvoiceDate: ISO 8601 or YYYYMMDD) and either an amount or
// quantity and unit price; optionally the order (order_id or InvoiceNo), sku (or StockCode),
// category and currency. Consecutive rows of one order become one purchase with several
// lines. Each row gets a stable event id, so reading the same file again yields the same ids.
class SalesCsvReader {
 public:
  // Reads the header: fails on an empty file or when the customer, date or amount columns
  // are missing. Amounts without a currency column are in `currency`.
  [[nodiscard]] static core::Result<std::unique_ptr<SalesCsvReader>> Open(std::istream& in, std::string currency);
  [[nodiscard]] core::Result<std::optional<CsvItem>> Next();

 private:
  struct Columns {
    std::optional<size_t> customer, date, amount, quantity, unit_price, order, sku, category, currency;
  };
  SalesCsvReader(std::istream& in, std::string currency) : reader_(in), currency_(std::move(currency)) {}
  // Reads one row into the open purchase, or queues what the row ends or refuses.
  void Take(const std::vector<std::string>& fields, size_t record);
  void Close();

  core::CsvReader reader_;
  std::string currency_;
  Columns columns_;
  std::deque<CsvItem> ready_;
  std::optional<CsvItem> open_;  // the purchase being assembled from consecutive rows
  std::unordered_map<uint64_t, int> seen_;  // row content hash -> occurrences (ids without an order column)
  bool finished_ = false;
};

}  // namespace loyalty::events
