#include "loyalty/events/csv_import.hpp"

#include <algorithm>
#include <charconv>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/money.hpp"

namespace loyalty::events {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;

Result<std::unique_ptr<EventCsvReader>> EventCsvReader::Open(std::istream& in) {
  std::unique_ptr<EventCsvReader> reader(new EventCsvReader(in));
  LOYALTY_ASSIGN_OR_RETURN(auto header, reader->reader_.Next());
  if (!header) return Fail(ErrorCode::kInvalidArgument, "the file is empty; it needs a header");
  for (const auto& name : *header) {
    if (name != "id" && name != "type" && name != "at" && name != "member" && name != "identifier" &&
        name != "channel" && name != "properties") {
      return Fail(ErrorCode::kInvalidArgument, "unknown column '" + name +
                                                   "'; event CSV columns are id, type, at, member or identifier, "
                                                   "channel, properties");
    }
  }
  reader->names_ = std::move(*header);
  return reader;
}

Result<std::optional<CsvItem>> EventCsvReader::Next() {
  LOYALTY_ASSIGN_OR_RETURN(auto fields, reader_.Next());
  if (!fields) return std::nullopt;
  CsvItem item{Json::object(), reader_.record(), std::nullopt};
  if (fields->size() != names_.size()) {
    item.event = Fail(ErrorCode::kInvalidArgument, "has " + std::to_string(fields->size()) +
                                                       " fields; the header has " + std::to_string(names_.size()));
    return item;
  }
  Json event = Json::object();
  for (size_t i = 0; i < names_.size(); ++i) {
    if ((*fields)[i].empty()) continue;  // an empty field is an absent one
    if (names_[i] != "properties") {
      event[names_[i]] = (*fields)[i];
      continue;
    }
    auto properties = core::ParseJson((*fields)[i]);
    if (!properties) {
      item.event = core::Wrap(properties.error(), "column properties");
      return item;
    }
    event["properties"] = std::move(*properties);
  }
  item.event = std::move(event);
  return item;
}

namespace {

// The field of `column`, trimmed of spaces and tabs; empty when the column is absent or the
// row is short.
std::string Field(const std::vector<std::string>& fields, std::optional<size_t> column) {
  if (!column || *column >= fields.size()) return "";
  const auto& value = fields[*column];
  const size_t first = value.find_first_not_of(" \t");
  return first == std::string::npos ? "" : value.substr(first, value.find_last_not_of(" \t") - first + 1);
}

}  // namespace

Result<std::unique_ptr<SalesCsvReader>> SalesCsvReader::Open(std::istream& in, std::string currency) {
  std::unique_ptr<SalesCsvReader> reader(new SalesCsvReader(in, std::move(currency)));
  LOYALTY_ASSIGN_OR_RETURN(auto names, reader->reader_.Next());
  if (!names) return Fail(ErrorCode::kInvalidArgument, "the file is empty; it needs a header");
  const core::CsvHeader header(std::move(*names));
  Columns& c = reader->columns_;
  c.customer = header.Find({"customer_id", "member_id", "customer"});
  c.date = header.Find({"date", "invoice_date", "occurred_at", "at"});
  c.amount = header.Find({"amount", "dollar_value", "total", "value"});
  c.quantity = header.Find({"quantity", "qty", "number_of_cds"});
  c.unit_price = header.Find({"unit_price", "price"});
  c.order = header.Find({"order_id", "invoice_no", "order", "invoice"});
  c.sku = header.Find({"sku", "stock_code", "product_id"});
  c.category = header.Find({"category"});
  c.currency = header.Find({"currency"});
  if (!c.customer || !c.date) {
    return Fail(ErrorCode::kInvalidArgument, "the header needs a customer_id (or member_id) and a date column");
  }
  if (!c.amount && !c.unit_price) {
    return Fail(ErrorCode::kInvalidArgument, "the header needs an amount column, or quantity and unit_price");
  }
  return reader;
}

Result<std::optional<CsvItem>> SalesCsvReader::Next() {
  while (ready_.empty() && !finished_) {
    LOYALTY_ASSIGN_OR_RETURN(auto fields, reader_.Next());
    if (fields) {
      Take(*fields, reader_.record());
    } else {
      Close();
      finished_ = true;
    }
  }
  if (ready_.empty()) return std::nullopt;
  CsvItem item = std::move(ready_.front());
  ready_.pop_front();
  return item;
}

void SalesCsvReader::Close() {
  if (!open_) return;
  ready_.push_back(std::move(*open_));
  open_.reset();
}

void SalesCsvReader::Take(const std::vector<std::string>& fields, size_t record) {
  auto refuse = [&](std::string reason) {
    Close();
    ready_.push_back(CsvItem{Fail(ErrorCode::kInvalidArgument, std::move(reason)), record, std::nullopt});
  };
  const Columns& c = columns_;
  const std::string who = Field(fields, c.customer);
  auto member = core::MemberId::Parse(who);
  if (!member) return refuse("customer: " + member.error().message);
  const std::string date = Field(fields, c.date);
  auto at = core::ParseTimestamp(date);
  if (!at) return refuse("date: " + at.error().message);
  const std::string quantity_text = Field(fields, c.quantity);
  int64_t quantity = 1;
  if (!quantity_text.empty()) {
    const char* end = quantity_text.data() + quantity_text.size();
    auto [ptr, ec] = std::from_chars(quantity_text.data(), end, quantity);
    if (ec != std::errc() || ptr != end) return refuse("quantity '" + quantity_text + "' is not a whole number");
  }
  const std::string price = c.unit_price ? Field(fields, c.unit_price) : Field(fields, c.amount);
  if (!c.unit_price) quantity = 1;  // the amount is the line's total
  const std::string row_currency = Field(fields, c.currency);
  auto money = core::Money::Parse(price, row_currency.empty() ? currency_ : row_currency);
  if (!money) return refuse(std::string(c.unit_price ? "unit_price" : "amount") + ": " + money.error().message);
  if (quantity <= 0 || money->minor_units() <= 0) {
    return refuse("a zero or negative quantity or amount is not a sale (returns are imported as return events)");
  }
  const std::string order_text = Field(fields, c.order);
  std::string order_id = order_text;
  if (order_text.empty()) {
    // The same row twice in a file is two sales: the count of its repeats is in the id.
    const uint64_t key = core::StableHash64(who + "|" + date + "|" + price + "|" + quantity_text);
    order_id = "txn-" + who + "-" + std::to_string(key % 1000000007ULL) + "-" + std::to_string(++seen_[key]);
  }
  const std::string sku = Field(fields, c.sku);
  Json line{{"sku", sku.empty() ? "ITEM" : sku}, {"quantity", quantity}, {"unit_price", price}};
  if (const std::string category = Field(fields, c.category); !category.empty()) line["category"] = category;
  const bool continues = open_ && !order_text.empty() && (*open_->event)["properties"]["order"] == order_id &&
                         (*open_->event)["member"] == who;
  if (!continues) {
    Close();
    Json purchase{{"id", "order:" + order_id},
                  {"type", "purchase"},
                  {"at", core::FormatTimestamp(*at)},
                  {"member", who},
                  {"channel", "pos"},
                  {"properties", {{"order", order_id}, {"lines", Json::array()}}}};
    if (!row_currency.empty()) purchase["properties"]["currency"] = row_currency;
    open_ = CsvItem{std::move(purchase), record, *member};
  }
  (*open_->event)["properties"]["lines"].push_back(std::move(line));
}

}  // namespace loyalty::events
