#include "simulate_cli.hpp"

#include <unistd.h>

#include <iostream>
#include <memory>

#include <iomanip>
#include <sstream>

#include "loyalty/sim/policy_evaluation.hpp"
#include "loyalty/sim/simulator.hpp"

namespace loyalty::cli {

void AddSimulateCommand(CLI::App& app, GlobalOptions& options, std::function<int()>& run) {
  struct Args {
    sim::SimConfig config;
    std::string out;
    std::string start = "2025-01-01";
    bool evaluate = false;
    int64_t budget = sim::PolicyEvaluationConfig{}.weekly_budget_minor_per_member;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "simulate", "Write a synthetic program with known ground truth: members.csv, events.ndjson, ground_truth.csv");
  CLI::Option* members = cmd->add_option("--members", args->config.members, "How many members")->capture_default_str();
  CLI::Option* days = cmd->add_option("--days", args->config.days, "Days of history")->capture_default_str();
  CLI::Option* seed =
      cmd->add_option("--seed", args->config.seed, "Random seed: the same seed writes the same files")->capture_default_str();
  cmd->add_option("--start", args->start, "First day of the history")->capture_default_str();
  cmd->add_option("--protected-share", args->config.protected_share, "Share of members in the protected group")
      ->capture_default_str();
  cmd->add_option("--bias", args->config.historical_bias,
                  "How much less often the protected group saw offers historically (0 to 1)")
      ->capture_default_str();
  cmd->add_option("--offer-retention", args->config.offer_retention,
                  "How much each accepted offer cuts a member's chance of leaving (0 to below 1): with --bias, the "
                  "protected group leaves more often")
      ->capture_default_str();
  cmd->add_option("--redeem-block", args->config.redeem_block,
                  "Points redeemed at a time (members redeem whole blocks of this many)")
      ->capture_default_str();
  cmd->add_option("--out", args->out, "Directory to write");
  cmd->add_flag("--evaluate-policies", args->evaluate,
                "Run the program under the AI policy, a static RFM campaign and random targeting at the same budget "
                "against a holdout, and report incremental revenue and retention (defaults: 40000 members, 182 days)");
  cmd->add_option("--budget", args->budget, "With --evaluate-policies: weekly budget per member, in minor units")
      ->capture_default_str();
  cmd->callback([&options, &run, args, members, days, seed] {
    if (args->evaluate) {
      sim::PolicyEvaluationConfig config;
      if (members->count() > 0) config.members = args->config.members;
      if (days->count() > 0) config.days = args->config.days;
      if (seed->count() > 0) config.seed = args->config.seed;
      config.weekly_budget_minor_per_member = args->budget;
      run = [&options, config] {
        auto evaluation = sim::EvaluatePolicies(config);
        if (!evaluation) return PrintError(evaluation.error());
        std::ostringstream text;
        text << std::fixed << std::setprecision(2) << config.members << " members, " << config.days
             << " days under each policy after " << config.warmup_days << " days of history; budget "
             << config.weekly_budget_minor_per_member << " minor units per member per week; holdout net revenue "
             << evaluation->holdout_revenue_per_member << " per member, retention "
             << 100 * evaluation->holdout_retention << "%\n";
        text << "policy   incremental revenue per member (95% CI)   retention lift, points (95% CI)   spend/member  response rate\n";
        for (const auto& p : evaluation->policies) {
          text << std::left << std::setw(8) << p.name << " " << std::right << std::setw(7) << p.incremental_revenue.mean << "  ["
               << std::setw(7) << p.incremental_revenue.ci_low << ", " << std::setw(7) << p.incremental_revenue.ci_high
               << "]            " << std::setw(6) << 100 * p.retention_lift.mean << "  [" << std::setw(6)
               << 100 * p.retention_lift.ci_low << ", " << std::setw(6) << 100 * p.retention_lift.ci_high << "]      "
               << std::setw(8) << p.spend_per_member << "      " << std::setw(6)
               << (p.offers > 0 ? 100.0 * static_cast<double>(p.responses) / static_cast<double>(p.offers) : 0.0) << "%\n";
        }
        const auto& r = evaluation->ai_vs_rfm_revenue;
        const auto& q = evaluation->ai_vs_random_revenue;
        text << "ai - rfm:    " << r.mean << " per member [" << r.ci_low << ", " << r.ci_high << "]\n"
             << "ai - random: " << q.mean << " per member [" << q.ci_low << ", " << q.ci_high << "]";
        return PrintResult(options, sim::ToJson(*evaluation), text.str());
      };
      return;
    }
    run = [&options, args] {
      if (args->out.empty()) {
        return PrintError({core::ErrorCode::kInvalidArgument, "--out is required: the directory to write the program to"});
      }
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
