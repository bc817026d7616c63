#include "loyalty/engine/predictions.hpp"

#include "loyalty/oversight/fairness.hpp"

#include "loyalty/models/drift.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <set>
#include <sstream>

namespace loyalty::engine {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::MemberId;
using core::Result;
using core::Timestamp;

namespace {

constexpr double kDaysPerWeek = 7.0;
constexpr std::chrono::days kDay{1};

Timestamp Midnight(Timestamp t) { return std::chrono::floor<std::chrono::days>(t); }

int32_t DayNumber(Timestamp t) {
  return static_cast<int32_t>(std::chrono::floor<std::chrono::days>(t).time_since_epoch().count());
}

Json IntervalJson(const models::Interval& i) { return Json{{"estimate", i.estimate}, {"low", i.low}, {"high", i.high}}; }

// The name of a group's indicator column: "protected:<group>".
constexpr std::string_view kGroupColumn = "protected:";

// Contributions an explanation shows.
constexpr size_t kShownContributions = 5;

// How many contributions to ask a churn model for: the shown ones plus any group indicators,
// which are then left out, so an explanation shows as many drivers whatever the member's group.
size_t ContributionsToAsk(const models::ChurnModel& model) {
  return kShownContributions + (model.feature_names().size() - features::kFeatureCount);
}

Json ContributionsJson(const std::vector<models::Contribution>& top) {
  Json out = Json::array();
  for (const auto& c : top) {
    // A model a manager let use the protected attribute: its indicators would tell the
    // member's group to whoever reads the explanation, so they are left out of it.
    if (c.feature.starts_with(kGroupColumn)) continue;
    if (out.size() == kShownContributions) break;
    std::ostringstream effect;
    effect << (c.effect >= 0 ? "+" : "-") << std::fixed << std::setprecision(2) << std::abs(c.effect);
    out.push_back({{"feature", c.feature},
                   {"value", std::isnan(c.value) ? Json(nullptr) : Json(c.value)},
                   {"effect", c.effect},
                   {"words", features::FeatureInWords(c.feature, c.value) + ": " + effect.str()}});
  }
  return out;
}

Json ExplanationJson(const models::Explanation& e, const std::string& model) {
  return Json{{"probability", e.probability},
              {"base_probability", e.base_probability},
              {"model", model},
              {"top_contributions", ContributionsJson(e.top)}};
}

}  // namespace

namespace {

// Adds one indicator column per group to `data` (1 for the row's group, else 0).
void AddGroupColumns(models::Dataset& data, const std::vector<std::string>& groups,
                     const std::vector<std::optional<std::string>>& row_groups) {
  const size_t old_cols = data.cols();
  std::vector<float> values;
  values.reserve(data.rows * (old_cols + groups.size()));
  for (size_t r = 0; r < data.rows; ++r) {
    values.insert(values.end(), data.values.begin() + static_cast<std::ptrdiff_t>(r * old_cols),
                  data.values.begin() + static_cast<std::ptrdiff_t>((r + 1) * old_cols));
    for (const auto& group : groups) values.push_back(row_groups[r] == group ? 1.0F : 0.0F);
  }
  data.values = std::move(values);
  for (const auto& group : groups) {
    data.feature_names.push_back(std::string(kGroupColumn) + group);
    data.source_columns.push_back(data.feature_names.back());
  }
}

}  // namespace

models::Dataset FeatureRows(std::span<const features::FeatureVector* const> rows) {
  models::Dataset d;
  for (size_t i = 0; i < features::kFeatureCount; ++i) {
    d.feature_names.emplace_back(features::FeatureName(static_cast<features::Feature>(i)));
  }
  d.source_columns = d.feature_names;
  d.rows = rows.size();
  d.values.reserve(rows.size() * features::kFeatureCount);
  for (const auto* row : rows) {
    for (double v : row->values) d.values.push_back(static_cast<float>(v));
  }
  return d;
}

Result<ChurnTrainingSet> Predictions::BuildChurnTrainingSet(Timestamp cutoff_time, int horizon_days) {
  if (horizon_days < 1 || horizon_days > 730) {
    return Fail(ErrorCode::kInvalidArgument, "the churn horizon must be 1 to 730 days");
  }
  const Timestamp cutoff = Midnight(cutoff_time);
  const Timestamp label_end = cutoff + horizon_days * kDay;
  if (label_end > clock_.Now()) {
    return Fail(ErrorCode::kFailedPrecondition, "the labels need " + std::to_string(horizon_days) +
                                                    " days after the cutoff " + core::FormatTimestamp(cutoff) +
                                                    ", which reach past now; choose an earlier cutoff");
  }
  LOYALTY_ASSIGN_OR_RETURN(const auto consent, members_.ForTraining());
  std::vector<MemberId> members;
  std::vector<features::FeatureVector> rows;
  LOYALTY_TRY(members_.Snapshot(cutoff, [&](const Members::SnapshotRow& row) -> core::Status {
    if (!row.purchase_days) return {};  // not a customer yet: nothing to churn from
    if (!consent.Allows(row.member)) return {};
    members.push_back(row.member);
    rows.push_back(row.features);
    return {};
  }));
  // Who bought again in the horizon: their last purchase day at the label end is on or after
  // the cutoff day.
  LOYALTY_ASSIGN_OR_RETURN(const auto at_label_end, PurchaseDaysAt(label_end));
  std::vector<const features::FeatureVector*> pointers;
  for (const auto& r : rows) pointers.push_back(&r);
  ChurnTrainingSet set{cutoff, horizon_days, FeatureRows(pointers)};
  const int32_t cutoff_day = DayNumber(cutoff);
  for (const auto& m : members) {
    const auto it = at_label_end.find(m);
    set.data.labels.push_back(it != at_label_end.end() && it->second.last_day >= cutoff_day ? 0 : 1);
    set.data.ids.push_back(m.str());
  }
  return set;
}

Result<std::shared_ptr<const Predictions::ScoredOutcomes>> Predictions::ChampionChurnOutcomes() {
  LOYALTY_ASSIGN_OR_RETURN(const auto champion, Churn("champion"));
  {
    std::lock_guard lock(outcomes_mutex_);
    if (outcomes_ && outcomes_->model == champion->name) return outcomes_;
  }
  // The members the champion held out when it was trained: the same cutoff, horizon, split
  // share and seed rebuild its training set and split, and only the held-out rows are scored
  // (figures from rows it learned from would flatter it).
  LOYALTY_ASSIGN_OR_RETURN(const auto version, registry_.ByAlias("churn", "champion"));
  const auto cutoff = core::ParseTimestamp(version.data_window.value("cutoff", ""));
  if (!cutoff) return Fail(ErrorCode::kFailedPrecondition, champion->name + " does not say when its training data ends");
  const int horizon = version.data_window.value("horizon_days", 60);
  const double test_share = version.params.value("test_share", 0.2);
  const uint64_t seed = version.params.value("seed", uint64_t{1});
  LOYALTY_ASSIGN_OR_RETURN(const ChurnTrainingSet set, BuildChurnTrainingSet(*cutoff, horizon));
  const auto fold = models::StratifiedFolds(set.data.labels, static_cast<int>(std::lround(1.0 / test_share)), seed);
  std::vector<size_t> held_out;
  for (size_t i = 0; i < set.data.rows; ++i) {
    if (fold[i] == 0) held_out.push_back(i);
  }
  const models::Dataset test = set.data.Subset(held_out);
  std::vector<MemberId> test_members;
  for (const auto& id : test.ids) {
    LOYALTY_ASSIGN_OR_RETURN(auto member, MemberId::Parse(id));
    test_members.push_back(std::move(member));
  }
  models::Dataset storage;
  LOYALTY_ASSIGN_OR_RETURN(auto scores, champion->model.Predict(ChurnInput(champion->model, test, test_members, storage)));
  auto out = std::make_shared<ScoredOutcomes>();
  out->model = champion->name;
  out->cutoff = set.cutoff;
  out->members = test.ids;
  out->scores = std::move(scores);
  out->labels = test.labels;
  std::lock_guard lock(outcomes_mutex_);
  outcomes_ = out;
  return std::shared_ptr<const ScoredOutcomes>(out);
}

Result<TrainResult> Predictions::Register(const models::NewModel& entry, Json report) {
  LOYALTY_ASSIGN_OR_RETURN(auto version, registry_.Register(entry));
  report["model_version"] = version.name();
  report["aliases"] = version.aliases;
  report["data_window"] = entry.data_window;
  return TrainResult{std::move(version), std::move(report)};
}

Result<models::FeatureAblation> Predictions::SentimentLift(const TrainOptions& options, int folds) {
  if (folds < 2 || folds > 20) return Fail(ErrorCode::kInvalidArgument, "folds must be 2 to 20");
  LOYALTY_ASSIGN_OR_RETURN(ChurnTrainingSet set, BuildChurnTrainingSet(clock_.Now() - options.churn_horizon_days * kDay,
                                                                       options.churn_horizon_days));
  const int64_t positives = std::count(set.data.labels.begin(), set.data.labels.end(), 1);
  if (set.data.rows < 100 || positives < 20 || static_cast<int64_t>(set.data.rows) - positives < 20) {
    return Fail(ErrorCode::kFailedPrecondition, "not enough history to compare churn models: it needs 100 customers, "
                                                "20 who churned and 20 who stayed");
  }
  std::vector<std::string> sentiment;
  for (const auto feature : {features::Feature::sentiment_last, features::Feature::sentiment_mean_90d,
                             features::Feature::sentiment_trend}) {
    sentiment.emplace_back(features::FeatureName(feature));
  }
  models::ChurnOptions churn_options;
  churn_options.seed = options.seed;
  return models::CompareWithout(set.data, sentiment, folds, churn_options);
}

Result<TrainResult> Predictions::TrainChurn(const TrainOptions& options) {
  if (!(options.test_share > 0 && options.test_share < 0.5)) {
    return Fail(ErrorCode::kInvalidArgument, "the test share must be between 0 and 0.5");
  }
  auto progress = [&](std::string_view stage) {
    if (options.progress) options.progress(stage);
  };
  progress("churn: building point-in-time features");
  LOYALTY_ASSIGN_OR_RETURN(ChurnTrainingSet set,
                           BuildChurnTrainingSet(clock_.Now() - options.churn_horizon_days * kDay,
                                                 options.churn_horizon_days));
  const auto& data = set.data;
  const int64_t positives = std::count(data.labels.begin(), data.labels.end(), 1);
  const int64_t negatives = static_cast<int64_t>(data.rows) - positives;
  if (data.rows < 50 || positives < 10 || negatives < 10) {
    return Fail(ErrorCode::kFailedPrecondition,
                "not enough history to train churn: " + std::to_string(data.rows) + " customers before " +
                    core::FormatTimestamp(set.cutoff) + " (" + std::to_string(positives) + " churned, " +
                    std::to_string(negatives) + " stayed); it needs 50, with 10 of each");
  }
  // Fairness: each row's group (members without one form their own), and with `reweigh` the
  // weights that make churn independent of it.
  std::vector<std::string> row_groups;
  if (!options.groups.empty()) {
    for (const auto& id : set.data.ids) {
      const auto it = options.groups.find(id);
      row_groups.push_back(it == options.groups.end() ? "(none)" : it->second);
    }
    if (options.reweigh) {
      for (double w : oversight::ReweighingWeights(row_groups, set.data.labels)) set.data.weights.push_back(static_cast<float>(w));
    }
  }
  const int parts = static_cast<int>(std::lround(1.0 / options.test_share));
  const auto fold = models::StratifiedFolds(data.labels, parts, options.seed);
  std::vector<size_t> train_rows, test_rows;
  for (size_t i = 0; i < data.rows; ++i) (fold[i] == 0 ? test_rows : train_rows).push_back(i);
  // The held-out rows with the features only: the champion gets its own input from them.
  const models::Dataset base_test = data.Subset(test_rows);
  std::vector<MemberId> test_members;
  for (const auto& id : base_test.ids) {
    LOYALTY_ASSIGN_OR_RETURN(auto member, MemberId::Parse(id));
    test_members.push_back(std::move(member));
  }
  // A manager allowed the protected attribute as an input: one indicator column per group.
  if (options.group_as_input && !options.groups.empty()) {
    std::set<std::string> distinct;
    for (const auto& [member, group] : options.groups) distinct.insert(group);
    std::vector<std::optional<std::string>> groups_of_rows;
    for (const auto& id : set.data.ids) {
      const auto it = options.groups.find(id);
      groups_of_rows.push_back(it == options.groups.end() ? std::nullopt : std::optional<std::string>(it->second));
    }
    AddGroupColumns(set.data, std::vector<std::string>(distinct.begin(), distinct.end()), groups_of_rows);
  }
  progress("churn: training gradient-boosted trees");
  models::ChurnOptions churn_options;
  churn_options.seed = options.seed;
  LOYALTY_ASSIGN_OR_RETURN(auto model, models::ChurnModel::Train(data.Subset(train_rows), churn_options));
  const models::Dataset test = data.Subset(test_rows);
  LOYALTY_ASSIGN_OR_RETURN(const auto p, model.Predict(test));
  // The rule the model must beat: the longer since the last purchase, the likelier churn.
  std::vector<double> recency;
  const size_t recency_col = static_cast<size_t>(features::Feature::recency_days);
  for (size_t r = 0; r < test.rows; ++r) {
    const double v = test.at(r, recency_col);
    recency.push_back(std::isnan(v) ? std::numeric_limits<double>::max() : v);
  }
  const auto metrics = models::Evaluate(p, test.labels);
  const Json baseline{{"rule", "recency_days (RFM recency)"},
                      {"roc_auc", models::RocAuc(recency, test.labels)},
                      {"pr_auc", models::PrAuc(recency, test.labels)},
                      {"lift_top_decile", models::LiftTopDecile(recency, test.labels)}};
  Json metrics_json{{"model", models::ToJson(metrics)},
                    {"baseline", baseline},
                    {"calibration", models::ToJson(models::CalibrationCurve(p, test.labels))},
                    {"holdout_members", test.rows}};
  // The champion on the same held-out members: what a promotion would gain or lose.
  std::optional<std::vector<double>> champion_scores;
  if (auto champion = Churn("champion")) {
    models::Dataset storage;
    if (auto champion_p = (*champion)->model.Predict(ChurnInput((*champion)->model, base_test, test_members, storage))) {
      Json on_holdout = models::ToJson(models::Evaluate(*champion_p, test.labels));
      on_holdout["version"] = (*champion)->name;
      metrics_json["champion_on_holdout"] = std::move(on_holdout);
      champion_scores = std::move(*champion_p);
    }
  }
  // Error rates per group on the holdout, for this model and the champion.
  if (!row_groups.empty()) {
    auto by_group = [&](const std::vector<double>& scores) {
      std::map<std::string, oversight::GroupPredictions> groups;
      for (size_t i = 0; i < test_rows.size(); ++i) {
        auto& g = groups[row_groups[test_rows[i]]];
        g.group = row_groups[test_rows[i]];
        g.scores.push_back(scores[i]);
        g.labels.push_back(test.labels[i]);
      }
      std::vector<oversight::GroupPredictions> out;
      for (auto& [name, g] : groups) out.push_back(std::move(g));
      Json rows = Json::array();
      for (const auto& row : oversight::ErrorRates(out, options.fairness_reference, options.fairness_threshold)) {
        rows.push_back(oversight::ToJson(row));
      }
      return rows;
    };
    metrics_json["fairness"] = {{"reweighed", options.reweigh},
                                {"threshold", options.fairness_threshold},
                                {"reference", options.fairness_reference},
                                {"model", by_group(p)}};
    if (champion_scores) metrics_json["fairness"]["champion"] = by_group(*champion_scores);
  }
  LOYALTY_ASSIGN_OR_RETURN(std::string artifact, model.Serialize());
  const models::BoostingOptions boosting;
  // What the training population looked like, for drift reports later.
  Json distributions = Json::array();
  for (const auto& d : models::Distributions(data)) distributions.push_back(models::ToJson(d));
  LOYALTY_ASSIGN_OR_RETURN(const auto train_p, model.Predict(data));
  distributions.push_back(models::ToJson(models::DistributionOf("churn_probability", train_p)));
  models::NewModel entry{"churn",
                         options.creator,
                         {{"cutoff", core::FormatTimestamp(set.cutoff)},
                          {"label_end", core::FormatTimestamp(set.cutoff + set.horizon_days * kDay)},
                          {"horizon_days", set.horizon_days},
                          {"members", data.rows},
                          {"churned", positives}},
                         data.feature_names,
                         {{"trees", model.rounds()},
                          {"learning_rate", boosting.learning_rate},
                          {"max_depth", boosting.max_depth},
                          {"seed", options.seed},
                          {"test_share", options.test_share},
                          {"distributions", distributions}},
                         metrics_json,
                         std::move(artifact)};
  progress("churn: registering the model");
  return Register(entry, metrics_json);
}

Result<std::map<MemberId, features::MemberState::PurchaseDays>> Predictions::PurchaseDaysAt(Timestamp at) {
  std::map<MemberId, features::MemberState::PurchaseDays> out;
  if (at >= Midnight(clock_.Now())) {
    LOYALTY_TRY(members_.EnsureLiveFeatures());
    features_.ForEach([&](const MemberId& member, const features::MemberState& state) {
      if (auto days = state.purchase_days()) out[member] = *days;
    });
    return out;
  }
  LOYALTY_TRY(members_.Snapshot(at, [&](const Members::SnapshotRow& row) -> core::Status {
    if (row.purchase_days) out[row.member] = *row.purchase_days;
    return {};
  }));
  return out;
}

models::CustomerHistory Predictions::HistoryAt(const MemberId& member, const features::MemberState::PurchaseDays& d,
                                               Timestamp at) const {
  models::CustomerHistory h;
  h.id = member.str();
  h.frequency = d.days - 1;
  h.recency = (d.days > 1 ? d.last_day - d.first_day : 0) / kDaysPerWeek;
  h.age = std::max(0, DayNumber(at) - d.first_day) / kDaysPerWeek;
  h.recency = std::min(h.recency, h.age);
  if (h.frequency > 0) {
    const double minor_per_unit = std::pow(10.0, currency_.minor_digits);
    h.mean_spend = static_cast<double>(d.spend_minor - d.first_day_spend_minor) / minor_per_unit /
                   static_cast<double>(h.frequency);
  }
  return h;
}

Result<TrainResult> Predictions::TrainClv(const TrainOptions& options) {
  auto progress = [&](std::string_view stage) {
    if (options.progress) options.progress(stage);
  };
  if (options.clv_holdout_days < 7 || options.clv_holdout_days > 730) {
    return Fail(ErrorCode::kInvalidArgument, "the CLV holdout must be 7 to 730 days");
  }
  const Timestamp now = Midnight(clock_.Now());
  const Timestamp calibration_end = now - options.clv_holdout_days * kDay;
  progress("clv: reading purchase histories");
  std::map<MemberId, models::CustomerHistory> calibration;
  std::map<MemberId, int32_t> calibration_days;
  LOYALTY_ASSIGN_OR_RETURN(const auto consent, members_.ForTraining());
  LOYALTY_TRY(members_.Snapshot(calibration_end, [&](const Members::SnapshotRow& row) -> core::Status {
    if (!row.purchase_days || !consent.Allows(row.member)) return {};
    calibration[row.member] = HistoryAt(row.member, *row.purchase_days, calibration_end);
    calibration_days[row.member] = row.purchase_days->days;
    return {};
  }));
  std::vector<models::CustomerHistory> current;
  LOYALTY_ASSIGN_OR_RETURN(const auto at_now, PurchaseDaysAt(now));
  for (const auto& [member, days] : at_now) {
    if (!consent.Allows(member)) continue;
    current.push_back(HistoryAt(member, days, now));
    if (auto it = calibration.find(member); it != calibration.end()) {
      it->second.holdout_purchases = days.days - calibration_days[member];
    }
  }
  if (current.size() < 20) {
    return Fail(ErrorCode::kFailedPrecondition, "not enough history to fit CLV: " + std::to_string(current.size()) +
                                                    " customers with purchases; it needs 20");
  }
  progress("clv: fitting BG/NBD and Gamma-Gamma");
  LOYALTY_ASSIGN_OR_RETURN(auto bg, models::FitBgNbd(current));
  LOYALTY_ASSIGN_OR_RETURN(auto gg, models::FitGammaGamma(current));
  if (!bg.report.converged || !gg.report.converged) {
    return Fail(ErrorCode::kFailedPrecondition, "the CLV fit did not converge (BG/NBD: " + bg.report.status +
                                                    "; Gamma-Gamma: " + gg.report.status + "); nothing registered");
  }
  if (!(gg.params.q > 1)) {
    return Fail(ErrorCode::kFailedPrecondition, "the spend model has q = " + std::to_string(gg.params.q) +
                                                    " (at most 1: no finite mean spend); nothing registered");
  }
  LOYALTY_TRY(models::ValidateClvOptions(options.clv));
  Json holdout = nullptr;
  if (calibration.size() >= 20) {
    std::vector<models::CustomerHistory> cal;
    for (auto& [member, h] : calibration) cal.push_back(h);
    auto cal_fit = models::FitBgNbd(cal);
    if (cal_fit && cal_fit->report.converged) {
      const auto h = models::CompareHoldout(cal_fit->params, cal, options.clv_holdout_days / kDaysPerWeek);
      Json groups = Json::array();
      for (const auto& g : h.groups) {
        groups.push_back({{"frequency", g.frequency}, {"customers", g.customers}, {"actual", g.actual},
                          {"predicted", g.predicted}});
      }
      holdout = {{"calibration_end", core::FormatTimestamp(calibration_end)},
                 {"weeks", h.length},
                 {"customers", cal.size()},
                 {"actual_total", h.actual_total},
                 {"predicted_total", h.predicted_total},
                 {"mean_absolute_error", h.mean_absolute_error},
                 {"groups", groups}};
    }
  }
  const models::ClvModel model(bg, gg, options.clv);
  const Json params = model.ToJson();
  Json metrics{{"bgnbd", models::ToJson(bg.report, {"r", "alpha", "a", "b"})},
               {"gamma_gamma", models::ToJson(gg.report, {"p", "q", "gamma"})},
               {"holdout", holdout}};
  models::NewModel entry{"clv",
                         options.creator,
                         {{"calibration_end", core::FormatTimestamp(now)}, {"customers", current.size()},
                          {"time_unit", "week"}},
                         {"frequency", "recency", "age", "mean_spend"},
                         {{"bgnbd", params["bgnbd"]["params"]},
                          {"gamma_gamma", params["gamma_gamma"]["params"]},
                          {"options", params["options"]}},
                         metrics,
                         core::Dump(params)};
  progress("clv: registering the model");
  Json report = metrics;
  report["params"] = entry.params;
  return Register(entry, std::move(report));
}

namespace {

// The model an alias points at, parsed once per version and cached under its name.
template <typename Loaded, typename Parse>
Result<std::shared_ptr<const Loaded>> LoadModel(models::ModelRegistry& registry, std::mutex& mutex,
                                                std::map<std::string, std::shared_ptr<const Loaded>>& cache,
                                                const std::string& kind, const std::string& alias, Parse parse) {
  LOYALTY_ASSIGN_OR_RETURN(const auto version, registry.ByAlias(kind, alias));
  {
    std::lock_guard lock(mutex);
    if (auto it = cache.find(version.name()); it != cache.end()) return it->second;
  }
  LOYALTY_ASSIGN_OR_RETURN(const auto artifact, registry.Artifact(kind, version.version));
  LOYALTY_ASSIGN_OR_RETURN(auto model, parse(artifact));
  auto loaded = std::make_shared<const Loaded>(Loaded{version.name(), std::move(model)});
  std::lock_guard lock(mutex);
  // Champion and challenger are what serve; a few more cover promotions in flight. Holders of
  // an evicted model keep it alive until they are done.
  if (cache.size() >= 4) cache.clear();
  cache[version.name()] = loaded;
  return loaded;
}

}  // namespace

// Models read features by position: one trained on another feature list must not score.
// The champion cannot score: none trained yet, or trained on another feature list.
bool NoUsableModel(const core::Error& error) {
  return error.code == ErrorCode::kNotFound || error.code == ErrorCode::kFailedPrecondition;
}

core::Status CheckFeatures(const std::vector<std::string>& trained_on) {
  const features::FeatureVector none;
  const features::FeatureVector* row = &none;
  const auto current = FeatureRows(std::span<const features::FeatureVector* const>(&row, 1)).feature_names;
  // Group indicators may follow the features (a churn model trained with the protected
  // attribute as an input); ChurnInput adds them when scoring.
  const bool same_features = trained_on.size() >= current.size() &&
                             std::equal(current.begin(), current.end(), trained_on.begin()) &&
                             std::all_of(trained_on.begin() + static_cast<std::ptrdiff_t>(current.size()),
                                         trained_on.end(),
                                         [](const std::string& name) { return name.starts_with(kGroupColumn); });
  if (!same_features) {
    return Fail(ErrorCode::kFailedPrecondition,
                "the model was trained on another feature list than this version computes; retrain it "
                "(loyalty train)");
  }
  return {};
}

const models::Dataset& Predictions::ChurnInput(const models::ChurnModel& model, const models::Dataset& base,
                                               std::span<const MemberId> members, models::Dataset& storage) const {
  const auto& names = model.feature_names();
  if (names.size() <= base.cols()) return base;
  std::vector<std::string> groups;
  for (size_t c = base.cols(); c < names.size(); ++c) groups.push_back(names[c].substr(kGroupColumn.size()));
  std::vector<std::optional<std::string>> row_groups;
  row_groups.reserve(members.size());
  for (const auto& member : members) row_groups.push_back(group_lookup_ ? group_lookup_(member) : std::nullopt);
  storage = base;
  AddGroupColumns(storage, groups, row_groups);
  return storage;
}

Result<std::shared_ptr<const Predictions::LoadedChurn>> Predictions::Churn(const std::string& alias) {
  return LoadModel<LoadedChurn>(registry_, cache_mutex_, churn_cache_, "churn", alias,
                                [](const std::string& a) -> Result<models::ChurnModel> {
                                  LOYALTY_ASSIGN_OR_RETURN(auto model, models::ChurnModel::Deserialize(a));
                                  LOYALTY_TRY(CheckFeatures(model.feature_names()));
                                  return model;
                                });
}

Result<std::shared_ptr<const Predictions::LoadedClv>> Predictions::Clv(const std::string& alias) {
  return LoadModel<LoadedClv>(registry_, cache_mutex_, clv_cache_, "clv", alias,
                              [](const std::string& a) -> Result<models::ClvModel> {
                                LOYALTY_ASSIGN_OR_RETURN(const auto json, core::ParseJson(a));
                                return models::ClvModel::FromJson(json);
                              });
}

Result<std::shared_ptr<const Predictions::LoadedSegments>> Predictions::Segments(const std::string& alias) {
  return LoadModel<LoadedSegments>(registry_, cache_mutex_, segments_cache_, "segments", alias,
                                   [](const std::string& a) -> Result<models::SegmentModel> {
                                     LOYALTY_ASSIGN_OR_RETURN(const auto json, core::ParseJson(a));
                                     LOYALTY_ASSIGN_OR_RETURN(auto model, models::SegmentModel::FromJson(json));
                                     LOYALTY_TRY(CheckFeatures(model.feature_names()));
                                     return model;
                                   });
}

Result<Predictions::CustomerRows> Predictions::CustomerFeatures(const Members::TrainingConsent* consent) {
  LOYALTY_TRY(members_.EnsureLiveFeatures());
  std::vector<MemberId> all;
  features_.ForEach([&](const MemberId& m, const features::MemberState& state) {
    if (state.has_purchases() && (consent == nullptr || consent->Allows(m))) all.push_back(m);
  });
  std::sort(all.begin(), all.end());
  CustomerRows out;
  std::vector<features::FeatureVector> rows;
  for (const auto& m : all) {
    auto report = members_.Features(m, std::nullopt);
    if (!report) {
      if (report.error().code == ErrorCode::kNotFound) continue;  // merged away meanwhile
      return std::unexpected(report.error());
    }
    out.members.push_back(m);
    rows.push_back(std::move(report->features));
  }
  std::vector<const features::FeatureVector*> pointers;
  for (const auto& r : rows) pointers.push_back(&r);
  out.data = FeatureRows(pointers);
  return out;
}

Result<TrainResult> Predictions::TrainSegments(const TrainOptions& options) {
  if (options.progress) options.progress("segments: reading live features");
  LOYALTY_ASSIGN_OR_RETURN(const auto consent, members_.ForTraining());
  LOYALTY_ASSIGN_OR_RETURN(const CustomerRows customers, CustomerFeatures(&consent));
  const models::Dataset& data = customers.data;
  if (options.progress) options.progress("segments: clustering");
  models::SegmentOptions segment_options;
  segment_options.k = options.segments;
  segment_options.seed = options.seed;
  LOYALTY_ASSIGN_OR_RETURN(auto model, models::SegmentModel::Train(data, segment_options, features::FeatureInWords));
  Json sizes = Json::array();
  for (const auto& segment : model.segments()) {
    sizes.push_back({{"id", segment.id}, {"members", segment.members}, {"description", segment.description}});
  }
  models::NewModel entry{"segments",
                         options.creator,
                         {{"as_of", core::FormatTimestamp(clock_.Now())}, {"members", data.rows}},
                         data.feature_names,
                         {{"k", options.segments}, {"seed", options.seed}},
                         {{"inertia", model.inertia()}, {"segments", sizes}},
                         core::Dump(model.ToJson())};
  return Register(entry, entry.metrics);
}

namespace {

constexpr float kViewWeight = 0.25f;

// What one event says about a member's taste: the skus bought (weight 1 a line) or viewed.
template <typename Visit>
void TasteOf(const events::Event& event, Visit visit) {
  const Json& props = event.properties;
  if (event.type == events::EventType::kPurchase) {
    if (auto lines = props.find("lines"); lines != props.end() && lines->is_array()) {
      for (const auto& line : *lines) {
        if (auto sku = line.find("sku"); sku != line.end() && sku->is_string()) visit(sku->get<std::string>(), 1.0f, true);
      }
    }
  } else if (event.type == events::EventType::kProductView) {
    if (auto sku = props.find("sku"); sku != props.end() && sku->is_string()) {
      visit(sku->get<std::string>(), kViewWeight, false);
    }
  }
}

std::vector<std::string> TopSkus(const std::map<std::string, double>& counts, size_t n) {
  std::vector<std::pair<double, std::string>> ranked;
  for (const auto& [sku, count] : counts) ranked.push_back({-count, sku});
  std::sort(ranked.begin(), ranked.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < ranked.size() && i < n; ++i) out.push_back(ranked[i].second);
  return out;
}

}  // namespace

Result<TrainResult> Predictions::TrainRecommendations(const TrainOptions& options) {
  if (options.recs_holdout_days < 1 || options.recs_holdout_days > 365) {
    return Fail(ErrorCode::kInvalidArgument, "the recommendations holdout must be 1 to 365 days");
  }
  if (options.progress) options.progress("recs: reading purchases and views");
  const Timestamp now = clock_.Now();
  const Timestamp split = now - options.recs_holdout_days * kDay;
  std::map<MemberId, uint32_t> users;
  std::map<std::string, uint32_t> items;
  std::vector<std::string> skus;
  struct Timed {
    models::Interaction interaction;
    bool before_split;
    bool purchase;
  };
  std::vector<Timed> all;
  LOYALTY_ASSIGN_OR_RETURN(const auto consent, members_.ForTraining());
  LOYALTY_TRY(log_.ReplayAll(now, [&](const events::Event& event) {
    TasteOf(event, [&](const std::string& sku, float weight, bool purchase) {
      const MemberId member = identity_.Resolve(event.member);
      if (!consent.Allows(member)) return;
      const auto user = users.emplace(member, static_cast<uint32_t>(users.size())).first->second;
      auto [it, added] = items.emplace(sku, static_cast<uint32_t>(skus.size()));
      if (added) skus.push_back(sku);
      all.push_back({{user, it->second, weight}, event.at < split, purchase});
    });
  }));
  if (users.size() < 10 || skus.size() < 10) {
    return Fail(ErrorCode::kFailedPrecondition, "not enough purchases and views to learn recommendations: " +
                                                    std::to_string(users.size()) + " members, " +
                                                    std::to_string(skus.size()) + " items; it needs 10 of each");
  }
  const auto n_users = static_cast<uint32_t>(users.size()), n_items = static_cast<uint32_t>(skus.size());
  models::AlsOptions als_options;
  als_options.seed = options.seed;

  // The check: train before the split, predict the items first bought after it.
  std::vector<models::Interaction> before, everything;
  std::vector<std::vector<models::Interaction>> own_before(n_users);
  std::map<uint32_t, std::set<uint32_t>> seen_before;
  for (const auto& t : all) {
    everything.push_back(t.interaction);
    if (t.before_split) {
      before.push_back(t.interaction);
      own_before[t.interaction.user].push_back(t.interaction);
      seen_before[t.interaction.user].insert(t.interaction.item);
    }
  }
  std::map<uint32_t, std::vector<uint32_t>> truth;
  for (const auto& t : all) {
    const uint32_t u = t.interaction.user;
    if (t.before_split || !t.purchase || !seen_before.contains(u) || seen_before[u].contains(t.interaction.item)) continue;
    auto& list = truth[u];
    if (std::find(list.begin(), list.end(), t.interaction.item) == list.end()) list.push_back(t.interaction.item);
  }
  Json evaluation = nullptr;
  if (!before.empty() && !truth.empty()) {
    if (options.progress) options.progress("recs: checking on the last " + std::to_string(options.recs_holdout_days) + " days");
    LOYALTY_ASSIGN_OR_RETURN(const auto check, models::ImplicitAls::Train(before, n_users, n_items, als_options));
    const auto popular = models::Popularity(before, n_items);
    const auto als = models::EvaluateRanking(truth, [&](uint32_t u) { return check.Recommend(own_before[u], 10, true); });
    const auto baseline = models::EvaluateRanking(truth, [&](uint32_t u) {
      std::vector<models::Scored> out;
      for (const auto& s : popular) {
        if (!seen_before[u].contains(s.item)) out.push_back(s);
        if (out.size() == 10) break;
      }
      return out;
    });
    evaluation = {{"split", core::FormatTimestamp(split)}, {"als", models::ToJson(als)},
                  {"popularity", models::ToJson(baseline)}};
  }
  if (options.progress) options.progress("recs: training on everything");
  LOYALTY_ASSIGN_OR_RETURN(auto model, models::ImplicitAls::Train(everything, n_users, n_items, als_options));
  // Cold start: popular purchases overall and per RFM segment, over the last 90 days.
  std::map<std::string, double> overall;
  std::map<std::string, std::map<std::string, double>> by_segment;
  std::vector<MemberId> by_user(n_users);
  for (const auto& [member, index] : users) by_user[index] = member;
  std::map<uint32_t, std::string> segment_of;
  for (const auto& t : all) {
    if (!t.purchase || !(t.interaction.user < n_users)) continue;
    overall[skus[t.interaction.item]] += 1;
  }
  // RFM from the live features alone (no ledger read per member).
  LOYALTY_TRY(members_.EnsureLiveFeatures());
  const auto breakpoints = features_.Breakpoints(now, std::chrono::minutes(1));
  for (uint32_t u = 0; u < n_users; ++u) {
    const auto live = features_.Compute(by_user[u], now);
    if (!live) continue;
    if (const auto rfm = features::ScoreRfm(*live, breakpoints)) segment_of[u] = std::string(rfm->segment);
  }
  for (const auto& t : all) {
    if (!t.purchase) continue;
    if (auto it = segment_of.find(t.interaction.user); it != segment_of.end()) {
      by_segment[it->second][skus[t.interaction.item]] += 1;
    }
  }
  Json segments = Json::object();
  for (const auto& [segment, counts] : by_segment) segments[segment] = TopSkus(counts, 50);
  const Json artifact{{"als", model.ToJson()}, {"skus", skus}, {"popular", TopSkus(overall, 50)},
                      {"popular_by_segment", segments}};
  models::NewModel entry{"recs",
                         options.creator,
                         {{"as_of", core::FormatTimestamp(now)}, {"members", n_users}, {"items", n_items},
                          {"interactions", everything.size()}},
                         {"purchases", "product_views"},
                         {{"factors", als_options.factors}, {"iterations", als_options.iterations},
                          {"regularization", als_options.regularization}, {"alpha", als_options.alpha},
                          {"view_weight", kViewWeight}},
                         {{"holdout", evaluation}},
                         core::Dump(artifact)};
  return Register(entry, entry.metrics);
}

Result<std::shared_ptr<const Predictions::LoadedRecommender>> Predictions::Recommendations(const std::string& alias) {
  return LoadModel<LoadedRecommender>(
      registry_, cache_mutex_, recs_cache_, "recs", alias, [](const std::string& a) -> Result<Recommender> {
        LOYALTY_ASSIGN_OR_RETURN(const auto json, core::ParseJson(a));
        try {
          LOYALTY_ASSIGN_OR_RETURN(auto als, models::ImplicitAls::FromJson(json.at("als")));
          Recommender r{std::move(als), json.at("skus").get<std::vector<std::string>>(), {},
                        json.at("popular").get<std::vector<std::string>>(), {}};
          for (const auto& [segment, list] : json.at("popular_by_segment").items()) {
            r.by_segment[segment] = list.get<std::vector<std::string>>();
          }
          for (size_t i = 0; i < r.skus.size(); ++i) r.index[r.skus[i]] = static_cast<uint32_t>(i);
          if (r.skus.size() != r.als.items()) return Fail(ErrorCode::kInvalidArgument, "stored items do not match");
          return r;
        } catch (const std::exception& e) {
          return Fail(ErrorCode::kInvalidArgument, std::string("stored recommendations: ") + e.what());
        }
      });
}

Result<core::Json> Predictions::Recommend(const MemberId& requested, size_t n) {
  if (n < 1 || n > 100) return Fail(ErrorCode::kInvalidArgument, "n must be 1 to 100");
  LOYALTY_ASSIGN_OR_RETURN(const auto loaded, Recommendations("champion"));
  LOYALTY_ASSIGN_OR_RETURN(const auto report, members_.Features(requested, std::nullopt));
  const MemberId& member = report.member;
  std::vector<MemberId> profiles = identity_.Absorbed(member);
  profiles.push_back(member);
  const Recommender& r = loaded->model;
  std::vector<models::Interaction> own;
  std::set<std::string> bought;
  LOYALTY_TRY(log_.Replay(profiles, std::nullopt, [&](const events::Event& event) {
    TasteOf(event, [&](const std::string& sku, float weight, bool purchase) {
      if (purchase) bought.insert(sku);
      if (auto it = r.index.find(sku); it != r.index.end()) own.push_back({0, it->second, weight});
    });
  }));
  Json items = Json::array();
  std::string source = "als";
  if (!own.empty()) {
    // Leave out what was bought (views may be recommended again).
    for (const auto& s : r.als.Recommend(own, n + bought.size(), false)) {
      if (bought.contains(r.skus[s.item])) continue;
      items.push_back({{"sku", r.skus[s.item]}, {"score", s.score}});
      if (items.size() == n) break;
    }
  } else {
    const auto segment = report.rfm ? r.by_segment.find(std::string(report.rfm->segment)) : r.by_segment.end();
    source = segment != r.by_segment.end() ? "popular_in_segment" : "popular";
    const auto& list = segment != r.by_segment.end() ? segment->second : r.popular;
    for (const auto& sku : list) {
      if (bought.contains(sku)) continue;
      items.push_back({{"sku", sku}, {"score", nullptr}});
      if (items.size() == n) break;
    }
  }
  return Json{{"member", member.str()}, {"model", loaded->name}, {"source", source}, {"items", items}};
}

Result<core::Json> Predictions::SimilarItems(const std::string& sku, size_t n) {
  if (n < 1 || n > 100) return Fail(ErrorCode::kInvalidArgument, "n must be 1 to 100");
  LOYALTY_ASSIGN_OR_RETURN(const auto loaded, Recommendations("champion"));
  const auto it = loaded->model.index.find(sku);
  if (it == loaded->model.index.end()) {
    return Fail(ErrorCode::kNotFound, "item '" + sku + "' is not in " + loaded->name + " (no purchase or view of it yet)");
  }
  Json similar = Json::array();
  for (const auto& s : loaded->model.als.Similar(it->second, n)) {
    similar.push_back({{"sku", loaded->model.skus[s.item]}, {"similarity", s.score}});
  }
  return Json{{"sku", sku}, {"model", loaded->name}, {"similar", similar}};
}

Result<core::Json> Predictions::MicroSegments() {
  LOYALTY_ASSIGN_OR_RETURN(const auto segments, Segments("champion"));
  Json list = Json::array();
  for (const auto& s : segments->model.segments()) {
    list.push_back({{"id", s.id}, {"members", s.members}, {"description", s.description}});
  }
  return Json{{"model", segments->name}, {"segments", list}};
}

Result<core::Json> Predictions::Drift() {
  LOYALTY_ASSIGN_OR_RETURN(auto version, registry_.ByAlias("churn", "champion"));
  LOYALTY_ASSIGN_OR_RETURN(const auto churn, Churn("champion"));
  if (churn->name != version.name()) {  // promoted in between: read the window of the model in hand
    LOYALTY_ASSIGN_OR_RETURN(version, registry_.Get("churn", std::stoi(churn->name.substr(churn->name.find('@') + 1))));
  }
  std::vector<models::Distribution> then;
  std::optional<models::Distribution> score_then;
  for (const auto& d : version.params.value("distributions", Json::array())) {
    LOYALTY_ASSIGN_OR_RETURN(auto distribution, models::DistributionFromJson(d));
    if (distribution.name == "churn_probability") {
      score_then = std::move(distribution);
    } else {
      then.push_back(std::move(distribution));
    }
  }
  LOYALTY_ASSIGN_OR_RETURN(const CustomerRows customers, CustomerFeatures());
  const models::Dataset& now = customers.data;
  if (now.rows == 0) return Fail(ErrorCode::kFailedPrecondition, "no customers to compare with the training window yet");
  Json out{{"model", churn->name},
           {"training_cutoff", version.data_window.value("cutoff", "")},
           {"customers_now", now.rows},
           {"features", models::ToJson(models::CompareDistributions(then, now))}};
  if (score_then) {
    models::Dataset storage;
    LOYALTY_ASSIGN_OR_RETURN(const auto p, churn->model.Predict(ChurnInput(churn->model, now, customers.members, storage)));
    const double psi = models::PopulationStability(*score_then, p);
    out["score"] = {{"name", "churn_probability"}, {"psi", psi}, {"level", models::StabilityLevel(psi)}};
  }
  return out;
}

namespace {

void AddClvScores(Json& out, const std::string& name, const models::ClvModel& model, const models::CustomerForecast& f,
                  const models::CustomerHistory& history, const core::Currency& currency) {
  out["clv"] = {{"model", name},
                {"horizon_months", model.options().horizon_months},
                {"probability_alive", IntervalJson(f.probability_alive)},
                {"expected_purchases", IntervalJson(f.expected_purchases)},
                {"expected_spend", IntervalJson(f.expected_spend)},
                {"value", IntervalJson(f.clv)},
                {"currency", currency.code}};
  const auto next = models::ForecastNextPurchase(model.purchases().params, history, kDaysPerWeek);
  out["next_purchase"] = {{"model", name},
                          {"median_days", next.median_days},
                          {"low_days", next.low_days},
                          {"high_days", next.high_days},
                          {"probability_within_30_days", next.probability_within_30_days}};
}

}  // namespace

Result<Predictions::DecisionScores> Predictions::ScoresForDecision(const FeatureReport& report) {
  DecisionScores out;
  const auto state = features_.Get(report.member);
  const auto days = state ? state->purchase_days() : std::nullopt;
  if (!days) return out;
  auto churn = Churn("champion");
  // No champion, or one trained on another feature list (after an upgrade, until retrained):
  // decide without a churn score rather than not at all.
  if (!churn && !NoUsableModel(churn.error())) return std::unexpected(churn.error());
  if (churn) {
    const features::FeatureVector* row = &report.features;
    models::Dataset storage;
    const models::Dataset input = FeatureRows(std::span<const features::FeatureVector* const>(&row, 1));
    LOYALTY_ASSIGN_OR_RETURN(const auto p, (*churn)->model.Predict(ChurnInput((*churn)->model, input, std::span(&report.member, 1), storage)));
    out.churn_probability = p[0];
    out.models["churn"] = (*churn)->name;
  }
  auto clv = Clv("champion");
  if (!clv && clv.error().code != ErrorCode::kNotFound) return std::unexpected(clv.error());
  if (clv) {
    const auto& model = (*clv)->model;
    const auto history = HistoryAt(report.member, *days, report.as_of);
    const auto f = model.Forecast(history);
    if (std::isfinite(f.clv.estimate) && std::isfinite(f.expected_purchases.estimate)) {
      out.clv_minor = f.clv.estimate * std::pow(10.0, currency_.minor_digits);
      out.expected_purchases = f.expected_purchases.estimate;
      const auto next = models::ForecastNextPurchase(model.purchases().params, history, kDaysPerWeek);
      if (std::isfinite(next.median_days)) out.days_to_next_purchase = next.median_days;
      out.models["clv"] = (*clv)->name;
    }
  }
  return out;
}

Result<core::Json> Predictions::Scores(const MemberId& requested) {
  LOYALTY_ASSIGN_OR_RETURN(const auto report, members_.Features(requested, std::nullopt));
  const MemberId& member = report.member;
  const Timestamp now = report.as_of;
  Json out{{"member", member.str()}, {"as_of", core::FormatTimestamp(now)}};
  out["segment"] = report.rfm ? Json(report.rfm->segment) : Json(nullptr);
  Json unavailable = Json::array();

  // Both models describe customers: members from their first purchase on.
  const auto state = features_.Get(member);
  const auto days = state ? state->purchase_days() : std::nullopt;
  const features::FeatureVector* row = &report.features;
  const models::Dataset input = FeatureRows(std::span<const features::FeatureVector* const>(&row, 1));
  auto churn = Churn("champion");
  if (!churn && !NoUsableModel(churn.error())) return std::unexpected(churn.error());
  if (!churn) {
    out["churn"] = nullptr;
    unavailable.push_back("churn: " + churn.error().message);
  } else if (!days) {
    out["churn"] = nullptr;
    unavailable.push_back("churn: the member has not purchased yet; churn risk starts with the first purchase");
  } else {
    models::Dataset storage;
    LOYALTY_ASSIGN_OR_RETURN(const auto explanations,
                             (*churn)->model.Explain(ChurnInput((*churn)->model, input, std::span(&member, 1), storage),
                                                     ContributionsToAsk((*churn)->model)));
    out["churn"] = ExplanationJson(explanations[0], (*churn)->name);
    // Shadow scoring never stands in the way of the champion's answer.
    if (auto challenger = Churn("challenger")) {
      models::Dataset challenger_storage;
      if (auto p = (*challenger)->model.Predict(
              ChurnInput((*challenger)->model, input, std::span(&member, 1), challenger_storage))) {
        out["churn"]["challenger"] = {{"model", (*challenger)->name}, {"probability", (*p)[0]}};
      } else {
        unavailable.push_back("challenger " + (*challenger)->name + ": " + p.error().message);
      }
    } else if (challenger.error().code != ErrorCode::kNotFound) {
      unavailable.push_back("challenger: " + challenger.error().message);
    }
  }

  auto clv = Clv("champion");
  if (!clv && clv.error().code != ErrorCode::kNotFound) return std::unexpected(clv.error());
  if (!clv) {
    out["clv"] = nullptr;
    out["next_purchase"] = nullptr;
    unavailable.push_back("clv: " + clv.error().message);
  } else if (!days) {
    out["clv"] = nullptr;
    out["next_purchase"] = nullptr;
    unavailable.push_back("clv: the member has not purchased yet; lifetime value starts with the first purchase");
  } else {
    const auto& model = (*clv)->model;
    const auto history = HistoryAt(member, *days, now);
    const auto f = model.Forecast(history);
    if (!std::isfinite(f.clv.estimate) || !std::isfinite(f.expected_purchases.estimate)) {
      out["clv"] = nullptr;
      out["next_purchase"] = nullptr;
      unavailable.push_back("clv: the forecast is not finite for this purchase history");
    } else {
      AddClvScores(out, (*clv)->name, model, f, history, currency_);
    }
  }
  auto segments = Segments("champion");
  if (!segments && segments.error().code != ErrorCode::kNotFound) return std::unexpected(segments.error());
  out["micro_segment"] = nullptr;
  if (segments && days) {
    LOYALTY_ASSIGN_OR_RETURN(const auto assigned, (*segments)->model.Assign(input));
    const auto& s = (*segments)->model.segments()[static_cast<size_t>(assigned[0])];
    out["micro_segment"] = {{"model", (*segments)->name}, {"id", s.id}, {"description", s.description}};
  }
  out["unavailable"] = unavailable;
  return out;
}

Result<core::Json> Predictions::WhatIf(const MemberId& requested, const core::Json& overrides) {
  if (!overrides.is_object() || overrides.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "overrides must be an object of feature names to numbers, "
                                             "e.g. {\"recency_days\": 5}");
  }
  LOYALTY_ASSIGN_OR_RETURN(const auto report, members_.Features(requested, std::nullopt));
  features::FeatureVector changed = report.features;
  for (const auto& [name, value] : overrides.items()) {
    const auto feature = features::FeatureByName(name);
    if (!feature) {
      return Fail(ErrorCode::kInvalidArgument, "'" + name + "' is not a feature; the features are listed by "
                                                            "GET /v1/members/{id}/features");
    }
    if (value.is_null()) {
      changed[*feature] = std::numeric_limits<double>::quiet_NaN();
    } else if (value.is_number() && std::isfinite(value.get<double>()) &&
               std::abs(value.get<double>()) <= std::numeric_limits<float>::max()) {
      changed[*feature] = value.get<double>();
    } else {
      return Fail(ErrorCode::kInvalidArgument, "'" + name + "' must be a number or null (missing)");
    }
  }
  LOYALTY_ASSIGN_OR_RETURN(const auto churn, Churn("champion"));
  const features::FeatureVector* rows[] = {&report.features, &changed};
  const MemberId both[] = {report.member, report.member};
  models::Dataset storage;
  LOYALTY_ASSIGN_OR_RETURN(const auto explanations, churn->model.Explain(ChurnInput(churn->model, FeatureRows(rows), both, storage),
                                                                         ContributionsToAsk(churn->model)));
  return Json{{"member", report.member.str()},
              {"as_of", core::FormatTimestamp(report.as_of)},
              {"overrides", overrides},
              {"before", ExplanationJson(explanations[0], churn->name)},
              {"after", ExplanationJson(explanations[1], churn->name)},
              {"change", explanations[1].probability - explanations[0].probability}};
}

Result<core::Json> Predictions::Distributions() {
  LOYALTY_ASSIGN_OR_RETURN(const CustomerRows customers, CustomerFeatures());
  const auto& members = customers.members;
  std::vector<std::optional<features::MemberState::PurchaseDays>> days;
  for (const auto& m : members) {
    const auto state = features_.Get(m);
    days.push_back(state ? state->purchase_days() : std::nullopt);
  }
  Json out{{"customers", members.size()}, {"as_of", core::FormatTimestamp(clock_.Now())}};
  auto churn = Churn("champion");
  if (!churn && churn.error().code != ErrorCode::kNotFound) return std::unexpected(churn.error());
  if (churn) {
    models::Dataset storage;
    LOYALTY_ASSIGN_OR_RETURN(const auto p,
                             churn.value()->model.Predict(ChurnInput(churn.value()->model, customers.data, members, storage)));
    std::vector<int64_t> histogram(10, 0);
    double sum = 0;
    int64_t high = 0;
    for (double v : p) {
      ++histogram[std::clamp(static_cast<int>(v * 10), 0, 9)];
      sum += v;
      high += v >= 0.5;
    }
    out["churn"] = {{"model", churn.value()->name},
                    {"histogram", histogram},
                    {"mean", p.empty() ? 0.0 : sum / static_cast<double>(p.size())},
                    {"high_risk", high}};
  } else {
    out["churn"] = nullptr;
  }
  auto clv = Clv("champion");
  if (!clv && clv.error().code != ErrorCode::kNotFound) return std::unexpected(clv.error());
  if (clv) {
    const auto& model = clv.value()->model;
    const Timestamp now = clock_.Now();
    std::vector<double> values;
    for (size_t i = 0; i < members.size(); ++i) {
      if (!days[i]) continue;
      const double value = models::ClvModel::DiscountedClv(model.purchases().params, model.spend().params,
                                                           model.options(), HistoryAt(members[i], *days[i], now));
      if (std::isfinite(value)) values.push_back(value);
    }
    std::sort(values.begin(), values.end());
    auto pct = [&](double q) {
      return values.empty() ? 0.0 : values[std::min(values.size() - 1, static_cast<size_t>(q * values.size()))];
    };
    double total = 0;
    for (double v : values) total += v;
    out["clv"] = {{"model", clv.value()->name},
                  {"customers", values.size()},
                  {"total", total},
                  {"p10", pct(0.1)},
                  {"p50", pct(0.5)},
                  {"p90", pct(0.9)},
                  {"p99", pct(0.99)},
                  {"currency", currency_.code}};
  } else {
    out["clv"] = nullptr;
  }
  return out;
}

namespace {

double DaysSinceEpoch(Timestamp t) { return static_cast<double>(core::ToUnixMillis(t)) / 86'400'000.0; }

Timestamp FromDays(double days) { return core::FromUnixMillis(static_cast<int64_t>(std::llround(days * 86'400'000.0))); }

double MeanAbsolutePercentageError(const std::vector<double>& predicted, const std::vector<double>& actual) {
  double sum = 0;
  size_t n = 0;
  for (size_t i = 0; i < actual.size() && i < predicted.size(); ++i) {
    if (actual[i] <= 0) continue;
    sum += std::abs(predicted[i] - actual[i]) / actual[i];
    ++n;
  }
  return n == 0 ? std::numeric_limits<double>::quiet_NaN() : sum / static_cast<double>(n);
}

Json BandWithActual(const models::Band& band, double actual) {
  Json j = models::ToJson(band);
  j["actual"] = actual;
  return j;
}

}  // namespace

Result<std::vector<models::MemberPoints>> Predictions::PointsMoves(const Members::TrainingConsent* consent) {
  LOYALTY_ASSIGN_OR_RETURN(auto flows, ledger_.GetPointsFlows());
  std::vector<models::MemberPoints> out;
  out.reserve(flows.size());
  for (auto& member : flows) {
    if (consent != nullptr && !consent->Allows(member.member)) continue;
    models::MemberPoints points{member.member.str(), {}};
    points.moves.reserve(member.flows.size());
    for (const auto& flow : member.flows) {
      models::PointsMoveKind kind = models::PointsMoveKind::kOther;
      switch (flow.kind) {
        case ledger::FlowKind::kEarn: kind = models::PointsMoveKind::kEarn; break;
        case ledger::FlowKind::kBonus: kind = models::PointsMoveKind::kBonus; break;
        case ledger::FlowKind::kRedeem: kind = models::PointsMoveKind::kRedeem; break;
        case ledger::FlowKind::kExpire: kind = models::PointsMoveKind::kExpire; break;
        case ledger::FlowKind::kOther: break;
      }
      points.moves.push_back({DaysSinceEpoch(flow.at), flow.points, kind});
    }
    out.push_back(std::move(points));
  }
  return out;
}

models::ExpiryRule Predictions::ProgramExpiry() const {
  const ledger::ExpiryPolicy& expiry = ledger_.config().expiry;
  const double days = expiry.months * models::kDaysPerMonth;
  switch (expiry.mode) {
    case ledger::ExpiryMode::kAfterEarn: return {models::PointsExpiry::kAfterEarn, days};
    case ledger::ExpiryMode::kInactivity: return {models::PointsExpiry::kInactivity, days};
    case ledger::ExpiryMode::kNever: break;
  }
  return {};
}

Result<TrainResult> Predictions::TrainBreakage(const TrainOptions& options) {
  auto progress = [&](std::string_view stage) {
    if (options.progress) options.progress(stage);
  };
  progress("breakage: reading the ledger");
  LOYALTY_ASSIGN_OR_RETURN(const auto consent, members_.ForTraining());
  LOYALTY_ASSIGN_OR_RETURN(const auto moves, PointsMoves(&consent));
  if (moves.empty()) return Fail(ErrorCode::kFailedPrecondition, "no member has earned points yet: nothing to forecast");
  std::vector<double> firsts;
  for (const auto& m : moves) firsts.push_back(m.moves.front().day);
  std::nth_element(firsts.begin(), firsts.begin() + static_cast<std::ptrdiff_t>(firsts.size() / 2), firsts.end());
  const double median_first = firsts[firsts.size() / 2];
  const double first = *std::min_element(firsts.begin(), firsts.end());
  const double now = DaysSinceEpoch(clock_.Now());
  const models::ExpiryRule expiry = ProgramExpiry();
  models::BreakageOptions forecast_options;
  forecast_options.draws = options.breakage_draws;
  forecast_options.seed = options.seed;

  // Back-test: forecast from a year ago and compare with what happened since, beside the
  // run-rate rule. With less history, from halfway through the typical member's history (a
  // few early members must not leave the fit with nobody to learn from).
  Json backtest = nullptr;
  Json metrics = Json::object();
  const int months = std::clamp(
      static_cast<int>(std::floor(std::min(365.25, (now - median_first) / 2) / models::kDaysPerMonth)), 0, 12);
  if (months >= 1) {
    progress("breakage: back-testing " + std::to_string(months) + " months");
    const double cutoff = now - months * models::kDaysPerMonth;
    auto past = models::FitBreakage(moves, cutoff, expiry);
    if (!past) {
      backtest = {{"skipped", past.error().message}};
    } else {
      auto options_then = forecast_options;
      options_then.horizon_months = months;
      LOYALTY_ASSIGN_OR_RETURN(const auto predicted, models::ForecastBreakage(past->params, moves, cutoff, options_then));
      const auto actual = models::ObserveBreakage(moves, cutoff, now, months);
      const auto run_rate = models::RunRateLiability(moves, cutoff, months);
      std::vector<double> predicted_mean;
      Json liability = Json::array();
      int inside = 0;
      for (size_t m = 0; m < actual.liability.size(); ++m) {
        const auto& band = predicted.liability[m];
        predicted_mean.push_back(band.mean);
        inside += actual.liability[m] >= band.low && actual.liability[m] <= band.high;
        Json row = BandWithActual(band, actual.liability[m]);
        row["month"] = m + 1;
        row["run_rate"] = run_rate[m];
        liability.push_back(std::move(row));
      }
      const double model_error = MeanAbsolutePercentageError(predicted_mean, actual.liability);
      const double run_rate_error = MeanAbsolutePercentageError(run_rate, actual.liability);
      // With no points held in any month there is no relative error to give: left out.
      backtest = {{"cutoff", core::FormatTimestamp(FromDays(cutoff))},
                  {"months", months},
                  {"members", predicted.members},
                  {"outstanding_points", predicted.outstanding},
                  {"liability_points", liability},
                  {"redeemed_points", BandWithActual(predicted.redeemed, actual.redeemed)},
                  {"issued_points", BandWithActual(predicted.issued, actual.issued)},
                  {"outstanding_redeemed_points", BandWithActual(predicted.outstanding_redeemed, actual.outstanding_redeemed)},
                  {"months_inside_band", inside}};
      metrics["backtest_months"] = months;
      if (std::isfinite(model_error) && std::isfinite(run_rate_error)) {
        backtest["liability_mape"] = model_error;
        backtest["run_rate_liability_mape"] = run_rate_error;
        metrics["backtest_liability_mape"] = model_error;
        metrics["backtest_run_rate_liability_mape"] = run_rate_error;
      }
      metrics["backtest_redeemed_error"] =
          actual.redeemed > 0 ? (predicted.redeemed.mean - actual.redeemed) / actual.redeemed : 0.0;
    }
  }

  progress("breakage: fitting survival and redemption on the whole history");
  LOYALTY_ASSIGN_OR_RETURN(const auto fit, models::FitBreakage(moves, now, expiry));
  progress("breakage: simulating " + std::to_string(forecast_options.draws) + " futures per member");
  LOYALTY_ASSIGN_OR_RETURN(const auto forecast, models::ForecastBreakage(fit.params, moves, now, forecast_options));
  metrics["breakage_share"] = forecast.breakage_share.mean;
  metrics["outstanding_points"] = forecast.outstanding;
  metrics["liability_points_12m"] = forecast.liability.back().mean;

  models::NewModel entry;
  entry.kind = "breakage";
  entry.creator = options.creator;
  entry.data_window = {{"from", core::FormatTimestamp(FromDays(first))},
                       {"to", core::FormatTimestamp(clock_.Now())},
                       {"members", fit.members}};
  entry.params = models::ToJson(fit.params);
  entry.metrics = metrics;
  entry.artifact = core::Dump(models::ToJson(fit.params));
  Json report = {{"fit",
                  {{"purchases", models::ToJson(fit.purchases_report, {"r", "alpha", "a", "b"})},
                   {"redemption", models::ToJson(fit.redemption_report, {"redeem_alpha", "redeem_beta"})}}},
                 {"params", entry.params},
                 {"backtest", backtest},
                 {"forecast", models::ToJson(forecast)}};
  return Register(entry, std::move(report));
}

Result<Json> Predictions::Breakage(int horizon_months, int draws) {
  LOYALTY_ASSIGN_OR_RETURN(const auto version, registry_.ByAlias("breakage", "champion"));
  LOYALTY_ASSIGN_OR_RETURN(const auto artifact, registry_.Artifact("breakage", version.version));
  LOYALTY_ASSIGN_OR_RETURN(const auto stored, core::ParseJson(artifact));
  LOYALTY_ASSIGN_OR_RETURN(auto params, models::BreakageParamsFromJson(stored));
  params.expiry = ProgramExpiry();  // the program's rule today, whatever it was at training
  LOYALTY_ASSIGN_OR_RETURN(const auto moves, PointsMoves());
  models::BreakageOptions options;
  options.horizon_months = horizon_months;
  options.draws = draws;
  LOYALTY_ASSIGN_OR_RETURN(const auto forecast,
                           models::ForecastBreakage(params, moves, DaysSinceEpoch(clock_.Now()), options));
  Json out = models::ToJson(forecast);
  const auto& program = ledger_.config();
  auto value = [&](double points) {
    return core::Money(std::llround(points * static_cast<double>(program.point_value_minor) /
                                    static_cast<double>(program.point_value_points)),
                       currency_);
  };
  out["as_of"] = core::FormatTimestamp(clock_.Now());
  out["model"] = version.name();
  out["outstanding_value"] = value(forecast.outstanding);
  out["expected_breakage_value"] = value(forecast.outstanding * forecast.breakage_share.mean);
  out["liability_value_at_horizon"] = value(forecast.liability.back().mean);
  return out;
}

Result<Json> Predictions::KeepPredictions(std::optional<Timestamp> at_given, int clv_horizon_days) {
  const Timestamp now = clock_.Now();
  const Timestamp at = at_given.value_or(now);
  if (at > now) return Fail(ErrorCode::kInvalidArgument, "predictions can be kept as of now or an earlier time, not later");
  if (clv_horizon_days < 7 || clv_horizon_days > 730) {
    return Fail(ErrorCode::kInvalidArgument, "the CLV horizon must be 7 to 730 days");
  }
  // Every customer's features and purchase days as of `at`.
  std::vector<MemberId> members;
  std::vector<features::MemberState::PurchaseDays> days;
  models::Dataset data;
  if (at_given && *at_given < Midnight(now)) {
    std::vector<features::FeatureVector> rows;
    LOYALTY_TRY(members_.Snapshot(at, [&](const Members::SnapshotRow& row) -> core::Status {
      if (!row.purchase_days) return {};
      members.push_back(row.member);
      rows.push_back(row.features);
      days.push_back(*row.purchase_days);
      return {};
    }));
    std::vector<const features::FeatureVector*> pointers;
    for (const auto& r : rows) pointers.push_back(&r);
    data = FeatureRows(pointers);
  } else {
    LOYALTY_ASSIGN_OR_RETURN(CustomerRows customers, CustomerFeatures());
    members = std::move(customers.members);
    data = std::move(customers.data);
    for (const auto& m : members) {
      const auto state = features_.Get(m);
      days.push_back(state && state->purchase_days() ? *state->purchase_days() : features::MemberState::PurchaseDays{});
    }
  }

  Json kept = Json::array();
  auto keep = [&](const std::string& kind, int version, int horizon, const char* quantity,
                  const std::vector<double>& values) -> core::Status {
    std::vector<models::StoredPrediction> stored;
    stored.reserve(members.size());
    for (size_t i = 0; i < members.size(); ++i) {
      if (std::isfinite(values[i])) stored.push_back({members[i].str(), values[i]});
    }
    LOYALTY_ASSIGN_OR_RETURN(auto snapshot,
                             registry_.KeepPredictions({0, kind, version, at, horizon, quantity, 0}, stored));
    kept.push_back({{"snapshot", snapshot.id},
                    {"model", kind + "@" + std::to_string(version)},
                    {"quantity", quantity},
                    {"horizon_days", horizon},
                    {"members", snapshot.members},
                    {"matures_at", core::FormatTimestamp(at + horizon * kDay)}});
    return {};
  };
  for (const char* alias : {"champion", "challenger"}) {
    auto churn = Churn(alias);
    if (!churn && churn.error().code != ErrorCode::kNotFound) return std::unexpected(churn.error());
    if (churn) {
      LOYALTY_ASSIGN_OR_RETURN(const auto version, registry_.ByAlias("churn", alias));
      models::Dataset storage;
      LOYALTY_ASSIGN_OR_RETURN(const auto p, churn.value()->model.Predict(ChurnInput(churn.value()->model, data, members, storage)));
      const int horizon = version.data_window.value("horizon_days", 60);
      LOYALTY_TRY(keep("churn", version.version, horizon, "churn_probability", p));
    }
    auto clv = Clv(alias);
    if (!clv && clv.error().code != ErrorCode::kNotFound) return std::unexpected(clv.error());
    if (clv) {
      LOYALTY_ASSIGN_OR_RETURN(const auto version, registry_.ByAlias("clv", alias));
      const auto& params = clv.value()->model.purchases().params;
      std::vector<double> expected;
      for (size_t i = 0; i < members.size(); ++i) {
        const auto h = HistoryAt(members[i], days[i], at);
        expected.push_back(models::ConditionalExpectedPurchases(params, clv_horizon_days / kDaysPerWeek,
                                                                static_cast<double>(h.frequency), h.recency, h.age));
      }
      LOYALTY_TRY(keep("clv", version.version, clv_horizon_days, "expected_purchases", expected));
    }
  }
  if (kept.empty()) {
    return Fail(ErrorCode::kNotFound, "no churn or CLV model to keep predictions of; train them with `loyalty train`");
  }
  return Json{{"as_of", core::FormatTimestamp(at)}, {"customers", members.size()}, {"kept", kept}};
}

Result<Json> Predictions::Accuracy(const std::string& kind) {
  if (kind != "churn" && kind != "clv") {
    return Fail(ErrorCode::kInvalidArgument, "accuracy is kept for churn and clv models, not '" + kind + "'");
  }
  LOYALTY_ASSIGN_OR_RETURN(const auto snapshots, registry_.PredictionSnapshots(kind));
  const Timestamp now = clock_.Now();
  Json out = Json::array();
  std::map<int, std::vector<Json>> by_version;
  for (const auto& snapshot : snapshots) {
    const Timestamp start = Midnight(snapshot.at);
    const Timestamp end = start + snapshot.horizon_days * kDay;
    Json item = {{"snapshot", snapshot.id},
                 {"model", kind + "@" + std::to_string(snapshot.version)},
                 {"at", core::FormatTimestamp(snapshot.at)},
                 {"horizon_days", snapshot.horizon_days},
                 {"members", snapshot.members},
                 {"matures_at", core::FormatTimestamp(end)},
                 {"matured", end <= now}};
    if (end > now) {
      out.push_back(std::move(item));
      continue;
    }
    LOYALTY_ASSIGN_OR_RETURN(const auto predictions, registry_.KeptPredictions(snapshot.id));
    LOYALTY_ASSIGN_OR_RETURN(const auto at_end, PurchaseDaysAt(end));
    const int32_t start_day = DayNumber(start);
    if (kind == "churn") {
      std::vector<double> p;
      std::vector<int> labels;
      for (const auto& prediction : predictions) {
        const auto member = MemberId::Parse(prediction.member);
        if (!member) continue;
        const auto it = at_end.find(*member);
        p.push_back(prediction.value);
        labels.push_back(it != at_end.end() && it->second.last_day >= start_day ? 0 : 1);
      }
      const auto metrics = models::Evaluate(p, labels);
      double predicted = 0, observed = 0;
      for (size_t i = 0; i < p.size(); ++i) {
        predicted += p[i];
        observed += labels[i];
      }
      const double n = std::max<double>(1, static_cast<double>(p.size()));
      item["metrics"] = models::ToJson(metrics);
      item["predicted_churn_rate"] = predicted / n;
      item["observed_churn_rate"] = observed / n;
    } else {
      LOYALTY_ASSIGN_OR_RETURN(const auto at_start, PurchaseDaysAt(start));
      double predicted = 0, actual = 0, absolute = 0;
      for (const auto& prediction : predictions) {
        const auto member = MemberId::Parse(prediction.member);
        if (!member) continue;
        const auto s = at_start.find(*member);
        const auto e = at_end.find(*member);
        const int before = s == at_start.end() ? 0 : s->second.days;
        const int after = e == at_end.end() ? before : e->second.days;
        const double made = std::max(0, after - before);
        predicted += prediction.value;
        actual += made;
        absolute += std::abs(prediction.value - made);
      }
      const double n = std::max<double>(1, static_cast<double>(predictions.size()));
      item["predicted_purchases"] = predicted;
      item["actual_purchases"] = actual;
      item["mean_absolute_error"] = absolute / n;
    }
    by_version[snapshot.version].push_back(item);
    out.push_back(std::move(item));
  }
  // Per version: the matured snapshots' figures averaged.
  Json versions = Json::array();
  for (const auto& [version, items] : by_version) {
    Json summary = {{"model", kind + "@" + std::to_string(version)}, {"matured_snapshots", items.size()}};
    double a = 0, b = 0;
    for (const auto& item : items) {
      if (kind == "churn") {
        a += item["metrics"].value("roc_auc", 0.0);
        b += item["metrics"].value("brier", 0.0);
      } else {
        a += item["predicted_purchases"].get<double>();
        b += item["actual_purchases"].get<double>();
      }
    }
    const double n = static_cast<double>(items.size());
    if (kind == "churn") {
      summary["mean_roc_auc"] = a / n;
      summary["mean_brier"] = b / n;
    } else {
      summary["predicted_to_actual"] = b > 0 ? a / b : 0.0;
    }
    versions.push_back(std::move(summary));
  }
  return Json{{"kind", kind}, {"as_of", core::FormatTimestamp(now)}, {"snapshots", out}, {"versions", versions}};
}

}  // namespace loyalty::engine
