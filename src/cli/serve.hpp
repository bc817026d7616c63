#pragma once
// `loyalty serve`: the HTTP API on the embedded store until SIGTERM or SIGINT, then a
// graceful drain and exit 0.

#include <optional>
#include <string>

#include "context.hpp"

namespace loyalty::cli {

struct ServeOptions {
  std::optional<std::string> address;  // overrides [server] address
  std::optional<int> port;             // overrides [server] port
};

int RunServe(const GlobalOptions& options, const ServeOptions& serve);

}  // namespace loyalty::cli
