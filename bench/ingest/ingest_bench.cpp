// Event ingestion benchmarks, each beside a baseline measured in the same run, on events
// from the simulator (20,000 members, one year; set LOYALTY_BENCH_MEMBERS to change):
//  - in-process, not durable: parse + validate + update the member's live features, one core,
//    against parsing the JSON alone (the floor any ingestion pays);
//  - durable (SQLite, synchronous=FULL): Ingestor batches of 1,000 (events logged, purchases
//    posted to the ledger, features updated) against raw SQLite inserts of the same event rows
//    in 1,000-row transactions.
// Run: build/release/bin/ingest_bench  (see BENCHMARKS.md)

#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "loyalty/engine/platform.hpp"
#include "loyalty/features/feature_store.hpp"
#include "loyalty/sim/simulator.hpp"
#include "loyalty/store/sqlite.hpp"

namespace {

using namespace loyalty;

std::filesystem::path BenchDir() {
  static const auto dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("loyalty-ingest-bench-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

struct Corpus {
  std::vector<std::string> lines;  // one event per line, as producers send them
  std::vector<core::MemberId> members;
};

const Corpus& Events() {
  static const Corpus corpus = [] {
    Corpus c;
    sim::SimConfig config;
    const char* members = std::getenv("LOYALTY_BENCH_MEMBERS");
    config.members = members ? std::atoll(members) : 20000;
    config.seed = 7;
    const auto dir = BenchDir() / "sim";
    if (!sim::Simulate(config, dir)) std::abort();
    std::ifstream in(dir / "events.ndjson");
    for (std::string line; std::getline(in, line);) c.lines.push_back(line);
    std::ifstream member_file(dir / "members.csv");
    std::string line;
    std::getline(member_file, line);
    while (std::getline(member_file, line)) c.members.push_back(*core::MemberId::Parse(line.substr(0, line.find(','))));
    return c;
  }();
  return corpus;
}

const core::Timestamp kNow = *core::ParseTimestamp("2026-06-01T00:00:00Z");

void BM_ParseOnly(benchmark::State& state) {
  const auto& lines = Events().lines;
  size_t i = 0;
  for (auto _ : state) {
    auto json = core::ParseJson(lines[i]);
    benchmark::DoNotOptimize(json);
    if (++i == lines.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseOnly);

void BM_ParseOnlyFast(benchmark::State& state) {
  const auto& lines = Events().lines;
  size_t i = 0;
  for (auto _ : state) {
    auto json = core::ParseJsonFast(lines[i]);
    benchmark::DoNotOptimize(json);
    if (++i == lines.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseOnlyFast);

void BM_ParseValidateAndUpdateFeatures(benchmark::State& state) {
  const auto& lines = Events().lines;
  features::FeatureStore store(*core::Currency::FromCode("EUR"));
  size_t i = 0;
  for (auto _ : state) {
    auto json = core::ParseJsonFast(lines[i]);
    auto event = events::ParseEvent(*json, kNow);
    if (!event) state.SkipWithError(event.error().message.c_str());
    store.Apply(event->member, *event);
    if (++i == lines.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["members"] = static_cast<double>(store.members());
  state.counters["bytes_per_member"] = static_cast<double>(store.MemoryBytes()) / static_cast<double>(store.members());
}
BENCHMARK(BM_ParseValidateAndUpdateFeatures);

void RemoveDb(const std::filesystem::path& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
}

constexpr size_t kBatch = 1000;

// Baseline: the same event rows into a table shaped like the event log, 1,000 per transaction.
void BM_RawSqliteBatchedInsert(benchmark::State& state) {
  const auto path = BenchDir() / "raw.db";
  RemoveDb(path);
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db,
               "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
               "CREATE TABLE events (event_id TEXT PRIMARY KEY, member_id TEXT NOT NULL, type TEXT NOT NULL, "
               "at INTEGER NOT NULL, channel TEXT NOT NULL, properties TEXT NOT NULL, received_at INTEGER NOT NULL) "
               "WITHOUT ROWID; CREATE INDEX events_by_member ON events(member_id, at);",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", -1, &insert, nullptr);
  std::vector<events::Event> parsed;
  for (const auto& line : Events().lines) parsed.push_back(*events::ParseEvent(*core::ParseJson(line), kNow));
  size_t i = 0;
  int64_t rows = 0;
  for (auto _ : state) {
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    for (size_t n = 0; n < kBatch; ++n, ++rows) {
      const auto& e = parsed[i];
      const std::string id = e.id + "#" + std::to_string(rows / parsed.size());  // unique past one pass
      const std::string props = core::Dump(e.properties);
      sqlite3_bind_text(insert, 1, id.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(insert, 2, e.member.str().c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(insert, 3, std::string(events::EventTypeName(e.type)).c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(insert, 4, core::ToUnixMillis(e.at));
      sqlite3_bind_text(insert, 5, e.channel.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(insert, 6, props.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int64(insert, 7, core::ToUnixMillis(kNow));
      if (sqlite3_step(insert) != SQLITE_DONE) state.SkipWithError("insert failed");
      sqlite3_reset(insert);
      if (++i == parsed.size()) i = 0;
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  state.SetItemsProcessed(rows);
  sqlite3_finalize(insert);
  sqlite3_close(db);
}
BENCHMARK(BM_RawSqliteBatchedInsert)->UseRealTime()->Unit(benchmark::kMillisecond);

// The product path: JSON lines -> Ingestor (validate, resolve identity, ledger for purchases
// and returns, event log, live features), durable on return. With arg 0 the purchases and
// returns are left out, which isolates the cost of the ledger's postings.
void BM_DurableIngest(benchmark::State& state) {
  const auto path = BenchDir() / "ingest.db";
  RemoveDb(path);
  core::ManualClock clock(kNow);
  auto db = store::OpenSqlite({.path = path, .durability = store::Durability::kFull});
  auto platform = engine::Platform::Open(**db, {}, clock);
  if (!platform || !(*platform)->ledger().CreateMembers(Events().members)) {
    state.SkipWithError("setup failed");
    return;
  }
  std::vector<std::string> lines;
  for (const auto& line : Events().lines) {
    const bool ledger = line.find(R"("type":"purchase")") != std::string::npos ||
                        line.find(R"("type":"return")") != std::string::npos;
    if (state.range(0) == 1 || !ledger) lines.push_back(line);
  }
  size_t i = 0;
  int64_t accepted = 0;
  for (auto _ : state) {
    if (i + kBatch > lines.size()) {
      state.SkipWithError("the corpus is used up: raise LOYALTY_BENCH_MEMBERS");
      break;
    }
    std::vector<core::Result<core::Json>> batch;
    batch.reserve(kBatch);
    for (size_t n = 0; n < kBatch; ++n) batch.push_back(core::ParseJsonFast(lines[i++]));
    auto report = (*platform)->ingestor().Ingest(batch);
    if (!report || report->rejected > 0) state.SkipWithError("ingest failed");
    accepted += report->accepted;
  }
  state.SetItemsProcessed(accepted);
}
BENCHMARK(BM_DurableIngest)->ArgName("with_ledger")->Arg(1)->Arg(0)->UseRealTime()->Unit(benchmark::kMillisecond)
    ->Iterations(300);

}  // namespace

BENCHMARK_MAIN();
