#include "loyalty/models/registry.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace loyalty::models {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;
using store::Transaction;

namespace {

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE model_versions (
  kind        TEXT NOT NULL,
  version     INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  creator     TEXT NOT NULL,
  data_window TEXT NOT NULL,
  features    TEXT NOT NULL,
  params      TEXT NOT NULL,
  metrics     TEXT NOT NULL,
  artifact    TEXT NOT NULL,
  PRIMARY KEY (kind, version)
);
CREATE TABLE model_aliases (
  kind    TEXT NOT NULL,
  alias   TEXT NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (kind, alias)
);
CREATE TABLE model_alias_moves (
  move_id  INTEGER PRIMARY KEY,
  kind     TEXT NOT NULL,
  alias    TEXT NOT NULL,
  version  INTEGER NOT NULL,
  previous INTEGER,
  action   TEXT NOT NULL,
  actor    TEXT NOT NULL,
  at       INTEGER NOT NULL,
  undone   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX model_alias_moves_by_kind ON model_alias_moves(kind, alias, move_id);
)sql";

// What models predicted, kept so it can be compared with what then happened.
constexpr std::string_view kSchemaV2 = R"sql(
CREATE TABLE prediction_snapshots (
  snapshot_id  INTEGER PRIMARY KEY,
  kind         TEXT NOT NULL,
  version      INTEGER NOT NULL,
  at           INTEGER NOT NULL,
  horizon_days INTEGER NOT NULL,
  quantity     TEXT NOT NULL,
  members      INTEGER NOT NULL,
  recorded_at  INTEGER NOT NULL,
  FOREIGN KEY (kind, version) REFERENCES model_versions(kind, version)
);
CREATE INDEX prediction_snapshots_by_kind ON prediction_snapshots(kind, at);
CREATE TABLE stored_predictions (
  snapshot_id INTEGER NOT NULL REFERENCES prediction_snapshots(snapshot_id),
  member_id   TEXT NOT NULL,
  value       REAL NOT NULL,
  PRIMARY KEY (snapshot_id, member_id)
) WITHOUT ROWID;
)sql";

constexpr store::Migration kMigrations[] = {{1, "model registry", kSchemaV1}, {2, "kept predictions", kSchemaV2}};

constexpr std::string_view kColumns =
    "SELECT kind, version, created_at, creator, data_window, features, params, metrics FROM model_versions";

Result<ModelVersion> ReadVersion(Transaction& tx, const store::Row& row) {
  ModelVersion v;
  v.kind = row.Text(0);
  v.version = static_cast<int>(row.Int(1));
  v.created_at = core::FromUnixMillis(row.Int(2));
  v.creator = row.Text(3);
  LOYALTY_ASSIGN_OR_RETURN(v.data_window, core::ParseJson(row.Text(4)));
  LOYALTY_ASSIGN_OR_RETURN(const Json features, core::ParseJson(row.Text(5)));
  for (const auto& f : features) v.features.push_back(f.get<std::string>());
  LOYALTY_ASSIGN_OR_RETURN(v.params, core::ParseJson(row.Text(6)));
  LOYALTY_ASSIGN_OR_RETURN(v.metrics, core::ParseJson(row.Text(7)));
  LOYALTY_ASSIGN_OR_RETURN(auto aliases, tx.Query("SELECT alias FROM model_aliases WHERE kind = ?1 AND version = ?2 "
                                                  "ORDER BY alias",
                                                  {v.kind, v.version}));
  for (const auto& a : aliases) v.aliases.push_back(a.Text(0));
  return v;
}

Result<ModelVersion> GetIn(Transaction& tx, const std::string& kind, int version) {
  LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne(std::string(kColumns) + " WHERE kind = ?1 AND version = ?2",
                                                 {kind, version}));
  if (!row) {
    return Fail(ErrorCode::kNotFound, "no model " + kind + "@" + std::to_string(version) +
                                          "; list the versions with `loyalty models list`");
  }
  return ReadVersion(tx, *row);
}

Result<std::optional<int>> AliasIn(Transaction& tx, const std::string& kind, const std::string& alias) {
  LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT version FROM model_aliases WHERE kind = ?1 AND alias = ?2",
                                                 {kind, alias}));
  if (!row) return std::optional<int>();
  return std::optional<int>(static_cast<int>(row->Int(0)));
}

core::Status MoveAlias(Transaction& tx, const std::string& kind, const std::string& alias, int version,
                       std::optional<int> previous, std::string_view action, const std::string& actor, int64_t at) {
  LOYALTY_TRY(tx.Execute("INSERT INTO model_aliases (kind, alias, version) VALUES (?1, ?2, ?3) "
                         "ON CONFLICT (kind, alias) DO UPDATE SET version = excluded.version",
                         {kind, alias, version}));
  LOYALTY_TRY(tx.Execute("INSERT INTO model_alias_moves (kind, alias, version, previous, action, actor, at) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                         {kind, alias, version, previous, action, actor, at}));
  return {};
}

core::Status CheckName(std::string_view what, const std::string& name) {
  if (name.empty() || name.size() > 64 ||
      !std::all_of(name.begin(), name.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; })) {
    return Fail(ErrorCode::kInvalidArgument, std::string(what) + " '" + name +
                                                 "' must be 1-64 letters, digits, '_' or '-'");
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<ModelRegistry>> ModelRegistry::Open(store::Database& db, const core::Clock& clock) {
  LOYALTY_TRY(store::Migrate(db, "models", kMigrations));
  return std::unique_ptr<ModelRegistry>(new ModelRegistry(db, clock));
}

Result<ModelVersion> ModelRegistry::ChangeAliases(const std::function<Result<ModelVersion>(Transaction&)>& change) {
  auto changed = db_.WriteValue<ModelVersion>(change);
  aliases_.Forget();  // what ByAlias remembered may have moved
  return changed;
}

Result<ModelVersion> ModelRegistry::Register(const NewModel& model) {
  LOYALTY_TRY(CheckName("model kind", model.kind));
  const int64_t now = core::ToUnixMillis(clock_.Now());
  return ChangeAliases([&](Transaction& tx) -> Result<ModelVersion> {
    LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT COALESCE(MAX(version), 0) FROM model_versions WHERE kind = ?1",
                                                   {model.kind}));
    const int version = static_cast<int>(row->Int(0)) + 1;
    const std::string window = core::Dump(model.data_window), features = core::Dump(Json(model.features)),
                      params = core::Dump(model.params), metrics = core::Dump(model.metrics);
    LOYALTY_TRY(tx.Execute("INSERT INTO model_versions (kind, version, created_at, creator, data_window, features, "
                           "params, metrics, artifact) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                           {model.kind, version, now, model.creator, window, features, params, metrics, model.artifact}));
    LOYALTY_ASSIGN_OR_RETURN(const auto champion, AliasIn(tx, model.kind, "champion"));
    if (!champion) {
      LOYALTY_TRY(MoveAlias(tx, model.kind, "champion", version, std::nullopt, "promote", model.creator, now));
    } else {
      LOYALTY_ASSIGN_OR_RETURN(const auto challenger, AliasIn(tx, model.kind, "challenger"));
      LOYALTY_TRY(MoveAlias(tx, model.kind, "challenger", version, challenger, "set", model.creator, now));
    }
    return GetIn(tx, model.kind, version);
  });
}

Result<std::vector<ModelVersion>> ModelRegistry::List(const std::string& kind) {
  return db_.ReadValue<std::vector<ModelVersion>>([&](Transaction& tx) -> Result<std::vector<ModelVersion>> {
    LOYALTY_ASSIGN_OR_RETURN(auto rows, kind.empty()
                                            ? tx.Query(std::string(kColumns) + " ORDER BY kind, version")
                                            : tx.Query(std::string(kColumns) + " WHERE kind = ?1 ORDER BY version",
                                                       {kind}));
    std::vector<ModelVersion> out;
    for (const auto& row : rows) {
      LOYALTY_ASSIGN_OR_RETURN(auto v, ReadVersion(tx, row));
      out.push_back(std::move(v));
    }
    return out;
  });
}

Result<ModelVersion> ModelRegistry::Get(const std::string& kind, int version) {
  return db_.ReadValue<ModelVersion>([&](Transaction& tx) { return GetIn(tx, kind, version); });
}

Result<ModelVersion> ModelRegistry::ByAlias(const std::string& kind, const std::string& alias) {
  std::string key = kind + '\n' + alias;
  auto recent = aliases_.Find(key);
  if (recent.value) return *recent.value;
  auto found = db_.ReadValue<ModelVersion>([&](Transaction& tx) -> Result<ModelVersion> {
    LOYALTY_ASSIGN_OR_RETURN(const auto version, AliasIn(tx, kind, alias));
    if (!version) {
      return Fail(ErrorCode::kNotFound, "no " + kind + " model is the " + alias + "; train one with `loyalty train --model " +
                                            kind + "`");
    }
    return GetIn(tx, kind, *version);
  });
  // "None yet" is remembered too; other failures are asked again.
  if (found || found.error().code == ErrorCode::kNotFound) aliases_.Remember(std::move(key), found, recent.ticket);
  return found;
}

Result<std::string> ModelRegistry::Artifact(const std::string& kind, int version) {
  return db_.ReadValue<std::string>([&](Transaction& tx) -> Result<std::string> {
    LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT artifact FROM model_versions WHERE kind = ?1 AND version = ?2",
                                                   {kind, version}));
    if (!row) return Fail(ErrorCode::kNotFound, "no model " + kind + "@" + std::to_string(version));
    return row->Text(0);
  });
}

Result<ModelVersion> ModelRegistry::Promote(const std::string& kind, int version, const std::string& actor) {
  const int64_t now = core::ToUnixMillis(clock_.Now());
  return ChangeAliases([&](Transaction& tx) -> Result<ModelVersion> {
    LOYALTY_TRY(GetIn(tx, kind, version));
    LOYALTY_ASSIGN_OR_RETURN(const auto champion, AliasIn(tx, kind, "champion"));
    if (champion == version) {
      return Fail(ErrorCode::kFailedPrecondition, kind + "@" + std::to_string(version) + " is already the champion");
    }
    LOYALTY_TRY(MoveAlias(tx, kind, "champion", version, champion, "promote", actor, now));
    LOYALTY_ASSIGN_OR_RETURN(const auto challenger, AliasIn(tx, kind, "challenger"));
    if (challenger == version) {
      LOYALTY_TRY(tx.Execute("DELETE FROM model_aliases WHERE kind = ?1 AND alias = 'challenger'", {kind}));
    }
    return GetIn(tx, kind, version);
  });
}

Result<ModelVersion> ModelRegistry::Rollback(const std::string& kind, const std::string& actor) {
  const int64_t now = core::ToUnixMillis(clock_.Now());
  return ChangeAliases([&](Transaction& tx) -> Result<ModelVersion> {
    LOYALTY_ASSIGN_OR_RETURN(const auto champion, AliasIn(tx, kind, "champion"));
    if (!champion) return Fail(ErrorCode::kNotFound, "no " + kind + " model has been trained");
    // The promotion that made the current champion, not yet undone.
    LOYALTY_ASSIGN_OR_RETURN(auto move, tx.QueryOne("SELECT move_id, previous FROM model_alias_moves WHERE kind = ?1 "
                                                    "AND alias = 'champion' AND action = 'promote' AND version = ?2 "
                                                    "AND undone = 0 ORDER BY move_id DESC LIMIT 1",
                                                    {kind, *champion}));
    if (!move || move->IsNull(1)) {
      return Fail(ErrorCode::kFailedPrecondition, kind + "@" + std::to_string(*champion) +
                                                      " has no earlier champion to roll back to");
    }
    const int previous = static_cast<int>(move->Int(1));
    LOYALTY_TRY(tx.Execute("UPDATE model_alias_moves SET undone = 1 WHERE move_id = ?1", {move->Int(0)}));
    LOYALTY_TRY(MoveAlias(tx, kind, "champion", previous, champion, "rollback", actor, now));
    return GetIn(tx, kind, previous);
  });
}

Result<ModelVersion> ModelRegistry::SetAlias(const std::string& kind, const std::string& alias, int version,
                                             const std::string& actor) {
  LOYALTY_TRY(CheckName("alias", alias));
  if (alias == "champion") return Promote(kind, version, actor);
  const int64_t now = core::ToUnixMillis(clock_.Now());
  return ChangeAliases([&](Transaction& tx) -> Result<ModelVersion> {
    LOYALTY_TRY(GetIn(tx, kind, version));
    LOYALTY_ASSIGN_OR_RETURN(const auto previous, AliasIn(tx, kind, alias));
    LOYALTY_TRY(MoveAlias(tx, kind, alias, version, previous, "set", actor, now));
    return GetIn(tx, kind, version);
  });
}

Result<std::vector<AliasMove>> ModelRegistry::AliasHistory(const std::string& kind) {
  return db_.ReadValue<std::vector<AliasMove>>([&](Transaction& tx) -> Result<std::vector<AliasMove>> {
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT kind, alias, version, previous, action, actor, at FROM "
                                                 "model_alias_moves WHERE kind = ?1 ORDER BY move_id",
                                                 {kind}));
    std::vector<AliasMove> out;
    for (const auto& r : rows) {
      std::optional<int> previous;
      if (auto p = r.OptionalInt(3)) previous = static_cast<int>(*p);
      out.push_back({r.Text(0), r.Text(1), static_cast<int>(r.Int(2)), previous, r.Text(4), r.Text(5),
                     core::FromUnixMillis(r.Int(6))});
    }
    return out;
  });
}

Json ToJson(const ModelVersion& v) {
  return Json{{"kind", v.kind},
              {"version", v.version},
              {"name", v.name()},
              {"created_at", core::FormatTimestamp(v.created_at)},
              {"creator", v.creator},
              {"data_window", v.data_window},
              {"features", v.features},
              {"params", v.params},
              {"metrics", v.metrics},
              {"aliases", v.aliases}};
}

namespace {

constexpr std::string_view kSnapshotColumns =
    "SELECT snapshot_id, kind, version, at, horizon_days, quantity, members FROM prediction_snapshots";

PredictionSnapshot ReadSnapshot(const store::Row& row) {
  return {row.Int(0),     row.Text(1), static_cast<int>(row.Int(2)), core::FromUnixMillis(row.Int(3)),
          static_cast<int>(row.Int(4)), row.Text(5), row.Int(6)};
}

}  // namespace

Result<PredictionSnapshot> ModelRegistry::KeepPredictions(const PredictionSnapshot& snapshot,
                                                          std::span<const StoredPrediction> predictions) {
  if (snapshot.horizon_days < 1 || snapshot.horizon_days > 3650) {
    return Fail(ErrorCode::kInvalidArgument, "a prediction horizon must be 1 to 3650 days");
  }
  if (snapshot.quantity.empty()) return Fail(ErrorCode::kInvalidArgument, "say what was predicted");
  for (const auto& p : predictions) {
    if (!std::isfinite(p.value)) {
      return Fail(ErrorCode::kInvalidArgument, "the prediction for " + p.member + " is not a finite number");
    }
  }
  return db_.WriteValue<PredictionSnapshot>([&](Transaction& tx) -> Result<PredictionSnapshot> {
    LOYALTY_ASSIGN_OR_RETURN(const ModelVersion version, GetIn(tx, snapshot.kind, snapshot.version));
    (void)version;  // the version must exist
    PredictionSnapshot out = snapshot;
    out.members = static_cast<int64_t>(predictions.size());
    LOYALTY_ASSIGN_OR_RETURN(
        auto row, tx.QueryOne("INSERT INTO prediction_snapshots (kind, version, at, horizon_days, quantity, members, "
                              "recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING snapshot_id",
                              {out.kind, out.version, core::ToUnixMillis(out.at), out.horizon_days, out.quantity,
                               out.members, core::ToUnixMillis(clock_.Now())}));
    out.id = row->Int(0);
    for (const auto& p : predictions) {
      LOYALTY_TRY(tx.Execute("INSERT INTO stored_predictions (snapshot_id, member_id, value) VALUES (?1, ?2, ?3)",
                             {out.id, p.member, p.value}));
    }
    return out;
  });
}

Result<std::vector<PredictionSnapshot>> ModelRegistry::PredictionSnapshots(const std::string& kind) {
  return db_.ReadValue<std::vector<PredictionSnapshot>>([&](Transaction& tx) -> Result<std::vector<PredictionSnapshot>> {
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query(std::string(kSnapshotColumns) + " WHERE kind = ?1 ORDER BY at, snapshot_id",
                                                 {kind}));
    std::vector<PredictionSnapshot> out;
    for (const auto& row : rows) out.push_back(ReadSnapshot(row));
    return out;
  });
}

Result<std::vector<StoredPrediction>> ModelRegistry::KeptPredictions(int64_t snapshot_id) {
  return db_.ReadValue<std::vector<StoredPrediction>>([&](Transaction& tx) -> Result<std::vector<StoredPrediction>> {
    LOYALTY_ASSIGN_OR_RETURN(auto exists, tx.QueryOne(std::string(kSnapshotColumns) + " WHERE snapshot_id = ?1",
                                                      {snapshot_id}));
    if (!exists) return Fail(ErrorCode::kNotFound, "no prediction snapshot " + std::to_string(snapshot_id));
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT member_id, value FROM stored_predictions WHERE snapshot_id = ?1 "
                                                 "ORDER BY member_id",
                                                 {snapshot_id}));
    std::vector<StoredPrediction> out;
    out.reserve(rows.size());
    for (const auto& row : rows) out.push_back({row.Text(0), row.Real(1)});
    return out;
  });
}

core::Status ModelRegistry::ForgetMemberIn(store::Transaction& tx, const core::MemberId& member) const {
  LOYALTY_TRY(tx.Execute("DELETE FROM stored_predictions WHERE member_id = ?1", {member.str()}));
  return {};
}

}  // namespace loyalty::models
