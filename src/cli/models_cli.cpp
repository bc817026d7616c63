#include "models_cli.hpp"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <memory>
#include <sstream>

#include "loyalty/engine/retraining.hpp"
#include "loyalty/models/churn.hpp"
#include "loyalty/models/clv.hpp"
#include "loyalty/models/registry.hpp"

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

struct PlatformModelArgs {
  std::string model = "all";
  engine::TrainOptions train;
  std::string kind;
  int version = 0;
  std::string actor = OperatorName();
  std::string member;
  std::vector<std::string> overrides;
};

std::string Percent(double v) { return Fixed(100 * v, 1) + "%"; }

Result<Output> RunTrain(Context& context, PlatformModelArgs& args) {
  const bool tty = isatty(STDERR_FILENO);
  args.train.creator = args.actor;
  args.train.progress = [tty](std::string_view stage) {
    if (tty) std::cerr << "\r\033[K" << stage << "..." << std::flush;
  };
  Json out = Json::object();
  std::ostringstream text;
  text << "model        version     quality\n";
  auto& predictions = context.platform().predictions();
  if (args.model == "churn" || args.model == "all") {
    auto fair = context.platform().fairness().ForTraining(args.train);
    if (!fair) return std::unexpected(fair.error());
    auto churn = predictions.TrainChurn(*fair);
    if (tty) std::cerr << "\r\033[K";
    if (!churn) return core::Wrap(churn.error(), "churn");
    const Json& r = churn->report;
    text << "churn        " << std::left << std::setw(12) << churn->version.name() << std::right << "ROC AUC "
         << Fixed(r["model"]["roc_auc"].get<double>(), 3) << " vs " << Fixed(r["baseline"]["roc_auc"].get<double>(), 3)
         << " for the recency rule; Brier " << Fixed(r["model"]["brier"].get<double>(), 3) << "; "
         << r["holdout_members"].get<int64_t>() << " held-out members, horizon "
         << r["data_window"]["horizon_days"].get<int>() << " days\n";
    out["churn"] = r;
  }
  if (args.model == "clv" || args.model == "all") {
    auto clv = predictions.TrainClv(args.train);
    if (tty) std::cerr << "\r\033[K";
    if (!clv) return core::Wrap(clv.error(), "clv");
    const Json& r = clv->report;
    text << "clv          " << std::left << std::setw(12) << clv->version.name() << std::right << "BG/NBD "
         << r["bgnbd"]["status"].get<std::string>() << " on " << r["data_window"]["customers"].get<int64_t>()
         << " customers";
    if (r["holdout"].is_object()) {
      text << "; holdout " << Fixed(r["holdout"]["predicted_total"].get<double>(), 0) << " purchases predicted, "
           << Fixed(r["holdout"]["actual_total"].get<double>(), 0) << " made";
    }
    text << "\n";
    out["clv"] = r;
  }
  if (args.model == "recs" || args.model == "all") {
    auto recs = predictions.TrainRecommendations(args.train);
    if (tty) std::cerr << "\r\033[K";
    if (!recs) return core::Wrap(recs.error(), "recs");
    const Json& r = recs->report;
    text << "recs         " << std::left << std::setw(12) << recs->version.name() << std::right
         << r["data_window"]["items"].get<int64_t>() << " items, " << r["data_window"]["members"].get<int64_t>()
         << " members";
    if (r["holdout"].is_object()) {
      text << "; precision@10 " << Fixed(r["holdout"]["als"]["precision_at_10"].get<double>(), 3) << " vs "
           << Fixed(r["holdout"]["popularity"]["precision_at_10"].get<double>(), 3) << " for popularity, NDCG@10 "
           << Fixed(r["holdout"]["als"]["ndcg_at_10"].get<double>(), 3) << " vs "
           << Fixed(r["holdout"]["popularity"]["ndcg_at_10"].get<double>(), 3);
    }
    text << "\n";
    out["recs"] = r;
  }
  if (args.model == "segments" || args.model == "all") {
    auto segments = predictions.TrainSegments(args.train);
    if (tty) std::cerr << "\r\033[K";
    if (!segments) return core::Wrap(segments.error(), "segments");
    const Json& r = segments->report;
    text << "segments     " << std::left << std::setw(12) << segments->version.name() << std::right
         << r["segments"].size() << " micro-segments of " << r["data_window"]["members"].get<int64_t>()
         << " customers, e.g. " << r["segments"][0]["description"].get<std::string>() << "\n";
    out["segments"] = r;
  }
  if (args.model == "breakage" || args.model == "all") {
    auto breakage = predictions.TrainBreakage(args.train);
    if (tty) std::cerr << "\r\033[K";
    if (!breakage) return core::Wrap(breakage.error(), "breakage");
    const Json& r = breakage->report;
    const Json& f = r["forecast"];
    text << "breakage     " << std::left << std::setw(12) << breakage->version.name() << std::right
         << Percent(f["breakage_share"]["mean"].get<double>()) << " of " << Fixed(f["outstanding_points"].get<double>(), 0)
         << " outstanding points never redeemed (" << Percent(f["breakage_share"]["low"].get<double>()) << " to "
         << Percent(f["breakage_share"]["high"].get<double>()) << ")";
    if (r["backtest"].is_object() && r["backtest"].contains("liability_mape")) {
      const Json& b = r["backtest"];
      text << "; back-test over " << b["months"].get<int>() << " months: liability error "
           << Percent(b["liability_mape"].get<double>()) << " vs " << Percent(b["run_rate_liability_mape"].get<double>())
           << " for the run rate";
    }
    text << "\n";
    out["breakage"] = r;
  }
  if (out.contains("churn") || out.contains("clv")) {
    // What the models now in use predict is kept, to be checked against what happens.
    auto kept = predictions.KeepPredictions(std::nullopt);
    if (!kept) return core::Wrap(kept.error(), "keeping predictions");
    text << "kept the predictions of " << (*kept)["kept"].size() << " model versions for "
         << (*kept)["customers"].get<size_t>() << " customers; `loyalty models accuracy --kind churn` compares them "
         << "with what happened once their horizon has passed\n";
    out["kept"] = *kept;
  }
  text << "New versions become the champion when none exists, the challenger otherwise: "
          "`loyalty models promote --kind K --version N`.";
  return Output{out, text.str()};
}

std::string VersionLine(const models::ModelVersion& v) {
  std::ostringstream line;
  line << std::left << std::setw(10) << v.name() << std::setw(22) << core::FormatTimestamp(v.created_at) << std::setw(12)
       << v.creator;
  for (const auto& a : v.aliases) line << " [" << a << "]";
  if (v.metrics.contains("model")) line << "  ROC AUC " << Fixed(v.metrics["model"].value("roc_auc", 0.0), 3);
  return line.str();
}

Result<Output> RunScores(Context& context, const PlatformModelArgs& args) {
  LOYALTY_ASSIGN_OR_RETURN(auto member, core::MemberId::Parse(args.member));
  LOYALTY_ASSIGN_OR_RETURN(Json scores, context.platform().predictions().Scores(member));
  std::ostringstream text;
  text << scores["member"].get<std::string>() << " as of " << scores["as_of"].get<std::string>();
  if (scores["segment"].is_string()) text << ", RFM segment " << scores["segment"].get<std::string>();
  if (scores["churn"].is_object()) {
    const Json& c = scores["churn"];
    text << "\nchurn risk " << Percent(c["probability"].get<double>()) << " (" << c["model"].get<std::string>()
         << ", base rate " << Percent(c["base_probability"].get<double>()) << ")";
    for (const auto& t : c["top_contributions"]) text << "\n  " << t["words"].get<std::string>();
  }
  if (scores["micro_segment"].is_object()) {
    text << "\nmicro-segment " << scores["micro_segment"]["id"].get<int>() << ": "
         << scores["micro_segment"]["description"].get<std::string>();
  }
  if (scores["clv"].is_object()) {
    const Json& v = scores["clv"];
    auto interval = [](const Json& i, int digits) {
      return Fixed(i["estimate"].get<double>(), digits) + " (" + Fixed(i["low"].get<double>(), digits) + " to " +
             Fixed(i["high"].get<double>(), digits) + ")";
    };
    text << "\nCLV over " << Fixed(v["horizon_months"].get<double>(), 0) << " months " << interval(v["value"], 2) << " "
         << v["currency"].get<std::string>() << " (" << v["model"].get<std::string>() << ")"
         << "\n  still a customer: " << interval(v["probability_alive"], 2)
         << "\n  expected purchases: " << interval(v["expected_purchases"], 2)
         << "\n  expected spend per purchase: " << interval(v["expected_spend"], 2);
    const Json& n = scores["next_purchase"];
    text << "\nnext purchase in about " << Fixed(n["median_days"].get<double>(), 0) << " days ("
         << Fixed(n["low_days"].get<double>(), 0) << " to " << Fixed(n["high_days"].get<double>(), 0)
         << ") if still a customer; " << Percent(n["probability_within_30_days"].get<double>())
         << " chance within 30 days";
  }
  for (const auto& u : scores["unavailable"]) text << "\n(" << u.get<std::string>() << ")";
  return Output{scores, text.str()};
}

Result<Output> RunWhatIf(Context& context, const PlatformModelArgs& args) {
  LOYALTY_ASSIGN_OR_RETURN(auto member, core::MemberId::Parse(args.member));
  Json overrides = Json::object();
  for (const auto& o : args.overrides) {
    const size_t eq = o.find('=');
    if (eq == std::string::npos) return Fail(ErrorCode::kInvalidArgument, "--set '" + o + "': use feature=value");
    const std::string name = o.substr(0, eq), value = o.substr(eq + 1);
    if (value == "missing") {
      overrides[name] = nullptr;
      continue;
    }
    double number = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (ec != std::errc() || ptr != value.data() + value.size()) {
      return Fail(ErrorCode::kInvalidArgument, "--set " + o + ": '" + value + "' is not a number (or 'missing')");
    }
    overrides[name] = number;
  }
  LOYALTY_ASSIGN_OR_RETURN(Json result, context.platform().predictions().WhatIf(member, overrides));
  std::ostringstream text;
  text << "churn risk " << Percent(result["before"]["probability"].get<double>()) << " -> "
       << Percent(result["after"]["probability"].get<double>()) << " (" << result["after"]["model"].get<std::string>()
       << ")";
  for (const auto& t : result["after"]["top_contributions"]) text << "\n  " << t["words"].get<std::string>();
  return Output{result, text.str()};
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

  auto args = std::make_shared<PlatformModelArgs>();
  CLI::App* train = app.add_subcommand("train", "Train models on the program's history and register them");
  train->add_option("--model", args->model, "churn, clv, recs, segments, breakage or all")
      ->check(CLI::IsMember({"churn", "clv", "recs", "segments", "breakage", "all"}))
      ->capture_default_str();
  train->add_option("--horizon-days", args->train.churn_horizon_days,
                    "Churned: no purchase within this many days after the cutoff")
      ->capture_default_str();
  train->add_option("--holdout-days", args->train.clv_holdout_days, "CLV: days at the end held out for the check")
      ->capture_default_str();
  train->add_option("--segments", args->train.segments, "How many micro-segments (2 to 10000)")->capture_default_str();
  train->add_option("--seed", args->train.seed, "Seed of the splits and simulations")->capture_default_str();
  train->add_option("--draws", args->train.breakage_draws, "Breakage: simulated futures per member (20 to 10000)")
      ->capture_default_str();
  train->add_option("--actor", args->actor, "Who trains (recorded as the creator)")->capture_default_str();
  train->callback([&options, &run, args] {
    run = Change(options, "train", [args](Context& context) {
      context.change().actor = args->actor;
      return RunTrain(context, *args);
    });
  });

  CLI::App* models_cmd = app.add_subcommand("models", "The model registry: versions, champion and challenger");
  models_cmd->require_subcommand(1);
  CLI::App* list = models_cmd->add_subcommand("list", "List model versions with their aliases and quality");
  list->add_option("--kind", args->kind, "churn or clv (default: all)");
  list->callback([&options, &run, args] {
    run = Runner(options, [args](Context& context) -> Result<Output> {
      LOYALTY_ASSIGN_OR_RETURN(auto versions, context.platform().registry().List(args->kind));
      Json out = Json::array();
      std::ostringstream text;
      for (const auto& v : versions) {
        out.push_back(models::ToJson(v));
        text << VersionLine(v) << "\n";
      }
      if (versions.empty()) text << "no models yet: `loyalty train`";
      return Output{out, text.str()};
    });
  });
  CLI::App* promote = models_cmd->add_subcommand("promote", "Make a version the champion that scoring uses");
  promote->add_option("--kind", args->kind, "churn or clv")->required();
  promote->add_option("--version", args->version, "The version number")->required();
  promote->add_option("--actor", args->actor, "Who promotes")->capture_default_str();
  promote->callback([&options, &run, args] {
    run = Change(options, "models promote", [args](Context& context) -> Result<Output> {
      context.change().actor = args->actor;
      LOYALTY_ASSIGN_OR_RETURN(auto v, context.platform().registry().Promote(args->kind, args->version, args->actor));
      return Output{models::ToJson(v), v.name() + " is now the champion"};
    });
  });
  CLI::App* rollback = models_cmd->add_subcommand("rollback", "Return the champion to the version it replaced");
  rollback->add_option("--kind", args->kind, "churn or clv")->required();
  rollback->add_option("--actor", args->actor, "Who rolls back")->capture_default_str();
  rollback->callback([&options, &run, args] {
    run = Change(options, "models rollback", [args](Context& context) -> Result<Output> {
      context.change().actor = args->actor;
      LOYALTY_ASSIGN_OR_RETURN(auto v, context.platform().registry().Rollback(args->kind, args->actor));
      return Output{models::ToJson(v), v.name() + " is the champion again"};
    });
  });

  auto when_due = std::make_shared<bool>(false);
  CLI::App* retrain = models_cmd->add_subcommand(
      "retrain", "Retrain churn and promote it past its guardrails (promotion on its own in the continuous phase)");
  retrain->add_flag("--when-due", *when_due,
                    "Only in the continuous phase and when the newest churn model is older than the schedule (for a timer)");
  retrain->add_option("--seed", args->train.seed, "Seed of the split")->capture_default_str();
  CLI::Option* retrain_actor =
      retrain->add_option("--actor", args->actor, "Who retrains (default: automation with --when-due, else you)");
  retrain->callback([&options, &run, args, when_due, retrain_actor] {
    // A run that trains is audited by RetrainChurn itself, under the model it trained; a
    // refused or failed one is recorded here.
    run = Runner(options, [&options, args, when_due, retrain_actor](Context& context) -> Result<Output> {
      args->train.creator = *when_due && retrain_actor->count() == 0 ? "automation" : args->actor;
      auto retrained = engine::RetrainChurn(context.platform(), args->train, *when_due);
      if (!retrained) {
        context.change().actor = args->train.creator;
        context.change().target = "churn";
        LOYALTY_TRY(RecordChange(options, context, "models retrain", core::HttpStatus(retrained.error().code),
                                 retrained.error().message));
        return std::unexpected(retrained.error());
      }
      Json r = std::move(*retrained);
      std::ostringstream text;
      if (!r["retrained"].get<bool>()) return Output{r, "not retrained: " + r["skipped"].get<std::string>()};
      text << "trained " << r["model_version"].get<std::string>();
      for (const auto& c : r["checks"]) {
        text << "\n  " << (c["passed"].get<bool>() ? "pass " : "FAIL ") << std::left << std::setw(20)
             << c["check"].get<std::string>() << Fixed(c["value"].get<double>(), 4) << " (limit "
             << Fixed(c["limit"].get<double>(), 4) << ")";
      }
      if (r["promoted"].get<bool>()) {
        text << "\n" << r["model_version"].get<std::string>() << " is the champion";
      } else {
        text << "\nnot promoted: " << r["held_back"].get<std::string>();
      }
      return Output{r, text.str()};
    });
  });

  auto keep_at = std::make_shared<std::string>();
  auto clv_horizon = std::make_shared<int>(91);
  CLI::App* keep = models_cmd->add_subcommand(
      "keep", "Keep what the churn and CLV champion and challenger predict for every customer (run daily)");
  keep->add_option("--at", *keep_at, "As of this earlier time (features as they were then); default now");
  keep->add_option("--clv-horizon-days", *clv_horizon, "CLV: purchases predicted over this many days")->capture_default_str();
  keep->callback([&options, &run, keep_at, clv_horizon] {
    run = Change(options, "models keep", [keep_at, clv_horizon](Context& context) -> Result<Output> {
      std::optional<core::Timestamp> at;
      if (!keep_at->empty()) {
        auto parsed = core::ParseTimestamp(*keep_at);
        if (!parsed) return core::Wrap(parsed.error(), "--at");
        at = *parsed;
      }
      LOYALTY_ASSIGN_OR_RETURN(Json r, context.platform().predictions().KeepPredictions(at, *clv_horizon));
      std::ostringstream text;
      text << "kept as of " << r["as_of"].get<std::string>() << " for " << r["customers"].get<size_t>() << " customers:";
      for (const auto& k : r["kept"]) {
        text << "\n  " << k["model"].get<std::string>() << " " << k["quantity"].get<std::string>() << " over "
             << k["horizon_days"].get<int>() << " days (checkable from " << k["matures_at"].get<std::string>() << ")";
      }
      return Output{r, text.str()};
    });
  });
  auto accuracy_kind = std::make_shared<std::string>();
  CLI::App* accuracy = models_cmd->add_subcommand("accuracy", "How kept predictions compared with what happened");
  accuracy->add_option("--kind", *accuracy_kind, "churn or clv")->required()->check(CLI::IsMember({"churn", "clv"}));
  accuracy->callback([&options, &run, accuracy_kind] {
    run = Runner(options, [accuracy_kind](Context& context) -> Result<Output> {
      LOYALTY_ASSIGN_OR_RETURN(Json r, context.platform().predictions().Accuracy(*accuracy_kind));
      std::ostringstream text;
      text << "snapshot  model       as of       horizon  result";
      for (const auto& s : r["snapshots"]) {
        text << "\n" << std::left << std::setw(10) << s["snapshot"].get<int64_t>() << std::setw(12)
             << s["model"].get<std::string>() << std::setw(12) << s["at"].get<std::string>().substr(0, 10) << std::right
             << std::setw(4) << s["horizon_days"].get<int>() << " d  ";
        if (!s["matured"].get<bool>()) {
          text << "checkable from " << s["matures_at"].get<std::string>().substr(0, 10);
        } else if (s.contains("metrics")) {
          text << "ROC AUC " << Fixed(s["metrics"]["roc_auc"].get<double>(), 3) << ", churn predicted "
               << Percent(s["predicted_churn_rate"].get<double>()) << ", observed "
               << Percent(s["observed_churn_rate"].get<double>());
        } else {
          text << Fixed(s["predicted_purchases"].get<double>(), 0) << " purchases predicted, "
               << Fixed(s["actual_purchases"].get<double>(), 0) << " made";
        }
      }
      if (r["snapshots"].empty()) text << "\nno predictions kept yet: `loyalty models keep` (also run by `loyalty train`)";
      return Output{r, text.str()};
    });
  });

  CLI::App* drift = models_cmd->add_subcommand("drift", "How far today's customers have moved from the churn model's training window (PSI)");
  drift->callback([&options, &run] {
    run = Runner(options, [](Context& context) -> Result<Output> {
      LOYALTY_ASSIGN_OR_RETURN(Json report, context.platform().predictions().Drift());
      std::ostringstream text;
      text << report["model"].get<std::string>() << " trained on customers as of "
           << report["training_cutoff"].get<std::string>() << "; population stability now (0.1 watch, 0.25 act):";
      if (report.contains("score")) {
        text << "\n  " << std::left << std::setw(28) << "churn score" << Fixed(report["score"]["psi"].get<double>(), 3)
             << "  " << report["score"]["level"].get<std::string>();
      }
      for (const auto& item : report["features"]) {
        text << "\n  " << std::left << std::setw(28) << item["name"].get<std::string>() << Fixed(item["psi"].get<double>(), 3)
             << "  " << item["level"].get<std::string>();
      }
      return Output{report, text.str()};
    });
  });

  CLI::App* scores = app.add_subcommand("scores", "A member's churn risk, CLV and next purchase, explained");
  scores->add_option("--member", args->member, "The member")->required();
  scores->callback([&options, &run, args] {
    run = Runner(options, [args](Context& context) { return RunScores(context, *args); });
  });
  auto count = std::make_shared<size_t>(10);
  auto sku = std::make_shared<std::string>();
  CLI::App* recommend = app.add_subcommand("recommend", "A member's recommended items (ALS, or popular in their segment)");
  recommend->add_option("--member", args->member, "The member")->required();
  recommend->add_option("--n", *count, "How many items (1 to 100)")->capture_default_str();
  recommend->callback([&options, &run, args, count] {
    run = Runner(options, [args, count](Context& context) -> Result<Output> {
      LOYALTY_ASSIGN_OR_RETURN(auto member, core::MemberId::Parse(args->member));
      LOYALTY_ASSIGN_OR_RETURN(Json r, context.platform().predictions().Recommend(member, *count));
      std::ostringstream text;
      text << r["member"].get<std::string>() << " (" << r["model"].get<std::string>() << ", "
           << r["source"].get<std::string>() << "):";
      for (const auto& item : r["items"]) text << " " << item["sku"].get<std::string>();
      return Output{r, text.str()};
    });
  });
  CLI::App* similar = app.add_subcommand("similar", "Items bought and viewed by the same kind of member");
  similar->add_option("--sku", *sku, "The item")->required();
  similar->add_option("--n", *count, "How many items (1 to 100)")->capture_default_str();
  similar->callback([&options, &run, sku, count] {
    run = Runner(options, [sku, count](Context& context) -> Result<Output> {
      LOYALTY_ASSIGN_OR_RETURN(Json r, context.platform().predictions().SimilarItems(*sku, *count));
      std::ostringstream text;
      text << "like " << *sku << " (" << r["model"].get<std::string>() << "):";
      for (const auto& item : r["similar"]) {
        text << " " << item["sku"].get<std::string>() << " (" << Fixed(item["similarity"].get<double>(), 2) << ")";
      }
      return Output{r, text.str()};
    });
  });

  auto horizon = std::make_shared<int>(12);
  auto draws = std::make_shared<int>(200);
  CLI::App* breakage = app.add_subcommand(
      "breakage", "Share of today's points never to be redeemed, and liability month by month (champion model)");
  breakage->add_option("--months", *horizon, "Months ahead (1 to 120)")->capture_default_str();
  breakage->add_option("--draws", *draws, "Simulated futures per member (20 to 10000)")->capture_default_str();
  breakage->callback([&options, &run, horizon, draws] {
    run = Runner(options, [horizon, draws](Context& context) -> Result<Output> {
      LOYALTY_ASSIGN_OR_RETURN(Json r, context.platform().predictions().Breakage(*horizon, *draws));
      std::ostringstream text;
      const Json& share = r["breakage_share"];
      text << Fixed(r["outstanding_points"].get<double>(), 0) << " points outstanding ("
           << r["outstanding_value"]["amount"].get<std::string>() << " " << r["outstanding_value"]["currency"].get<std::string>()
           << ") across " << r["members"].get<int64_t>() << " members; " << Percent(share["mean"].get<double>())
           << " will never be redeemed (90% band " << Percent(share["low"].get<double>()) << " to "
           << Percent(share["high"].get<double>()) << "; " << r["model"].get<std::string>() << ")\nmonth  liability (points, 90% band)";
      for (const auto& m : r["liability_points"]) {
        text << "\n" << std::setw(5) << m["month"].get<int>() << "  " << std::setw(12) << Fixed(m["mean"].get<double>(), 0)
             << "  (" << Fixed(m["low"].get<double>(), 0) << " to " << Fixed(m["high"].get<double>(), 0) << ")";
      }
      return Output{r, text.str()};
    });
  });

  CLI::App* what_if = app.add_subcommand("what-if", "A member's churn risk with some features changed");
  what_if->add_option("--member", args->member, "The member")->required();
  what_if->add_option("--set", args->overrides, "feature=value (repeatable), e.g. --set recency_days=5")->required();
  what_if->callback([&options, &run, args] {
    run = Runner(options, [args](Context& context) { return RunWhatIf(context, *args); });
  });
}

}  // namespace loyalty::cli
