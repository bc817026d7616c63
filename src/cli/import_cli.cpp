#include "import_cli.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "loyalty/core/csv.hpp"
#include "loyalty/events/csv_import.hpp"

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

// Feeds the items of a CSV reader (events or sales) to the ingestor a batch at a time.
template <typename Reader>
core::Status IngestCsv(Reader& reader, Context& context, ImportTotals& totals) {
  Batch batch;
  while (true) {
    LOYALTY_ASSIGN_OR_RETURN(auto item, reader.Next());
    if (!item) break;
    if (item->new_member) batch.members.push_back(*item->new_member);
    batch.Add(std::move(item->event), item->record);
    if (batch.items.size() >= kBatch) {
      LOYALTY_TRY(IngestBatch(context, batch, totals));
      Progress(totals, false);
    }
  }
  return IngestBatch(context, batch, totals);
}

core::Status ReadCsvEvents(std::istream& in, Context& context, ImportTotals& totals) {
  LOYALTY_ASSIGN_OR_RETURN(auto reader, events::EventCsvReader::Open(in));
  return IngestCsv(*reader, context, totals);
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

// Purchases from a sales export (see events::SalesCsvReader); customers are created as needed.
core::Status ReadTransactions(std::istream& in, Context& context, ImportTotals& totals) {
  LOYALTY_ASSIGN_OR_RETURN(auto reader,
                           events::SalesCsvReader::Open(in, std::string(context.ledger().config().currency.code)));
  return IngestCsv(*reader, context, totals);
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
  core::CsvReader reader(in);
  auto header = reader.Next();
  if (!header) return PrintError(core::Wrap(header.error(), path).error());
  if (!*header) return PrintError({ErrorCode::kInvalidArgument, path + ": the file is empty; it needs a header"});
  const auto column = core::CsvHeader(**header).Find({"member_id"});
  if (!column) return PrintError({ErrorCode::kInvalidArgument, path + ": the header has no member_id column"});

  std::vector<core::MemberId> batch;
  int64_t created = 0;
  auto flush = [&]() -> core::Status {
    LOYALTY_TRY(context.ledger().CreateMembers(batch));
    created += static_cast<int64_t>(batch.size());
    batch.clear();
    if (isatty(STDERR_FILENO)) std::cerr << "\rimported " << created << " members" << std::flush;
    return {};
  };
  while (true) {
    auto fields = reader.Next();
    if (!fields) return PrintError(core::Wrap(fields.error(), path).error());
    if (!*fields) break;
    const std::string where = path + ": record " + std::to_string(reader.record());
    if (**fields == std::vector<std::string>{""}) continue;  // a blank line
    if (*column >= (*fields)->size()) {
      return PrintError({ErrorCode::kInvalidArgument, where + " has no member_id field"});
    }
    auto id = core::MemberId::Parse((**fields)[*column]);
    if (!id) return PrintError(core::Wrap(id.error(), where).error());
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
