#include "loyalty/models/purchase_history.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/csv.hpp"

namespace loyalty::models {

using core::ErrorCode;
using core::Fail;
using core::Result;

namespace {

std::string_view Trim(std::string_view v) {
  const size_t a = v.find_first_not_of(" \t\r");
  if (a == std::string_view::npos) return {};
  return v.substr(a, v.find_last_not_of(" \t\r") - a + 1);
}

std::vector<std::string> SplitWhitespace(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  std::string token;
  while (in >> token) out.push_back(token);
  return out;
}

Result<double> ParseNumber(std::string_view text) {
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(value)) {
    return Fail(ErrorCode::kInvalidArgument, "'" + std::string(text) + "' is not a number");
  }
  return value;
}

struct Columns {
  size_t customer = 0;
  size_t date = 0;
  std::optional<size_t> amount;
  std::optional<size_t> quantity;
  std::optional<size_t> unit_price;
};

Result<Columns> FindColumns(const std::vector<std::string>& names) {
  const core::CsvHeader header(names);
  const auto customer = header.Find({"customer_id", "member_id", "customer"});
  const auto date = header.Find({"date", "invoice_date", "occurred_at"});
  if (!customer || !date) {
    return Fail(ErrorCode::kInvalidArgument, "line 1: the header needs a customer_id and a date column");
  }
  Columns c{*customer, *date, header.Find({"amount", "dollar_value", "total", "value"}),
            header.Find({"quantity", "qty"}), header.Find({"unit_price", "price"})};
  if (!c.amount && !(c.quantity && c.unit_price)) {
    return Fail(ErrorCode::kInvalidArgument, "line 1: the header needs an amount column, or quantity and unit_price");
  }
  return c;
}

// One data row into `file`; errors name the line and the column.
core::Status AddRow(const std::vector<std::string>& fields, const Columns& c, size_t line, TransactionFile& file) {
  auto at = [&](size_t column, std::string_view name) -> Result<std::string_view> {
    if (column >= fields.size()) {
      return Fail(ErrorCode::kInvalidArgument, "line " + std::to_string(line) + ", column " +
                                                   std::to_string(column + 1) + " (" + std::string(name) +
                                                   "): missing; the row has " + std::to_string(fields.size()) +
                                                   " columns");
    }
    return Trim(fields[column]);
  };
  auto problem = [&](size_t column, std::string_view name, const std::string& what) {
    return Fail(ErrorCode::kInvalidArgument, "line " + std::to_string(line) + ", column " + std::to_string(column + 1) +
                                                 " (" + std::string(name) + "): " + what);
  };
  ++file.rows;
  LOYALTY_ASSIGN_OR_RETURN(auto customer, at(c.customer, "customer_id"));
  if (customer.empty()) return problem(c.customer, "customer_id", "empty; every row needs a customer");
  LOYALTY_ASSIGN_OR_RETURN(auto date_text, at(c.date, "date"));
  auto day = ParseDay(date_text);
  if (!day) return problem(c.date, "date", day.error().message);
  double amount = 0;
  if (c.amount) {
    LOYALTY_ASSIGN_OR_RETURN(auto text, at(*c.amount, "amount"));
    auto value = ParseNumber(text);
    if (!value) return problem(*c.amount, "amount", value.error().message);
    amount = *value;
  } else {
    LOYALTY_ASSIGN_OR_RETURN(auto qty_text, at(*c.quantity, "quantity"));
    auto qty = ParseNumber(qty_text);
    if (!qty) return problem(*c.quantity, "quantity", qty.error().message);
    LOYALTY_ASSIGN_OR_RETURN(auto price_text, at(*c.unit_price, "unit_price"));
    auto price = ParseNumber(price_text);
    if (!price) return problem(*c.unit_price, "unit_price", price.error().message);
    amount = *qty * *price;
  }
  if (amount < 0) {
    ++file.returns;
    return {};
  }
  file.purchases.push_back(Purchase{std::string(customer), *day, amount});
  return {};
}

}  // namespace

Result<std::chrono::sys_days> ParseDay(std::string_view text) {
  text = Trim(text);
  // Keep the date of a "date time" value; ParseTimestamp reads the date forms.
  const size_t space = text.find_first_of(" T");
  auto at = core::ParseTimestamp(space == std::string_view::npos ? text : text.substr(0, space));
  if (!at) {
    return Fail(ErrorCode::kInvalidArgument, "'" + std::string(text) + "' is not a date (use 1997-09-30 or 19970930)");
  }
  return std::chrono::floor<std::chrono::days>(*at);
}

Result<TransactionFile> ReadTransactions(std::istream& in) {
  TransactionFile file;
  std::string first;
  while (std::getline(in, first) && Trim(first).empty()) {
  }
  if (Trim(first).empty()) return Fail(ErrorCode::kInvalidArgument, "the file is empty; it needs a header");
  if (first.find(',') == std::string::npos) {
    // Whitespace-separated columns.
    LOYALTY_ASSIGN_OR_RETURN(auto columns, FindColumns(SplitWhitespace(first)));
    std::string line;
    size_t line_no = 1;
    while (std::getline(in, line)) {
      ++line_no;
      if (Trim(line).empty()) continue;
      LOYALTY_TRY(AddRow(SplitWhitespace(line), columns, line_no, file));
    }
    return file;
  }
  // CSV: hand the header line back to the reader through a joined stream view.
  std::istringstream header_stream(first + "\n");
  core::CsvReader header_reader(header_stream);
  LOYALTY_ASSIGN_OR_RETURN(auto names, header_reader.Next());
  if (!names) return Fail(ErrorCode::kInvalidArgument, "the file is empty; it needs a header");
  LOYALTY_ASSIGN_OR_RETURN(auto columns, FindColumns(*names));
  core::CsvReader reader(in);
  while (true) {
    auto record = reader.Next();
    if (!record) return Fail(ErrorCode::kInvalidArgument, "line " + std::to_string(reader.record() + 1) + ": " +
                                                              record.error().message);
    if (!*record) break;
    const auto& fields = **record;
    if (fields.size() == 1 && Trim(fields[0]).empty()) continue;
    LOYALTY_TRY(AddRow(fields, columns, reader.record() + 1, file));
  }
  return file;
}

Result<std::vector<CustomerHistory>> Summarize(std::vector<Purchase> purchases, const SummaryOptions& options) {
  if (!(options.days_per_unit > 0)) return Fail(ErrorCode::kInvalidArgument, "the time unit must be positive");
  if (options.holdout_end && *options.holdout_end <= options.calibration_end) {
    return Fail(ErrorCode::kInvalidArgument, "the holdout end must come after the calibration end");
  }
  std::sort(purchases.begin(), purchases.end(), [](const Purchase& l, const Purchase& r) {
    return std::tie(l.customer, l.day) < std::tie(r.customer, r.day);
  });
  const auto cal_end = options.calibration_end;
  const auto hold_end = options.holdout_end.value_or(cal_end);
  const double unit = options.days_per_unit;
  std::vector<CustomerHistory> out;
  for (size_t i = 0; i < purchases.size();) {
    size_t j = i;
    while (j < purchases.size() && purchases[j].customer == purchases[i].customer) ++j;
    const auto first = purchases[i].day;
    if (first <= cal_end) {
      CustomerHistory h;
      h.id = purchases[i].customer;
      h.age = static_cast<double>((cal_end - first).count()) / unit;
      double repeat_spend = 0;
      for (size_t k = i; k < j;) {  // one transaction per day
        size_t e = k;
        double spend = 0;
        while (e < j && purchases[e].day == purchases[k].day) spend += purchases[e++].amount;
        const auto day = purchases[k].day;
        if (day != first && day <= cal_end) {
          ++h.frequency;
          h.recency = static_cast<double>((day - first).count()) / unit;
          repeat_spend += spend;
        } else if (day > cal_end && day <= hold_end) {
          ++h.holdout_purchases;
        }
        k = e;
      }
      if (h.frequency > 0) h.mean_spend = repeat_spend / static_cast<double>(h.frequency);
      out.push_back(std::move(h));
    }
    i = j;
  }
  if (out.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "no customer made a first purchase on or before the calibration end");
  }
  return out;
}

}  // namespace loyalty::models
