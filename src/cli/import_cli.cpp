#include "import_cli.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <unordered_map>

#include "loyalty/core/csv.hpp"

namespace loyalty::cli {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;

namespace {

constexpr size_t kBatch = 1000;
constexpr size_t kRejectionsShown = 20;

// A batch of events on its way to the ingestor, each with where it came from in the file.
struct Batch {
  std::vector<Result<Json>> items;
  std::vector<size_t> origins;  // line (NDJSON), record (CSV) or position (JSON array), from 1
  std::vector<core::MemberId> members;  // created before the batch is ingested (transactions)

  void Add(Result<Json> item, size_t origin) {
    items.push_back(std::move(item));
    origins.push_back(origin);
  }
};

struct ImportTotals {
  engine::IngestReport report;  // rejections carry their origin in the file
  size_t read = 0;
  // For the progress bar: the file being read and its size, or a known fraction done.
  std::istream* in = nullptr;
  double file_bytes = 0;
  double fraction = -1;
};

// Ingests one batch and folds its report into the totals, turning indexes into file positions.
core::Status IngestBatch(Context& context, Batch& batch, ImportTotals& totals) {
  if (batch.items.empty()) return {};
  if (!batch.members.empty()) LOYALTY_TRY(context.ledger().CreateMembers(batch.members));
  LOYALTY_ASSIGN_OR_RETURN(auto report, context.ingestor().Ingest(batch.items));
  totals.report.accepted += report.accepted;
  totals.report.duplicates += report.duplicates;
  totals.report.rejected += report.rejected;
  for (auto& r : report.rejections) {
    r.index = batch.origins[r.index];
    totals.report.rejections.push_back(std::move(r));
  }
  totals.read += batch.items.size();
  batch = Batch{};
  return {};
}

// A progress bar on stderr when it is a terminal: how much of the file is read, and the counts.
void Progress(const ImportTotals& totals, bool done) {
  if (!isatty(STDERR_FILENO)) return;
  double fraction = totals.fraction;
  if (done) {
    fraction = 1;
  } else if (fraction < 0 && totals.in != nullptr && totals.file_bytes > 0) {
    const auto position = totals.in->tellg();
    fraction = position < 0 ? 1 : static_cast<double>(position) / totals.file_bytes;
  }
  fraction = std::clamp(fraction, 0.0, 1.0);
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(fraction * kWidth);
  std::cerr << "\r[" << std::string(filled, '#') << std::string(kWidth - filled, '.') << "] " << std::setw(3)
            << static_cast<int>(fraction * 100) << "% " << totals.read << " events (" << totals.report.accepted
            << " new, " << totals.report.duplicates << " duplicate, " << totals.report.rejected << " rejected)"
            << (done ? "\n" : "") << std::flush;
}

ImportTotals TotalsFor(std::istream& in, const std::string& path) {
  ImportTotals totals;
  totals.in = &in;
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  totals.file_bytes = ec ? 0 : static_cast<double>(size);
  return totals;
}

// Prints the summary and the first rejections; partial success exits non-zero.
int Report(const GlobalOptions& options, const ImportTotals& totals, const std::string& path,
           std::string_view position_word) {
  const auto& r = totals.report;
  std::string text = "imported " + std::to_string(totals.read) + " events from " + path + ": " +
                     std::to_string(r.accepted) + " new, " + std::to_string(r.duplicates) + " duplicate, " +
                     std::to_string(r.rejected) + " rejected";
  PrintResult(options, engine::ToJson(r), text);
  if (r.rejected > 0 && !options.json) {
    for (size_t i = 0; i < r.rejections.size() && i < kRejectionsShown; ++i) {
      const auto& rejection = r.rejections[i];
      std::cerr << "rejected " << position_word << " " << rejection.index
                << (rejection.id.empty() ? "" : " (" + rejection.id + ")") << ": " << rejection.reason << "\n";
    }
    if (r.rejections.size() > kRejectionsShown) {
      std::cerr << "... and " << r.rejections.size() - kRejectionsShown << " more (use --json for all)\n";
    }
  }
  // Partial success: the valid events are in; a non-zero exit says some were not.
  return r.rejected > 0 ? core::ExitCode(ErrorCode::kInvalidArgument) : 0;
}

bool IsCsv(const std::string& path) {
  return path.size() > 4 && (path.ends_with(".csv") || path.ends_with(".CSV"));
}

// Events as CSV: a header naming id, type, at, member (or identifier), channel and properties
// (a JSON object in one field); other columns are refused so no data is silently dropped.
core::Status ReadCsvEvents(std::istream& in, Context& context, ImportTotals& totals) {
  core::CsvReader reader(in);
  LOYALTY_ASSIGN_OR_RETURN(auto header_fields, reader.Next());
  if (!header_fields) return Fail(ErrorCode::kInvalidArgument, "the file is empty; it needs a header");
  const std::vector<std::string> names = *header_fields;
  for (const auto& name : names) {
    if (name != "id" && name != "type" && name != "at" && name != "member" && name != "identifier" &&
        name != "channel" && name != "properties") {
      return Fail(ErrorCode::kInvalidArgument, "unknown column '" + name +
                                                   "'; event CSV columns are id, type, at, member or identifier, "
                                                   "channel, properties");
    }
  }
  Batch batch;
  while (true) {
    LOYALTY_ASSIGN_OR_RETURN(auto fields, reader.Next());
    if (!fields) break;
    if (fields->size() != names.size()) {
      batch.Add(Fail(ErrorCode::kInvalidArgument, "has " + std::to_string(fields->size()) + " fields; the header has " +
                                                      std::to_string(names.size())),
                reader.record());
    } else {
      Json event = Json::object();
      Result<Json> item = event;
      for (size_t i = 0; i < names.size() && item; ++i) {
        if ((*fields)[i].empty()) continue;  // an empty field is an absent one
        if (names[i] == "properties") {
          auto props = core::ParseJson((*fields)[i]);
          if (!props) {
            item = core::Wrap(props.error(), "column properties");
            break;
          }
          event["properties"] = std::move(*props);
        } else {
          event[names[i]] = (*fields)[i];
        }
      }
      if (item) item = std::move(event);
      batch.Add(std::move(item), reader.record());
    }
    if (batch.items.size() == kBatch) {
      LOYALTY_TRY(IngestBatch(context, batch, totals));
      Progress(totals, false);
    }
  }
  return IngestBatch(context, batch, totals);
}

int ImportEvents(const GlobalOptions& options, Context& context, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return PrintError({ErrorCode::kInvalidArgument, "cannot read '" + path + "'"});

  ImportTotals totals = TotalsFor(in, path);
  Batch batch;
  std::string_view position_word = "line";
  if (IsCsv(path)) {
    position_word = "record";
    if (auto s = ReadCsvEvents(in, context, totals); !s) return PrintError(core::Wrap(s.error(), path).error());
  } else if (in.peek() == '[') {
    position_word = "event";
    std::stringstream whole;
    whole << in.rdbuf();
    auto array = core::ParseJsonFast(whole.str());
    if (!array) return PrintError(core::Wrap(array.error(), path).error());
    size_t position = 0;
    for (auto& item : *array) {
      batch.Add(std::move(item), ++position);
      if (batch.items.size() == kBatch) {
        if (auto s = IngestBatch(context, batch, totals); !s) return PrintError(s.error());
        totals.fraction = static_cast<double>(position) / static_cast<double>(array->size());
        Progress(totals, false);
      }
    }
  } else {
    std::string line;
    size_t line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      batch.Add(core::ParseJsonFast(line), line_no);  // the report names the line
      if (batch.items.size() == kBatch) {
        if (auto s = IngestBatch(context, batch, totals); !s) return PrintError(s.error());
        Progress(totals, false);
      }
    }
  }
  if (auto s = IngestBatch(context, batch, totals); !s) return PrintError(s.error());
  Progress(totals, true);
  return Report(options, totals, path, position_word);
}

// Purchases from a sales export: a CSV with a header naming the customer (customer_id,
// member_id or CustomerID), the date (date or InvoiceDate: ISO 8601 or YYYYMMDD) and either
// an amount or quantity and unit price; optionally the order (order_id or InvoiceNo), sku
// (or StockCode), category and currency. Consecutive rows of one order become one purchase
// with several lines; customers are created as needed. Each row gets a stable event id, so
// importing the same file again adds nothing.
core::Status ReadTransactions(std::istream& in, Context& context, ImportTotals& totals) {
  core::CsvReader reader(in);
  LOYALTY_ASSIGN_OR_RETURN(auto header_fields, reader.Next());
  if (!header_fields) return Fail(ErrorCode::kInvalidArgument, "the file is empty; it needs a header");
  const core::CsvHeader header(*header_fields);
  const auto customer = header.Find({"customer_id", "member_id", "customer"});
  const auto date = header.Find({"date", "invoice_date", "occurred_at", "at"});
  const auto amount = header.Find({"amount", "dollar_value", "total", "value"});
  const auto quantity = header.Find({"quantity", "qty", "number_of_cds"});
  const auto unit_price = header.Find({"unit_price", "price"});
  const auto order = header.Find({"order_id", "invoice_no", "order", "invoice"});
  const auto sku = header.Find({"sku", "stock_code", "product_id"});
  const auto category = header.Find({"category"});
  const auto currency = header.Find({"currency"});
  if (!customer || !date) {
    return Fail(ErrorCode::kInvalidArgument, "the header needs a customer_id (or member_id) and a date column");
  }
  if (!amount && !unit_price) {
    return Fail(ErrorCode::kInvalidArgument, "the header needs an amount column, or quantity and unit_price");
  }
  Batch batch;
  std::unordered_map<uint64_t, int> seen;  // row content hash -> occurrences: stable ids without an order column
  std::optional<Json> open;         // the purchase being assembled from consecutive rows
  size_t open_record = 0;
  auto close = [&]() -> core::Status {
    if (!open) return {};
    batch.Add(std::move(*open), open_record);
    open.reset();
    if (batch.items.size() >= kBatch) {
      LOYALTY_TRY(IngestBatch(context, batch, totals));
      Progress(totals, false);
    }
    return {};
  };
  auto field = [](const std::vector<std::string>& f, std::optional<size_t> column) -> std::string {
    if (!column || *column >= f.size()) return "";
    const auto& v = f[*column];
    const size_t a = v.find_first_not_of(" \t");
    return a == std::string::npos ? "" : v.substr(a, v.find_last_not_of(" \t") - a + 1);
  };
  while (true) {
    LOYALTY_ASSIGN_OR_RETURN(auto fields, reader.Next());
    if (!fields) break;
    const size_t record = reader.record();
    auto reject = [&](std::string reason) -> core::Status {
      LOYALTY_TRY(close());
      batch.Add(Fail(ErrorCode::kInvalidArgument, std::move(reason)), record);
      return {};
    };
    const std::string who = field(*fields, customer);
    auto member = core::MemberId::Parse(who);
    if (!member) {
      LOYALTY_TRY(reject("customer: " + member.error().message));
      continue;
    }
    auto at = core::ParseTimestamp(field(*fields, date));
    if (!at) {
      LOYALTY_TRY(reject("date: " + at.error().message));
      continue;
    }
    std::string qty_text = field(*fields, quantity);
    int64_t qty = 1;
    if (!qty_text.empty()) {
      auto [ptr, ec] = std::from_chars(qty_text.data(), qty_text.data() + qty_text.size(), qty);
      if (ec != std::errc() || ptr != qty_text.data() + qty_text.size()) {
        LOYALTY_TRY(reject("quantity '" + qty_text + "' is not a whole number"));
        continue;
      }
    }
    std::string price = unit_price ? field(*fields, unit_price) : field(*fields, amount);
    if (!unit_price) qty = 1;  // the amount is the line's total
    const std::string row_currency = field(*fields, currency);
    auto money = core::Money::Parse(price, row_currency.empty() ? std::string(context.ledger().config().currency.code)
                                                                : row_currency);
    if (!money) {
      LOYALTY_TRY(reject(std::string(unit_price ? "unit_price" : "amount") + ": " + money.error().message));
      continue;
    }
    if (qty <= 0 || money->minor_units() <= 0) {
      LOYALTY_TRY(reject("a zero or negative quantity or amount is not a sale (returns are imported as return "
                         "events)"));
      continue;
    }
    const std::string order_text = field(*fields, order);
    std::string order_id;
    if (order_text.empty()) {
      const uint64_t key = core::StableHash64(who + "|" + field(*fields, date) + "|" + price + "|" + qty_text);
      order_id = "txn-" + who + "-" + std::to_string(key % 1000000007ULL) + "-" + std::to_string(++seen[key]);
    } else {
      order_id = order_text;
    }
    Json line{{"sku", field(*fields, sku).empty() ? "ITEM" : field(*fields, sku)},
              {"quantity", qty},
              {"unit_price", price}};
    if (!field(*fields, category).empty()) line["category"] = field(*fields, category);
    const bool continues = open && !order_text.empty() && (*open)["properties"]["order"] == order_id &&
                           (*open)["member"] == who;
    if (!continues) {
      LOYALTY_TRY(close());
      open = Json{{"id", "order:" + order_id},
                  {"type", "purchase"},
                  {"at", core::FormatTimestamp(*at)},
                  {"member", who},
                  {"channel", "pos"},
                  {"properties", {{"order", order_id}, {"lines", Json::array()}}}};
      if (!field(*fields, currency).empty()) (*open)["properties"]["currency"] = field(*fields, currency);
      open_record = record;
      batch.members.push_back(*member);
    }
    (*open)["properties"]["lines"].push_back(std::move(line));
  }
  LOYALTY_TRY(close());
  return IngestBatch(context, batch, totals);
}

int ImportTransactions(const GlobalOptions& options, Context& context, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return PrintError({ErrorCode::kInvalidArgument, "cannot read '" + path + "'"});
  ImportTotals totals = TotalsFor(in, path);
  if (auto s = ReadTransactions(in, context, totals); !s) return PrintError(core::Wrap(s.error(), path).error());
  Progress(totals, true);
  return Report(options, totals, path, "record");
}

// Reads a CSV with a header that names a member_id column (other columns are ignored).
int ImportMembers(const GlobalOptions& options, Context& context, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return PrintError({ErrorCode::kInvalidArgument, "cannot read '" + path + "'"});
  std::string header;
  std::getline(in, header);
  if (!header.empty() && header.back() == '\r') header.pop_back();
  std::vector<std::string> columns;
  std::stringstream header_in(header);
  for (std::string column; std::getline(header_in, column, ',');) columns.push_back(column);
  const auto it = std::find(columns.begin(), columns.end(), "member_id");
  if (it == columns.end()) {
    return PrintError({ErrorCode::kInvalidArgument, path + ": the header has no member_id column"});
  }
  const size_t column = static_cast<size_t>(it - columns.begin());

  std::vector<core::MemberId> batch;
  int64_t created = 0;
  auto flush = [&]() -> core::Status {
    LOYALTY_TRY(context.ledger().CreateMembers(batch));
    created += static_cast<int64_t>(batch.size());
    batch.clear();
    if (isatty(STDERR_FILENO)) std::cerr << "\rimported " << created << " members" << std::flush;
    return {};
  };
  std::string line;
  size_t line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::stringstream fields(line);
    std::string field;
    for (size_t i = 0; i <= column && std::getline(fields, field, ','); ++i) {
    }
    auto id = core::MemberId::Parse(field);
    if (!id) return PrintError(core::Wrap(id.error(), path + ":" + std::to_string(line_no)).error());
    batch.push_back(*id);
    if (batch.size() == kBatch) {
      if (auto s = flush(); !s) return PrintError(s.error());
    }
  }
  if (auto s = flush(); !s) return PrintError(s.error());
  if (isatty(STDERR_FILENO)) std::cerr << "\n";
  return PrintResult(options, Json{{"members", created}},
                     "imported " + std::to_string(created) + " members from " + path);
}

// Opens the store, imports, and records the import in the audit trail whatever its outcome
// (status 200 when every record was kept, else 400 with the exit code as the reason).
int AuditedImport(const GlobalOptions& options, std::string action, const std::string& path,
                  int (*import)(const GlobalOptions&, Context&, const std::string&)) {
  auto context = Context::Open(options);
  if (!context) return PrintError(context.error());
  const int code = import(options, **context, path);
  ChangeRecord& change = (*context)->change();
  change.target = path;
  if (code != 0) change.reason = "exit code " + std::to_string(code);
  if (auto recorded = RecordChange(options, **context, action, code == 0 ? 200 : 400, "exit code " + std::to_string(code));
      !recorded) {
    return PrintError(recorded.error());
  }
  return code;
}

}  // namespace

void AddImportCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run) {
  CLI::App* import = app.add_subcommand("import", "Load data files into the store");
  import->require_subcommand(1);
  auto path = std::make_shared<std::string>();
  CLI::App* events = import->add_subcommand(
      "events",
      "Events from NDJSON (one per line), a JSON array, or CSV (*.csv: id, type, at, member or identifier, channel, "
      "properties as JSON); invalid events are reported, valid ones kept");
  events->add_option("file", *path, "The file to read")->required();
  events->callback([&options, &run, path] { run = [&options, path] { return AuditedImport(options, "import events", *path, ImportEvents); }; });
  CLI::App* members = import->add_subcommand(
      "members", "Members from CSV with a header naming a member_id column (existing members are kept)");
  members->add_option("file", *path, "The file to read")->required();
  members->callback([&options, &run, path] { run = [&options, path] { return AuditedImport(options, "import members", *path, ImportMembers); }; });
  CLI::App* transactions = import->add_subcommand(
      "transactions",
      "Purchases from a sales CSV (customer_id, date, amount or quantity and unit_price; optional order_id, sku, "
      "category, currency); customers are created as needed, re-imports add nothing");
  transactions->add_option("file", *path, "The file to read")->required();
  transactions->callback(
      [&options, &run, path] { run = [&options, path] { return AuditedImport(options, "import transactions", *path, ImportTransactions); }; });
}

}  // namespace loyalty::cli
