#pragma once
// `loyalty import events FILE`: loads events from NDJSON (one event per line) or a JSON array
// through the same ingestion as POST /v1/events, in batches, with a progress line on stderr.

#include <CLI/CLI.hpp>

#include <functional>

#include "context.hpp"

namespace loyalty::cli {

void AddImportCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run);

}  // namespace loyalty::cli
