#pragma once
// `loyalty demo`: a walkthrough of a year in a small loyalty program, in simulated time, on
// the embedded store. It grows with the product; today it tells the ledger's story.

#include <filesystem>

namespace loyalty::cli {

// Runs the walkthrough in `dir` (emptied of any earlier demo first); returns the exit code.
int RunDemo(const std::filesystem::path& dir);

}  // namespace loyalty::cli
