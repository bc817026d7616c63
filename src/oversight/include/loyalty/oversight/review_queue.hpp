#pragma once
// The review queue: offers a decision routed to a person (by cost, or by the offer's review
// rule) wait here until someone approves, rejects or modifies them, replaces them with another
// offer (an override), escalates them to an admin, or they expire. Each verdict is kept with the offer as reviewed (who, with what role,
// reason code and comment), so acceptance and override rates can be told per strategy, model
// version and reviewer long after the decision.
//
// The queue keeps verdicts only; what a verdict does to budgets, caps and the bandits is the
// decision log's (the engine applies both in one transaction).

#include <array>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/decision/decision_log.hpp"
#include "loyalty/store/database.hpp"

namespace loyalty::oversight {

enum class ReviewAction { kApprove, kReject, kModify, kOverride, kEscalate, kExpire };
std::string_view ReviewActionName(ReviewAction action);
// approve, reject, modify, override, escalate (expire is the queue's own, never asked for).
[[nodiscard]] core::Result<ReviewAction> ParseReviewAction(std::string_view name);

// Why a person did not take the offer as it was.
inline constexpr std::array<std::string_view, 6> kReasonCodes = {"too_costly", "wrong_offer", "wrong_member",
                                                                 "bad_timing", "policy",      "other"};
[[nodiscard]] core::Status CheckReasonCode(std::string_view code);

struct Verdict {
  std::string decision;
  int rank = 0;
  ReviewAction action = ReviewAction::kApprove;
  std::string reviewer;
  std::string role;
  std::string reason;   // a code of kReasonCodes (empty for approvals and expiry)
  std::string comment;
  std::optional<int64_t> cost_minor = std::nullopt;  // a modified offer's new cost
  std::string models;   // model versions behind the decision, e.g. "churn@3, clv@2"
  core::Timestamp at;
  std::string substitute;                         // an override: the offer chosen instead ...
  std::optional<int> substitute_rank = std::nullopt;  // ... and its rank in the decision
};

// A routed offer with where it stands.
struct ReviewItem {
  decision::DecisionLog::RoutedOffer offer;
  std::string status;  // pending | escalated | approved | rejected | modified | overridden | expired
  std::string level;   // review | escalate: who may decide (escalate: admins)
  core::Timestamp expires_at;
  std::vector<Verdict> verdicts;  // oldest first
  bool open() const { return status == "pending" || status == "escalated"; }
};

class ReviewQueue {
 public:
  // Migrates the schema. `db` and `clock` must outlive this object.
  [[nodiscard]] static core::Result<std::unique_ptr<ReviewQueue>> Open(store::Database& db, const core::Clock& clock);

  // Where each routed offer stands, given how long an offer may wait.
  [[nodiscard]] core::Result<std::vector<ReviewItem>> Items(std::vector<decision::DecisionLog::RoutedOffer> offers,
                                                            std::chrono::hours expiry);
  // The same for one offer, inside a caller's transaction.
  [[nodiscard]] core::Result<ReviewItem> Item(store::Transaction& tx, decision::DecisionLog::RoutedOffer offer,
                                              std::chrono::hours expiry);
  // Stores a verdict on `offer` inside a caller's transaction.
  [[nodiscard]] core::Status Record(store::Transaction& tx, const Verdict& verdict,
                                    const decision::DecisionLog::RoutedOffer& offer);
  // Verdicts given at or after `since`: counts and rates of approvals, modifications and
  // overrides and rejections per strategy, model versions and reviewer, and the expired.
  [[nodiscard]] core::Result<core::Json> Stats(core::Timestamp since);
  // Erasure: files the member's verdicts under `pseudonym` and drops reviewers' comments on
  // them (free text may name the member), inside a caller's transaction.
  [[nodiscard]] core::Status PseudonymiseIn(store::Transaction& tx, const std::string& member,
                                            const std::string& pseudonym) const;

 private:
  ReviewQueue(store::Database& db, const core::Clock& clock) : db_(db), clock_(clock) {}
  store::Database& db_;
  const core::Clock& clock_;
};

core::Json ToJson(const Verdict& verdict);
core::Json ToJson(const ReviewItem& item);

}  // namespace loyalty::oversight
