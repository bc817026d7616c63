#include "simulate_cli.hpp"

#include <unistd.h>

#include <iostream>
#include <memory>

#include "loyalty/sim/simulator.hpp"

namespace loyalty::cli {

void AddSimulateCommand(CLI::App& app, GlobalOptions& options, std::function<int()>& run) {
  struct Args {
    sim::SimConfig config;
    std::string out;
    std::string start = "2025-01-01";
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "simulate", "Write a synthetic program with known ground truth: members.csv, events.ndjson, ground_truth.csv");
  cmd->add_option("--members", args->config.members, "How many members")->capture_default_str();
  cmd->add_option("--days", args->config.days, "Days of history")->capture_default_str();
  cmd->add_option("--seed", args->config.seed, "Random seed: the same seed writes the same files")->capture_default_str();
  cmd->add_option("--start", args->start, "First day of the history")->capture_default_str();
  cmd->add_option("--protected-share", args->config.protected_share, "Share of members in the protected group")
      ->capture_default_str();
  cmd->add_option("--bias", args->config.historical_bias,
                  "How much less often the protected group saw offers historically (0 to 1)")
      ->capture_default_str();
  cmd->add_option("--redeem-block", args->config.redeem_block,
                  "Points redeemed at a time (members redeem whole blocks of this many)")
      ->capture_default_str();
  cmd->add_option("--out", args->out, "Directory to write")->required();
  cmd->callback([&options, &run, args] {
    run = [&options, args] {
      auto start = core::ParseTimestamp(args->start);
      if (!start) return PrintError(core::Wrap(start.error(), "--start").error());
      args->config.start = *start;
      const bool tty = isatty(STDERR_FILENO);
      auto counts = sim::Simulate(args->config, args->out, [&](int64_t done) {
        if (tty) std::cerr << "\rsimulated " << done << " / " << args->config.members << " members" << std::flush;
      });
      if (tty) std::cerr << "\n";
      if (!counts) return PrintError(counts.error());
      return PrintResult(options,
                         core::Json{{"members", counts->members}, {"events", counts->events},
                                    {"purchases", counts->purchases}, {"redemptions", counts->redemptions},
                                    {"out", args->out}},
                         "wrote " + std::to_string(counts->members) + " members, " + std::to_string(counts->events) +
                             " events (" + std::to_string(counts->purchases) + " purchases, " +
                             std::to_string(counts->redemptions) + " redemptions) to " + args->out +
                             "\nload them: loyalty import members " + args->out + "/members.csv && loyalty import events " +
                             args->out + "/events.ndjson");
    };
  });
}

}  // namespace loyalty::cli
