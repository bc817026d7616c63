#pragma once
// `loyalty vault`: the PII vault's key (re-seal everything under a new key) and its size.

#include <CLI/CLI.hpp>

#include <functional>

#include "context.hpp"

namespace loyalty::cli {

void AddVaultCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run);

}  // namespace loyalty::cli
