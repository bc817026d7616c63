#include "loyalty/engine/retraining.hpp"

#include "loyalty/decision/automation.hpp"
#include "loyalty/oversight/audit_log.hpp"

namespace loyalty::engine {

using core::ErrorCode;
using core::Json;
using core::Result;

namespace {

constexpr auto kDay = std::chrono::hours(24);

Json Check(std::string_view name, double value, double limit, bool passed) {
  return {{"check", name}, {"value", value}, {"limit", limit}, {"passed", passed}};
}

// The guardrails a trained model's report is held to. With a champion, the comparison on the
// same held-out members is one of them: a champion that could not be scored fails it.
Json Checks(const Json& report, const decision::RetrainingGuardrails& g, bool has_champion) {
  const double auc = report["model"]["roc_auc"].get<double>();
  const double brier = report["model"]["brier"].get<double>();
  const double rule_auc = report["baseline"]["roc_auc"].get<double>();
  Json checks = Json::array();
  checks.push_back(Check("min_auc", auc, g.min_auc, auc >= g.min_auc));
  checks.push_back(Check("beats_recency_rule", auc, rule_auc, auc > rule_auc));
  if (const auto it = report.find("champion_on_holdout"); it != report.end()) {
    const double drop = (*it)["roc_auc"].get<double>() - auc;
    const double rise = brier - (*it)["brier"].get<double>();
    checks.push_back(Check("max_auc_drop", drop, g.max_auc_drop, drop <= g.max_auc_drop));
    checks.push_back(Check("max_brier_rise", rise, g.max_brier_rise, rise <= g.max_brier_rise));
  } else if (has_champion) {
    checks.push_back(Check("champion_compared", 0, 1, false));
  }
  return checks;
}

}  // namespace

Result<Json> RetrainChurn(Platform& platform, const TrainOptions& options, bool only_when_due) {
  const decision::AutomationSettings settings = platform.decisions().AutomationInForce();
  const decision::RetrainingGuardrails& g = settings.retraining;
  const bool continuous = settings.program == decision::AutomationPhase::kContinuous;
  const core::Timestamp now = platform.clock().Now();
  Json out{{"phase", decision::PhaseName(settings.program)}, {"retrained", false}};

  // Due: no churn model yet, or the newest is every_days old (a held-back challenger counts,
  // so a failing model is not retrained on every tick).
  LOYALTY_ASSIGN_OR_RETURN(const auto versions, platform.registry().List("churn"));
  std::optional<core::Timestamp> newest;
  for (const auto& v : versions) newest = std::max(newest.value_or(v.created_at), v.created_at);
  const bool due = !newest || now - *newest >= g.every_days * kDay;
  out["due"] = due;
  if (newest) out["next_due"] = core::FormatTimestamp(*newest + g.every_days * kDay);
  if (only_when_due && !continuous) {
    out["skipped"] = "scheduled retraining runs in the continuous phase; the program is in '" +
                     std::string(decision::PhaseName(settings.program)) + "'";
    return out;
  }
  if (only_when_due && !due) {
    out["skipped"] = "not due: the newest churn model is younger than " + std::to_string(g.every_days) + " days";
    return out;
  }

  auto champion_before = platform.registry().ByAlias("churn", "champion");
  if (!champion_before && champion_before.error().code != ErrorCode::kNotFound) return std::unexpected(champion_before.error());
  LOYALTY_ASSIGN_OR_RETURN(const TrainOptions train, platform.fairness().ForTraining(options));
  LOYALTY_ASSIGN_OR_RETURN(const auto trained, platform.predictions().TrainChurn(train));
  const Json& report = trained.report;
  const Json checks = Checks(report, g, champion_before.has_value());
  bool passed = true;
  for (const auto& c : checks) passed = passed && c["passed"].get<bool>();

  out["retrained"] = true;
  out["model_version"] = trained.version.name();
  out["champion_before"] = champion_before ? Json(champion_before->name()) : Json(nullptr);
  out["checks"] = checks;
  out["promoted"] = false;
  if (!champion_before) {
    out["held_back"] = nullptr;  // the first model of its kind is the champion already
    out["promoted"] = true;
  } else if (!passed) {
    out["held_back"] = "a guardrail failed: it stays the challenger";
  } else if (!continuous) {
    out["held_back"] = "the program is in '" + std::string(decision::PhaseName(settings.program)) +
                       "': promotion waits for a person (the continuous phase promotes on its own)";
  } else {
    LOYALTY_TRY(platform.registry().Promote("churn", trained.version.version, options.creator));
    out["promoted"] = true;
    out["held_back"] = nullptr;
  }
  out["report"] = report;

  oversight::AuditEntry entry;
  entry.actor = options.creator;
  entry.role = options.creator == "automation" ? "system" : "operator";
  entry.action = "models retrain";
  entry.target = "churn";
  entry.status = 200;
  entry.model_version = trained.version.name();
  entry.reason = !champion_before              ? "the first churn model: the champion by default"
                 : out["promoted"].get<bool>() ? "promoted past its guardrails"
                                               : out["held_back"].get<std::string>();
  entry.result_digest = oversight::Digest(core::Dump(out));
  LOYALTY_TRY(platform.audit().Append(entry));
  return out;
}

}  // namespace loyalty::engine
