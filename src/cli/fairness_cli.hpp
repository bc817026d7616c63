#pragma once
// `loyalty fairness`: the protected attribute's settings and values, the report per group
// with its alerts, the check that makes them count for decisions, per-group churn thresholds
// and what the mitigations change.

#include <CLI/CLI.hpp>

#include <functional>

#include "context.hpp"

namespace loyalty::cli {

void AddFairnessCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run);

}  // namespace loyalty::cli
