// The `loyalty` binary: the composition root. It parses the command line and wires the
// store, clock and ledger for the chosen subcommand; no logic lives here.

#include <cstdlib>
#include <functional>
#include <iostream>

#include <CLI/CLI.hpp>

#include "access_cli.hpp"
#include "bench_cli.hpp"
#include "context.hpp"
#include "decision_cli.hpp"
#include "fairness_cli.hpp"
#include "review_cli.hpp"
#include "demo.hpp"
#include "import_cli.hpp"
#include "ledger_cli.hpp"
#include "members_cli.hpp"
#include "models_cli.hpp"
#include "privacy_cli.hpp"
#include "text_cli.hpp"
#include "serve.hpp"
#include "simulate_cli.hpp"
#include "loyalty/core/logging.hpp"

#ifndef LOYALTY_VERSION
#define LOYALTY_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  using loyalty::cli::GlobalOptions;
  GlobalOptions options;
  for (int i = 1; i < argc; ++i) options.command_line += (i > 1 ? " " : "") + std::string(argv[i]);
  if (const char* env = std::getenv("LOYALTY_DATA_DIR")) options.data_dir = env;
  std::string log_level = "warn";
  std::function<int()> run;

  CLI::App app{"Loyalty: a points ledger and loyalty platform with AI in the loop and humans in charge"};
  app.name("loyalty");
  app.fallthrough();
  app.require_subcommand(1);
  app.add_option("--data-dir", options.data_dir, "Directory of the embedded store (env LOYALTY_DATA_DIR)")
      ->capture_default_str();
  app.add_option("--config", options.config_file, "TOML configuration file (default: DATA_DIR/loyalty.toml if present)");
  app.add_flag("--json", options.json, "Print results as JSON");
  app.add_option("--now", options.now, "Evaluate as of this time instead of the clock (backfills, what-if)");
  app.add_option("--log-level", log_level, "debug, info, warn, error or off")->capture_default_str();
  std::string log_format = "text";
  app.add_option("--log-format", log_format, "text, or json for one JSON object per line")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();

  CLI::App* version = app.add_subcommand("version", "Print the version");
  version->callback([&] {
    run = [&] {
      return loyalty::cli::PrintResult(options, {{"version", LOYALTY_VERSION}}, std::string("loyalty ") + LOYALTY_VERSION);
    };
  });

  std::filesystem::path demo_dir = "data/demo";
  CLI::App* demo = app.add_subcommand("demo", "Walk through a simulated program on the embedded store");
  demo->add_option("--dir", demo_dir, "Where the demo keeps its store (emptied first)")->capture_default_str();
  int demo_members = 2000;
  demo->add_option("--members", demo_members, "Members in the simulated program (100 to 100000)")->capture_default_str();
  bool demo_serve = false;
  loyalty::cli::ServeOptions demo_serve_options;
  CLI::Option* demo_serve_flag =
      demo->add_flag("--serve", demo_serve, "Then serve the API and the dashboard over the demo program (until Ctrl-C)");
  demo->add_option("--port", demo_serve_options.port, "With --serve: port to bind, 0 for any free port (default 8080)")
      ->needs(demo_serve_flag);
  demo->add_option("--address", demo_serve_options.address, "With --serve: address to bind (default 127.0.0.1)")
      ->needs(demo_serve_flag);
  demo->callback([&] {
    run = [&] {
      return loyalty::cli::RunDemo(demo_dir, demo_members, demo_serve ? std::optional(demo_serve_options) : std::nullopt);
    };
  });

  loyalty::cli::ServeOptions serve_options;
  CLI::App* serve = app.add_subcommand("serve", "Serve the HTTP API and the dashboard (until SIGTERM)");
  serve->add_option("--address", serve_options.address, "Address to bind (default 127.0.0.1, config server.address)");
  serve->add_option("--port", serve_options.port, "Port to bind, 0 for any free port (default 8080, config server.port)");
  serve->add_option("--web-root", serve_options.web_root,
                    "The dashboard's built files (default web/dist of the sources, config server.web_root)");
  serve->callback([&] { run = [&] { return loyalty::cli::RunServe(options, serve_options); }; });

  std::string worker_partitions;
  CLI::App* worker = app.add_subcommand(
      "worker", "Consume the event bus (NATS JetStream) on a multi-node program: features and triggered decisions (until SIGTERM)");
  worker->add_option("--partitions", worker_partitions, "Partitions to consume, e.g. 0-3,6 (default all)");
  worker->callback([&] { run = [&] { return loyalty::cli::RunWorker(options, worker_partitions); }; });

  loyalty::cli::AddLedgerCommands(app, options, run);
  loyalty::cli::AddImportCommands(app, options, run);
  loyalty::cli::AddMembersCommands(app, options, run);
  loyalty::cli::AddSimulateCommand(app, options, run);
  loyalty::cli::AddModelCommands(app, options, run);
  loyalty::cli::AddAccessCommands(app, options, run);
  loyalty::cli::AddAuditCommands(app, options, run);
  loyalty::cli::AddDecisionCommands(app, options, run);
  loyalty::cli::AddReviewCommands(app, options, run);
  loyalty::cli::AddFairnessCommands(app, options, run);
  loyalty::cli::AddTextCommands(app, options, run);
  loyalty::cli::AddVaultCommands(app, options, run);
  loyalty::cli::AddEventCommands(app, options, run);
  loyalty::cli::AddBenchCommands(app, options, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, then a pointer to help; CLI11's own exit codes are non-zero. A mistyped
    // subcommand surfaces as "a subcommand is required" with the word left over: name it.
    const auto leftover = app.remaining();
    if (e.get_name() == "RequiredError" && !leftover.empty()) {
      std::cerr << "error: unknown command '" << leftover.front() << "' (see --help)\n";
      return e.get_exit_code();
    }
    std::cerr << "error: " << e.what() << " (see --help)\n";
    return e.get_exit_code() == 0 ? 2 : e.get_exit_code();
  }
  auto level = loyalty::core::ParseLogLevel(log_level);
  if (!level) return loyalty::cli::PrintError(level.error());
  loyalty::core::InitLogging(*level, /*json_lines=*/log_format == "json");
  return run ? run() : 0;
}
