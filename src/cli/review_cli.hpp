#pragma once
// The review queue from the command line: `loyalty review list | show | act | expire | stats`.
// The local operator decides with an admin's reach (escalated offers included).

#include <CLI/CLI.hpp>

#include <functional>

#include "context.hpp"

namespace loyalty::cli {

void AddReviewCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run);

}  // namespace loyalty::cli
