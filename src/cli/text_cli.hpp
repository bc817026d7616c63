#pragma once
// `loyalty text`: train a sentiment model on labelled texts, score texts, and the topic and
// sentiment report.

#include <CLI/CLI.hpp>

#include <functional>

#include "context.hpp"

namespace loyalty::cli {

void AddTextCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run);

}  // namespace loyalty::cli
