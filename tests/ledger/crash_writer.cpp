// Child process of the crash test: posts the deterministic command stream from two threads
// and prints "ack <i> <entry_id>" once each command has returned, i.e. once it is committed
// at the chosen durability. It runs until it is killed.
//
// Usage: ledger_crash_writer STORE FIRST_INDEX full|normal [SCHEMA]
//   STORE is a SQLite file, or a postgresql:// URL with the schema to write in.

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "crash_commands.hpp"
#include "loyalty/store/postgres.hpp"
#include "loyalty/store/sqlite.hpp"

int main(int argc, char** argv) {
  using namespace loyalty;
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: ledger_crash_writer STORE FIRST_INDEX full|normal [SCHEMA]\n");
    return 2;
  }
  auto durability = store::ParseDurability(argv[3]);
  if (!durability) {
    std::fprintf(stderr, "error: %s\n", durability.error().message.c_str());
    return 2;
  }
  const std::string target = argv[1];
  auto db = target.starts_with("postgresql://")
                ? store::OpenPostgres({.url = target, .schema = argc == 5 ? argv[4] : "loyalty"})
                : store::OpenSqlite({.path = target, .durability = *durability});
  if (!db) {
    std::fprintf(stderr, "error: %s\n", db.error().message.c_str());
    return 1;
  }
  core::ManualClock clock(ledger::crash::Now());
  auto ledger = ledger::Ledger::Open(**db, ledger::crash::Program(), clock);
  if (!ledger) {
    std::fprintf(stderr, "error: %s\n", ledger.error().message.c_str());
    return 1;
  }
  for (int m = 0; m < ledger::crash::kMembers; ++m) {
    if (!(*ledger)->CreateMember(*core::MemberId::Parse(ledger::crash::MemberOf(m)))) return 1;
  }
  std::printf("ready\n");
  std::fflush(stdout);

  const int64_t first = std::atoll(argv[2]);
  std::mutex out;
  auto worker = [&](int64_t start) {
    for (int64_t i = start;; i += 2) {
      auto result = ledger::crash::RunCommand(**ledger, i);
      std::lock_guard lock(out);
      if (result) {
        std::printf("ack %lld %lld\n", static_cast<long long>(i), static_cast<long long>(*result));
      } else if (result.error().code != core::ErrorCode::kInsufficientPoints) {
        std::printf("error %lld %s\n", static_cast<long long>(i), result.error().message.c_str());
      }
      std::fflush(stdout);
    }
  };
  std::thread a(worker, first);
  std::thread b(worker, first + 1);
  a.join();
  b.join();
}
