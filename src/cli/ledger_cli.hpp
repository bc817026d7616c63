#pragma once
// `loyalty ledger ...`: the ledger's commands and queries on the command line.

#include <functional>

#include <CLI/CLI.hpp>

#include "context.hpp"

namespace loyalty::cli {

// Registers the `ledger` subcommand tree on `app`. The chosen command is stored in `run`,
// to be called after parsing; it returns the process exit code.
void AddLedgerCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run);

// Parses "SKU:CATEGORY:QUANTITY:UNIT_PRICE" in the program currency ("TEE-1:apparel:2:19.99").
[[nodiscard]] core::Result<ledger::OrderLine> ParseOrderLine(const std::string& text, std::string_view currency);

}  // namespace loyalty::cli
