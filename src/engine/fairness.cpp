#include "loyalty/engine/fairness.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "loyalty/oversight/fairness.hpp"

namespace loyalty::engine {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;
using core::Status;

namespace {

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE fairness_settings (
  seq        INTEGER PRIMARY KEY,
  doc        TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL
);
CREATE TABLE fairness_checks (
  seq        INTEGER PRIMARY KEY,
  at         INTEGER NOT NULL,
  attribute  TEXT NOT NULL,
  alerts     TEXT NOT NULL
);
)sql";
constexpr store::Migration kMigrations[] = {{1, "fairness settings and checks", kSchemaV1}};

constexpr auto kDay = std::chrono::hours(24);

// The vault keeps each member's value of the attribute under a kind of its own.
std::string Kind(const std::string& attribute) { return "attribute:" + attribute; }
std::string Ref(const std::string& attribute, const core::MemberId& member) {
  return "attribute:" + attribute + ":" + member.str();
}

Status Fraction(const Json& object, const char* key, double& field, double low, double high) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return {};
  if (!it->is_number() || !(it->get<double>() >= low && it->get<double>() <= high)) {
    return Fail(ErrorCode::kInvalidArgument, "field '" + std::string(key) + "' must be a number from " +
                                                 core::Dump(Json(low)) + " to " + core::Dump(Json(high)));
  }
  field = it->get<double>();
  return {};
}

bool Excludes(const decision::Comparison& c, double value) { return c.ci_low > value || c.ci_high < value; }

// The champion's known outcomes split by the members' groups (members without one left out).
std::vector<oversight::GroupPredictions> ByGroup(const Predictions::ScoredOutcomes& o,
                                                 const std::map<std::string, std::string>& groups) {
  std::map<std::string, oversight::GroupPredictions> by_group;
  for (size_t i = 0; i < o.members.size(); ++i) {
    const auto g = groups.find(o.members[i]);
    if (g == groups.end()) continue;
    auto& p = by_group[g->second];
    p.group = g->second;
    p.scores.push_back(o.scores[i]);
    p.labels.push_back(o.labels[i]);
  }
  std::vector<oversight::GroupPredictions> out;
  for (auto& [name, p] : by_group) out.push_back(std::move(p));
  return out;
}

}  // namespace

Result<FairnessSettings> ParseFairnessSettings(const Json& object) {
  if (!object.is_object()) return Fail(ErrorCode::kInvalidArgument, "the fairness settings must be a JSON object");
  LOYALTY_TRY(core::RejectUnknownFields(
      object, {"attribute", "reference", "window_days", "churn_threshold", "max_parity_difference", "min_parity_ratio",
               "max_equal_opportunity_difference", "max_equalized_odds_difference", "route_alerts_to_review",
               "reweigh_training", "group_thresholds", "thresholds_model", "attribute_as_model_input"}));
  FairnessSettings s;
  LOYALTY_ASSIGN_OR_RETURN(s.attribute, core::RequireString(object, "attribute"));
  if (s.attribute.empty() || s.attribute.size() > 64 ||
      s.attribute.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
    return Fail(ErrorCode::kInvalidArgument, "field 'attribute' needs 1 to 64 lower-case letters, digits or '_', e.g. age_band");
  }
  LOYALTY_ASSIGN_OR_RETURN(s.reference, core::RequireString(object, "reference"));
  if (s.reference.empty() || s.reference.size() > 100) {
    return Fail(ErrorCode::kInvalidArgument, "field 'reference' needs 1 to 100 characters: the group the others are compared with");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto window, core::OptionalInt(object, "window_days"));
  if (window) {
    if (*window < 1 || *window > 730) return Fail(ErrorCode::kInvalidArgument, "field 'window_days' must be from 1 to 730");
    s.window_days = static_cast<int>(*window);
  }
  LOYALTY_TRY(Fraction(object, "churn_threshold", s.churn_threshold, 0.01, 0.99));
  LOYALTY_TRY(Fraction(object, "max_parity_difference", s.max_parity_difference, 0, 1));
  LOYALTY_TRY(Fraction(object, "min_parity_ratio", s.min_parity_ratio, 0.01, 1));
  LOYALTY_TRY(Fraction(object, "max_equal_opportunity_difference", s.max_equal_opportunity_difference, 0, 1));
  LOYALTY_TRY(Fraction(object, "max_equalized_odds_difference", s.max_equalized_odds_difference, 0, 1));
  LOYALTY_ASSIGN_OR_RETURN(auto route, core::OptionalBool(object, "route_alerts_to_review"));
  s.route_alerts_to_review = route.value_or(true);
  LOYALTY_ASSIGN_OR_RETURN(auto reweigh, core::OptionalBool(object, "reweigh_training"));
  s.reweigh_training = reweigh.value_or(false);
  LOYALTY_ASSIGN_OR_RETURN(auto as_input, core::OptionalBool(object, "attribute_as_model_input"));
  s.attribute_as_model_input = as_input.value_or(false);
  if (const auto it = object.find("group_thresholds"); it != object.end() && !it->is_null()) {
    if (!it->is_object()) {
      return Fail(ErrorCode::kInvalidArgument, "field 'group_thresholds' must be an object of group to churn threshold");
    }
    for (const auto& [group, value] : it->items()) {
      if (!value.is_number() || !(value.get<double>() > 0 && value.get<double>() < 1)) {
        return Fail(ErrorCode::kInvalidArgument, "field 'group_thresholds." + group + "' must be a number between 0 and 1");
      }
      s.group_thresholds[group] = value.get<double>();
    }
  }
  LOYALTY_ASSIGN_OR_RETURN(auto model, core::OptionalString(object, "thresholds_model"));
  s.thresholds_model = model.value_or("");
  if (!s.group_thresholds.empty() && s.thresholds_model.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "field 'thresholds_model' is required with 'group_thresholds': the churn model they were set for, e.g. churn@3");
  }
  return s;
}

Json ToJson(const FairnessSettings& s) {
  Json thresholds = Json::object();
  for (const auto& [group, t] : s.group_thresholds) thresholds[group] = t;
  return {{"attribute", s.attribute},
          {"reference", s.reference},
          {"window_days", s.window_days},
          {"churn_threshold", s.churn_threshold},
          {"max_parity_difference", s.max_parity_difference},
          {"min_parity_ratio", s.min_parity_ratio},
          {"max_equal_opportunity_difference", s.max_equal_opportunity_difference},
          {"max_equalized_odds_difference", s.max_equalized_odds_difference},
          {"route_alerts_to_review", s.route_alerts_to_review},
          {"reweigh_training", s.reweigh_training},
          {"attribute_as_model_input", s.attribute_as_model_input},
          {"group_thresholds", thresholds},
          {"thresholds_model", s.thresholds_model.empty() ? Json(nullptr) : Json(s.thresholds_model)}};
}

Result<std::unique_ptr<Fairness>> Fairness::Open(store::Database& db, privacy::Vault& vault, Decisions& decisions,
                                                 Predictions& predictions, const core::Clock& clock) {
  LOYALTY_TRY(store::Migrate(db, "fairness", kMigrations));
  std::unique_ptr<Fairness> f(new Fairness(db, vault, decisions, predictions, clock));
  LOYALTY_TRY(f->Load());
  Fairness* self = f.get();
  decisions.SetFairnessLookup([self](const std::string& member) { return self->ForMember(member); });
  predictions.SetGroupLookup([self](const core::MemberId& member) { return self->ValueOf(member); });
  return f;
}

Status Fairness::Load() {
  FairnessSettings settings;
  std::set<std::string> alerted;
  LOYALTY_TRY(db_.Read([&](store::Transaction& tx) -> Status {
    LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT doc FROM fairness_settings ORDER BY seq DESC LIMIT 1"));
    if (row) {
      LOYALTY_ASSIGN_OR_RETURN(auto doc, core::ParseJson(row->Text(0)));
      auto parsed = ParseFairnessSettings(doc);
      if (!parsed) return Fail(ErrorCode::kInternal, "the stored fairness settings no longer parse: " + parsed.error().message);
      settings = std::move(*parsed);
    }
    LOYALTY_ASSIGN_OR_RETURN(auto check, tx.QueryOne("SELECT attribute, alerts FROM fairness_checks ORDER BY seq DESC LIMIT 1"));
    if (check && check->Text(0) == settings.attribute) {
      LOYALTY_ASSIGN_OR_RETURN(auto alerts, core::ParseJson(check->Text(1)));
      for (const auto& a : alerts) alerted.insert(a.value("group", ""));
    }
    return {};
  }));
  std::unordered_map<std::string, std::string> groups;
  if (!settings.attribute.empty()) {
    LOYALTY_ASSIGN_OR_RETURN(auto secrets, vault_.OfKind(Kind(settings.attribute)));
    groups.reserve(secrets.size());
    for (auto& s : secrets) groups[s.member.str()] = std::move(s.plaintext);
  }
  std::unique_lock lock(mutex_);
  settings_ = std::move(settings);
  groups_ = std::move(groups);
  alerted_ = std::move(alerted);
  return {};
}

FairnessSettings Fairness::settings() const {
  std::shared_lock lock(mutex_);
  return settings_;
}

Decisions::MemberFairness Fairness::ForMember(const std::string& member) const {
  Decisions::MemberFairness out;
  std::shared_lock lock(mutex_);
  out.churn_threshold = out.base_threshold = settings_.churn_threshold;
  if (settings_.attribute.empty()) return out;
  const auto it = groups_.find(member);
  if (it == groups_.end()) return out;
  out.alert = settings_.route_alerts_to_review && alerted_.contains(it->second);
  out.base_threshold = settings_.churn_threshold;
  out.churn_threshold = settings_.churn_threshold;
  if (const auto t = settings_.group_thresholds.find(it->second); t != settings_.group_thresholds.end()) {
    out.churn_threshold = t->second;
    out.threshold_model = settings_.thresholds_model;
  }
  return out;
}

Result<Json> Fairness::Settings() {
  Json out = ToJson(settings());
  std::shared_lock lock(mutex_);
  out["members_with_attribute"] = groups_.size();
  out["alerted_groups"] = alerted_;
  if (settings_.attribute.empty()) out["attribute"] = nullptr;
  return out;
}

Status Fairness::StoreSettings(const FairnessSettings& settings, const std::string& actor) {
  // What is stored must read back: checked before it is written.
  const Json json = ToJson(settings);
  if (auto again = ParseFairnessSettings(json); !again) {
    return Fail(ErrorCode::kInternal, "fairness settings that would not read back: " + again.error().message);
  }
  const std::string doc = core::Dump(json);
  const int64_t now = core::ToUnixMillis(clock_.Now());
  LOYALTY_TRY(db_.Write([&](store::Transaction& tx) -> Status {
    LOYALTY_TRY(tx.Execute("INSERT INTO fairness_settings (doc, updated_at, updated_by) VALUES (?1, ?2, ?3)", {doc, now, actor}));
    return {};
  }));
  return Load();
}

Result<Json> Fairness::PutSettings(const Json& body, const std::string& actor) {
  Json doc = body;
  if (doc.is_object() && !doc.contains("group_thresholds")) {
    const FairnessSettings in_force = settings();
    if (in_force.attribute == doc.value("attribute", "")) {
      const Json kept = ToJson(in_force);
      doc["group_thresholds"] = kept["group_thresholds"];
      doc["thresholds_model"] = kept["thresholds_model"];
    }
  }
  LOYALTY_ASSIGN_OR_RETURN(auto parsed, ParseFairnessSettings(doc));
  LOYALTY_TRY(StoreSettings(parsed, actor));
  return Settings();
}

Status Fairness::SetAttributes(std::span<const std::pair<core::MemberId, std::string>> values) {
  if (values.empty()) return {};
  const FairnessSettings s = settings();
  if (s.attribute.empty()) {
    return Fail(ErrorCode::kFailedPrecondition,
                "no protected attribute is configured: set one first (PUT /v1/fairness/settings, loyalty fairness settings)");
  }
  std::vector<privacy::Secret> secrets;
  secrets.reserve(values.size());
  for (const auto& [member, value] : values) {
    if (value.empty() || value.size() > 100) {
      return Fail(ErrorCode::kInvalidArgument, "the " + s.attribute + " of " + member.str() + " needs 1 to 100 characters");
    }
    secrets.push_back({Ref(s.attribute, member), member, Kind(s.attribute), value});
  }
  LOYALTY_TRY(vault_.Replace(secrets));
  std::unique_lock lock(mutex_);
  if (settings_.attribute != s.attribute) {
    return Fail(ErrorCode::kConflict, "the protected attribute changed to '" + settings_.attribute +
                                          "' meanwhile: set the values again");
  }
  for (const auto& [member, value] : values) groups_[member.str()] = value;
  return {};
}

std::optional<std::string> Fairness::ValueOf(const core::MemberId& member) const {
  std::shared_lock lock(mutex_);
  if (settings_.attribute.empty()) return std::nullopt;
  const auto it = groups_.find(member.str());
  if (it == groups_.end()) return std::nullopt;
  return it->second;
}

void Fairness::Forget(std::span<const core::MemberId> profiles) {
  std::unique_lock lock(mutex_);
  for (const auto& profile : profiles) groups_.erase(profile.str());
}

Result<std::map<std::string, std::string>> Fairness::Groups() {
  std::shared_lock lock(mutex_);
  return std::map<std::string, std::string>(groups_.begin(), groups_.end());
}

Result<TrainOptions> Fairness::ForTraining(TrainOptions options) {
  const FairnessSettings s = settings();
  if (s.attribute.empty()) return options;
  LOYALTY_ASSIGN_OR_RETURN(options.groups, Groups());
  options.reweigh = s.reweigh_training;
  options.group_as_input = s.attribute_as_model_input;
  options.fairness_threshold = s.churn_threshold;
  options.fairness_reference = s.reference;
  return options;
}

Result<Json> Fairness::Report(bool keep_alerts) {
  const FairnessSettings s = settings();
  if (s.attribute.empty()) {
    return Fail(ErrorCode::kFailedPrecondition,
                "no protected attribute is configured: set one first (PUT /v1/fairness/settings, loyalty fairness settings)");
  }
  LOYALTY_ASSIGN_OR_RETURN(const auto groups, Groups());
  const core::Timestamp now = clock_.Now();
  Json out{{"attribute", s.attribute}, {"reference", s.reference}, {"at", core::FormatTimestamp(now)},
           {"members_with_attribute", groups.size()}};

  // Demographic parity of offers and value over the window.
  const core::Timestamp since = now - s.window_days * kDay;
  LOYALTY_ASSIGN_OR_RETURN(const auto offers, decisions_.OffersByMember(since));
  std::map<std::string, oversight::GroupOutcomes> outcomes;
  for (const auto& [member, group] : groups) {
    auto& g = outcomes[group];
    g.group = group;
    const auto it = offers.find(member);
    const bool offered = it != offers.end() && it->second.offers > 0;
    g.members_offered += offered ? 1 : 0;
    g.value_granted.push_back(offered ? static_cast<double>(it->second.value_minor) : 0.0);
  }
  std::vector<oversight::GroupOutcomes> outcome_list;
  for (auto& [name, g] : outcomes) outcome_list.push_back(std::move(g));
  const auto parity = oversight::DemographicParity(outcome_list, s.reference);
  Json parity_json = Json::array();
  for (const auto& row : parity) parity_json.push_back(oversight::ToJson(row));
  out["parity"] = {{"since", core::FormatTimestamp(since)}, {"groups", parity_json}};
  if (!outcomes.contains(s.reference) && !outcome_list.empty()) {
    out["note"] = "no member has the reference group's value '" + s.reference + "': nothing to compare with";
  }

  // The churn model's error rates on the latest known outcomes.
  std::vector<oversight::OddsRow> odds;
  auto scored = predictions_.ChampionChurnOutcomes();
  if (!scored && scored.error().code != ErrorCode::kNotFound && scored.error().code != ErrorCode::kFailedPrecondition) {
    return std::unexpected(scored.error());
  }
  if (scored) {
    const auto& o = **scored;
    const auto predictions = ByGroup(o, groups);
    // Per-group thresholds count for the model they were set for only.
    const bool own = !s.group_thresholds.empty() && s.thresholds_model == o.model;
    odds = oversight::ErrorRates(predictions, s.reference, s.churn_threshold,
                                 own ? s.group_thresholds : std::map<std::string, double>{});
    Json odds_json = Json::array();
    for (const auto& row : odds) odds_json.push_back(oversight::ToJson(row));
    if (!s.group_thresholds.empty() && !own) {
      out["churn_note"] = "the per-group thresholds were set for " + s.thresholds_model + ", not " + o.model +
                          ": not applied; set them again (POST /v1/fairness/thresholds)";
    }
    out["churn"] = {{"model", o.model},
                    {"cutoff", core::FormatTimestamp(o.cutoff)},
                    {"threshold", s.churn_threshold},
                    {"group_thresholds", own ? ToJson(s)["group_thresholds"] : Json::object()},
                    {"groups", odds_json}};
  } else {
    out["churn"] = {{"model", nullptr}, {"note", scored.error().message}};
  }

  // Alerts: past the threshold, with an interval that excludes no difference.
  Json alerts = Json::array();
  auto alert = [&](const std::string& group, const char* metric, double value, double limit) {
    alerts.push_back({{"group", group}, {"metric", metric}, {"value", value}, {"limit", limit}});
  };
  for (const auto& row : parity) {
    if (row.group == s.reference) continue;
    const auto& d = row.offered_difference;
    if (std::abs(d.difference) > s.max_parity_difference && Excludes(d, 0)) {
      // The group offered less is the one treated worse.
      alert(d.difference < 0 ? row.group : s.reference, "offered_share_difference", d.difference, s.max_parity_difference);
    }
    const auto& r = row.offered_ratio;
    if (std::isfinite(r.value) && r.value < s.min_parity_ratio && r.ci_high < 1) {
      alert(row.group, "offered_share_ratio", r.value, s.min_parity_ratio);
    } else if (std::isfinite(r.value) && r.value > 0 && 1 / r.value < s.min_parity_ratio && r.ci_low > 1) {
      alert(s.reference, "offered_share_ratio", 1 / r.value, s.min_parity_ratio);
    }
  }
  for (const auto& row : odds) {
    if (row.group == s.reference) continue;
    const auto& tpr = row.tpr_difference;
    if (std::abs(tpr.difference) > s.max_equal_opportunity_difference && Excludes(tpr, 0)) {
      // Fewer of the group's churners found: the group misses out on retention offers.
      alert(tpr.difference < 0 ? row.group : s.reference, "equal_opportunity_difference", tpr.difference,
            s.max_equal_opportunity_difference);
    }
    // The larger of the two differences sets equalized odds: its own interval must exclude none.
    const auto& larger = std::abs(tpr.difference) >= std::abs(row.fpr_difference.difference) ? tpr : row.fpr_difference;
    if (row.equalized_odds_difference > s.max_equalized_odds_difference && Excludes(larger, 0)) {
      alert(row.group, "equalized_odds_difference", row.equalized_odds_difference, s.max_equalized_odds_difference);
    }
  }
  out["alerts"] = alerts;
  if (keep_alerts) {
    const int64_t at = core::ToUnixMillis(now);
    LOYALTY_TRY(db_.Write([&](store::Transaction& tx) -> Status {
      LOYALTY_TRY(tx.Execute("INSERT INTO fairness_checks (at, attribute, alerts) VALUES (?1, ?2, ?3)",
                             {at, s.attribute, core::Dump(alerts)}));
      return {};
    }));
    std::set<std::string> alerted;
    for (const auto& a : alerts) alerted.insert(a["group"].get<std::string>());
    std::unique_lock lock(mutex_);
    alerted_ = std::move(alerted);
  }
  std::shared_lock lock(mutex_);
  out["alerted_groups"] = alerted_;
  out["route_alerts_to_review"] = s.route_alerts_to_review;
  return out;
}

Result<Json> Fairness::SetGroupThresholds(const std::string& actor) {
  FairnessSettings s = settings();
  if (s.attribute.empty()) {
    return Fail(ErrorCode::kFailedPrecondition, "no protected attribute is configured: set one first");
  }
  LOYALTY_ASSIGN_OR_RETURN(const auto groups, Groups());
  LOYALTY_ASSIGN_OR_RETURN(const auto scored, predictions_.ChampionChurnOutcomes());
  const auto predictions = ByGroup(*scored, groups);
  if (std::none_of(predictions.begin(), predictions.end(), [&](const auto& p) { return p.group == s.reference; })) {
    return Fail(ErrorCode::kFailedPrecondition, "no member of the reference group '" + s.reference +
                                                    "' has a known churn outcome: thresholds cannot be set");
  }
  const auto before = oversight::ErrorRates(predictions, s.reference, s.churn_threshold);
  s.group_thresholds = oversight::EqualOpportunityThresholds(predictions, s.reference, s.churn_threshold);
  s.thresholds_model = scored->model;
  const auto after = oversight::ErrorRates(predictions, s.reference, s.churn_threshold, s.group_thresholds);
  LOYALTY_TRY(StoreSettings(s, actor));
  Json rows = Json::array();
  for (size_t i = 0; i < before.size() && i < after.size(); ++i) {
    rows.push_back({{"group", before[i].group},
                    {"threshold", after[i].threshold},
                    {"before", oversight::ToJson(before[i])},
                    {"after", oversight::ToJson(after[i])}});
  }
  return Json{{"model", scored->model}, {"base_threshold", s.churn_threshold}, {"groups", rows}};
}

Result<Json> Fairness::Mitigations(const TrainOptions& options) {
  const FairnessSettings s = settings();
  if (s.attribute.empty()) {
    return Fail(ErrorCode::kFailedPrecondition, "no protected attribute is configured: set one first");
  }
  LOYALTY_ASSIGN_OR_RETURN(TrainOptions train, ForTraining(options));
  train.reweigh = true;
  if (train.groups.empty()) {
    return Fail(ErrorCode::kFailedPrecondition, "no member has a value of " + s.attribute + " yet: import them first");
  }
  LOYALTY_ASSIGN_OR_RETURN(const auto trained, predictions_.TrainChurn(train));
  if (!trained.report.contains("fairness")) return Fail(ErrorCode::kInternal, "the churn report has no fairness figures");
  const Json& fairness = trained.report["fairness"];
  Json out{{"reweighing",
            {{"model_version", trained.version.name()},
             {"aliases", trained.version.aliases},
             {"roc_auc", trained.report["model"]["roc_auc"]},
             {"champion_roc_auc", trained.report.contains("champion_on_holdout")
                                      ? trained.report["champion_on_holdout"]["roc_auc"]
                                      : Json(nullptr)},
             {"before", fairness.value("champion", Json(nullptr))},
             {"after", fairness["model"]}}}};
  // Per-group thresholds, computed (not kept) on the champion's known outcomes.
  LOYALTY_ASSIGN_OR_RETURN(const auto groups, Groups());
  LOYALTY_ASSIGN_OR_RETURN(const auto scored, predictions_.ChampionChurnOutcomes());
  const auto predictions = ByGroup(*scored, groups);
  const auto thresholds = oversight::EqualOpportunityThresholds(predictions, s.reference, s.churn_threshold);
  Json before = Json::array(), after = Json::array();
  for (const auto& row : oversight::ErrorRates(predictions, s.reference, s.churn_threshold)) before.push_back(oversight::ToJson(row));
  for (const auto& row : oversight::ErrorRates(predictions, s.reference, s.churn_threshold, thresholds)) {
    after.push_back(oversight::ToJson(row));
  }
  Json t = Json::object();
  for (const auto& [group, value] : thresholds) t[group] = value;
  out["group_thresholds"] = {{"model", scored->model}, {"thresholds", t}, {"before", before}, {"after", after}};
  return out;
}

}  // namespace loyalty::engine
