#pragma once
// `loyalty demo`: a walkthrough of a year in a small loyalty program, in simulated time, on
// the embedded store. It grows with the product; today it tells the ledger's story.

#include <filesystem>
#include <optional>

#include "serve.hpp"

namespace loyalty::cli {

// Runs the walkthrough in `dir` (emptied of any earlier demo first) with a simulated program
// of `members` members (100 to 100,000); then, with `serve`,
// serves the API and the dashboard over the demo's program (its clock stopped where the story
// ends) with a manager's and an analyst's key printed for signing in, until SIGINT or
// SIGTERM. Returns the exit code.
int RunDemo(const std::filesystem::path& dir, int members, const std::optional<ServeOptions>& serve);

}  // namespace loyalty::cli
