#pragma once
// `loyalty serve`: the HTTP API and the dashboard until SIGTERM or SIGINT, then a graceful
// drain and exit 0. `loyalty worker`: the event bus's consumer on a multi-node program.

#include <signal.h>

#include <functional>
#include <optional>
#include <string>

#include "context.hpp"
#include "loyalty/server/http_server.hpp"

namespace loyalty::cli {

struct ServeOptions {
  std::optional<std::string> address;   // overrides [server] address
  std::optional<int> port;              // overrides [server] port
  std::optional<std::string> web_root;  // overrides [server] web_root
};

int RunServe(const GlobalOptions& options, const ServeOptions& serve);

// `loyalty worker`: consumes the event bus's `partitions` ("0-3,6"; empty: all) until SIGTERM
// or SIGINT: features, scores and the decisions events trigger (engine/bus_link.hpp).
int RunWorker(const GlobalOptions& options, const std::string& partitions);

// Blocks SIGINT and SIGTERM in the calling thread; call before any thread starts, so every
// thread inherits the mask and ServePlatform alone receives them.
sigset_t BlockStopSignals();

// Applies the command line's overrides to the [server] options.
[[nodiscard]] core::Result<server::ServerOptions> ResolveServerOptions(const core::Json& config, const ServeOptions& serve);

// Serves `platform` (every route, and the dashboard when its files are found) until one of
// `stop_signals` arrives; `listening` runs once the port is bound. Returns the exit code.
int ServePlatform(engine::Platform& platform, const server::ServerOptions& options, sigset_t stop_signals,
                  const std::function<void(uint16_t port)>& listening);

}  // namespace loyalty::cli
