// Ledger benchmarks, each reported beside a baseline measured in the same run:
//  - durable earn commands/s against raw single-row SQLite inserts at the same durability
//    (1 and 2 writer threads; group commit should carry 2 threads past the baseline);
//  - balance and statement latency (p50/p99) for a member with 10,000 postings.
//  - with LOYALTY_BENCH_POSTGRES_URL set, the same earn commands on PostgreSQL, against
//    pgbench's TPC-B rate on the same server (bench/postgres/run measures it first and passes
//    it in LOYALTY_BENCH_PGBENCH_TPS).
// Run: build/release/bin/ledger_bench  (see BENCHMARKS.md)

#include <benchmark/benchmark.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <unistd.h>

#include "loyalty/ledger/ledger.hpp"
#include "loyalty/store/postgres.hpp"
#include "loyalty/store/sqlite.hpp"

namespace {

using namespace loyalty;

std::filesystem::path BenchDir() {
  static const auto dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("loyalty-bench-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

void RemoveDb(const std::filesystem::path& path) {
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
}

// ---- Baseline: raw SQLite, one ~100-byte row per transaction, WAL. ----

struct RawDb {
  sqlite3* db = nullptr;
  sqlite3_stmt* insert = nullptr;
};
std::unique_ptr<RawDb> g_raw;
std::atomic<int64_t> g_raw_counter{0};

void RawSetup(const benchmark::State& state) {
  const auto path = BenchDir() / "raw.db";
  RemoveDb(path);
  g_raw = std::make_unique<RawDb>();
  sqlite3_open(path.c_str(), &g_raw->db);
  const std::string pragmas = std::string("PRAGMA journal_mode = WAL; PRAGMA synchronous = ") +
                              (state.range(0) == 1 ? "FULL;" : "NORMAL;") +
                              "CREATE TABLE raw (id INTEGER PRIMARY KEY, member TEXT, amount INTEGER, note TEXT);";
  sqlite3_exec(g_raw->db, pragmas.c_str(), nullptr, nullptr, nullptr);
  sqlite3_prepare_v2(g_raw->db, "INSERT INTO raw (member, amount, note) VALUES (?1, ?2, ?3)", -1, &g_raw->insert,
                     nullptr);
}

void RawTeardown(const benchmark::State&) {
  sqlite3_finalize(g_raw->insert);
  sqlite3_close(g_raw->db);
  g_raw.reset();
}

void BM_RawSqliteInsert(benchmark::State& state) {
  static const std::string note(64, 'x');
  for (auto _ : state) {
    const int64_t i = g_raw_counter++;
    const std::string member = "member-" + std::to_string(i % 1000);
    sqlite3_bind_text(g_raw->insert, 1, member.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(g_raw->insert, 2, i);
    sqlite3_bind_text(g_raw->insert, 3, note.c_str(), -1, SQLITE_STATIC);
    if (sqlite3_step(g_raw->insert) != SQLITE_DONE) state.SkipWithError("insert failed");
    sqlite3_reset(g_raw->insert);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawSqliteInsert)->ArgName("full")->Arg(1)->Arg(0)->Setup(RawSetup)->Teardown(RawTeardown)->UseRealTime();

// ---- Ledger earn commands through the store's group commit. ----

struct LedgerEnv {
  std::unique_ptr<store::Database> db;
  core::ManualClock clock{*core::ParseTimestamp("2026-06-01")};
  std::unique_ptr<ledger::Ledger> ledger;
};
std::unique_ptr<LedgerEnv> g_env;
store::Database::WriteStats g_stats_at_start;
std::atomic<int64_t> g_order_counter{0};
constexpr int kMembers = 1000;

std::unique_ptr<LedgerEnv> OpenLedger(const std::filesystem::path& path, store::Durability durability) {
  RemoveDb(path);
  auto env = std::make_unique<LedgerEnv>();
  env->db = std::move(*store::OpenSqlite({.path = path, .durability = durability}));
  env->ledger = std::move(*ledger::Ledger::Open(*env->db, ledger::DefaultProgramConfig(), env->clock));
  return env;
}

void AddMembers() {
  for (int m = 0; m < kMembers; ++m) (void)g_env->ledger->CreateMember(*core::MemberId::Parse("m" + std::to_string(m)));
  g_stats_at_start = g_env->db->write_stats();
}

void EarnSetup(const benchmark::State& state) {
  g_env = OpenLedger(BenchDir() / "ledger.db", state.range(0) == 1 ? store::Durability::kFull
                                                                      : store::Durability::kNormal);
  AddMembers();
}

// A fresh schema on the server each run (range(0) is 2 for PostgreSQL in batch_sizes).
void EarnPostgresSetup(const benchmark::State&) {
  const store::PostgresOptions options{.url = std::getenv("LOYALTY_BENCH_POSTGRES_URL"), .schema = "bench_ledger"};
  {
    auto db = store::OpenPostgres(options);
    if (!db) {
      std::fprintf(stderr, "ledger_bench: %s\n", db.error().message.c_str());
      std::exit(1);
    }
    (void)(*db)->Write([](store::Transaction& tx) { return tx.ExecuteScript("DROP SCHEMA bench_ledger CASCADE"); });
  }
  g_env = std::make_unique<LedgerEnv>();
  g_env->db = std::move(*store::OpenPostgres(options));
  g_env->ledger = std::move(*ledger::Ledger::Open(*g_env->db, ledger::DefaultProgramConfig(), g_env->clock));
  AddMembers();
}

// Commands per commit of the last run of each (durability, threads) configuration.
std::map<std::pair<int64_t, int>, double> batch_sizes;

void EarnTeardown(const benchmark::State& state) {
  const auto stats = g_env->db->write_stats();
  const int64_t commits = stats.commits - g_stats_at_start.commits;
  if (commits > 0) {
    batch_sizes[{state.range(0), state.threads()}] =
        static_cast<double>(stats.writes - g_stats_at_start.writes) / static_cast<double>(commits);
  }
  g_env.reset();
}

void BM_LedgerEarn(benchmark::State& state) {
  const auto money = *core::Money::Parse("42.50", "EUR");
  for (auto _ : state) {
    const int64_t i = g_order_counter++;
    const std::string id = std::to_string(i);
    ledger::EarnCommand command{*core::IdempotencyKey::Parse("k" + id),
                                *core::MemberId::Parse("m" + std::to_string(i % kMembers)),
                                *core::OrderId::Parse("o" + id),
                                {{"SKU-1", "general", 1, money}},
                                std::nullopt};
    auto result = g_env->ledger->Earn(command);
    if (!result) state.SkipWithError(result.error().message.c_str());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LedgerEarn)->ArgName("full")->Arg(1)->Arg(0)->Setup(EarnSetup)->Teardown(EarnTeardown)->UseRealTime()
    ->Threads(1)->Threads(2)->Threads(4)->Threads(8);

void RegisterPostgresBenchmarks() {
  if (std::getenv("LOYALTY_BENCH_POSTGRES_URL") == nullptr) return;
  benchmark::RegisterBenchmark("BM_LedgerEarnPostgres", BM_LedgerEarn)
      ->ArgName("pg")->Arg(2)->Setup(EarnPostgresSetup)->Teardown(EarnTeardown)->UseRealTime()
      ->Threads(1)->Threads(2)->Threads(4)->Threads(8);
}

// ---- Query latency for a member with 10,000 postings. ----

std::unique_ptr<LedgerEnv> g_query_env;
const core::MemberId kHeavy = *core::MemberId::Parse("heavy");

void QuerySetup(const benchmark::State&) {
  if (g_query_env) return;
  g_query_env = OpenLedger(BenchDir() / "query.db", store::Durability::kNormal);
  (void)g_query_env->ledger->CreateMember(kHeavy);
  const auto money = *core::Money::Parse("10.00", "EUR");
  // 9,000 earns and 1,000 redemptions: 10,000 postings on the member's account.
  for (int i = 0; i < 10000; ++i) {
    const std::string id = std::to_string(i);
    if (i % 10 == 9) {
      (void)g_query_env->ledger->RedeemPoints({*core::IdempotencyKey::Parse("r" + id), kHeavy, core::Points(3)});
    } else {
      (void)g_query_env->ledger->Earn({*core::IdempotencyKey::Parse("e" + id), kHeavy, *core::OrderId::Parse("o" + id),
                                       {{"SKU", "general", 1, money}}, std::nullopt});
    }
  }
}

// Times each call and reports p50/p99 in microseconds as counters.
template <typename Call>
void MeasureLatency(benchmark::State& state, Call&& call) {
  std::vector<double> micros;
  micros.reserve(200000);
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    if (!call()) state.SkipWithError("query failed");
    micros.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(micros.begin(), micros.end());
  state.counters["p50_us"] = micros[micros.size() / 2];
  state.counters["p99_us"] = micros[micros.size() * 99 / 100];
  state.SetItemsProcessed(state.iterations());
}

void BM_BalanceQuery(benchmark::State& state) {
  MeasureLatency(state, [] { return g_query_env->ledger->GetBalance(kHeavy).has_value(); });
}
BENCHMARK(BM_BalanceQuery)->Setup(QuerySetup)->UseRealTime();

void BM_StatementPage(benchmark::State& state) {
  const int limit = static_cast<int>(state.range(0));
  MeasureLatency(state, [&] { return g_query_env->ledger->GetStatement(kHeavy, std::nullopt, limit).has_value(); });
}
BENCHMARK(BM_StatementPage)->ArgName("limit")->Arg(20)->Arg(50)->Setup(QuerySetup)->UseRealTime();

void BM_StatementDeepPage(benchmark::State& state) {
  // A page in the middle of the history, reached through its cursor.
  MeasureLatency(state, [] { return g_query_env->ledger->GetStatement(kHeavy, 5000, 20).has_value(); });
}
BENCHMARK(BM_StatementDeepPage)->Setup(QuerySetup)->UseRealTime();

// Collects items/s per run so the ratios to the baselines can be printed at the end.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& run : runs) {
      auto it = run.counters.find("items_per_second");
      if (it != run.counters.end()) rates_[run.benchmark_name()] = it->second.value;
    }
  }
  void PrintRatios() const {
    bool header = false;
    for (const char* full : {"1", "0"}) {
      const std::string raw_name = std::string("BM_RawSqliteInsert/full:") + full + "/real_time";
      auto raw = rates_.find(raw_name);
      if (raw == rates_.end()) continue;
      if (!std::exchange(header, true)) {
        std::printf("\nEarn commands/s as a ratio to raw single-row SQLite inserts measured in this run:\n");
      }
      for (int threads : {1, 2, 4, 8}) {
        const std::string name =
            std::string("BM_LedgerEarn/full:") + full + "/real_time/threads:" + std::to_string(threads);
        auto earn = rates_.find(name);
        if (earn == rates_.end()) continue;
        std::printf("  synchronous=%-6s threads=%d  earn %8.0f/s  raw insert %8.0f/s  ratio %.2f  (%.2f commands/commit)\n",
                    full[0] == '1' ? "FULL" : "NORMAL", threads, earn->second, raw->second,
                    earn->second / raw->second, batch_sizes[{full[0] == '1' ? 1 : 0, threads}]);
      }
    }
    const char* pgbench = std::getenv("LOYALTY_BENCH_PGBENCH_TPS");
    if (pgbench == nullptr) return;
    const double tps = std::atof(pgbench);
    std::printf("\nEarn commands/s on PostgreSQL as a ratio to pgbench TPC-B transactions/s (%.0f) on the same server:\n",
                tps);
    for (int threads : {1, 2, 4, 8}) {
      auto earn = rates_.find("BM_LedgerEarnPostgres/pg:2/real_time/threads:" + std::to_string(threads));
      if (earn == rates_.end() || tps <= 0) continue;
      std::printf("  threads=%d  earn %8.0f/s  ratio %.2f  (%.2f commands/commit)\n", threads, earn->second,
                  earn->second / tps, batch_sizes[{2, threads}]);
    }
  }

 private:
  std::map<std::string, double> rates_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RegisterPostgresBenchmarks();
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintRatios();
  g_query_env.reset();
  std::filesystem::remove_all(BenchDir());
  benchmark::Shutdown();
  return 0;
}
