#pragma once
// `loyalty simulate`: writes a synthetic program's members, events and ground truth.

#include <CLI/CLI.hpp>

#include <functional>

#include "context.hpp"

namespace loyalty::cli {

void AddSimulateCommand(CLI::App& app, GlobalOptions& options, std::function<int()>& run);

}  // namespace loyalty::cli
