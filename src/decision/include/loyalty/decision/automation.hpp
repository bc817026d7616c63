#pragma once
// How much the program may do without a person: the automation phase (program-wide, and per
// strategy where a manager wants one strategy held back) and the risk class of each action.
//
//   phase       what runs on its own
//   pilot       nothing: every offer waits for a person (high risk: for an admin)
//   limited     low-risk offers; medium risk waits for review, high risk for an admin
//   expanded    as limited, and experiments run (strategies compete in A/B tests)
//   dynamic     as expanded, and the AI strategy explores (Thompson draws) instead of taking
//               the best posterior mean
//   continuous  as dynamic, and models retrain on a schedule, promoted only past guardrails
//
// An offer's risk is the highest any factor gives it: its worst-case cost, the points it
// grants, a tier change, the member's value, the uncertainty of its response estimate, the
// offer's own review rule, and a fairness alert on the member's group (medium: a person
// looks). Managers set the thresholds in the contact policy.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/decision/experiments.hpp"

namespace loyalty::decision {

enum class AutomationPhase { kPilot, kLimited, kExpanded, kDynamic, kContinuous };
inline constexpr size_t kPhaseCount = 5;
std::string_view PhaseName(AutomationPhase phase);  // "pilot", "limited", ...
[[nodiscard]] core::Result<AutomationPhase> ParsePhase(std::string_view name);

enum class RiskClass { kLow, kMedium, kHigh };
std::string_view RiskName(RiskClass risk);  // "low", "medium", "high"
[[nodiscard]] core::Result<RiskClass> ParseRisk(std::string_view name);

// The continuous phase's retraining: how often, and what a retrained churn model must show
// on its holdout before it replaces the champion without a person.
struct RetrainingGuardrails {
  int every_days = 7;
  double min_auc = 0.6;          // ROC AUC at least this ...
  double max_auc_drop = 0.02;    // ... and at most this far below the champion's
  double max_brier_rise = 0.01;  // Brier score (calibration) at most this far above the champion's
  bool operator==(const RetrainingGuardrails&) const = default;
};

// The phase of the whole program, and of the strategies that have their own.
struct AutomationSettings {
  AutomationPhase program = AutomationPhase::kLimited;
  std::array<std::optional<AutomationPhase>, kStrategyCount> strategies{};
  RetrainingGuardrails retraining;

  AutomationPhase For(Strategy strategy) const {
    return strategies[static_cast<size_t>(strategy)].value_or(program);
  }
  bool operator==(const AutomationSettings&) const = default;
};
// Everything automatic, as the simulator and benchmarks decide.
AutomationSettings FullAutomation();

// {"phase": "limited", "strategies": {"ai": "pilot"}, "retraining": {"every_days", "min_auc",
// "max_auc_drop", "max_brier_rise"}}: errors name the field to fix.
[[nodiscard]] core::Result<AutomationSettings> ParseAutomation(const core::Json& object);
core::Json ToJson(const AutomationSettings& settings);

struct ContactPolicy;

// What an offer's risk is judged on.
struct RiskInputs {
  int64_t cost_minor = 0;        // worst case: message plus a response's cost
  double points = 0;             // points a response grants (bonus, or a multiplier's extra)
  bool tier_change = false;      // the offer moves the member's tier (a tier nudge)
  double member_clv_minor = 0;   // the member's expected future value
  double response_uncertainty = 0;  // standard deviation / mean of the response estimate
  bool review_rule = false;      // the offer's own review rule holds for the member
  bool fairness_alert = false;   // the member's group has an active fairness alert
};

struct RiskAssessment {
  RiskClass risk = RiskClass::kLow;
  // The factors that set the class: cost, points, tier_change, member_value, uncertainty,
  // review_rule, fairness (none for a low risk).
  std::vector<std::string> reasons;
};
RiskAssessment AssessRisk(const RiskInputs& inputs, const ContactPolicy& policy);

// Who acts on an offer of this risk in this phase: "auto", "review" or "escalate".
std::string_view Routing(AutomationPhase phase, RiskClass risk);

}  // namespace loyalty::decision
