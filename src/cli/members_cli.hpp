#pragma once
// `loyalty members ...` (profiles, identifiers, merges, features) and `loyalty features
// snapshot` (point-in-time training data as CSV).

#include <CLI/CLI.hpp>

#include <functional>

#include "context.hpp"

namespace loyalty::cli {

void AddMembersCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run);

}  // namespace loyalty::cli
