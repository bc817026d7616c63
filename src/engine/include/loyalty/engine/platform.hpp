#pragma once
// The services of one program over one store, wired once: ledger, event log, identity graph,
// live features, members, ingestion, the model registry, predictions, decisions, access and
// audit, the PII vault and text signals. Opening migrates every schema; members build the live features from the event log on first use
// (Members::EnsureLiveFeatures). Used by the CLI, the server and the tests alike.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/engine/access.hpp"
#include "loyalty/engine/decisions.hpp"
#include "loyalty/engine/fairness.hpp"
#include "loyalty/oversight/audit_log.hpp"
#include "loyalty/engine/ingestor.hpp"
#include "loyalty/engine/members.hpp"
#include "loyalty/engine/predictions.hpp"
#include "loyalty/engine/reviews.hpp"
#include "loyalty/engine/program_kpis.hpp"
#include "loyalty/engine/subject_requests.hpp"
#include "loyalty/engine/event_retention.hpp"
#include "loyalty/engine/text_signals.hpp"
#include "loyalty/events/event_log.hpp"
#include "loyalty/features/feature_store.hpp"
#include "loyalty/identity/identity_graph.hpp"
#include "loyalty/ledger/ledger.hpp"
#include "loyalty/models/registry.hpp"
#include "loyalty/privacy/vault.hpp"
#include "loyalty/store/database.hpp"

namespace loyalty::engine {

struct PlatformOptions {
  ledger::ProgramConfig program = ledger::DefaultProgramConfig();
  std::string default_region = "US";  // phone numbers without +country belong here
  uint64_t decision_seed = 1;         // the bandits' draws
  bool buffered_decision_log = true;  // [decisions] log = "buffered" (default) or "durable"
  // The PII vault's key. Unset: a new key for this process only (tests; texts kept then
  // cannot be read after a restart). The CLI always sets one (see ResolveVaultKey).
  std::optional<privacy::VaultKey> vault_key{};
  RetentionPolicy retention{};  // [privacy] event_retention_days, event_retention
};

// [privacy] vault_key (64 hex digits; LOYALTY_PRIVACY__VAULT_KEY in the environment) or
// vault_key_file; else `default_file`, created with a new key on first use.
[[nodiscard]] core::Result<privacy::VaultKey> ResolveVaultKey(const core::Json& config,
                                                              const std::filesystem::path& default_file);

// Reads [program], [identity], [decisions] and [privacy] (checked; the key itself comes from
// ResolveVaultKey) of a configuration document.
[[nodiscard]] core::Result<PlatformOptions> ParsePlatformOptions(const core::Json& config);

class Platform {
 public:
  // `db` and `clock` must outlive the platform.
  [[nodiscard]] static core::Result<std::unique_ptr<Platform>> Open(store::Database& db, PlatformOptions options,
                                                                    const core::Clock& clock);

  store::Database& db() { return db_; }
  const core::Clock& clock() const { return clock_; }
  ledger::Ledger& ledger() { return *ledger_; }
  events::EventLog& event_log() { return *event_log_; }
  identity::IdentityGraph& identity() { return *identity_; }
  features::FeatureStore& features() { return *features_; }
  Members& members() { return *members_; }
  Ingestor& ingestor() { return *ingestor_; }
  models::ModelRegistry& registry() { return *registry_; }
  Predictions& predictions() { return *predictions_; }
  Access& access() { return *access_; }
  oversight::AuditLog& audit() { return *audit_; }
  Decisions& decisions() { return *decisions_; }
  privacy::Vault& vault() { return *vault_; }
  TextSignals& text() { return *text_; }
  EventRetention& retention() { return *retention_; }
  SubjectRequests& subject_requests() { return *subject_requests_; }
  Reviews& reviews() { return *reviews_; }
  ProgramKpis& kpis() { return *kpis_; }
  Fairness& fairness() { return *fairness_; }

 private:
  Platform(store::Database& db, const core::Clock& clock) : db_(db), clock_(clock) {}

  store::Database& db_;
  const core::Clock& clock_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<events::EventLog> event_log_;
  std::unique_ptr<privacy::Vault> vault_;  // before identity_: the graph seals through it
  std::unique_ptr<identity::IdentityGraph> identity_;
  std::unique_ptr<features::FeatureStore> features_;
  std::unique_ptr<Members> members_;
  std::unique_ptr<TextSignals> text_;
  std::unique_ptr<EventRetention> retention_;
  std::unique_ptr<Ingestor> ingestor_;
  std::unique_ptr<models::ModelRegistry> registry_;
  std::unique_ptr<Predictions> predictions_;
  std::unique_ptr<Access> access_;
  std::unique_ptr<oversight::AuditLog> audit_;
  // Before decisions_, so it is destroyed after them: decisions call its lookup.
  std::unique_ptr<Fairness> fairness_;
  std::unique_ptr<Decisions> decisions_;
  std::unique_ptr<oversight::ReviewQueue> review_queue_;
  std::unique_ptr<Reviews> reviews_;
  std::unique_ptr<SubjectRequests> subject_requests_;
  std::unique_ptr<ProgramKpis> kpis_;
};

// Loads a program written by `loyalty simulate` (DIR/members.csv, DIR/events.ndjson):
// creates the members, ingests the events in batches; returns the events accepted.
[[nodiscard]] core::Result<int64_t> LoadSimulatedProgram(Platform& platform, const std::filesystem::path& dir);

}  // namespace loyalty::engine
