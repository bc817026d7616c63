#include "loyalty/engine/platform.hpp"

#include <fstream>

#include "loyalty/core/logging.hpp"

namespace loyalty::engine {

core::Result<PlatformOptions> ParsePlatformOptions(const core::Json& config) {
  PlatformOptions options;
  LOYALTY_ASSIGN_OR_RETURN(options.program, ledger::ParseProgramConfig(config.value("program", core::Json())));
  const core::Json identity = config.value("identity", core::Json::object());
  if (!identity.is_object()) return core::Fail(core::ErrorCode::kInvalidArgument, "[identity] must be a table");
  LOYALTY_TRY(core::RejectUnknownFields(identity, {"default_region"}, "identity"));
  LOYALTY_ASSIGN_OR_RETURN(auto region, core::OptionalString(identity, "default_region", "identity"));
  if (region) options.default_region = *region;
  const core::Json decisions = config.value("decisions", core::Json::object());
  if (!decisions.is_object()) return core::Fail(core::ErrorCode::kInvalidArgument, "[decisions] must be a table");
  LOYALTY_TRY(core::RejectUnknownFields(decisions, {"log"}, "decisions"));
  LOYALTY_ASSIGN_OR_RETURN(auto log, core::OptionalString(decisions, "log", "decisions"));
  if (log && *log != "buffered" && *log != "durable") {
    return core::Fail(core::ErrorCode::kInvalidArgument, "decisions.log must be \"buffered\" or \"durable\", not \"" + *log + "\"");
  }
  if (log) options.buffered_decision_log = *log == "buffered";
  const core::Json privacy = config.value("privacy", core::Json::object());
  if (!privacy.is_object()) return core::Fail(core::ErrorCode::kInvalidArgument, "[privacy] must be a table");
  LOYALTY_TRY(core::RejectUnknownFields(
      privacy, {"vault_key", "vault_key_file", "event_retention_days", "event_retention"}, "privacy"));
  LOYALTY_ASSIGN_OR_RETURN(options.retention, ParseRetentionPolicy(privacy));
  return options;
}

core::Result<privacy::VaultKey> ResolveVaultKey(const core::Json& config, const std::filesystem::path& default_file) {
  const core::Json privacy = config.value("privacy", core::Json::object());
  if (!privacy.is_object()) return core::Fail(core::ErrorCode::kInvalidArgument, "[privacy] must be a table");
  LOYALTY_ASSIGN_OR_RETURN(auto hex, core::OptionalString(privacy, "vault_key", "privacy"));
  LOYALTY_ASSIGN_OR_RETURN(auto file, core::OptionalString(privacy, "vault_key_file", "privacy"));
  if (hex && file) {
    return core::Fail(core::ErrorCode::kInvalidArgument, "set privacy.vault_key or privacy.vault_key_file, not both");
  }
  if (hex) {
    auto key = privacy::VaultKey::FromHex(*hex);
    if (!key) return core::Fail(core::ErrorCode::kInvalidArgument, "privacy.vault_key: " + key.error().message);
    return key;
  }
  if (file) return privacy::VaultKey::FromFile(*file, false);
  return privacy::VaultKey::FromFile(default_file, true);
}

namespace {

// One key for every platform this process opens without a configured one (tests), so a store
// reopened in the same process still opens what it sealed.
privacy::VaultKey ProcessKey() {
  static const privacy::VaultKey key = privacy::VaultKey::Generate();
  return key;
}

// Every decision stored is an entry in the audit trail, in the same transaction: what was decided
// (a digest of the decision as stored) and under which models. The entry does not name the
// member: the trail is never rewritten, and an erasure must leave no list of the member's
// decisions behind (the decision log, which names them, is pseudonymised).
decision::DecisionLog::Trail DecisionTrail(oversight::AuditLog& audit) {
  return [&audit](store::Transaction& tx, std::span<const decision::DecisionLog::Entry> decisions,
                  std::span<const std::string> stored) -> core::Status {
    std::vector<oversight::AuditEntry> entries(decisions.size());
    for (size_t i = 0; i < decisions.size(); ++i) {
      const auto& d = decisions[i];
      auto& entry = entries[i];
      entry.actor = "engine";
      entry.role = "automation";
      entry.action = "decision";
      entry.target = "/v1/decisions/" + d.id;
      entry.status = 200;
      entry.reason = std::string(decision::StrategyName(d.decision.strategy)) +
                     (d.assignment.experiment.empty() ? "" : " (" + d.assignment.experiment + "/" + d.assignment.arm + ")");
      entry.result_digest = oversight::Digest(stored[i]);
      entry.model_version = decision::ModelVersionsText(d.decision.models);
    }
    return audit.AppendIn(tx, entries);
  };
}

}  // namespace

core::Result<std::unique_ptr<Platform>> Platform::Open(store::Database& db, PlatformOptions options,
                                                       const core::Clock& clock) {
  std::unique_ptr<Platform> p(new Platform(db, clock));
  LOYALTY_ASSIGN_OR_RETURN(auto normalizer, identity::Normalizer::Create(options.default_region));
  const core::Currency currency = options.program.currency;
  LOYALTY_ASSIGN_OR_RETURN(p->ledger_, ledger::Ledger::Open(db, std::move(options.program), clock));
  LOYALTY_ASSIGN_OR_RETURN(p->event_log_, events::EventLog::Open(db, clock));
  // Without a configured key (tests), a key of this process only: nothing to check it against.
  const bool configured_key = options.vault_key.has_value();
  LOYALTY_ASSIGN_OR_RETURN(p->vault_, privacy::Vault::Open(db, configured_key ? std::move(*options.vault_key) : ProcessKey(),
                                                           clock, configured_key));
  LOYALTY_ASSIGN_OR_RETURN(p->identity_, identity::IdentityGraph::Open(db, std::move(normalizer), *p->vault_));
  p->features_ = std::make_unique<features::FeatureStore>(currency);
  p->members_ = std::make_unique<Members>(db, *p->identity_, *p->ledger_, *p->event_log_, *p->features_, clock);
  LOYALTY_ASSIGN_OR_RETURN(p->registry_, models::ModelRegistry::Open(db, clock));
  p->text_ = std::make_unique<TextSignals>(*p->vault_, *p->registry_, *p->event_log_, *p->members_, *p->identity_,
                                           *p->features_, clock);
  LOYALTY_ASSIGN_OR_RETURN(const int64_t sealed, p->text_->SealLogged(db));
  if (sealed > 0) core::Log(core::LogLevel::kInfo, "vault.sealed_logged_texts", {{"events", sealed}});
  p->retention_ = std::make_unique<EventRetention>(db, *p->event_log_, *p->vault_, options.retention, clock);
  p->ingestor_ = std::make_unique<Ingestor>(*p->event_log_, *p->ledger_, *p->members_, *p->features_, *p->text_,
                                            *p->retention_, *p->vault_, clock);
  LOYALTY_ASSIGN_OR_RETURN(const int64_t devices, p->ingestor_->PseudonymiseLoggedDevices(db));
  if (devices > 0) core::Log(core::LogLevel::kInfo, "vault.pseudonymised_logged_devices", {{"events", devices}});
  p->predictions_ = std::make_unique<Predictions>(*p->members_, *p->features_, *p->event_log_, *p->identity_,
                                                 *p->ledger_, *p->registry_, currency, clock);
  LOYALTY_ASSIGN_OR_RETURN(p->access_, Access::Open(db, clock));
  LOYALTY_ASSIGN_OR_RETURN(p->audit_, oversight::AuditLog::Open(db, clock));
  LOYALTY_ASSIGN_OR_RETURN(p->decisions_,
                           Decisions::Open(db, *p->members_, *p->predictions_, *p->ledger_, clock, options.decision_seed,
                                           options.buffered_decision_log));
  p->decisions_->log().SetTrail(DecisionTrail(*p->audit_));
  LOYALTY_ASSIGN_OR_RETURN(p->review_queue_, oversight::ReviewQueue::Open(db, clock));
  p->reviews_ = std::make_unique<Reviews>(db, *p->decisions_, *p->review_queue_, clock);
  p->kpis_ = std::make_unique<ProgramKpis>(*p->event_log_, p->decisions_->log(), *p->identity_, clock, currency);
  LOYALTY_ASSIGN_OR_RETURN(p->fairness_, Fairness::Open(db, *p->vault_, *p->decisions_, *p->predictions_, clock));
  p->subject_requests_ = std::make_unique<SubjectRequests>(SubjectRequests::Services{
      db, *p->members_, *p->ledger_, *p->event_log_, *p->text_, *p->vault_, *p->registry_, *p->predictions_,
      *p->decisions_, *p->review_queue_, *p->fairness_, clock});
  return p;
}

core::Result<int64_t> LoadSimulatedProgram(Platform& platform, const std::filesystem::path& dir) {
  std::ifstream member_file(dir / "members.csv");
  std::ifstream events(dir / "events.ndjson");
  if (!member_file || !events) {
    return core::Fail(core::ErrorCode::kInvalidArgument, dir.string() + " holds no simulated program (members.csv, events.ndjson)");
  }
  std::vector<core::MemberId> members;
  // The simulator's last column is the member's group (B: the protected group): kept as the
  // protected attribute when the program's fairness settings name "group".
  const bool keep_groups = platform.fairness().settings().attribute == "group";
  std::vector<std::pair<core::MemberId, std::string>> groups;
  std::string line;
  std::getline(member_file, line);  // header
  while (std::getline(member_file, line)) {
    LOYALTY_ASSIGN_OR_RETURN(auto member, core::MemberId::Parse(line.substr(0, line.find(','))));
    if (keep_groups) groups.emplace_back(member, line.substr(line.rfind(',') + 1));
    members.push_back(std::move(member));
  }
  LOYALTY_TRY(platform.ledger().CreateMembers(members));
  if (keep_groups) LOYALTY_TRY(platform.fairness().SetAttributes(groups));
  std::vector<core::Result<core::Json>> batch;
  int64_t accepted = 0;
  auto flush = [&]() -> core::Status {
    LOYALTY_ASSIGN_OR_RETURN(auto report, platform.ingestor().Ingest(batch));
    accepted += report.accepted;
    batch.clear();
    return {};
  };
  while (std::getline(events, line)) {
    batch.push_back(core::ParseJsonFast(line));
    if (batch.size() == 1000) LOYALTY_TRY(flush());
  }
  LOYALTY_TRY(flush());
  return accepted;
}

}  // namespace loyalty::engine
