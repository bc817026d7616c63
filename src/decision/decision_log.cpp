#include "loyalty/decision/decision_log.hpp"

#include <sodium.h>

#include <array>
#include <chrono>
#include <map>
#include <set>

namespace loyalty::decision {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;
using core::Status;
using store::Transaction;

namespace {

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE decision_offers (
  id         TEXT PRIMARY KEY,
  doc        TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL
);
CREATE TABLE decision_settings (
  seq        INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  doc        TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL
);
CREATE INDEX decision_settings_by_name ON decision_settings(name, seq);
CREATE TABLE decision_experiments (
  id         TEXT PRIMARY KEY,
  doc        TEXT NOT NULL,
  running    INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE decisions (
  id          TEXT PRIMARY KEY,
  member      TEXT NOT NULL,
  at          INTEGER NOT NULL,
  strategy    TEXT NOT NULL,
  experiment  TEXT NOT NULL,
  arm         TEXT NOT NULL,
  holdout     INTEGER NOT NULL,
  covariate   REAL NOT NULL,
  explanation TEXT NOT NULL
);
CREATE INDEX decisions_by_member ON decisions(member, at);
CREATE INDEX decisions_by_experiment ON decisions(experiment, arm) WHERE experiment <> '';
CREATE INDEX decisions_by_time ON decisions(at);
CREATE TABLE decision_items (
  decision             TEXT NOT NULL,
  rank                 INTEGER NOT NULL,
  offer                TEXT NOT NULL,
  channel              TEXT NOT NULL,
  send_at              INTEGER NOT NULL,
  propensity           REAL NOT NULL,
  response_probability REAL NOT NULL,
  expected_value       REAL NOT NULL,
  cost_minor           INTEGER NOT NULL,
  arm                  TEXT NOT NULL,
  routing              TEXT NOT NULL,
  PRIMARY KEY (decision, rank)
);
CREATE TABLE decision_outcomes (
  id          TEXT PRIMARY KEY,
  decision    TEXT NOT NULL,
  offer       TEXT NOT NULL,
  type        TEXT NOT NULL,
  at          INTEGER NOT NULL,
  value_minor INTEGER NOT NULL,
  response    INTEGER NOT NULL
);
CREATE INDEX decision_outcomes_by_decision ON decision_outcomes(decision, offer);
)sql";

// The product a recommendation offer named.
constexpr std::string_view kSchemaV2 = "ALTER TABLE decision_items ADD COLUMN sku TEXT NOT NULL DEFAULT ''";

// Offers routed to a person: found by a partial index (few are), and what a reviewer gave back
// of their reservations (a rejection frees the contact and the budget; a smaller offer frees
// part of the budget), so a restart does not count it again.
constexpr std::string_view kSchemaV3 = R"sql(
CREATE INDEX decision_items_routed ON decision_items(decision) WHERE routing <> 'auto';
CREATE TABLE decision_releases (
  decision   TEXT NOT NULL,
  rank       INTEGER NOT NULL,
  at         INTEGER NOT NULL,
  reason     TEXT NOT NULL,
  cost_minor INTEGER NOT NULL,
  contact    INTEGER NOT NULL,
  PRIMARY KEY (decision, rank)
);
)sql";

// The automation phase a decision was made in, and each offer's risk class with the factors
// behind it (comma-separated). Empty: made before phases and risk classes were kept.
constexpr std::string_view kSchemaV4 = R"sql(
ALTER TABLE decisions ADD COLUMN phase TEXT NOT NULL DEFAULT '';
ALTER TABLE decision_items ADD COLUMN risk TEXT NOT NULL DEFAULT '';
ALTER TABLE decision_items ADD COLUMN risk_reasons TEXT NOT NULL DEFAULT '';
)sql";

// A program that was deciding before automation phases ran as the dynamic phase does
// (experiments, exploration, no review by phase) and its tier nudges ran on their own: it keeps
// both until someone moves it.
constexpr std::string_view kSchemaV5 = R"sql(
INSERT INTO decision_settings (name, doc, updated_at, updated_by)
  SELECT 'automation',
         '{"action":"move","settings":{"phase":"dynamic","strategies":{}},"reason":"upgrade: the program ran fully automatic before automation phases"}',
         CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'upgrade'
  WHERE EXISTS (SELECT 1 FROM decisions) OR EXISTS (SELECT 1 FROM decision_experiments WHERE running = 1);
UPDATE decision_settings SET doc = json_set(doc, '$.tier_change_risk', 'low')
  WHERE name = 'policy' AND json_extract(doc, '$.tier_change_risk') IS NULL;
)sql";
constexpr std::string_view kSchemaV5Postgres = R"sql(
INSERT INTO decision_settings (name, doc, updated_at, updated_by)
  SELECT 'automation',
         '{"action":"move","settings":{"phase":"dynamic","strategies":{}},"reason":"upgrade: the program ran fully automatic before automation phases"}',
         CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT), 'upgrade'
  WHERE EXISTS (SELECT 1 FROM decisions) OR EXISTS (SELECT 1 FROM decision_experiments WHERE running = 1);
UPDATE decision_settings SET doc = CAST(jsonb_set(CAST(doc AS jsonb), '{tier_change_risk}', '"low"') AS TEXT)
  WHERE name = 'policy' AND CAST(doc AS jsonb) -> 'tier_change_risk' IS NULL;
)sql";

// An offer a reviewer chose in place of one the decision routed to review: the rank it replaces.
constexpr std::string_view kSchemaV6 = "ALTER TABLE decision_items ADD COLUMN replaces INTEGER";

// The event that triggered a decision (a worker deciding on the bus's events): one decision per
// event, however often the event is delivered. NULLs do not collide in a unique index.
constexpr std::string_view kSchemaV7 = R"sql(
ALTER TABLE decisions ADD COLUMN trigger_event TEXT;
CREATE UNIQUE INDEX decisions_by_trigger ON decisions(trigger_event);
)sql";

constexpr store::Migration kMigrations[] = {{1, "decisions, offers, experiments, outcomes", kSchemaV1},
                                            {2, "recommended product per offer made", kSchemaV2},
                                            {3, "routed offers and their releases", kSchemaV3},
                                            {4, "automation phase and risk class", kSchemaV4},
                                            {5, "programs deciding before phases keep running as they did", kSchemaV5,
                                             kSchemaV5Postgres},
                                            {6, "offers chosen by reviewers", kSchemaV6},
                                            {7, "the event that triggered a decision", kSchemaV7}};

std::string JoinReasons(const std::vector<std::string>& reasons) {
  std::string out;
  for (const auto& r : reasons) out += (out.empty() ? "" : ",") + r;
  return out;
}

Json SplitReasons(const std::string& text) {
  Json out = Json::array();
  size_t start = 0;
  while (start < text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

constexpr std::array<std::string_view, 5> kOutcomeNames = {"impression", "click", "redemption", "purchase", "dismiss"};

// "dec_", the wall-clock time in milliseconds (12 hex digits), then 48 random bits (12 hex
// digits): ids sort by time, so the log's keys grow at the end of their B-trees instead of
// dirtying a random page per decision.
std::string IdPrefixAt(core::Timestamp at) {
  const auto ms = static_cast<uint64_t>(std::max<int64_t>(0, core::ToUnixMillis(at)));
  std::array<unsigned char, 6> bytes;
  for (int i = 0; i < 6; ++i) bytes[static_cast<size_t>(i)] = static_cast<unsigned char>(ms >> (40 - 8 * i));  // big-endian
  std::array<char, 2 * 6 + 1> hex;
  sodium_bin2hex(hex.data(), hex.size(), bytes.data(), bytes.size());
  return "dec_" + std::string(hex.data(), 2 * 6);
}

std::string TimeOrderedDecisionId() {
  std::array<unsigned char, 6> random;
  randombytes_buf(random.data(), random.size());
  std::array<char, 2 * 6 + 1> hex;
  sodium_bin2hex(hex.data(), hex.size(), random.data(), random.size());
  return IdPrefixAt(std::chrono::time_point_cast<core::Timestamp::duration>(std::chrono::system_clock::now())) +
         std::string(hex.data(), 2 * 6);
}

Status InsertDecision(Transaction& tx, const std::string& id, const Decision& d, const DecisionLog::Assignment& a,
                      double covariate, const std::string& explanation, const std::string& trigger) {
  const std::optional<std::string> trigger_event = trigger.empty() ? std::nullopt : std::optional(trigger);
  LOYALTY_TRY(tx.Execute(
      "INSERT INTO decisions (id, member, at, strategy, experiment, arm, holdout, covariate, explanation, phase, "
      "trigger_event) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
      {id, d.member, core::ToUnixMillis(d.at), StrategyName(d.strategy), a.experiment, a.arm, d.holdout ? 1 : 0,
       covariate, explanation, PhaseName(d.phase), trigger_event}));
  for (size_t rank = 0; rank < d.offers.size(); ++rank) {
    const auto& o = d.offers[rank];
    LOYALTY_TRY(tx.Execute(
        "INSERT INTO decision_items (decision, rank, offer, channel, send_at, propensity, response_probability, "
        "expected_value, cost_minor, arm, routing, sku, risk, risk_reasons) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        {id, static_cast<int64_t>(rank), o.offer, ChannelName(o.channel), core::ToUnixMillis(o.send_at), o.propensity,
         o.response_probability, o.expected_value_minor, o.cost_minor, o.bandit_arm, o.routing, o.sku, RiskName(o.risk),
         JoinReasons(o.risk_reasons)}));
  }
  return {};
}

// One stored decision as JSON: what was offered, the outcomes reported, the explanation.
Result<Json> StoredDecision(Transaction& tx, const std::string& id) {
  LOYALTY_ASSIGN_OR_RETURN(
      auto row, tx.QueryOne(
                    "SELECT member, at, strategy, experiment, arm, holdout, explanation, phase FROM decisions WHERE id = ?1",
                    {id}));
  if (!row) return Fail(ErrorCode::kNotFound, "no decision '" + id + "'");
  Json out{{"id", id},
           {"member", row->Text(0)},
           {"at", core::FormatTimestamp(core::FromUnixMillis(row->Int(1)))},
           {"strategy", row->Text(2)},
           {"holdout", row->Int(5) != 0}};
  out["phase"] = row->Text(7).empty() ? Json(nullptr) : Json(row->Text(7));
  out["experiment"] = row->Text(3).empty() ? Json(nullptr) : Json{{"id", row->Text(3)}, {"arm", row->Text(4)}};
  LOYALTY_ASSIGN_OR_RETURN(
      auto items, tx.Query("SELECT offer, channel, send_at, propensity, response_probability, expected_value, cost_minor, "
                           "arm, routing, sku, risk, risk_reasons, replaces FROM decision_items WHERE decision = ?1 "
                           "ORDER BY rank",
                           {id}));
  Json offers = Json::array();
  for (const auto& i : items) {
    Json offer{{"offer", i.Text(0)},
               {"channel", i.Text(1)},
               {"send_at", core::FormatTimestamp(core::FromUnixMillis(i.Int(2)))},
               {"propensity", i.Real(3)},
               {"response_probability", i.Real(4)},
               {"expected_value_minor", i.Real(5)},
               {"cost_minor", i.Int(6)},
               {"bandit_arm", i.Text(7)},
               {"routing", i.Text(8)}};
    if (!i.Text(9).empty()) offer["sku"] = i.Text(9);
    offer["risk"] = i.Text(10).empty() ? Json(nullptr) : Json(i.Text(10));
    offer["risk_reasons"] = SplitReasons(i.Text(11));
    if (!i.IsNull(12)) offer["replaces"] = i.Int(12);
    offers.push_back(std::move(offer));
  }
  out["offers"] = offers;
  LOYALTY_ASSIGN_OR_RETURN(auto outcomes, tx.Query("SELECT id, offer, type, at, value_minor, response FROM decision_outcomes "
                                                   "WHERE decision = ?1 ORDER BY at, id",
                                                   {id}));
  Json outs = Json::array();
  for (const auto& o : outcomes) {
    outs.push_back({{"id", o.Text(0)},
                    {"offer", o.Text(1)},
                    {"type", o.Text(2)},
                    {"at", core::FormatTimestamp(core::FromUnixMillis(o.Int(3)))},
                    {"value_minor", o.Int(4)},
                    {"counted_as_response", o.Int(5) != 0}});
  }
  out["outcomes"] = outs;
  LOYALTY_ASSIGN_OR_RETURN(out["explanation"], core::ParseJson(row->Text(6)));
  return out;
}

}  // namespace

std::string_view OutcomeTypeName(OutcomeType type) { return kOutcomeNames[static_cast<size_t>(type)]; }

Result<OutcomeType> ParseOutcomeType(std::string_view name) {
  for (size_t i = 0; i < kOutcomeNames.size(); ++i) {
    if (kOutcomeNames[i] == name) return static_cast<OutcomeType>(i);
  }
  return Fail(ErrorCode::kInvalidArgument,
              "unknown outcome type '" + std::string(name) + "'; one of impression, click, redemption, purchase, dismiss");
}

bool IsResponse(OutcomeType type) {
  return type == OutcomeType::kClick || type == OutcomeType::kRedemption || type == OutcomeType::kPurchase;
}

Result<Outcome> ParseOutcome(const Json& object, const std::string& decision, core::Timestamp now) {
  if (!object.is_object()) return Fail(ErrorCode::kInvalidArgument, "an outcome must be a JSON object");
  LOYALTY_TRY(core::RejectUnknownFields(object, {"id", "offer", "type", "at", "value_minor"}));
  Outcome o;
  o.decision = decision;
  LOYALTY_ASSIGN_OR_RETURN(o.offer, core::RequireString(object, "offer"));
  LOYALTY_ASSIGN_OR_RETURN(auto type, core::RequireString(object, "type"));
  auto parsed = ParseOutcomeType(type);
  if (!parsed) return core::Wrap(parsed.error(), "field 'type'");
  o.type = *parsed;
  LOYALTY_ASSIGN_OR_RETURN(auto at, core::OptionalString(object, "at"));
  o.at = now;
  if (at) {
    auto t = core::ParseTimestamp(*at);
    if (!t) return core::Wrap(t.error(), "field 'at'");
    o.at = *t;
  }
  LOYALTY_ASSIGN_OR_RETURN(auto value, core::OptionalInt(object, "value_minor"));
  o.value_minor = value.value_or(0);
  if (o.value_minor < 0) return Fail(ErrorCode::kInvalidArgument, "field 'value_minor' must not be negative");
  if (o.value_minor > 0 && o.type != OutcomeType::kPurchase && o.type != OutcomeType::kRedemption) {
    return Fail(ErrorCode::kInvalidArgument, "field 'value_minor' belongs to purchase and redemption outcomes only");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto id, core::OptionalString(object, "id"));
  o.id = id.value_or(decision + ":" + o.offer + ":" + std::string(OutcomeTypeName(o.type)));
  if (o.id.empty() || o.id.size() > 200) return Fail(ErrorCode::kInvalidArgument, "field 'id' needs 1 to 200 characters");
  return o;
}

Result<StrategyFlag> ParseStrategyFlag(const Json& object) {
  if (!object.is_object()) return Fail(ErrorCode::kInvalidArgument, "the strategy flag must be a JSON object");
  LOYALTY_TRY(core::RejectUnknownFields(object, {"strategy", "fallback", "share_percent", "salt"}));
  StrategyFlag flag;
  LOYALTY_ASSIGN_OR_RETURN(auto strategy, core::RequireString(object, "strategy"));
  auto s = ParseStrategy(strategy);
  if (!s) return core::Wrap(s.error(), "field 'strategy'");
  flag.strategy = *s;
  LOYALTY_ASSIGN_OR_RETURN(auto fallback, core::OptionalString(object, "fallback"));
  if (fallback) {
    auto f = ParseStrategy(*fallback);
    if (!f) return core::Wrap(f.error(), "field 'fallback'");
    flag.fallback = *f;
  }
  if (auto it = object.find("share_percent"); it != object.end()) {
    if (!it->is_number()) return Fail(ErrorCode::kInvalidArgument, "field 'share_percent' must be a number");
    flag.share_percent = it->get<double>();
    if (!(flag.share_percent >= 0 && flag.share_percent <= 100)) {
      return Fail(ErrorCode::kInvalidArgument, "field 'share_percent' must be from 0 to 100");
    }
  }
  LOYALTY_ASSIGN_OR_RETURN(auto salt, core::OptionalString(object, "salt"));
  if (salt) {
    if (salt->empty() || salt->size() > 64) return Fail(ErrorCode::kInvalidArgument, "field 'salt' needs 1 to 64 characters");
    flag.salt = *salt;
  }
  return flag;
}

Json ToJson(const StrategyFlag& flag) {
  return {{"strategy", StrategyName(flag.strategy)},
          {"fallback", StrategyName(flag.fallback)},
          {"share_percent", flag.share_percent},
          {"salt", flag.salt}};
}

Result<std::unique_ptr<DecisionLog>> DecisionLog::Open(store::Database& db, const core::Clock& clock) {
  if (sodium_init() < 0) return Fail(ErrorCode::kInternal, "libsodium could not start");
  LOYALTY_TRY(store::Migrate(db, "decision", kMigrations));
  return std::unique_ptr<DecisionLog>(new DecisionLog(db, clock));
}

Result<std::vector<Offer>> DecisionLog::Offers(const std::vector<std::string>& known_facts) {
  return db_.ReadValue<std::vector<Offer>>([&](Transaction& tx) -> Result<std::vector<Offer>> {
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT id, doc FROM decision_offers ORDER BY id"));
    std::vector<Offer> offers;
    for (const auto& row : rows) {
      auto doc = core::ParseJson(row.Text(1));
      auto offer = doc ? ParseOffer(*doc, known_facts) : Result<Offer>(std::unexpected(doc.error()));
      if (!offer) {
        return Fail(ErrorCode::kInternal, "stored offer '" + row.Text(0) + "' no longer parses: " + offer.error().message);
      }
      offers.push_back(std::move(*offer));
    }
    return offers;
  });
}

Result<bool> DecisionLog::PutOffer(const Offer& offer, const std::string& actor) {
  const std::string doc = core::Dump(ToJson(offer));
  const int64_t now = core::ToUnixMillis(clock_.Now());
  return db_.WriteValue<bool>([&](Transaction& tx) -> Result<bool> {
    LOYALTY_ASSIGN_OR_RETURN(auto existing, tx.QueryOne("SELECT 1 FROM decision_offers WHERE id = ?1", {offer.id}));
    if (existing) {
      LOYALTY_TRY(tx.Execute("UPDATE decision_offers SET doc = ?2, updated_at = ?3, updated_by = ?4 WHERE id = ?1",
                             {offer.id, doc, now, actor}));
      return false;
    }
    LOYALTY_TRY(tx.Execute("INSERT INTO decision_offers (id, doc, updated_at, updated_by) VALUES (?1, ?2, ?3, ?4)",
                           {offer.id, doc, now, actor}));
    return true;
  });
}

Status DecisionLog::DeleteOffer(const std::string& id) {
  return db_.Write([&](Transaction& tx) -> Status {
    LOYALTY_ASSIGN_OR_RETURN(auto changed, tx.Execute("DELETE FROM decision_offers WHERE id = ?1", {id}));
    if (changed == 0) return Fail(ErrorCode::kNotFound, "no offer '" + id + "'");
    return {};
  });
}

Status DecisionLog::PutSetting(std::string_view name, const Json& doc, const std::string& actor) {
  const std::string text = core::Dump(doc);
  const int64_t now = core::ToUnixMillis(clock_.Now());
  return db_.Write([&](Transaction& tx) -> Status {
    LOYALTY_TRY(tx.Execute("INSERT INTO decision_settings (name, doc, updated_at, updated_by) VALUES (?1, ?2, ?3, ?4)",
                           {name, text, now, actor}));
    return {};
  });
}

Result<std::optional<Json>> DecisionLog::Setting(std::string_view name) {
  return db_.ReadValue<std::optional<Json>>([&](Transaction& tx) -> Result<std::optional<Json>> {
    LOYALTY_ASSIGN_OR_RETURN(
        auto row, tx.QueryOne("SELECT doc FROM decision_settings WHERE name = ?1 ORDER BY seq DESC LIMIT 1", {name}));
    if (!row) return std::optional<Json>();
    LOYALTY_ASSIGN_OR_RETURN(auto doc, core::ParseJson(row->Text(0)));
    return std::optional<Json>(std::move(doc));
  });
}

Result<ContactPolicy> DecisionLog::Policy() {
  LOYALTY_ASSIGN_OR_RETURN(auto doc, Setting("policy"));
  if (!doc) return ContactPolicy{};
  auto policy = ParseContactPolicy(*doc);
  if (!policy) return Fail(ErrorCode::kInternal, "the stored contact policy no longer parses: " + policy.error().message);
  return policy;
}

Status DecisionLog::PutPolicy(const ContactPolicy& policy, const std::string& actor) {
  return PutSetting("policy", ToJson(policy), actor);
}

Result<StrategyFlag> DecisionLog::Flag() {
  LOYALTY_ASSIGN_OR_RETURN(auto doc, Setting("strategy"));
  if (!doc) return StrategyFlag{};
  auto flag = ParseStrategyFlag(*doc);
  if (!flag) return Fail(ErrorCode::kInternal, "the stored strategy flag no longer parses: " + flag.error().message);
  return flag;
}

Status DecisionLog::PutFlag(const StrategyFlag& flag, const std::string& actor) {
  return PutSetting("strategy", ToJson(flag), actor);
}

Result<StrategyFlag> DecisionLog::RollbackFlag(const std::string& actor) {
  const int64_t now = core::ToUnixMillis(clock_.Now());
  return db_.WriteValue<StrategyFlag>([&](Transaction& tx) -> Result<StrategyFlag> {
    LOYALTY_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT doc FROM decision_settings WHERE name = 'strategy' ORDER BY seq DESC LIMIT 2"));
    // Without an earlier version the flag goes back to the built-in default.
    Json previous = rows.size() == 2 ? Json::parse(rows[1].Text(0), nullptr, false) : ToJson(StrategyFlag{});
    if (rows.empty()) return Fail(ErrorCode::kConflict, "the strategy flag was never changed: nothing to roll back");
    auto flag = ParseStrategyFlag(previous);
    if (!flag) return Fail(ErrorCode::kInternal, "the earlier strategy flag no longer parses: " + flag.error().message);
    LOYALTY_TRY(tx.Execute("INSERT INTO decision_settings (name, doc, updated_at, updated_by) VALUES ('strategy', ?1, ?2, ?3)",
                           {core::Dump(ToJson(*flag)), now, actor}));
    return flag;
  });
}

namespace {

// The automation changes in order, as a stack: a move pushes its settings, a rollback pops
// the latest. The bottom is the default (limited, program-wide).
Result<std::vector<AutomationSettings>> AutomationStack(Transaction& tx) {
  LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT doc FROM decision_settings WHERE name = 'automation' ORDER BY seq"));
  std::vector<AutomationSettings> stack{AutomationSettings{}};
  for (const auto& row : rows) {
    LOYALTY_ASSIGN_OR_RETURN(auto doc, core::ParseJson(row.Text(0)));
    if (doc.value("action", "") == "rollback") {
      if (stack.size() > 1) stack.pop_back();
      continue;
    }
    auto settings = ParseAutomation(doc.value("settings", Json::object()));
    if (!settings) return Fail(ErrorCode::kInternal, "a stored automation change no longer parses: " + settings.error().message);
    stack.push_back(*settings);
  }
  return stack;
}

Status InsertAutomation(Transaction& tx, std::string_view action, const AutomationSettings& settings,
                        const std::string& reason, int64_t now, const std::string& actor) {
  const Json doc{{"action", action}, {"settings", ToJson(settings)}, {"reason", reason}};
  LOYALTY_TRY(tx.Execute("INSERT INTO decision_settings (name, doc, updated_at, updated_by) VALUES ('automation', ?1, ?2, ?3)",
                         {core::Dump(doc), now, actor}));
  return {};
}

}  // namespace

Result<AutomationSettings> DecisionLog::Automation() {
  return db_.ReadValue<AutomationSettings>([&](Transaction& tx) -> Result<AutomationSettings> {
    LOYALTY_ASSIGN_OR_RETURN(auto stack, AutomationStack(tx));
    return stack.back();
  });
}

Result<size_t> DecisionLog::AutomationMovesLeft() {
  return db_.ReadValue<size_t>([&](Transaction& tx) -> Result<size_t> {
    LOYALTY_ASSIGN_OR_RETURN(auto stack, AutomationStack(tx));
    return stack.size() - 1;
  });
}

Result<std::vector<DecisionLog::AutomationChange>> DecisionLog::AutomationHistory(size_t limit) {
  using Changes = std::vector<AutomationChange>;
  return db_.ReadValue<Changes>([&](Transaction& tx) -> Result<Changes> {
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT doc, updated_at, updated_by FROM decision_settings "
                                                 "WHERE name = 'automation' ORDER BY seq DESC LIMIT ?1",
                                                 {static_cast<int64_t>(limit)}));
    Changes out;
    for (const auto& row : rows) {
      LOYALTY_ASSIGN_OR_RETURN(auto doc, core::ParseJson(row.Text(0)));
      auto settings = ParseAutomation(doc.value("settings", Json::object()));
      if (!settings) return Fail(ErrorCode::kInternal, "a stored automation change no longer parses: " + settings.error().message);
      out.push_back({core::FromUnixMillis(row.Int(1)), row.Text(2), doc.value("action", "move"), *settings,
                     doc.value("reason", "")});
    }
    return out;
  });
}

Status DecisionLog::MoveAutomation(const AutomationSettings& settings, const std::string& actor, const std::string& reason) {
  const int64_t now = core::ToUnixMillis(clock_.Now());
  return db_.Write([&](Transaction& tx) -> Status {
    LOYALTY_ASSIGN_OR_RETURN(auto stack, AutomationStack(tx));
    if (stack.back() == settings) {
      return Fail(ErrorCode::kConflict, "these automation phases are already in force: nothing to move");
    }
    return InsertAutomation(tx, "move", settings, reason, now, actor);
  });
}

Result<AutomationSettings> DecisionLog::RollbackAutomation(const std::string& actor, const std::string& reason) {
  const int64_t now = core::ToUnixMillis(clock_.Now());
  return db_.WriteValue<AutomationSettings>([&](Transaction& tx) -> Result<AutomationSettings> {
    LOYALTY_ASSIGN_OR_RETURN(auto stack, AutomationStack(tx));
    if (stack.size() < 2) return Fail(ErrorCode::kConflict, "no automation move is left to roll back");
    stack.pop_back();
    LOYALTY_TRY(InsertAutomation(tx, "rollback", stack.back(), reason, now, actor));
    return stack.back();
  });
}

Result<std::vector<Experiment>> DecisionLog::Experiments() {
  return db_.ReadValue<std::vector<Experiment>>([&](Transaction& tx) -> Result<std::vector<Experiment>> {
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT id, doc, running FROM decision_experiments ORDER BY created_at, id"));
    std::vector<Experiment> out;
    for (const auto& row : rows) {
      auto doc = core::ParseJson(row.Text(1));
      auto e = doc ? ParseExperiment(doc->value("definition", Json::object())) : Result<Experiment>(std::unexpected(doc.error()));
      if (!e) return Fail(ErrorCode::kInternal, "stored experiment '" + row.Text(0) + "' no longer parses: " + e.error().message);
      e->bucket_start = (*doc)["buckets"][0].get<uint32_t>();
      e->bucket_end = (*doc)["buckets"][1].get<uint32_t>();
      e->running = row.Int(2) != 0;
      out.push_back(std::move(*e));
    }
    return out;
  });
}

Result<Experiment> DecisionLog::CreateExperiment(Experiment experiment) {
  const int64_t now = core::ToUnixMillis(clock_.Now());
  LOYALTY_ASSIGN_OR_RETURN(auto existing, Experiments());
  for (const auto& e : existing) {
    if (e.id == experiment.id) return Fail(ErrorCode::kConflict, "experiment '" + experiment.id + "' exists; use another id");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto placed, PlaceExperiment(std::move(experiment), existing));
  Json definition = ToJson(placed);
  Json doc{{"definition",
            {{"id", placed.id}, {"name", placed.name}, {"namespace", placed.ns}, {"traffic_percent", placed.traffic_percent},
             {"arms", definition["arms"]}}},
           {"buckets", {placed.bucket_start, placed.bucket_end}}};
  LOYALTY_TRY(db_.Write([&](Transaction& tx) -> Status {
    LOYALTY_TRY(tx.Execute("INSERT INTO decision_experiments (id, doc, running, created_at) VALUES (?1, ?2, 1, ?3)",
                           {placed.id, core::Dump(doc), now}));
    return {};
  }));
  return placed;
}

Status DecisionLog::StopExperiment(const std::string& id) {
  return db_.Write([&](Transaction& tx) -> Status {
    LOYALTY_ASSIGN_OR_RETURN(auto changed, tx.Execute("UPDATE decision_experiments SET running = 0 WHERE id = ?1", {id}));
    if (changed == 0) return Fail(ErrorCode::kNotFound, "no experiment '" + id + "'");
    return {};
  });
}

Result<Json> DecisionLog::ExperimentResults(const std::string& id) {
  LOYALTY_ASSIGN_OR_RETURN(auto all, Experiments());
  const Experiment* experiment = nullptr;
  for (const auto& e : all) {
    if (e.id == id) experiment = &e;
  }
  if (experiment == nullptr) return Fail(ErrorCode::kNotFound, "no experiment '" + id + "'");
  struct ArmData {
    std::vector<double> responded, revenue, covariate;
  };
  std::map<std::string, ArmData> arms;
  LOYALTY_TRY(db_.Read([&](Transaction& tx) -> Status {
    LOYALTY_ASSIGN_OR_RETURN(
        auto rows,
        tx.Query("SELECT d.arm, d.member, MIN(d.covariate), "
                 "MAX(CASE WHEN o.response = 1 THEN 1 ELSE 0 END), "
                 "COALESCE(SUM(CASE WHEN o.type = 'purchase' THEN o.value_minor ELSE 0 END), 0) "
                 "FROM decisions d LEFT JOIN decision_outcomes o ON o.decision = d.id "
                 "WHERE d.experiment = ?1 GROUP BY d.arm, d.member",
                 {id}));
    for (const auto& row : rows) {
      auto& a = arms[row.Text(0)];
      a.covariate.push_back(row.Real(2));
      a.responded.push_back(static_cast<double>(row.Int(3)));
      a.revenue.push_back(static_cast<double>(row.Int(4)));
    }
    return {};
  }));
  // CUPED over all arms together: one theta, so every arm is adjusted alike.
  std::vector<double> all_revenue, all_covariate;
  for (const auto& arm : experiment->arms) {
    const auto& a = arms[arm.name];
    all_revenue.insert(all_revenue.end(), a.revenue.begin(), a.revenue.end());
    all_covariate.insert(all_covariate.end(), a.covariate.begin(), a.covariate.end());
  }
  const std::vector<double> adjusted_all = CupedAdjust(all_revenue, all_covariate);
  std::map<std::string, std::vector<double>> adjusted;
  size_t at = 0;
  for (const auto& arm : experiment->arms) {
    const size_t n = arms[arm.name].revenue.size();
    adjusted[arm.name].assign(adjusted_all.begin() + static_cast<std::ptrdiff_t>(at),
                              adjusted_all.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
  }
  const auto& control_name = experiment->arms.front().name;
  const auto& control = arms[control_name];
  auto count = [](const std::vector<double>& v) {
    int64_t x = 0;
    for (double d : v) x += d > 0 ? 1 : 0;
    return x;
  };
  Json out_arms = Json::array();
  for (const auto& arm : experiment->arms) {
    const auto& a = arms[arm.name];
    Json entry{{"arm", arm.name}, {"strategy", StrategyName(arm.strategy)}, {"members", a.revenue.size()}};
    const int64_t responders = count(a.responded);
    entry["responders"] = responders;
    entry["response_rate"] = a.revenue.empty() ? 0.0 : static_cast<double>(responders) / static_cast<double>(a.revenue.size());
    double revenue = 0;
    for (double r : a.revenue) revenue += r;
    entry["revenue_per_member_minor"] = a.revenue.empty() ? 0.0 : revenue / static_cast<double>(a.revenue.size());
    if (arm.name != control_name) {
      entry["response_rate_vs_control"] = ToJson(TwoProportionTest(count(control.responded),
                                                                   static_cast<int64_t>(control.responded.size()),
                                                                   responders, static_cast<int64_t>(a.responded.size())));
      entry["revenue_vs_control"] = ToJson(WelchTest(control.revenue, a.revenue));
      entry["revenue_vs_control_cuped"] = ToJson(WelchTest(adjusted[control_name], adjusted[arm.name]));
    }
    out_arms.push_back(std::move(entry));
  }
  Json out = ToJson(*experiment);
  out["results"] = out_arms;
  return out;
}

std::string ModelVersionsText(const Json& models) {
  std::string out;
  if (!models.is_object()) return out;
  for (const auto& [kind, version] : models.items()) {
    const std::string name = version.is_string() ? version.get<std::string>() : version.dump();
    // Versions name their kind ("churn@3"); anything else is given its kind.
    out += (out.empty() ? "" : ", ") + (name.starts_with(kind + "@") ? name : kind + ":" + name);
  }
  return out;
}

std::string DecisionLog::NewId() { return TimeOrderedDecisionId(); }

Result<std::string> DecisionLog::Record(const Decision& decision, const Assignment& assignment, double covariate,
                                        const std::string& trigger) {
  std::vector<Entry> one(1);
  one[0] = {NewId(), decision, assignment, covariate, core::Dump(ExplanationJson(decision)), trigger};
  LOYALTY_TRY(RecordBatch(one));
  return one[0].id;
}

namespace {

// A decision as stored, as one text: id, member, time, strategy, holdout, experiment arm, each
// offer's choice and cost, and the explanation text stored with it.
std::string StoredText(const DecisionLog::Entry& e, const std::string& explanation) {
  const Decision& d = e.decision;
  std::string text = e.id + '\n' + d.member + '\n' + std::to_string(core::ToUnixMillis(d.at)) + '\n' +
                     std::string(StrategyName(d.strategy)) + '\n' + (d.holdout ? "1" : "0") + '\n' +
                     e.assignment.experiment + '/' + e.assignment.arm + '\n';
  for (const auto& o : d.offers) {
    text += o.offer + ' ' + std::string(ChannelName(o.channel)) + ' ' + std::to_string(o.cost_minor) + ' ' +
            std::to_string(o.propensity) + ' ' + o.routing + ' ' + o.bandit_arm + '\n';
  }
  return text + explanation;
}

}  // namespace

Status DecisionLog::RecordBatch(const std::vector<Entry>& entries) {
  if (entries.empty()) return {};
  return db_.Write([&](Transaction& tx) -> Status {
    std::vector<std::string> stored;
    if (trail_) stored.reserve(entries.size());
    for (const auto& e : entries) {
      // Rendered once, for the row and the trail, when the caller has not rendered it already.
      const std::string rendered = e.explanation.empty() ? core::Dump(ExplanationJson(e.decision)) : std::string();
      const std::string& explanation = e.explanation.empty() ? rendered : e.explanation;
      LOYALTY_TRY(InsertDecision(tx, e.id, e.decision, e.assignment, e.covariate, explanation, e.trigger));
      if (trail_) stored.push_back(StoredText(e, explanation));
    }
    if (trail_) LOYALTY_TRY(trail_(tx, entries, stored));
    return {};
  });
}

Result<Json> DecisionLog::Get(const std::string& id) {
  return db_.ReadValue<Json>([&](Transaction& tx) { return StoredDecision(tx, id); });
}

Result<std::optional<std::string>> DecisionLog::TriggeredBy(const std::string& event) {
  return db_.ReadValue<std::optional<std::string>>([&](Transaction& tx) -> Result<std::optional<std::string>> {
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT id FROM decisions WHERE trigger_event = ?1", {event}));
    if (rows.empty()) return std::optional<std::string>();
    return std::optional<std::string>(rows[0].Text(0));
  });
}

Result<Json> DecisionLog::ForMembers(std::span<const std::string> members) {
  return db_.ReadValue<Json>([&](Transaction& tx) -> Result<Json> {
    Json out = Json::array();
    for (const auto& member : members) {
      LOYALTY_ASSIGN_OR_RETURN(auto ids,
                               tx.Query("SELECT id FROM decisions WHERE member = ?1 ORDER BY at, id", {member}));
      for (const auto& row : ids) {
        LOYALTY_ASSIGN_OR_RETURN(auto decision, StoredDecision(tx, row.Text(0)));
        out.push_back(std::move(decision));
      }
    }
    return out;
  });
}

Result<OutcomeReceipt> DecisionLog::RecordOutcome(const Outcome& outcome, Decider& decider) {
  const int attribution_days = decider.policy()->attribution_days;
  LOYALTY_ASSIGN_OR_RETURN(
      auto receipt, db_.WriteValue<OutcomeReceipt>([&](Transaction& tx) -> Result<OutcomeReceipt> {
        OutcomeReceipt r;
        LOYALTY_ASSIGN_OR_RETURN(auto decision, tx.QueryOne("SELECT at FROM decisions WHERE id = ?1", {outcome.decision}));
        if (!decision) return Fail(ErrorCode::kNotFound, "no decision '" + outcome.decision + "'");
        LOYALTY_ASSIGN_OR_RETURN(
            auto item, tx.QueryOne("SELECT arm FROM decision_items WHERE decision = ?1 AND offer = ?2",
                                   {outcome.decision, outcome.offer}));
        if (!item) {
          return Fail(ErrorCode::kNotFound, "decision '" + outcome.decision + "' made no offer '" + outcome.offer + "'");
        }
        r.bandit_arm = item->Text(0);
        LOYALTY_ASSIGN_OR_RETURN(
            auto seen, tx.QueryOne("SELECT decision, offer, type, at, value_minor FROM decision_outcomes WHERE id = ?1",
                                   {outcome.id}));
        if (seen) {
          if (seen->Text(0) != outcome.decision || seen->Text(1) != outcome.offer ||
              seen->Text(2) != OutcomeTypeName(outcome.type) || seen->Int(4) != outcome.value_minor) {
            return Fail(ErrorCode::kConflict, "outcome id '" + outcome.id + "' was recorded with other contents");
          }
          r.duplicate = true;
          return r;
        }
        const int64_t made = decision->Int(0);
        const int64_t at = core::ToUnixMillis(outcome.at);
        if (at < made || at > made + attribution_days * 24LL * 3600 * 1000) {
          return Fail(ErrorCode::kFailedPrecondition,
                      "the outcome falls outside the decision's attribution window (" + std::to_string(attribution_days) +
                          " days after it)");
        }
        if (IsResponse(outcome.type)) {
          LOYALTY_ASSIGN_OR_RETURN(
              auto earlier, tx.QueryOne("SELECT 1 FROM decision_outcomes WHERE decision = ?1 AND offer = ?2 AND response = 1",
                                        {outcome.decision, outcome.offer}));
          r.counted_as_response = !earlier;
        }
        LOYALTY_TRY(tx.Execute(
            "INSERT INTO decision_outcomes (id, decision, offer, type, at, value_minor, response) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            {outcome.id, outcome.decision, outcome.offer, OutcomeTypeName(outcome.type), at, outcome.value_minor,
             r.counted_as_response ? 1 : 0}));
        return r;
      }));
  if (!receipt.duplicate) {
    if (outcome.type == OutcomeType::kImpression) decider.arms().Record(receipt.bandit_arm, 1, 0);
    if (receipt.counted_as_response) decider.arms().Record(receipt.bandit_arm, 0, 1);
  }
  return receipt;
}

namespace {

constexpr std::string_view kRoutedColumns =
    "SELECT i.decision, i.rank, d.member, d.at, d.strategy, i.offer, i.channel, i.propensity, i.response_probability, "
    "i.expected_value, i.cost_minor, i.arm, i.routing, "
    "(SELECT r.cost_minor FROM decision_releases r WHERE r.decision = i.decision AND r.rank = i.rank), "
    "i.risk, i.risk_reasons, d.holdout "
    "FROM decision_items i JOIN decisions d ON d.id = i.decision ";

DecisionLog::RoutedOffer RoutedFromRow(const store::Row& row) {
  DecisionLog::RoutedOffer o;
  o.decision = row.Text(0);
  o.rank = static_cast<int>(row.Int(1));
  o.member = row.Text(2);
  o.at = core::FromUnixMillis(row.Int(3));
  o.strategy = row.Text(4);
  o.offer = row.Text(5);
  o.channel = row.Text(6);
  o.propensity = row.Real(7);
  o.response_probability = row.Real(8);
  o.expected_value_minor = row.Real(9);
  o.cost_minor = row.Int(10);
  o.arm = row.Text(11);
  o.routing = row.Text(12);
  if (!row.IsNull(13)) o.released_minor = row.Int(13);
  o.risk = row.Text(14);
  for (const auto& reason : SplitReasons(row.Text(15))) o.risk_reasons.push_back(reason.get<std::string>());
  o.holdout = row.Int(16) != 0;
  return o;
}

}  // namespace

Result<std::vector<DecisionLog::RoutedOffer>> DecisionLog::RoutedOffers(core::Timestamp since) {
  return db_.ReadValue<std::vector<RoutedOffer>>([&](Transaction& tx) -> Result<std::vector<RoutedOffer>> {
    // Decision ids begin with the wall-clock time they were made, so the partial index is read
    // from the window's start on only. `at` is the program's clock (simulated or backfilled
    // time may run apart from the wall clock): the id range starts at the earlier of the two.
    const auto wall_now = std::chrono::time_point_cast<core::Timestamp::duration>(std::chrono::system_clock::now());
    const core::Timestamp first_id = std::min(since, wall_now - (clock_.Now() - since));
    LOYALTY_ASSIGN_OR_RETURN(
        auto rows, tx.Query(std::string(kRoutedColumns) +
                                "WHERE i.routing <> 'auto' AND i.decision >= ?1 AND d.at >= ?2 ORDER BY d.at, i.decision, i.rank",
                            {IdPrefixAt(first_id), core::ToUnixMillis(since)}));
    std::vector<RoutedOffer> out;
    out.reserve(rows.size());
    for (const auto& row : rows) out.push_back(RoutedFromRow(row));
    return out;
  });
}

Result<std::vector<DecisionLog::MemberOffers>> DecisionLog::OffersByMember(core::Timestamp since) {
  using Rows = std::vector<MemberOffers>;
  return db_.ReadValue<Rows>([&](Transaction& tx) -> Result<Rows> {
    LOYALTY_ASSIGN_OR_RETURN(
        auto rows,
        tx.Query("SELECT d.member, "
                 "SUM(CASE WHEN r.cost_minor IS NULL OR r.cost_minor < i.cost_minor THEN 1 ELSE 0 END), "
                 "SUM(i.cost_minor - COALESCE(r.cost_minor, 0)) "
                 "FROM decision_items i JOIN decisions d ON d.id = i.decision "
                 "LEFT JOIN decision_releases r ON r.decision = i.decision AND r.rank = i.rank "
                 "WHERE d.at >= ?1 GROUP BY d.member",
                 {core::ToUnixMillis(since)}));
    Rows out;
    out.reserve(rows.size());
    for (const auto& row : rows) out.push_back({row.Text(0), row.Int(1), row.Int(2)});
    return out;
  });
}

Result<DecisionLog::RoutedOffer> DecisionLog::FindRouted(Transaction& tx, const std::string& decision, int rank) {
  LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne(std::string(kRoutedColumns) + "WHERE i.decision = ?1 AND i.rank = ?2",
                                                 {decision, int64_t{rank}}));
  if (!row) return Fail(ErrorCode::kNotFound, "decision '" + decision + "' made no offer at rank " + std::to_string(rank));
  RoutedOffer o = RoutedFromRow(*row);
  if (o.routing == "auto") {
    return Fail(ErrorCode::kFailedPrecondition,
                "offer " + std::to_string(rank) + " of decision '" + decision + "' ran automatically; nothing to review");
  }
  return o;
}

Status DecisionLog::ReleaseRouted(Transaction& tx, const RoutedOffer& offer, std::string_view reason, int64_t cost_minor,
                                  bool contact, core::Timestamp at) {
  LOYALTY_TRY(tx.Execute("INSERT INTO decision_releases (decision, rank, at, reason, cost_minor, contact) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                         {offer.decision, int64_t{offer.rank}, core::ToUnixMillis(at), std::string(reason), cost_minor,
                          contact ? 1 : 0}));
  return {};
}

Result<bool> DecisionLog::RecordRejection(Transaction& tx, const RoutedOffer& offer) {
  // Dated at the decision, inside its attribution window: the label belongs to the decision.
  // Its id names the offer's rank, which reporters' ids never do.
  LOYALTY_ASSIGN_OR_RETURN(
      const int64_t inserted,
      tx.Execute("INSERT INTO decision_outcomes (id, decision, offer, type, at, value_minor, response) "
                 "VALUES (?1, ?2, ?3, 'rejected', ?4, 0, 0) ON CONFLICT DO NOTHING",
                 {"review:" + offer.decision + ":" + std::to_string(offer.rank), offer.decision, offer.offer,
                  core::ToUnixMillis(offer.at)}));
  return inserted == 1;
}

Result<int> DecisionLog::RecordSubstitute(Transaction& tx, const RoutedOffer& replaced, const DecidedOffer& chosen) {
  LOYALTY_ASSIGN_OR_RETURN(auto same, tx.QueryOne("SELECT rank FROM decision_items WHERE decision = ?1 AND offer = ?2",
                                                  {replaced.decision, chosen.offer}));
  if (same) {
    return Fail(ErrorCode::kConflict, "decision '" + replaced.decision + "' made offer '" + chosen.offer +
                                          "' already (rank " + std::to_string(same->Int(0)) + "): choose another");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto last, tx.QueryOne("SELECT MAX(rank) FROM decision_items WHERE decision = ?1",
                                                  {replaced.decision}));
  const int rank = static_cast<int>(last->Int(0)) + 1;
  LOYALTY_TRY(tx.Execute(
      "INSERT INTO decision_items (decision, rank, offer, channel, send_at, propensity, response_probability, "
      "expected_value, cost_minor, arm, routing, sku, risk, risk_reasons, replaces) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
      {replaced.decision, int64_t{rank}, chosen.offer, ChannelName(chosen.channel), core::ToUnixMillis(chosen.send_at),
       chosen.propensity, chosen.response_probability, chosen.expected_value_minor, chosen.cost_minor, chosen.bandit_arm,
       chosen.routing, chosen.sku, RiskName(chosen.risk), JoinReasons(chosen.risk_reasons), int64_t{replaced.rank}}));
  return rank;
}

Result<int64_t> DecisionLog::PseudonymiseIn(Transaction& tx, const std::string& member,
                                            const std::string& pseudonym) const {
  return tx.Execute("UPDATE decisions SET member = ?2 WHERE member = ?1", {member, pseudonym});
}

Status DecisionLog::Restore(Decider& decider) {
  const core::Timestamp now = clock_.Now();
  return db_.Read([&](Transaction& tx) -> Status {
    // Budgets: what every decision ever committed, per offer (summed by the store).
    LOYALTY_ASSIGN_OR_RETURN(auto spent, tx.Query("SELECT offer, SUM(cost_minor) FROM decision_items GROUP BY offer"));
    for (const auto& row : spent) decider.RestoreSpend(row.Text(0), row.Int(1));
    // ... less what reviewers gave back.
    LOYALTY_ASSIGN_OR_RETURN(auto released, tx.Query("SELECT i.offer, SUM(r.cost_minor) FROM decision_releases r "
                                                     "JOIN decision_items i ON i.decision = r.decision AND i.rank = r.rank "
                                                     "GROUP BY i.offer"));
    for (const auto& row : released) decider.RestoreSpend(row.Text(0), -row.Int(1));
    // Caps look back a week at most: only those contacts are read back.
    LOYALTY_ASSIGN_OR_RETURN(auto recent, tx.Query("SELECT d.member, i.offer, i.channel, d.at FROM decisions d "
                                                   "JOIN decision_items i ON i.decision = d.id WHERE d.at > ?1 AND NOT EXISTS "
                                                   "(SELECT 1 FROM decision_releases r WHERE r.decision = i.decision "
                                                   "AND r.rank = i.rank AND r.contact = 1)",
                                                   {core::ToUnixMillis(now - std::chrono::days(7))}));
    for (const auto& row : recent) {
      auto channel = ParseChannel(row.Text(2));
      if (!channel) return Fail(ErrorCode::kInternal, "a stored decision names an unknown channel '" + row.Text(2) + "'");
      decider.RestoreContact(row.Text(0), row.Text(1), *channel, core::FromUnixMillis(row.Int(3)));
    }
    LOYALTY_ASSIGN_OR_RETURN(
        auto counts, tx.Query("SELECT i.arm, SUM(CASE WHEN o.type IN ('impression', 'rejected') THEN 1 ELSE 0 END), SUM(o.response) "
                              "FROM decision_outcomes o JOIN decision_items i ON i.decision = o.decision AND i.offer = o.offer "
                              "GROUP BY i.arm"));
    std::map<std::string, BetaArms::Counts> restored;
    for (const auto& row : counts) {
      auto& c = restored[row.Text(0)];
      c.successes = row.Int(2);
      c.trials = std::max(row.Int(1), c.successes);
    }
    decider.arms().Restore(std::move(restored));
    return {};
  });
}

Result<std::vector<DecisionLog::FirstDecision>> DecisionLog::FirstDecisions(core::Timestamp from, core::Timestamp to) {
  return db_.ReadValue<std::vector<FirstDecision>>([&](Transaction& tx) -> Result<std::vector<FirstDecision>> {
    // The first decision of each member in the window, with its own holdout assignment (of
    // decisions made in the same millisecond, the one with the lowest id).
    LOYALTY_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT d.member, d.at, d.holdout FROM decisions d "
                            "JOIN (SELECT member, MIN(at) AS first_at FROM decisions WHERE at >= ?1 AND at < ?2 "
                            "GROUP BY member) f ON f.member = d.member AND d.at = f.first_at "
                            "WHERE d.id = (SELECT MIN(e.id) FROM decisions e WHERE e.member = d.member AND e.at = d.at)",
                            {core::ToUnixMillis(from), core::ToUnixMillis(to)}));
    std::vector<FirstDecision> out;
    out.reserve(rows.size());
    for (const auto& row : rows) out.push_back({row.Text(0), core::FromUnixMillis(row.Int(1)), row.Int(2) != 0});
    return out;
  });
}

Result<int64_t> DecisionLog::Count() {
  return db_.ReadValue<int64_t>([&](Transaction& tx) -> Result<int64_t> {
    LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT count(*) FROM decisions", {}));
    return row ? row->Int(0) : 0;
  });
}

Result<std::vector<DecisionLog::LoggedOffer>> DecisionLog::Logged(std::optional<core::Timestamp> since) {
  const int64_t from = since ? core::ToUnixMillis(*since) : INT64_MIN;
  return db_.ReadValue<std::vector<LoggedOffer>>([&](Transaction& tx) -> Result<std::vector<LoggedOffer>> {
    LOYALTY_ASSIGN_OR_RETURN(
        auto rows, tx.Query("SELECT d.member, i.offer, i.arm, i.propensity, i.response_probability, d.strategy, "
                            "EXISTS (SELECT 1 FROM decision_outcomes o WHERE o.decision = i.decision AND o.offer = i.offer "
                            "AND o.response = 1) "
                            "FROM decision_items i JOIN decisions d ON d.id = i.decision WHERE d.at >= ?1 AND i.rank = 0 "
                            "ORDER BY d.at",
                            {from}));
    std::vector<LoggedOffer> out;
    out.reserve(rows.size());
    for (const auto& row : rows) {
      LoggedOffer l;
      l.member = row.Text(0);
      l.offer = row.Text(1);
      l.arm = row.Text(2);
      l.propensity = row.Real(3);
      l.response_probability = row.Real(4);
      auto strategy = ParseStrategy(row.Text(5));
      l.strategy = strategy ? *strategy : Strategy::kAi;
      l.responded = row.Int(6) != 0;
      out.push_back(std::move(l));
    }
    return out;
  });
}

}  // namespace loyalty::decision
