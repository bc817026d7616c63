#include "fairness_cli.hpp"

#include <fstream>
#include <iomanip>
#include <memory>
#include <sstream>

#include "loyalty/core/csv.hpp"

namespace loyalty::cli {

namespace {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;
using Output = Result<std::pair<Json, std::string>>;

struct FairnessArgs {
  std::string file;
  std::string column;
  engine::TrainOptions train;
  std::string actor = OperatorName();
};

std::string Percent(double v) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << 100 * v << "%";
  return out.str();
}

// "12.0% (9.1% to 15.4%)"
std::string RateText(const Json& rate) {
  return Percent(rate["value"].get<double>()) + " (" + Percent(rate["ci_low"].get<double>()) + " to " +
         Percent(rate["ci_high"].get<double>()) + ")";
}

std::string DifferenceText(const Json& c) {
  std::ostringstream out;
  out << std::showpos << std::fixed << std::setprecision(1) << 100 * c["difference"].get<double>() << " pts ("
      << 100 * c["ci_low"].get<double>() << " to " << 100 * c["ci_high"].get<double>() << ")";
  return out.str();
}

std::string ReportText(const Json& r) {
  std::ostringstream text;
  text << "fairness by " << r["attribute"].get<std::string>() << " (reference " << r["reference"].get<std::string>() << "), "
       << r["members_with_attribute"] << " members with a value\n";
  text << "offers since " << r["parity"]["since"].get<std::string>().substr(0, 10) << ":\n";
  for (const auto& g : r["parity"]["groups"]) {
    text << "  " << std::left << std::setw(12) << g["group"].get<std::string>() << std::setw(8) << g["members"].dump()
         << "offered " << RateText(g["offered"]) << ", vs reference " << DifferenceText(g["offered_difference"]) << "\n";
  }
  if (r["churn"]["model"].is_null()) {
    text << "churn: " << r["churn"].value("note", "no champion") << "\n";
  } else {
    text << "churn (" << r["churn"]["model"].get<std::string>() << ", outcomes from "
         << r["churn"]["cutoff"].get<std::string>().substr(0, 10) << "):\n";
    for (const auto& g : r["churn"]["groups"]) {
      text << "  " << std::left << std::setw(12) << g["group"].get<std::string>() << "threshold " << std::setw(6)
           << g["threshold"].dump() << " true positives " << RateText(g["true_positive_rate"]) << ", equal opportunity "
           << DifferenceText(g["equal_opportunity_difference"]) << "\n";
    }
  }
  if (r["alerts"].empty()) text << "no alerts";
  for (const auto& a : r["alerts"]) {
    text << "ALERT " << a["group"].get<std::string>() << ": " << a["metric"].get<std::string>() << " " << a["value"]
         << " beyond " << a["limit"] << "\n";
  }
  return text.str();
}

}  // namespace

void AddFairnessCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run) {
  auto args = std::make_shared<FairnessArgs>();
  CLI::App* fairness = app.add_subcommand("fairness", "Fairness across the groups of a protected attribute");
  fairness->require_subcommand(1);

  CLI::App* settings = fairness->add_subcommand("settings", "The protected attribute, its reference group and the alert thresholds");
  settings->require_subcommand(1);
  settings->add_subcommand("show", "Show the settings")->callback([&options, &run] {
    run = Runner(options, [](Context& context) -> Output {
      LOYALTY_ASSIGN_OR_RETURN(auto r, context.platform().fairness().Settings());
      return std::pair{r, r.dump(2)};
    });
  });
  CLI::App* set = settings->add_subcommand("set", "Replace the settings from a JSON file");
  set->add_option("--file", args->file, "The settings document (docs/fairness.md)")->required();
  set->add_option("--actor", args->actor, "Who sets them")->capture_default_str();
  set->callback([&options, &run, args] {
    run = Change(options, "fairness settings set", [args](Context& context) -> Output {
      context.change().actor = args->actor;
      LOYALTY_ASSIGN_OR_RETURN(auto doc, ReadJsonFile(args->file));
      LOYALTY_ASSIGN_OR_RETURN(auto r, context.platform().fairness().PutSettings(doc, args->actor));
      return std::pair{r, "fairness by " + r["attribute"].get<std::string>() + ", reference " + r["reference"].get<std::string>()};
    });
  });

  CLI::App* import = fairness->add_subcommand("import", "Members' values of the protected attribute from a CSV (member_id and a column)");
  import->add_option("--file", args->file, "The CSV file, with a header")->required();
  import->add_option("--column", args->column, "The column holding the values")->required();
  import->callback([&options, &run, args] {
    run = Change(options, "fairness import", [args](Context& context) -> Output {
      std::ifstream in(args->file, std::ios::binary);
      if (!in) return Fail(ErrorCode::kInvalidArgument, "cannot read --file " + args->file);
      core::CsvReader reader(in);
      LOYALTY_ASSIGN_OR_RETURN(const auto header, reader.Next());
      if (!header) return Fail(ErrorCode::kInvalidArgument, args->file + " is empty");
      const auto id_col = std::find(header->begin(), header->end(), "member_id");
      const auto value_col = std::find(header->begin(), header->end(), args->column);
      if (id_col == header->end()) return Fail(ErrorCode::kInvalidArgument, args->file + ": the header has no member_id column");
      if (value_col == header->end()) {
        return Fail(ErrorCode::kInvalidArgument, args->file + ": the header has no '" + args->column + "' column");
      }
      const auto id_at = static_cast<size_t>(id_col - header->begin());
      const auto value_at = static_cast<size_t>(value_col - header->begin());
      // Every row is checked before any value is kept: a bad file changes nothing.
      std::vector<std::pair<core::MemberId, std::string>> values;
      while (true) {
        LOYALTY_ASSIGN_OR_RETURN(auto row, reader.Next());
        if (!row) break;
        const std::string where = args->file + ":" + std::to_string(reader.record());
        if (row->size() <= std::max(id_at, value_at)) return Fail(ErrorCode::kInvalidArgument, where + ": too few columns");
        auto id = core::MemberId::Parse((*row)[id_at]);
        if (!id) return core::Wrap(id.error(), where);
        auto profile = context.members().Get(*id);
        if (!profile) return core::Wrap(profile.error(), where);
        values.emplace_back(profile->member, (*row)[value_at]);
      }
      LOYALTY_TRY(context.platform().fairness().SetAttributes(values));
      return std::pair{Json{{"members", values.size()}}, "kept the values of " + std::to_string(values.size()) + " members"};
    });
  });

  fairness->add_subcommand("report", "Offers, value and the churn model's errors per group, with alerts")->callback([&options, &run] {
    run = Runner(options, [](Context& context) -> Output {
      LOYALTY_ASSIGN_OR_RETURN(auto r, context.platform().fairness().Report(false));
      return std::pair{r, ReportText(r)};
    });
  });
  fairness->add_subcommand("check", "The report; its alerts then send the alerted groups' decisions to review (run daily)")
      ->callback([&options, &run] {
        run = Change(options, "fairness check", [](Context& context) -> Output {
          LOYALTY_ASSIGN_OR_RETURN(auto r, context.platform().fairness().Report(true));
          return std::pair{r, ReportText(r)};
        });
      });
  CLI::App* thresholds = fairness->add_subcommand(
      "thresholds", "Set per-group churn thresholds that give every group the reference's true-positive rate");
  thresholds->add_option("--actor", args->actor, "Who sets them")->capture_default_str();
  thresholds->callback([&options, &run, args] {
    run = Change(options, "fairness thresholds", [args](Context& context) -> Output {
      context.change().actor = args->actor;
      LOYALTY_ASSIGN_OR_RETURN(auto r, context.platform().fairness().SetGroupThresholds(args->actor));
      std::ostringstream text;
      text << "per-group churn thresholds (base " << r["base_threshold"] << ", " << r["model"].get<std::string>() << "):";
      for (const auto& g : r["groups"]) {
        text << "\n  " << std::left << std::setw(12) << g["group"].get<std::string>() << std::setw(10) << g["threshold"].dump()
             << "true positives " << RateText(g["before"]["true_positive_rate"]) << " -> "
             << RateText(g["after"]["true_positive_rate"]);
      }
      return std::pair{r, text.str()};
    });
  });
  CLI::App* mitigate = fairness->add_subcommand(
      "mitigate", "Train churn with reweighing (registered as the challenger) and compare both mitigations with the champion");
  mitigate->add_option("--seed", args->train.seed, "Seed of the split")->capture_default_str();
  mitigate->add_option("--actor", args->actor, "Who trains")->capture_default_str();
  mitigate->callback([&options, &run, args] {
    run = Change(options, "fairness mitigate", [args](Context& context) -> Output {
      context.change().actor = args->actor;
      args->train.creator = args->actor;
      LOYALTY_ASSIGN_OR_RETURN(auto r, context.platform().fairness().Mitigations(args->train));
      std::ostringstream text;
      const Json& rw = r["reweighing"];
      text << "reweighing: " << rw["model_version"].get<std::string>() << " (ROC AUC " << rw["roc_auc"] << ", champion "
           << rw["champion_roc_auc"] << ") on the same held-out members:";
      auto rows = [&](const Json& before, const Json& after) {
        for (size_t i = 0; i < after.size(); ++i) {
          text << "\n  " << std::left << std::setw(12) << after[i]["group"].get<std::string>() << "equal opportunity "
               << (before.is_array() && i < before.size() ? DifferenceText(before[i]["equal_opportunity_difference"]) : "-")
               << " -> " << DifferenceText(after[i]["equal_opportunity_difference"]);
        }
      };
      rows(rw["before"], rw["after"]);
      text << "\nper-group thresholds on " << r["group_thresholds"]["model"].get<std::string>() << " "
           << r["group_thresholds"]["thresholds"].dump() << ":";
      rows(r["group_thresholds"]["before"], r["group_thresholds"]["after"]);
      return std::pair{r, text.str()};
    });
  });
}

}  // namespace loyalty::cli
