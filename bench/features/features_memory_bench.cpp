// Memory of the live member state: simulate a program (1,000,000 members over a year by
// default), stream every event through parse, validation and the feature store, then report
// bytes per member three ways — the store's own accounting, the allocator's heap growth, and
// the process's resident memory growth — against the baseline of keeping the raw events.
// Run: build/release/bin/features_memory_bench [MEMBERS] [DIR]  (see BENCHMARKS.md)

#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "loyalty/core/json.hpp"
#include "loyalty/events/event.hpp"
#include "loyalty/features/feature_store.hpp"
#include "loyalty/sim/simulator.hpp"
#include "support/process_memory.hpp"

namespace {

using loyalty::bench::ResidentBytes;

int64_t HeapBytes() { return static_cast<int64_t>(mallinfo2().uordblks); }

}  // namespace

int main(int argc, char** argv) {
  using namespace loyalty;
  sim::SimConfig config;
  config.members = argc > 1 ? std::atoll(argv[1]) : 1000000;
  config.seed = 11;
  const std::filesystem::path dir =
      argc > 2 ? std::filesystem::path(argv[2])
               : std::filesystem::temp_directory_path() / ("loyalty-memory-bench-" + std::to_string(::getpid()));
  const auto t0 = std::chrono::steady_clock::now();
  auto counts = sim::Simulate(config, dir);
  if (!counts) {
    std::fprintf(stderr, "simulate: %s\n", counts.error().message.c_str());
    return 1;
  }
  const auto t1 = std::chrono::steady_clock::now();
  const auto input_bytes = static_cast<double>(std::filesystem::file_size(dir / "events.ndjson"));

  malloc_trim(0);
  const int64_t heap_before = HeapBytes();
  const int64_t rss_before = ResidentBytes();
  features::FeatureStore store(*core::Currency::FromCode("EUR"));
  const core::Timestamp now = config.start + std::chrono::days(config.days + 1);
  std::ifstream in(dir / "events.ndjson");
  int64_t events = 0;
  for (std::string line; std::getline(in, line); ++events) {
    auto json = core::ParseJsonFast(line);
    auto event = json ? events::ParseEvent(*json, now) : core::Result<events::Event>(std::unexpected(json.error()));
    if (!event) {
      std::fprintf(stderr, "event %lld: %s\n", static_cast<long long>(events), event.error().message.c_str());
      return 1;
    }
    store.Apply(event->member, *event);
  }
  const auto t2 = std::chrono::steady_clock::now();
  const double members = static_cast<double>(store.members());
  const double accounted = static_cast<double>(store.MemoryBytes()) / members;
  const double heap = static_cast<double>(HeapBytes() - heap_before) / members;
  const double rss = static_cast<double>(ResidentBytes() - rss_before) / members;
  const double raw = input_bytes / members;
  std::printf("members                %.0f\n", members);
  std::printf("events                 %lld (%.0f per member)\n", static_cast<long long>(events),
              static_cast<double>(events) / members);
  std::printf("simulate               %.1f s\n", std::chrono::duration<double>(t1 - t0).count());
  std::printf("ingest into features   %.1f s (%.0f events/s, one core)\n", std::chrono::duration<double>(t2 - t1).count(),
              static_cast<double>(events) / std::chrono::duration<double>(t2 - t1).count());
  std::printf("bytes/member accounted %.0f\n", accounted);
  std::printf("bytes/member heap      %.0f  (target <= 1024)\n", heap);
  std::printf("bytes/member resident  %.0f\n", rss);
  std::printf("baseline: raw events   %.0f bytes/member; live state is %.2fx of keeping them\n", raw, heap / raw);
  if (argc <= 2) std::filesystem::remove_all(dir);
  return heap <= 1024 ? 0 : 3;
}
