#include "models_cli.hpp"

#include <cmath>
#include <fstream>
#include <iomanip>
#include <memory>
#include <sstream>

#include "loyalty/models/churn.hpp"
#include "loyalty/models/clv.hpp"

namespace loyalty::cli {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;

namespace {

using Output = std::pair<Json, std::string>;

// Runs a body that needs no data directory and prints its result or its one-line error.
std::function<int()> FileRunner(GlobalOptions& options, std::function<Result<Output>()> body) {
  return [&options, body = std::move(body)] {
    auto result = body();
    if (!result) return PrintError(result.error());
    return PrintResult(options, result->first, result->second);
  };
}

Result<std::ifstream> OpenInput(const std::string& path, std::string_view flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ErrorCode::kInvalidArgument, std::string(flag) + ": cannot open '" + path + "'");
  return in;
}

std::string Fixed(double v, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << v;
  return out.str();
}

std::string WithError(double v, double se, int digits) {
  return Fixed(v, digits) + (std::isfinite(se) ? " (se " + Fixed(se, digits) + ")" : "");
}

struct ClvArgs {
  std::string transactions;
  std::string calibration_end;
  std::string holdout_end;
  std::string time_unit = "week";
};

Result<Output> RunClvFit(const ClvArgs& args) {
  LOYALTY_ASSIGN_OR_RETURN(auto in, OpenInput(args.transactions, "--transactions"));
  auto file = models::ReadTransactions(in);
  if (!file) return core::Wrap(file.error(), args.transactions);
  models::SummaryOptions options;
  auto cal_end = models::ParseDay(args.calibration_end);
  if (!cal_end) return core::Wrap(cal_end.error(), "--calibration-end");
  options.calibration_end = *cal_end;
  if (!args.holdout_end.empty()) {
    auto hold_end = models::ParseDay(args.holdout_end);
    if (!hold_end) return core::Wrap(hold_end.error(), "--holdout-end");
    options.holdout_end = *hold_end;
  }
  options.days_per_unit = args.time_unit == "day" ? 1.0 : 7.0;
  LOYALTY_ASSIGN_OR_RETURN(const auto customers, models::Summarize(std::move(file->purchases), options));
  LOYALTY_ASSIGN_OR_RETURN(const auto bg, models::FitBgNbd(customers));
  LOYALTY_ASSIGN_OR_RETURN(const auto gg, models::FitGammaGamma(customers));

  const auto& p = bg.params;
  const auto& se = bg.report.std_errors;
  Json bg_json = models::ToJson(bg.report, {"r", "alpha", "a", "b"});
  bg_json["params"] = {{"r", p.r}, {"alpha", p.alpha}, {"a", p.a}, {"b", p.b}};
  const auto& g = gg.params;
  Json gg_json = models::ToJson(gg.report, {"p", "q", "gamma"});
  gg_json["params"] = {{"p", g.p}, {"q", g.q}, {"gamma", g.gamma}};
  gg_json["customers"] = gg.customers;
  int64_t repeats = 0;
  for (const auto& c : customers) repeats += c.frequency;
  Json out{{"customers", customers.size()},
           {"repeat_transactions", repeats},
           {"rows", file->rows},
           {"returns_skipped", file->returns},
           {"time_unit", args.time_unit},
           {"bgnbd", bg_json},
           {"gamma_gamma", gg_json}};

  std::ostringstream text;
  text << customers.size() << " customers, " << repeats << " repeat transactions in the calibration period (time unit: "
       << args.time_unit << ")\n"
       << "BG/NBD       r " << WithError(p.r, se[0], 3) << "  alpha " << WithError(p.alpha, se[1], 3) << "  a "
       << WithError(p.a, se[2], 3) << "  b " << WithError(p.b, se[3], 3) << "\n"
       << "             log-likelihood " << Fixed(bg.report.log_likelihood, 2) << ", " << bg.report.status << " ("
       << bg.report.evaluations << " evaluations)\n"
       << "Gamma-Gamma  p " << WithError(g.p, gg.report.std_errors[0], 2) << "  q "
       << WithError(g.q, gg.report.std_errors[1], 2) << "  gamma " << WithError(g.gamma, gg.report.std_errors[2], 2)
       << "\n             fitted on " << gg.customers << " customers with repeat purchases, " << gg.report.status
       << "\n";
  if (options.holdout_end) {
    const double length = static_cast<double>((*options.holdout_end - options.calibration_end).count()) /
                          options.days_per_unit;
    const auto holdout = models::CompareHoldout(bg.params, customers, length);
    Json groups = Json::array();
    text << "Holdout (" << Fixed(length, 1) << " " << args.time_unit << "s): repeat purchases per customer\n"
         << "  calibration frequency  customers  actual  predicted\n";
    for (const auto& group : holdout.groups) {
      groups.push_back({{"frequency", group.frequency},
                        {"customers", group.customers},
                        {"actual", group.actual},
                        {"predicted", group.predicted}});
      text << "  " << std::setw(21) << group.frequency << "  " << std::setw(9) << group.customers << "  "
           << std::setw(6) << Fixed(group.actual, 2) << "  " << std::setw(9) << Fixed(group.predicted, 2) << "\n";
    }
    text << "  total actual " << Fixed(holdout.actual_total, 0) << ", predicted " << Fixed(holdout.predicted_total, 1)
         << ", mean absolute error per customer " << Fixed(holdout.mean_absolute_error, 3) << "\n";
    out["holdout"] = {{"length", length},
                      {"groups", groups},
                      {"actual_total", holdout.actual_total},
                      {"predicted_total", holdout.predicted_total},
                      {"mean_absolute_error", holdout.mean_absolute_error}};
  }
  if (!bg.report.converged || !gg.report.converged) {
    std::cerr << "warning: a fit did not converge; read its status before using the estimates\n";
  }
  return Output{out, text.str()};
}

struct ChurnArgs {
  std::string csv;
  std::string label;
  std::string positive;
  std::string id;
  int folds = 5;
  uint64_t seed = 1;
};

Result<Output> RunChurnFit(const ChurnArgs& args) {
  LOYALTY_ASSIGN_OR_RETURN(auto in, OpenInput(args.csv, "--csv"));
  auto table = models::ReadLabelledTable(in, {args.label, args.positive, args.id});
  if (!table) return core::Wrap(table.error(), args.csv);
  if (args.folds < 2 || static_cast<size_t>(args.folds) > table->data.rows) {
    return Fail(ErrorCode::kInvalidArgument, "--folds must be between 2 and the number of rows (" +
                                                 std::to_string(table->data.rows) + ")");
  }
  models::ChurnOptions options;
  options.seed = args.seed;
  LOYALTY_ASSIGN_OR_RETURN(const auto cv, models::CrossValidate(table->data, args.folds, options));
  Json top = Json::array();
  std::ostringstream text;
  const auto& m = cv.metrics;
  text << table->data.rows << " rows, " << table->data.cols() << " features, " << Fixed(100 * m.positive_rate, 1)
       << "% positive; " << args.folds << "-fold cross-validation (" << Fixed(cv.mean_rounds, 0)
       << " trees per fold on average)\n"
       << "  ROC AUC " << Fixed(m.roc_auc, 4) << "   PR AUC " << Fixed(m.pr_auc, 4) << "   log loss "
       << Fixed(m.log_loss, 4) << "   Brier " << Fixed(m.brier, 4) << "   lift in the top decile "
       << Fixed(m.lift_top_decile, 2) << "\n"
       << "Top features (mean effect on the probability, in points):\n";
  for (size_t i = 0; i < cv.top_features.size() && i < 10; ++i) {
    const auto& f = cv.top_features[i];
    top.push_back({{"feature", f.feature}, {"mean_abs_effect", f.mean_abs_effect}});
    text << "  " << std::left << std::setw(24) << f.feature << std::right << Fixed(f.mean_abs_effect, 4) << "\n";
  }
  text << "Calibration (predicted -> observed):";
  for (const auto& bin : cv.calibration) {
    text << " " << Fixed(bin.mean_predicted, 2) << "->" << Fixed(bin.observed_rate, 2);
  }
  Json folds = Json::array();
  for (const auto& f : cv.per_fold) folds.push_back(models::ToJson(f));
  for (const auto& ignored : table->ignored_columns) text << "\nignored column " << ignored;
  Json out{{"rows", table->data.rows},
           {"features", table->data.cols()},
           {"folds", args.folds},
           {"metrics", models::ToJson(cv.metrics)},
           {"per_fold", folds},
           {"calibration", models::ToJson(cv.calibration)},
           {"top_features", top},
           {"ignored_columns", table->ignored_columns},
           {"mean_trees", cv.mean_rounds}};
  return Output{out, text.str()};
}

}  // namespace

void AddModelCommands(CLI::App& app, GlobalOptions& options, std::function<int()>& run) {
  CLI::App* clv = app.add_subcommand("clv", "Customer lifetime value models (BG/NBD and Gamma-Gamma)");
  clv->require_subcommand(1);
  auto clv_args = std::make_shared<ClvArgs>();
  CLI::App* fit = clv->add_subcommand("fit", "Fit BG/NBD and Gamma-Gamma on a transaction file and report the estimates");
  fit->add_option("--transactions", clv_args->transactions,
                  "CSV with customer_id, date and amount columns (or whitespace-separated, as CDNOW)")
      ->required();
  fit->add_option("--calibration-end", clv_args->calibration_end, "Last day of the calibration period")->required();
  fit->add_option("--holdout-end", clv_args->holdout_end, "Last day of the holdout period: compare predictions with it");
  fit->add_option("--time-unit", clv_args->time_unit, "week or day")
      ->check(CLI::IsMember({"week", "day"}))
      ->capture_default_str();
  fit->callback([&options, &run, clv_args] { run = FileRunner(options, [clv_args] { return RunClvFit(*clv_args); }); });

  CLI::App* churn = app.add_subcommand("churn", "Churn models (gradient-boosted trees with SHAP explanations)");
  churn->require_subcommand(1);
  auto churn_args = std::make_shared<ChurnArgs>();
  CLI::App* churn_fit = churn->add_subcommand("fit", "Cross-validate a churn classifier on any labelled CSV table");
  churn_fit->add_option("--csv", churn_args->csv, "CSV with a header; numeric and text columns, empty cells allowed")
      ->required();
  churn_fit->add_option("--label", churn_args->label, "The column holding the outcome")->required();
  churn_fit->add_option("--positive", churn_args->positive, "The label value that means churned")->required();
  churn_fit->add_option("--id", churn_args->id, "A column of row ids (not used as a feature)");
  churn_fit->add_option("--folds", churn_args->folds, "Cross-validation folds")->capture_default_str();
  churn_fit->add_option("--seed", churn_args->seed, "Seed of the fold assignment and sampling")->capture_default_str();
  churn_fit->callback(
      [&options, &run, churn_args] { run = FileRunner(options, [churn_args] { return RunChurnFit(*churn_args); }); });
}

}  // namespace loyalty::cli
