#pragma once
// The review workflow: offers the decision engine routed to a person (by cost, or by an
// offer's review rule), listed for reviewers and decided by them. A verdict, what it gives
// back of the offer's caps and budget, and the label the bandits learn from a rejection are
// stored in one transaction.
//
// Who may do what: approving, rejecting, modifying and escalating need the review permission
// (checked by the caller, e.g. the HTTP guard); offers routed to escalation, or escalated by a
// reviewer, only an admin may decide (an empty role is the local operator, who may).

#include <optional>
#include <string>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/engine/decisions.hpp"
#include "loyalty/oversight/review_queue.hpp"
#include "loyalty/store/database.hpp"

namespace loyalty::engine {

struct Reviewer {
  std::string name;
  std::string role;  // admin, manager...; empty: the local operator
};

class Reviews {
 public:
  // Everything passed must outlive this object.
  Reviews(store::Database& db, Decisions& decisions, oversight::ReviewQueue& queue, const core::Clock& clock)
      : db_(db), decisions_(decisions), queue_(queue), clock_(clock) {}

  // Offers in the review window (the policy's review_expiry_hours, or `days` back):
  // {"status": pending | escalated | open (default: both) | approved | rejected | modified |
  // expired | all, "sort": expiry (default, soonest first) | value | risk (largest first),
  // "offer", "limit"}. Returns the items, counts by status and open items grouped by offer
  // and level.
  [[nodiscard]] core::Result<core::Json> List(const core::Json& query);
  // One routed offer with its decision's explanation.
  [[nodiscard]] core::Result<core::Json> Get(const std::string& decision, int rank);
  // {"action": approve | reject | modify | override | escalate, "reason": code, "comment",
  // "cost_minor" (modify: the smaller offer's cost), "offer" and "channel" (override: the offer
  // to make instead, checked for the member as a decision checks it, and its channel, by
  // default the original's)}.
  [[nodiscard]] core::Result<core::Json> Act(const std::string& decision, int rank, const core::Json& body,
                                             const Reviewer& reviewer);
  // {"action", "reason", "comment", "items": [{"decision", "rank"}, ...]}: all or none.
  [[nodiscard]] core::Result<core::Json> Bulk(const core::Json& body, const Reviewer& reviewer);
  // Expires the open offers past their time and gives back what they reserved.
  [[nodiscard]] core::Result<core::Json> ExpireStale();
  // Acceptance and override rates since `since` (default: 30 days).
  [[nodiscard]] core::Result<core::Json> Stats(std::optional<core::Timestamp> since);

 private:
  struct Ask;
  [[nodiscard]] static core::Status ParseVerdict(const core::Json& body, Ask& ask);
  // Applies verdicts in one transaction, then frees caps and budgets in memory and tells the
  // bandits. Returns the items as they stand after.
  [[nodiscard]] core::Result<core::Json> Apply(const std::vector<Ask>& asks, const Reviewer& reviewer);
  std::chrono::hours Expiry();

  store::Database& db_;
  Decisions& decisions_;
  oversight::ReviewQueue& queue_;
  const core::Clock& clock_;
};

}  // namespace loyalty::engine
