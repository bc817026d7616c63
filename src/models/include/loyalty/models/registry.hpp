#pragma once
// The model registry: every trained model is a numbered version of its kind ("churn", "clv",
// ...) stored with its data window, features, parameters, metrics, creator and the artifact
// itself. Aliases point at versions: "champion" is what scoring uses, "challenger" what is
// shadow-scored beside it. Promote re-points the champion; rollback returns it to the version
// it replaced. Every alias move is kept with who made it and when.

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/core/recent_values.hpp"
#include "loyalty/store/database.hpp"

namespace loyalty::models {

struct NewModel {
  std::string kind;
  std::string creator;
  core::Json data_window = core::Json::object();  // e.g. {"cutoff": ..., "horizon_days": 60}
  std::vector<std::string> features;
  core::Json params = core::Json::object();
  core::Json metrics = core::Json::object();
  std::string artifact;  // the serialised model (text)
};

struct ModelVersion {
  std::string kind;
  int version = 0;
  core::Timestamp created_at;
  std::string creator;
  core::Json data_window;
  std::vector<std::string> features;
  core::Json params;
  core::Json metrics;
  std::vector<std::string> aliases;  // the aliases pointing here now

  std::string name() const { return kind + "@" + std::to_string(version); }  // "churn@3"
};

struct AliasMove {
  std::string kind;
  std::string alias;
  int version = 0;
  std::optional<int> previous;
  std::string action;  // "promote", "rollback", "set"
  std::string actor;
  core::Timestamp at;
};

// What a model version predicted for every member at one time, over a horizon (churn: the
// probability of no purchase within it; CLV: the purchases expected within it), kept so the
// predictions can be compared with what then happened.
struct PredictionSnapshot {
  int64_t id = 0;
  std::string kind;
  int version = 0;
  core::Timestamp at;
  int horizon_days = 0;
  std::string quantity;  // what the values are, e.g. "churn_probability"
  int64_t members = 0;
};

struct StoredPrediction {
  std::string member;
  double value = 0;
};

class ModelRegistry {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<ModelRegistry>> Open(store::Database& db, const core::Clock& clock);

  // Stores a new version (the kind's next number). The first version of a kind becomes its
  // champion; later ones become the challenger until promoted.
  [[nodiscard]] core::Result<ModelVersion> Register(const NewModel& model);

  [[nodiscard]] core::Result<std::vector<ModelVersion>> List(const std::string& kind = "");
  [[nodiscard]] core::Result<ModelVersion> Get(const std::string& kind, int version);
  // The version an alias points at; kNotFound when none does. Answers are remembered for a
  // second (scoring asks on every decision); changes made through this registry show at once.
  [[nodiscard]] core::Result<ModelVersion> ByAlias(const std::string& kind, const std::string& alias);
  [[nodiscard]] core::Result<std::string> Artifact(const std::string& kind, int version);

  // Makes `version` the champion; the one it replaces is remembered for rollback.
  [[nodiscard]] core::Result<ModelVersion> Promote(const std::string& kind, int version, const std::string& actor);
  // Returns the champion to the version the last promotion replaced.
  [[nodiscard]] core::Result<ModelVersion> Rollback(const std::string& kind, const std::string& actor);
  // Points any alias ("challenger", ...) at a version.
  [[nodiscard]] core::Result<ModelVersion> SetAlias(const std::string& kind, const std::string& alias, int version,
                                                    const std::string& actor);
  [[nodiscard]] core::Result<std::vector<AliasMove>> AliasHistory(const std::string& kind);

  // Keeps a version's predictions (the snapshot's id and member count are filled in).
  [[nodiscard]] core::Result<PredictionSnapshot> KeepPredictions(const PredictionSnapshot& snapshot,
                                                                 std::span<const StoredPrediction> predictions);
  // The kind's snapshots, oldest first; and one snapshot's predictions, by member.
  [[nodiscard]] core::Result<std::vector<PredictionSnapshot>> PredictionSnapshots(const std::string& kind);
  [[nodiscard]] core::Result<std::vector<StoredPrediction>> KeptPredictions(int64_t snapshot_id);
  // Erasure: removes the member's kept predictions, inside a caller's transaction.
  [[nodiscard]] core::Status ForgetMemberIn(store::Transaction& tx, const core::MemberId& member) const;

 private:
  ModelRegistry(store::Database& db, const core::Clock& clock) : db_(db), clock_(clock) {}
  // Runs a write that may move aliases, then forgets the aliases ByAlias remembered.
  [[nodiscard]] core::Result<ModelVersion> ChangeAliases(
      const std::function<core::Result<ModelVersion>(store::Transaction&)>& change);
  store::Database& db_;
  const core::Clock& clock_;
  core::RecentValues<core::Result<ModelVersion>> aliases_{std::chrono::seconds(1)};  // by kind and alias
};

core::Json ToJson(const ModelVersion& version);

}  // namespace loyalty::models
