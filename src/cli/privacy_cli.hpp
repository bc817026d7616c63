#pragma once
// `loyalty vault`: the PII vault's key (re-seal everything under a new key) and its size.
// `loyalty events`: the event retention policy (run it; what is kept of removed events).

#include <CLI/CLI.hpp>

#include <functional>

#include "context.hpp"

namespace loyalty::cli {

void AddVaultCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run);
void AddEventCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run);

}  // namespace loyalty::cli
