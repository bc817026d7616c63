#pragma once
// Retraining under guardrails, the continuous automation phase's schedule: a churn model
// trained on the latest history is compared with the champion on the same held-out members and
// replaces it without a person only when the program is in the continuous phase and every
// guardrail holds (ROC AUC high enough, not far below the champion's, above the recency rule's;
// calibration not much worse). Otherwise it stays the challenger for a person to judge. Each
// run is recorded in the audit trail. `loyalty models retrain --when-due` runs it from a timer.

#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/engine/platform.hpp"

namespace loyalty::engine {

// With `only_when_due`: does nothing unless the program is in the continuous phase and the
// newest churn model is at least `retraining.every_days` old. Returns {"retrained", "due",
// "phase", and when it trained: "model_version", "champion_before", "checks": [{"check",
// "value", "limit", "passed"}], "promoted", "held_back" (why not), "report"}. The model, any
// promotion and the audit entry are in the name of `options.creator` ("automation" for a timer).
[[nodiscard]] core::Result<core::Json> RetrainChurn(Platform& platform, const TrainOptions& options, bool only_when_due);

}  // namespace loyalty::engine
