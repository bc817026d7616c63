#include "import_cli.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

namespace loyalty::cli {

using core::ErrorCode;
using core::Json;
using core::Result;

namespace {

constexpr size_t kBatch = 1000;
constexpr size_t kRejectionsShown = 20;

struct ImportTotals {
  engine::IngestReport report;  // rejections carry their index in the file
  size_t read = 0;
};

// Ingests one batch and folds its report into the totals, shifting indexes to file positions.
core::Status IngestBatch(engine::Ingestor& ingestor, std::vector<Result<Json>>& batch, ImportTotals& totals) {
  if (batch.empty()) return {};
  LOYALTY_ASSIGN_OR_RETURN(auto report, ingestor.Ingest(batch));
  totals.report.accepted += report.accepted;
  totals.report.duplicates += report.duplicates;
  totals.report.rejected += report.rejected;
  for (auto& r : report.rejections) {
    r.index += totals.read;
    totals.report.rejections.push_back(std::move(r));
  }
  totals.read += batch.size();
  batch.clear();
  return {};
}

void Progress(const ImportTotals& totals, bool done) {
  if (!isatty(STDERR_FILENO)) return;
  std::cerr << "\rimported " << totals.read << " events (" << totals.report.accepted << " new, "
            << totals.report.duplicates << " duplicate, " << totals.report.rejected << " rejected)"
            << (done ? "\n" : "") << std::flush;
}

int RunImportEvents(const GlobalOptions& options, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return PrintError({ErrorCode::kInvalidArgument, "cannot read '" + path + "'"});
  auto context = Context::Open(options);
  if (!context) return PrintError(context.error());
  engine::Ingestor& ingestor = (*context)->ingestor();

  ImportTotals totals;
  std::vector<Result<Json>> batch;
  const int first = in.peek();
  if (first == '[') {
    std::stringstream whole;
    whole << in.rdbuf();
    auto array = core::ParseJson(whole.str());
    if (!array) return PrintError(core::Wrap(array.error(), path).error());
    for (auto& item : *array) {
      batch.emplace_back(std::move(item));
      if (batch.size() == kBatch) {
        if (auto s = IngestBatch(ingestor, batch, totals); !s) return PrintError(s.error());
        Progress(totals, false);
      }
    }
  } else {
    std::string line;
    size_t line_no = 0;
    while (std::getline(in, line)) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      batch.push_back(engine::Ingestor::ParseLine(line, line_no));
      if (batch.size() == kBatch) {
        if (auto s = IngestBatch(ingestor, batch, totals); !s) return PrintError(s.error());
        Progress(totals, false);
      }
    }
  }
  if (auto s = IngestBatch(ingestor, batch, totals); !s) return PrintError(s.error());
  Progress(totals, true);

  const auto& r = totals.report;
  std::string text = "imported " + std::to_string(totals.read) + " events from " + path + ": " +
                     std::to_string(r.accepted) + " new, " + std::to_string(r.duplicates) + " duplicate, " +
                     std::to_string(r.rejected) + " rejected";
  PrintResult(options, engine::ToJson(r), text);
  if (r.rejected > 0 && !options.json) {
    for (size_t i = 0; i < r.rejections.size() && i < kRejectionsShown; ++i) {
      const auto& rejection = r.rejections[i];
      std::cerr << "rejected event #" << rejection.index << (rejection.id.empty() ? "" : " (" + rejection.id + ")")
                << ": " << rejection.reason << "\n";
    }
    if (r.rejections.size() > kRejectionsShown) {
      std::cerr << "... and " << r.rejections.size() - kRejectionsShown << " more (use --json for all)\n";
    }
  }
  // Partial success: the valid events are in; a non-zero exit says some were not.
  return r.rejected > 0 ? core::ExitCode(ErrorCode::kInvalidArgument) : 0;
}

// Reads a CSV with a header that names a member_id column (other columns are ignored).
int RunImportMembers(const GlobalOptions& options, const std::string& path) {
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
  auto context = Context::Open(options);
  if (!context) return PrintError(context.error());

  std::vector<core::MemberId> batch;
  int64_t created = 0;
  auto flush = [&]() -> core::Status {
    LOYALTY_TRY((*context)->ledger().CreateMembers(batch));
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

}  // namespace

void AddImportCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run) {
  CLI::App* import = app.add_subcommand("import", "Load data files into the store");
  import->require_subcommand(1);
  auto path = std::make_shared<std::string>();
  CLI::App* events = import->add_subcommand(
      "events", "Events from NDJSON (one per line) or a JSON array; invalid events are reported, valid ones kept");
  events->add_option("file", *path, "The file to read")->required();
  events->callback([&options, &run, path] { run = [&options, path] { return RunImportEvents(options, *path); }; });
  CLI::App* members = import->add_subcommand(
      "members", "Members from CSV with a header naming a member_id column (existing members are kept)");
  members->add_option("file", *path, "The file to read")->required();
  members->callback([&options, &run, path] { run = [&options, path] { return RunImportMembers(options, *path); }; });
}

}  // namespace loyalty::cli
