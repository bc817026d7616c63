#include "loyalty/engine/platform.hpp"

namespace loyalty::engine {

core::Result<PlatformOptions> ParsePlatformOptions(const core::Json& config) {
  PlatformOptions options;
  LOYALTY_ASSIGN_OR_RETURN(options.program, ledger::ParseProgramConfig(config.value("program", core::Json())));
  const core::Json identity = config.value("identity", core::Json::object());
  if (!identity.is_object()) return core::Fail(core::ErrorCode::kInvalidArgument, "[identity] must be a table");
  LOYALTY_TRY(core::RejectUnknownFields(identity, {"default_region"}, "identity"));
  LOYALTY_ASSIGN_OR_RETURN(auto region, core::OptionalString(identity, "default_region", "identity"));
  if (region) options.default_region = *region;
  return options;
}

core::Result<std::unique_ptr<Platform>> Platform::Open(store::Database& db, PlatformOptions options,
                                                       const core::Clock& clock) {
  std::unique_ptr<Platform> p(new Platform(db));
  LOYALTY_ASSIGN_OR_RETURN(auto normalizer, identity::Normalizer::Create(options.default_region));
  const core::Currency currency = options.program.currency;
  LOYALTY_ASSIGN_OR_RETURN(p->ledger_, ledger::Ledger::Open(db, std::move(options.program), clock));
  LOYALTY_ASSIGN_OR_RETURN(p->event_log_, events::EventLog::Open(db, clock));
  LOYALTY_ASSIGN_OR_RETURN(p->identity_, identity::IdentityGraph::Open(db, std::move(normalizer)));
  p->features_ = std::make_unique<features::FeatureStore>(currency);
  p->members_ = std::make_unique<Members>(db, *p->identity_, *p->ledger_, *p->event_log_, *p->features_, clock);
  p->ingestor_ = std::make_unique<Ingestor>(*p->event_log_, *p->ledger_, *p->members_, *p->features_, clock);
  return p;
}

}  // namespace loyalty::engine
