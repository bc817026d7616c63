#include "loyalty/decision/automation.hpp"

#include <algorithm>
#include <cmath>

#include "loyalty/decision/offers.hpp"

namespace loyalty::decision {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;

namespace {

constexpr std::array<std::string_view, kPhaseCount> kPhaseNames = {"pilot", "limited", "expanded", "dynamic", "continuous"};
constexpr std::array<std::string_view, 3> kRiskNames = {"low", "medium", "high"};

}  // namespace

std::string_view PhaseName(AutomationPhase phase) { return kPhaseNames[static_cast<size_t>(phase)]; }

Result<AutomationPhase> ParsePhase(std::string_view name) {
  for (size_t i = 0; i < kPhaseNames.size(); ++i) {
    if (kPhaseNames[i] == name) return static_cast<AutomationPhase>(i);
  }
  return Fail(ErrorCode::kInvalidArgument,
              "no automation phase '" + std::string(name) + "'; the phases are pilot, limited, expanded, dynamic and continuous");
}

std::string_view RiskName(RiskClass risk) { return kRiskNames[static_cast<size_t>(risk)]; }

Result<RiskClass> ParseRisk(std::string_view name) {
  for (size_t i = 0; i < kRiskNames.size(); ++i) {
    if (kRiskNames[i] == name) return static_cast<RiskClass>(i);
  }
  return Fail(ErrorCode::kInvalidArgument, "no risk class '" + std::string(name) + "'; the classes are low, medium and high");
}

AutomationSettings FullAutomation() {
  AutomationSettings settings;
  settings.program = AutomationPhase::kDynamic;
  return settings;
}

Result<AutomationSettings> ParseAutomation(const Json& object) {
  if (!object.is_object()) return Fail(ErrorCode::kInvalidArgument, "the automation settings must be a JSON object");
  LOYALTY_TRY(core::RejectUnknownFields(object, {"phase", "strategies", "retraining"}));
  AutomationSettings settings;
  LOYALTY_ASSIGN_OR_RETURN(auto phase, core::RequireString(object, "phase"));
  auto program = ParsePhase(phase);
  if (!program) return core::Wrap(program.error(), "field 'phase'");
  settings.program = *program;
  if (auto it = object.find("strategies"); it != object.end() && !it->is_null()) {
    if (!it->is_object()) {
      return Fail(ErrorCode::kInvalidArgument, "field 'strategies' must be an object of strategy to phase, e.g. {\"ai\": \"pilot\"}");
    }
    for (const auto& [name, value] : it->items()) {
      auto strategy = ParseStrategy(name);
      if (!strategy) return core::Wrap(strategy.error(), "field 'strategies'");
      if (!value.is_string()) {
        return Fail(ErrorCode::kInvalidArgument, "field 'strategies." + name + "' must be a phase name");
      }
      auto own = ParsePhase(value.get<std::string>());
      if (!own) return core::Wrap(own.error(), "field 'strategies." + name + "'");
      settings.strategies[static_cast<size_t>(*strategy)] = *own;
    }
  }
  if (auto it = object.find("retraining"); it != object.end() && !it->is_null()) {
    if (!it->is_object()) return Fail(ErrorCode::kInvalidArgument, "field 'retraining' must be an object");
    LOYALTY_TRY(core::RejectUnknownFields(*it, {"every_days", "min_auc", "max_auc_drop", "max_brier_rise"}, "retraining"));
    RetrainingGuardrails& g = settings.retraining;
    LOYALTY_ASSIGN_OR_RETURN(auto every, core::OptionalInt(*it, "every_days", "retraining"));
    if (every) {
      if (*every < 1 || *every > 365) return Fail(ErrorCode::kInvalidArgument, "field 'retraining.every_days' must be from 1 to 365");
      g.every_days = static_cast<int>(*every);
    }
    auto fraction = [&](const char* key, double& field, double low, double high, const char* range) -> core::Status {
      auto value = it->find(key);
      if (value == it->end() || value->is_null()) return {};
      if (!value->is_number() || !(value->get<double>() >= low && value->get<double>() <= high)) {
        return Fail(ErrorCode::kInvalidArgument, "field 'retraining." + std::string(key) + "' must be a number " + range);
      }
      field = value->get<double>();
      return {};
    };
    LOYALTY_TRY(fraction("min_auc", g.min_auc, 0.5, 1, "from 0.5 to 1"));
    LOYALTY_TRY(fraction("max_auc_drop", g.max_auc_drop, 0, 0.5, "from 0 to 0.5"));
    LOYALTY_TRY(fraction("max_brier_rise", g.max_brier_rise, 0, 0.25, "from 0 to 0.25"));
  }
  return settings;
}

Json ToJson(const AutomationSettings& settings) {
  Json strategies = Json::object();
  for (size_t i = 0; i < kStrategyCount; ++i) {
    if (settings.strategies[i]) strategies[std::string(StrategyName(static_cast<Strategy>(i)))] = PhaseName(*settings.strategies[i]);
  }
  const RetrainingGuardrails& g = settings.retraining;
  return {{"phase", PhaseName(settings.program)},
          {"strategies", strategies},
          {"retraining",
           {{"every_days", g.every_days}, {"min_auc", g.min_auc}, {"max_auc_drop", g.max_auc_drop},
            {"max_brier_rise", g.max_brier_rise}}}};
}

RiskAssessment AssessRisk(const RiskInputs& in, const ContactPolicy& policy) {
  RiskAssessment out;
  // Each factor proposes a class with its reason; the highest class wins, with every reason
  // that reached it.
  std::vector<std::pair<RiskClass, std::string>> factors;
  auto threshold = [&](double value, std::optional<double> review, std::optional<double> escalate, const char* what) {
    if (escalate && value >= *escalate) {
      factors.emplace_back(RiskClass::kHigh, what);
    } else if (review && value >= *review) {
      factors.emplace_back(RiskClass::kMedium, what);
    }
  };
  auto as_double = [](const std::optional<int64_t>& v) {
    return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
  };
  threshold(static_cast<double>(in.cost_minor), static_cast<double>(policy.review_cost_minor),
            static_cast<double>(policy.escalate_cost_minor), "cost");
  threshold(in.points, as_double(policy.review_points), as_double(policy.escalate_points), "points");
  if (in.tier_change && policy.tier_change_risk != RiskClass::kLow) {
    factors.emplace_back(policy.tier_change_risk, "tier_change");
  }
  threshold(in.member_clv_minor, as_double(policy.review_member_clv_minor), std::nullopt, "member_value");
  if (policy.review_uncertainty && in.response_uncertainty >= *policy.review_uncertainty) {
    factors.emplace_back(RiskClass::kMedium, "uncertainty");
  }
  if (in.review_rule) factors.emplace_back(RiskClass::kMedium, "review_rule");
  if (in.fairness_alert) factors.emplace_back(RiskClass::kMedium, "fairness");
  for (const auto& [risk, reason] : factors) out.risk = std::max(out.risk, risk);
  for (auto& [risk, reason] : factors) {
    if (risk == out.risk) out.reasons.push_back(std::move(reason));
  }
  return out;
}

std::string_view Routing(AutomationPhase phase, RiskClass risk) {
  if (risk == RiskClass::kHigh) return "escalate";
  if (risk == RiskClass::kMedium || phase == AutomationPhase::kPilot) return "review";
  return "auto";
}

}  // namespace loyalty::decision
