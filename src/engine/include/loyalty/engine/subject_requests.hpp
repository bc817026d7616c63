#pragma once
// What a member may ask of the program about their own data. An access request gathers
// everything kept about them, across every profile merged into them, into one JSON document:
// profile and identifiers, merges, points (balance and tier; each profile's journal lines,
// lots, orders with their lines, tier changes), behavioural events, their own words from the
// PII vault, the protected attribute when one is kept, live features, segment and model
// scores, and every decision made for them with its explanation and outcomes.
//
// An erasure removes the person from the program: identifiers, texts and the protected
// attribute leave the vault; events, points, decisions and review verdicts stay for the
// program's totals under random pseudonyms (the ledger still balances), with free-text
// reasons and comments removed; kept predictions and live features go, and the pseudonymous
// profiles never enter features, training or decisions again. The store's files are then
// scrubbed, so no deleted page holds the data. The response never names the pseudonyms.

#include "loyalty/core/clock.hpp"
#include "loyalty/core/error.hpp"
#include "loyalty/core/ids.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/engine/decisions.hpp"
#include "loyalty/engine/fairness.hpp"
#include "loyalty/engine/members.hpp"
#include "loyalty/engine/predictions.hpp"
#include "loyalty/engine/text_signals.hpp"
#include "loyalty/events/event_log.hpp"
#include "loyalty/ledger/ledger.hpp"
#include "loyalty/models/registry.hpp"
#include "loyalty/oversight/review_queue.hpp"
#include "loyalty/privacy/vault.hpp"

namespace loyalty::engine {

class SubjectRequests {
 public:
  // Everything passed must outlive this object.
  struct Services {
    store::Database& db;
    Members& members;
    ledger::Ledger& ledger;
    events::EventLog& log;
    TextSignals& text;
    privacy::Vault& vault;
    models::ModelRegistry& registry;
    Predictions& predictions;
    Decisions& decisions;
    oversight::ReviewQueue& reviews;
    Fairness& fairness;
    const core::Clock& clock;
  };
  explicit SubjectRequests(Services services) : s_(services) {}

  // The member's data (by any of their ids, merged ones included); 404 for an unknown member.
  [[nodiscard]] core::Result<core::Json> Export(const core::MemberId& member);

  // Erases the member (by any of their ids); `reason` is required. Returns what was removed
  // and pseudonymised, and whether the store's files were scrubbed (false: the erasure stands,
  // run `loyalty vault scrub` later). 404 for an unknown member.
  [[nodiscard]] core::Result<core::Json> Erase(const core::MemberId& member, std::string_view reason);

 private:
  Services s_;
};

}  // namespace loyalty::engine
