#pragma once
// `loyalty clv fit` and `loyalty churn fit`: fit the predictive models on a file, without a
// data directory, and report estimates and quality.

#include <CLI/CLI.hpp>

#include <functional>

#include "context.hpp"

namespace loyalty::cli {

void AddModelCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run);

}  // namespace loyalty::cli
