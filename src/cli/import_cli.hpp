#pragma once
// `loyalty import events|members|transactions FILE`: loads events (NDJSON, a JSON array or
// CSV), members (CSV) and purchases from sales exports (CSV) through the same ingestion as
// POST /v1/events, in batches, with a progress line on stderr.

#include <CLI/CLI.hpp>

#include <functional>

#include "context.hpp"

namespace loyalty::cli {

void AddImportCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run);

}  // namespace loyalty::cli
