#pragma once
// What a member may ask of the program about their own data. An access request gathers
// everything kept about them, across every profile merged into them, into one JSON document:
// profile and identifiers, merges, points (balance and tier; each profile's journal lines,
// lots, orders with their lines, tier changes), behavioural events, their own words from the
// PII vault, live features, segment and model scores, and every decision made for them with
// its explanation and outcomes.

#include "loyalty/core/clock.hpp"
#include "loyalty/core/error.hpp"
#include "loyalty/core/ids.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/engine/decisions.hpp"
#include "loyalty/engine/members.hpp"
#include "loyalty/engine/predictions.hpp"
#include "loyalty/engine/text_signals.hpp"
#include "loyalty/events/event_log.hpp"
#include "loyalty/ledger/ledger.hpp"

namespace loyalty::engine {

class SubjectRequests {
 public:
  // Everything passed must outlive this object.
  SubjectRequests(Members& members, ledger::Ledger& ledger, events::EventLog& log, TextSignals& text,
                  Predictions& predictions, Decisions& decisions, const core::Clock& clock)
      : members_(members),
        ledger_(ledger),
        log_(log),
        text_(text),
        predictions_(predictions),
        decisions_(decisions),
        clock_(clock) {}

  // The member's data (by any of their ids, merged ones included); 404 for an unknown member.
  [[nodiscard]] core::Result<core::Json> Export(const core::MemberId& member);

 private:
  Members& members_;
  ledger::Ledger& ledger_;
  events::EventLog& log_;
  TextSignals& text_;
  Predictions& predictions_;
  Decisions& decisions_;
  const core::Clock& clock_;
};

}  // namespace loyalty::engine
