#pragma once
// Event ingestion: validates a batch of events (split by events::SplitBatch), sends purchases
// and returns to the ledger exactly once, and appends the events to the log.
//
// The partial-success contract: each event is judged on its own. Valid events are kept even
// when others in the same batch are rejected; every rejected event is reported with its index
// in the batch and the reason. An event whose id is already in the log is a duplicate: it
// changes nothing (a purchase's points are never posted twice) and is counted, not rejected.
// Purchases and returns post to the ledger under the idempotency key "event:<id>" — the whole
// batch's in one transaction — before the events are logged, so a batch retried after a crash
// completes what the first attempt began.
//
// Free text (tickets, reviews, messages) is scored and moved into the PII vault before the
// events are logged (see TextSignals): the log keeps a reference, the sentiment and topics.
// Device ids (app opens, logins) are logged as keyed digests ("dev_" + 32 hex digits): a member's
// devices can still be told apart, but not recognised without the vault.
//
// Events named by an identifier instead of a member id are resolved through the identity
// graph (a profile is created for an identifier nobody holds). Every new event then updates
// the live features of the member it resolves to; duplicates do not.
//
// Threads: safe to share; Ingest may run on many threads at once.

#include <string>
#include <string_view>
#include <vector>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/engine/members.hpp"
#include "loyalty/engine/event_retention.hpp"
#include "loyalty/engine/text_signals.hpp"
#include "loyalty/events/batch.hpp"
#include "loyalty/events/event_log.hpp"
#include "loyalty/ledger/ledger.hpp"

namespace loyalty::engine {

// How a device id digest begins in the log.
inline constexpr std::string_view kDevicePrefix = "dev_";

struct Rejection {
  size_t index = 0;     // position in the batch, from 0
  std::string id;       // the event's id when it had a readable one
  std::string code;     // error code name: invalid_argument, not_found, conflict...
  std::string reason;   // what to fix
};

struct IngestReport {
  int64_t accepted = 0;
  int64_t duplicates = 0;
  int64_t rejected = 0;
  std::vector<Rejection> rejections;
};

class Ingestor {
 public:
  static constexpr size_t kMaxBatch = events::kMaxBatch;

  // Everything passed must outlive the ingestor.
  Ingestor(events::EventLog& log, ledger::Ledger& ledger, Members& members, features::FeatureStore& features,
           TextSignals& text, const EventRetention& retention, privacy::Vault& vault, const core::Clock& clock)
      : log_(log),
        ledger_(ledger),
        members_(members),
        features_(features),
        text_(text),
        retention_(retention),
        vault_(vault),
        clock_(clock) {}

  // One-off, at start: replaces the device ids an older store logged in the clear with their
  // digests (once per store). Returns how many events changed.
  [[nodiscard]] core::Result<int64_t> PseudonymiseLoggedDevices(store::Database& db);

  // Judges and ingests every item. Fails only when the store itself fails (nothing is
  // reported accepted then; retrying the batch is safe).
  [[nodiscard]] core::Result<IngestReport> Ingest(const std::vector<core::Result<core::Json>>& items);

 private:
  // The ledger command a purchase or return event stands for.
  [[nodiscard]] core::Result<ledger::Ledger::BatchCommand> LedgerCommand(const events::Event& event,
                                                                        const core::MemberId& member) const;

  events::EventLog& log_;
  ledger::Ledger& ledger_;
  Members& members_;
  features::FeatureStore& features_;
  TextSignals& text_;
  const EventRetention& retention_;
  privacy::Vault& vault_;
  const core::Clock& clock_;
};

core::Json ToJson(const IngestReport& report);

}  // namespace loyalty::engine
