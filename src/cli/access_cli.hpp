#pragma once
// `loyalty access user|key ...`: the people and integrations allowed to call the API, their
// roles, and their API keys (issued once, stored hashed, revocable). `loyalty audit list|verify`:
// the hash-chained audit trail. The command line itself acts as the local operator: whoever
// can open the data directory holds the store already.

#include <CLI/CLI.hpp>

#include <functional>

#include "context.hpp"

namespace loyalty::cli {

void AddAccessCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run);
void AddAuditCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run);

}  // namespace loyalty::cli
