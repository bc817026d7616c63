#pragma once
// `loyalty bench decide`: decision latency in process with 50 candidate offers (p50, p99)
// beside a naive arbitration baseline, and batch decisions per second over a million members.
// The HTTP figures come from bench/http/run_http_bench.

#include <CLI/CLI.hpp>

#include <functional>

#include "context.hpp"

namespace loyalty::cli {

void AddBenchCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run);

}  // namespace loyalty::cli
