#pragma once
// Runs the `loyalty` binary as a user would, against a fresh data directory per test.

#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <string>

#include "loyalty/core/json.hpp"
#include "support/temp_dir.hpp"

namespace loyalty::cli {

// Who the binary records as the actor when not told (the user running it).
inline std::string LoginName() {
  const passwd* entry = getpwuid(geteuid());
  return entry != nullptr && entry->pw_name != nullptr ? entry->pw_name : "uid:" + std::to_string(geteuid());
}

struct CliRun {
  int exit_code;
  std::string out;
  std::string err;
};

class CliTest : public ::testing::Test {
 protected:
  // Runs the binary with `args` (shell words) against the test's data dir.
  CliRun Loyalty(const std::string& args) {
    const std::string err_file = (dir_ / "stderr.txt").string();
    const std::string command = std::string(LOYALTY_BINARY) + " --data-dir " + (dir_ / "data").string() + " " + args +
                                " 2>" + err_file;
    FILE* pipe = popen(command.c_str(), "r");
    std::string out;
    std::array<char, 4096> buffer;
    while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) out.append(buffer.data(), n);
    const int status = pclose(pipe);
    std::ifstream err_in(err_file);
    std::string err((std::istreambuf_iterator<char>(err_in)), std::istreambuf_iterator<char>());
    return {WEXITSTATUS(status), out, err};
  }

  core::Json LoyaltyJson(const std::string& args) {
    CliRun r = Loyalty("--json " + args);
    EXPECT_EQ(r.exit_code, 0) << args << ": " << r.err;
    auto json = core::ParseJson(r.out);
    EXPECT_TRUE(json) << r.out;
    return json ? *json : core::Json();
  }

  static void ExpectOneLineError(const CliRun& r, int exit_code, const std::string& part) {
    EXPECT_EQ(r.exit_code, exit_code) << r.err;
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
  }

  testing::TempDir dir_;
};

}  // namespace loyalty::cli
