#pragma once
// Next best action from the command line: `loyalty decide` (one member), `loyalty campaign`
// (a segment), `loyalty outcome`, `loyalty offers`, `loyalty policy`, `loyalty strategy`
// (with rollback), `loyalty experiments` and `loyalty decisions evaluate`.

#include <CLI/CLI.hpp>

#include <functional>

#include "context.hpp"

namespace loyalty::cli {

void AddDecisionCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run);

}  // namespace loyalty::cli
