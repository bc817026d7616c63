#include "loyalty/engine/decisions.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <map>
#include <thread>

#include "loyalty/core/logging.hpp"

#include "loyalty/features/member_state.hpp"

namespace loyalty::engine {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::MemberId;
using core::Result;
using core::Status;
using decision::Channel;
using decision::FactValue;

namespace {

// Facts beyond the feature vector, with their meaning (GET /v1/decisions/facts).
const std::vector<std::pair<std::string, std::string>>& ExtraFacts() {
  static const std::vector<std::pair<std::string, std::string>> facts = {
      {"churn_risk", "the churn champion's probability that the member lapses (unset before a first purchase)"},
      {"churn_flagged", "true when churn_risk reaches the churn threshold (fairness settings: 0.5, or the member's group's own)"},
      {"clv", "expected value of future purchases over the CLV horizon, in currency units"},
      {"expected_purchases", "purchases expected over the CLV horizon"},
      {"days_to_next_purchase", "median days until the next purchase"},
      {"segment", "RFM segment: Champions, Loyal, Potential, New, At Risk, Can't Lose, Hibernating or Lost; Prospect before a first purchase"},
      {"tier", "the member's tier name"},
      {"open_ticket", "true while a service ticket is open"},
      {"top_category", "the category the member spent most on in the last year"},
      {"channel", "context: the channel the member is on or the decision is for"},
      {"local_hour", "context: the hour of day in the member's time zone (0-23)"},
      {"weekday", "context: day of the week in the member's time zone (1 = Monday ... 7 = Sunday)"},
      {"cart_minor", "context: the value of the member's cart, in minor units"},
      {"location", "context: the store or page the member is at"},
  };
  return facts;
}

double Or0(double v) { return std::isfinite(v) ? v : 0.0; }

// The first arm whose strategy is below the expanded phase, if any.
std::optional<std::string> ArmBelowExpanded(const decision::Experiment& e, const decision::AutomationSettings& settings) {
  for (const auto& arm : e.arms) {
    if (settings.For(arm.strategy) < decision::AutomationPhase::kExpanded) return arm.name;
  }
  return std::nullopt;
}

}  // namespace

// Stores buffered decisions in batches on its own thread: one transaction per batch, so the
// answer never waits for a commit. The writer lingers a moment for a batch to fill: under load
// one commit per decision would cost more than the decisions themselves.
class Decisions::Writer {
 public:
  Writer(decision::DecisionLog& log, decision::Decider& decider) : log_(log), decider_(decider), thread_([this] { Run(); }) {}
  ~Writer() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

  void Add(decision::DecisionLog::Entry entry) {
    size_t queued = 0;
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(entry));
      ++added_;
      queued = queue_.size();
    }
    // Wake the writer when it may be idle (the first entry) or when a batch is full.
    if (queued == 1 || queued == kBatch) wake_.notify_one();
  }

  void Flush() {
    std::unique_lock lock(mutex_);
    const uint64_t target = added_;
    ++flushing_;
    wake_.notify_one();
    done_.wait(lock, [&] { return stored_ >= target; });
    --flushing_;
  }

 private:
  static constexpr size_t kBatch = 256;
  static constexpr std::chrono::milliseconds kLinger{2};
  static constexpr int kWriterNice = 10;

  void Run() {
    // Storing can wait; answering cannot: the writer yields the cores to request handlers
    // (a nicer thread, on Linux), and catches up between bursts.
    setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kWriterNice);
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty() && stop_) return;
      wake_.wait_for(lock, kLinger, [&] { return stop_ || flushing_ > 0 || queue_.size() >= kBatch; });
      std::vector<decision::DecisionLog::Entry> batch;
      batch.swap(queue_);
      lock.unlock();
      if (auto stored = log_.RecordBatch(batch); !stored) {
        // The decisions were answered but cannot be kept: give back what they reserved.
        core::Log(core::LogLevel::kError, "decisions.log_failed",
                  Json{{"decisions", batch.size()}, {"error", stored.error().message}});
        for (const auto& e : batch) decider_.Release(e.decision);
      }
      lock.lock();
      stored_ += batch.size();
      done_.notify_all();
    }
  }

  decision::DecisionLog& log_;
  decision::Decider& decider_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::vector<decision::DecisionLog::Entry> queue_;
  uint64_t added_ = 0;
  uint64_t stored_ = 0;
  int flushing_ = 0;  // callers waiting in Flush: no lingering
  bool stop_ = false;
  std::thread thread_;  // last: starts once the rest is built
};

Decisions::Decisions(std::unique_ptr<decision::DecisionLog> log, Members& members, Predictions& predictions,
                     ledger::Ledger& ledger, const core::Clock& clock, uint64_t seed)
    : log_(std::move(log)),
      members_(members),
      predictions_(predictions),
      ledger_(ledger),
      clock_(clock),
      decider_(seed) {
  for (size_t i = 0; i < features::kFeatureCount; ++i) {
    known_facts_.emplace_back(features::FeatureName(static_cast<features::Feature>(i)));
  }
  for (const auto& [name, meaning] : ExtraFacts()) known_facts_.push_back(name);
  for (auto purpose : features::ConsentPurposes()) known_facts_.push_back("consent." + std::string(purpose));
  std::sort(known_facts_.begin(), known_facts_.end());
}

Result<std::unique_ptr<Decisions>> Decisions::Open(store::Database& db, Members& members, Predictions& predictions,
                                                   ledger::Ledger& ledger, const core::Clock& clock, uint64_t seed,
                                                   bool buffered_log) {
  LOYALTY_ASSIGN_OR_RETURN(auto log, decision::DecisionLog::Open(db, clock));
  std::unique_ptr<Decisions> d(new Decisions(std::move(log), members, predictions, ledger, clock, seed));
  LOYALTY_TRY(d->Reload());
  LOYALTY_TRY(d->log_->Restore(d->decider_));
  if (buffered_log) d->writer_ = std::make_unique<Writer>(*d->log_, d->decider_);
  return d;
}

Decisions::~Decisions() { writer_.reset(); }

void Decisions::Flush() {
  if (writer_) writer_->Flush();
}

Status Decisions::Reload() {
  LOYALTY_ASSIGN_OR_RETURN(auto offers, log_->Offers(known_facts_));
  LOYALTY_ASSIGN_OR_RETURN(auto policy, log_->Policy());
  LOYALTY_ASSIGN_OR_RETURN(auto flag, log_->Flag());
  LOYALTY_ASSIGN_OR_RETURN(auto experiments, log_->Experiments());
  LOYALTY_ASSIGN_OR_RETURN(auto automation, log_->Automation());
  std::erase_if(experiments, [](const decision::Experiment& e) { return !e.running; });
  // The decider's phases and the experiments that run under them change together.
  std::lock_guard lock(state_mutex_);
  decider_.Configure(std::move(offers), policy, automation);
  flag_ = flag;
  running_ = std::move(experiments);
  automation_ = automation;
  return {};
}

Json Decisions::Facts() const {
  Json out = Json::array();
  for (size_t i = 0; i < features::kFeatureCount; ++i) {
    out.push_back({{"name", features::FeatureName(static_cast<features::Feature>(i))},
                   {"type", "number"},
                   {"meaning", "member feature (see GET /v1/members/{id}/features)"}});
  }
  for (const auto& [name, meaning] : ExtraFacts()) {
    const bool text = name == "segment" || name == "tier" || name == "top_category" || name == "channel" || name == "location";
    const bool flag = name == "open_ticket" || name == "churn_flagged";
    out.push_back({{"name", name}, {"type", text ? "text" : flag ? "flag" : "number"}, {"meaning", meaning}});
  }
  for (auto purpose : features::ConsentPurposes()) {
    out.push_back({{"name", "consent." + std::string(purpose)},
                   {"type", "flag"},
                   {"meaning", "true while the member grants " + std::string(purpose)}});
  }
  return {{"facts", out}};
}

// --- Catalogue and settings ------------------------------------------------------------------

Result<Json> Decisions::ListOffers() {
  const auto offers = decider_.offers();
  Json out = Json::array();
  for (const auto& o : *offers) out.push_back(decision::ToJson(o));
  return Json{{"offers", out}};
}

Result<Json> Decisions::GetOffer(const std::string& id) {
  for (const auto& o : *decider_.offers()) {
    if (o.id == id) return decision::ToJson(o);
  }
  return Fail(ErrorCode::kNotFound, "no offer '" + id + "'");
}

Result<Json> Decisions::PutOffer(const std::string& id, const Json& body, const std::string& actor) {
  Json doc = body;
  if (!doc.is_object()) return Fail(ErrorCode::kInvalidArgument, "an offer must be a JSON object");
  if (doc.contains("id") && doc["id"] != id) {
    return Fail(ErrorCode::kInvalidArgument, "field 'id' must match the path's offer id '" + id + "'");
  }
  doc["id"] = id;
  LOYALTY_ASSIGN_OR_RETURN(auto offer, decision::ParseOffer(doc, known_facts_));
  std::lock_guard lock(edit_mutex_);
  LOYALTY_ASSIGN_OR_RETURN(const bool created, log_->PutOffer(offer, actor));
  LOYALTY_TRY(Reload());
  return Json{{"offer", decision::ToJson(offer)}, {"created", created}};
}

Status Decisions::DeleteOffer(const std::string& id) {
  std::lock_guard lock(edit_mutex_);
  LOYALTY_TRY(log_->DeleteOffer(id));
  return Reload();
}

Result<Json> Decisions::Policy() { return decision::ToJson(*decider_.policy()); }

Result<Json> Decisions::PutPolicy(const Json& body, const std::string& actor) {
  LOYALTY_ASSIGN_OR_RETURN(auto policy, decision::ParseContactPolicy(body));
  std::lock_guard lock(edit_mutex_);
  LOYALTY_TRY(log_->PutPolicy(policy, actor));
  LOYALTY_TRY(Reload());
  return decision::ToJson(policy);
}

Result<Json> Decisions::Strategy() {
  std::lock_guard lock(state_mutex_);
  return decision::ToJson(flag_);
}

Result<Json> Decisions::PutStrategy(const Json& body, const std::string& actor) {
  LOYALTY_ASSIGN_OR_RETURN(auto flag, decision::ParseStrategyFlag(body));
  std::lock_guard lock(edit_mutex_);
  LOYALTY_TRY(log_->PutFlag(flag, actor));
  LOYALTY_TRY(Reload());
  return decision::ToJson(flag);
}

Result<Json> Decisions::RollbackStrategy(const std::string& actor) {
  std::lock_guard lock(edit_mutex_);
  LOYALTY_ASSIGN_OR_RETURN(auto flag, log_->RollbackFlag(actor));
  LOYALTY_TRY(Reload());
  return decision::ToJson(flag);
}

Result<Json> Decisions::ListExperiments() {
  LOYALTY_ASSIGN_OR_RETURN(auto all, log_->Experiments());
  // Below the expanded phase running experiments wait: nobody is assigned to them.
  const auto settings = AutomationInForce();
  Json out = Json::array();
  for (const auto& e : all) {
    Json entry = decision::ToJson(e);
    entry["paused"] = e.running && !ExperimentRuns(e, settings);
    out.push_back(std::move(entry));
  }
  return Json{{"experiments", out}};
}

Result<Json> Decisions::CreateExperiment(const Json& body) {
  LOYALTY_ASSIGN_OR_RETURN(auto experiment, decision::ParseExperiment(body));
  std::lock_guard lock(edit_mutex_);
  const auto settings = AutomationInForce();
  if (const auto arm = ArmBelowExpanded(experiment, settings)) {
    const auto strategy = std::find_if(experiment.arms.begin(), experiment.arms.end(),
                                       [&](const decision::ExperimentArm& a) { return a.name == *arm; })->strategy;
    return Fail(ErrorCode::kFailedPrecondition,
                "experiments run from the expanded automation phase on; arm '" + *arm + "' uses the " +
                    std::string(decision::StrategyName(strategy)) + " strategy, which is in '" +
                    std::string(decision::PhaseName(settings.For(strategy))) +
                    "' (an admin moves it with PUT /v1/automation)");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto placed, log_->CreateExperiment(std::move(experiment)));
  LOYALTY_TRY(Reload());
  return decision::ToJson(placed);
}

Status Decisions::StopExperiment(const std::string& id) {
  std::lock_guard lock(edit_mutex_);
  LOYALTY_TRY(log_->StopExperiment(id));
  return Reload();
}

Result<Json> Decisions::ExperimentResults(const std::string& id) {
  Flush();
  return log_->ExperimentResults(id);
}

Result<Json> Decisions::Budgets() {
  Json out = decider_.BudgetReport();
  const auto policy = decider_.policy();
  out["program_budget_minor"] = policy->program_budget_minor ? Json(*policy->program_budget_minor) : Json(nullptr);
  Json budgets = Json::object();
  for (const auto& o : *decider_.offers()) {
    if (o.budget_minor) budgets[o.id] = *o.budget_minor;
  }
  out["offer_budgets_minor"] = budgets;
  return out;
}

Result<std::unordered_map<std::string, Decisions::MemberOffers>> Decisions::OffersByMember(core::Timestamp since) {
  Flush();
  LOYALTY_ASSIGN_OR_RETURN(auto rows, log_->OffersByMember(since));
  std::unordered_map<std::string, MemberOffers> out;
  out.reserve(rows.size());
  for (const auto& r : rows) out[r.member] = {r.offers, r.value_minor};
  return out;
}

// --- Automation phases -----------------------------------------------------------------------

namespace {

constexpr std::array<std::string_view, decision::kPhaseCount> kPhaseMeanings = {
    "every offer waits for a person's approval",
    "low-risk offers run on their own; medium risk waits for review, high risk for an admin",
    "as limited, and experiments run: strategies compete in A/B tests",
    "as expanded, and the AI strategy explores (Thompson sampling) as its bandits learn",
    "as dynamic, and the churn model retrains on a schedule, promoted only past its guardrails",
};

Result<std::string> RequireReason(const Json& body) {
  LOYALTY_ASSIGN_OR_RETURN(auto reason, core::RequireString(body, "reason"));
  const auto first = reason.find_first_not_of(" \t\r\n");
  reason = first == std::string::npos ? "" : reason.substr(first, reason.find_last_not_of(" \t\r\n") - first + 1);
  if (reason.empty() || reason.size() > 500) {
    return Fail(ErrorCode::kInvalidArgument, "field 'reason' needs 1 to 500 characters: say why the phase changes");
  }
  return reason;
}


}  // namespace

decision::AutomationSettings Decisions::AutomationInForce() const {
  std::lock_guard lock(state_mutex_);
  return automation_;
}

Result<Json> Decisions::Automation() {
  const decision::AutomationSettings settings = AutomationInForce();
  Json out = decision::ToJson(settings);
  Json effective = Json::object();
  for (size_t i = 0; i < decision::kStrategyCount; ++i) {
    const auto strategy = static_cast<decision::Strategy>(i);
    effective[std::string(decision::StrategyName(strategy))] = decision::PhaseName(settings.For(strategy));
  }
  out["effective"] = effective;
  const Json policy = decision::ToJson(*decider_.policy());
  Json thresholds = Json::object();
  for (const char* key : {"review_cost_minor", "escalate_cost_minor", "review_points", "escalate_points",
                          "review_member_clv_minor", "review_uncertainty", "tier_change_risk"}) {
    thresholds[key] = policy[key];
  }
  out["risk_thresholds"] = thresholds;
  Json phases = Json::array();
  for (size_t i = 0; i < decision::kPhaseCount; ++i) {
    phases.push_back({{"name", decision::PhaseName(static_cast<decision::AutomationPhase>(i))}, {"meaning", kPhaseMeanings[i]}});
  }
  out["phases"] = phases;
  LOYALTY_ASSIGN_OR_RETURN(const auto moves, log_->AutomationMovesLeft());
  out["rollback_available"] = moves > 0;
  LOYALTY_ASSIGN_OR_RETURN(const auto changes, log_->AutomationHistory(20));
  Json history = Json::array();
  for (const auto& c : changes) {
    Json entry = decision::ToJson(c.settings);
    entry["at"] = core::FormatTimestamp(c.at);
    entry["actor"] = c.actor;
    entry["action"] = c.action;
    entry["reason"] = c.reason;
    history.push_back(std::move(entry));
  }
  out["history"] = history;
  return out;
}

Result<Json> Decisions::MoveAutomation(const Json& body, const std::string& actor) {
  if (!body.is_object()) return Fail(ErrorCode::kInvalidArgument, "the request body must be a JSON object");
  LOYALTY_ASSIGN_OR_RETURN(const auto reason, RequireReason(body));
  // What the body leaves out (strategies' own phases, guardrails) stays as it is in force.
  std::lock_guard lock(edit_mutex_);
  const Json in_force = decision::ToJson(AutomationInForce());
  Json settings_doc = body;
  settings_doc.erase("reason");
  for (const char* key : {"strategies", "retraining"}) {
    if (!settings_doc.contains(key)) settings_doc[key] = in_force[key];
  }
  LOYALTY_ASSIGN_OR_RETURN(const auto settings, decision::ParseAutomation(settings_doc));
  LOYALTY_TRY(log_->MoveAutomation(settings, actor, reason));
  LOYALTY_TRY(Reload());
  return Automation();
}

Result<Json> Decisions::RollbackAutomation(const Json& body, const std::string& actor) {
  if (!body.is_object()) return Fail(ErrorCode::kInvalidArgument, "the request body must be a JSON object");
  LOYALTY_TRY(core::RejectUnknownFields(body, {"reason"}));
  LOYALTY_ASSIGN_OR_RETURN(const auto reason, RequireReason(body));
  std::lock_guard lock(edit_mutex_);
  LOYALTY_TRY(log_->RollbackAutomation(actor, reason));
  LOYALTY_TRY(Reload());
  return Automation();
}

// --- Decisions -----------------------------------------------------------------------------

Result<Decisions::Request> Decisions::ParseRequest(const Json& body) const {
  Request r;
  r.context.at = clock_.Now();
  LOYALTY_ASSIGN_OR_RETURN(auto channel, core::OptionalString(body, "channel"));
  if (channel) {
    auto parsed = decision::ParseChannel(*channel);
    if (!parsed) return core::Wrap(parsed.error(), "field 'channel'");
    r.context.channel = *parsed;
  }
  LOYALTY_ASSIGN_OR_RETURN(auto k, core::OptionalInt(body, "k"));
  if (k && (*k < 1 || *k > 10)) return Fail(ErrorCode::kInvalidArgument, "field 'k' must be from 1 to 10");
  r.context.k = static_cast<int>(k.value_or(1));
  LOYALTY_ASSIGN_OR_RETURN(auto offset, core::OptionalInt(body, "utc_offset_minutes"));
  if (offset && (*offset < -14 * 60 || *offset > 14 * 60)) {
    return Fail(ErrorCode::kInvalidArgument, "field 'utc_offset_minutes' must be from -840 to 840");
  }
  if (offset) r.context.utc_offset_minutes = static_cast<int>(*offset);
  LOYALTY_ASSIGN_OR_RETURN(r.cart_minor, core::OptionalInt(body, "cart_minor"));
  if (r.cart_minor && *r.cart_minor < 0) return Fail(ErrorCode::kInvalidArgument, "field 'cart_minor' must not be negative");
  LOYALTY_ASSIGN_OR_RETURN(auto location, core::OptionalString(body, "location"));
  r.location = location.value_or("");
  if (r.location.size() > 200) return Fail(ErrorCode::kInvalidArgument, "field 'location' has at most 200 characters");
  LOYALTY_ASSIGN_OR_RETURN(auto dry_run, core::OptionalBool(body, "dry_run"));
  r.context.reserve = !dry_run.value_or(false);
  return r;
}

Result<decision::MemberView> Decisions::ViewNow(const MemberId& member, decision::Channel channel) {
  Request request;
  request.context.at = clock_.Now();
  request.context.channel = channel;
  return View(member, request);
}

Result<decision::MemberView> Decisions::View(const MemberId& requested, const Request& request) {
  LOYALTY_ASSIGN_OR_RETURN(const auto report, members_.Features(requested, std::nullopt));
  LOYALTY_ASSIGN_OR_RETURN(const auto scores, predictions_.ScoresForDecision(report));
  const auto& f = report.features;
  const auto& program = ledger_.config();
  const double minor_per_unit = std::pow(10.0, program.currency.minor_digits);

  decision::MemberView view;
  view.member = report.member.str();
  view.segment = report.rfm ? report.rfm->segment : "Prospect";
  for (size_t i = 0; i < features::kFeatureCount; ++i) {
    const double v = f.values[i];
    view.facts.Set(std::string(features::FeatureName(static_cast<features::Feature>(i))),
                   std::isfinite(v) ? FactValue(v) : FactValue());
  }
  auto set_optional = [&](const char* name, const std::optional<double>& v, double scale = 1.0) {
    view.facts.Set(name, v ? FactValue(*v * scale) : FactValue());
  };
  set_optional("churn_risk", scores.churn_probability);
  set_optional("clv", scores.clv_minor, 1.0 / minor_per_unit);
  set_optional("expected_purchases", scores.expected_purchases);
  set_optional("days_to_next_purchase", scores.days_to_next_purchase);
  view.facts.Set("segment", view.segment);
  view.facts.Set("tier", report.tier);  // read with the points: one read transaction per decision
  view.open_ticket = f[features::Feature::open_tickets] > 0;
  view.facts.Set("open_ticket", view.open_ticket);
  view.facts.Set("top_category", f.top_category.empty() ? FactValue() : FactValue(f.top_category));
  view.consents = f.consents;
  std::sort(view.consents.begin(), view.consents.end());
  for (auto purpose : features::ConsentPurposes()) {
    view.facts.Set("consent." + std::string(purpose),
                   std::binary_search(view.consents.begin(), view.consents.end(), std::string(purpose)));
  }
  // Context.
  const auto policy = decider_.policy();
  const int offset = request.context.utc_offset_minutes.value_or(policy->default_utc_offset_minutes);
  const core::LocalTime local = core::ToLocal(request.context.at, offset);
  view.facts.Set("local_hour", static_cast<double>(local.hour));
  view.facts.Set("weekday", static_cast<double>(local.weekday));
  if (request.context.channel) view.facts.Set("channel", std::string(decision::ChannelName(*request.context.channel)));
  if (request.cart_minor) view.facts.Set("cart_minor", static_cast<double>(*request.cart_minor));
  if (!request.location.empty()) view.facts.Set("location", request.location);

  view.churn_probability = scores.churn_probability.value_or(0.0);
  view.clv_minor = scores.clv_minor.value_or(0.0);
  view.days_to_next_purchase = scores.days_to_next_purchase;
  const double basket_units =
      std::isfinite(f[features::Feature::basket_30d]) ? f[features::Feature::basket_30d] : Or0(f[features::Feature::avg_basket]);
  view.basket_minor = request.cart_minor ? static_cast<double>(*request.cart_minor) : basket_units * minor_per_unit;
  view.basket_points = view.basket_minor / minor_per_unit * static_cast<double>(program.earn.points_per_unit);
  // Response history per channel: email clicks per open; app logins and store or web visits
  // in the last 30 days (ten or more count as fully engaged); SMS has no history here.
  const double logins = std::min(1.0, Or0(f[features::Feature::logins_30d]) / 10.0);
  const double visits = std::min(1.0, Or0(f[features::Feature::visits_30d]) / 10.0);
  view.channel_affinity[static_cast<size_t>(Channel::kEmail)] = Or0(f[features::Feature::email_response_rate_30d]);
  view.channel_affinity[static_cast<size_t>(Channel::kPush)] = logins;
  view.channel_affinity[static_cast<size_t>(Channel::kInApp)] = logins;
  view.channel_affinity[static_cast<size_t>(Channel::kPos)] = visits;
  view.channel_affinity[static_cast<size_t>(Channel::kWeb)] = visits;
  view.channel_affinity[static_cast<size_t>(Channel::kSms)] = 0.05;
  view.pre_period_spend_minor = Or0(f[features::Feature::monetary_90d]) * minor_per_unit;
  view.model_versions = scores.models;
  // Flagged at risk: from the churn threshold, or the member's group's own when the per-group
  // threshold mitigation is in force for this churn model (churn_risk itself stays as given).
  const MemberFairness fair = fairness_ ? fairness_(view.member) : MemberFairness{};
  view.fairness_alert = fair.alert;
  if (scores.churn_probability) {
    const bool own = fair.threshold_model.empty() || scores.models.value("churn", "") == fair.threshold_model;
    view.facts.Set("churn_flagged", *scores.churn_probability >= (own ? fair.churn_threshold : fair.base_threshold));
  } else {
    view.facts.Set("churn_flagged", FactValue());
  }
  return view;
}

Status Decisions::RecommendProducts(decision::Decision& d) {
  for (auto& offer : d.offers) {
    if (offer.kind != decision::OfferKind::kProductRecommendation || !offer.sku.empty()) continue;
    auto member = MemberId::Parse(d.member);
    if (!member) return std::unexpected(member.error());
    auto picks = predictions_.Recommend(*member, 1);
    if (!picks) {
      // Without a trained recommender the offer stays a recommendation without a product.
      if (picks.error().code == ErrorCode::kNotFound) continue;
      return std::unexpected(picks.error());
    }
    if (!(*picks)["items"].empty()) offer.sku = (*picks)["items"][0]["sku"].get<std::string>();
  }
  return {};
}

bool Decisions::ExperimentRuns(const decision::Experiment& e, const decision::AutomationSettings& settings) {
  return !ArmBelowExpanded(e, settings).has_value();
}

Decisions::Choice Decisions::ChooseStrategy(const std::string& member) const {
  std::lock_guard lock(state_mutex_);
  // Strategies compete in experiments from the expanded phase on (each arm's strategy in its
  // own phase); before it, running experiments wait and their members get the flag's strategy.
  for (const auto& e : running_) {
    if (!ExperimentRuns(e, automation_)) continue;
    if (auto arm = decision::AssignArm(e, member)) {
      return {e.arms[*arm].strategy, {e.id, e.arms[*arm].name}};
    }
  }
  return {decision::InShare(flag_.salt, member, flag_.share_percent) ? flag_.strategy : flag_.fallback, {}};
}

Result<Json> Decisions::Decide(const Json& body) { return DecideFor(body, ""); }

Result<Json> Decisions::DecideOnEvent(const Json& body, const std::string& event) {
  if (event.empty()) return Fail(ErrorCode::kInvalidArgument, "a triggered decision needs the event's id");
  LOYALTY_ASSIGN_OR_RETURN(auto existing, log_->TriggeredBy(event));
  if (!existing) return DecideFor(body, event);
  return AlreadyDecided(*existing);
}

Result<Json> Decisions::AlreadyDecided(const std::string& id) {
  LOYALTY_ASSIGN_OR_RETURN(Json made, log_->Get(id));
  made["repeated"] = true;
  return made;
}

Result<Json> Decisions::DecideFor(const Json& body, const std::string& trigger) {
  if (!body.is_object()) return Fail(ErrorCode::kInvalidArgument, "the request body must be a JSON object");
  LOYALTY_TRY(core::RejectUnknownFields(body, {"member", "channel", "k", "utc_offset_minutes", "cart_minor", "location", "dry_run",
                                                "explain"}));
  LOYALTY_ASSIGN_OR_RETURN(const auto explain, core::OptionalBool(body, "explain"));
  // Tills need the offer, not the explanation: it is kept with the decision either way.
  const bool answer_explained = explain.value_or(true);
  LOYALTY_ASSIGN_OR_RETURN(auto member_text, core::RequireString(body, "member"));
  auto member = MemberId::Parse(member_text);
  if (!member) return core::Wrap(member.error(), "field 'member'");
  LOYALTY_ASSIGN_OR_RETURN(const auto request, ParseRequest(body));
  LOYALTY_ASSIGN_OR_RETURN(const auto view, View(*member, request));
  const Choice choice = ChooseStrategy(view.member);
  decision::Decision d = decider_.Decide(view, request.context, choice.strategy);
  LOYALTY_TRY(RecommendProducts(d));
  Json out = decision::ToJson(d);
  out["experiment"] = choice.assignment.experiment.empty()
                          ? Json(nullptr)
                          : Json{{"id", choice.assignment.experiment}, {"arm", choice.assignment.arm}};
  if (!request.context.reserve) {
    out["id"] = nullptr;
    out["dry_run"] = true;
  } else if (writer_ && trigger.empty()) {
    std::string id = decision::DecisionLog::NewId();
    out["id"] = id;
    // The writer stores the explanation as answered and keeps only what the log's rows need:
    // rendering it again, and freeing its parts on another thread, cost more than the rows.
    std::string explanation = core::Dump(out["explanation"]);
    d.candidates = {};
    d.facts_used = {};  // the models stay: the audit trail names them
    writer_->Add({std::move(id), std::move(d), choice.assignment, view.pre_period_spend_minor, std::move(explanation), {}});
  } else {
    auto id = log_->Record(d, choice.assignment, view.pre_period_spend_minor, trigger);
    if (!id) {
      decider_.Release(d);
      // Another delivery of the same event decided first: its decision stands.
      if (id.error().code == ErrorCode::kConflict && !trigger.empty()) {
        LOYALTY_ASSIGN_OR_RETURN(auto first, log_->TriggeredBy(trigger));
        if (first) return AlreadyDecided(*first);
      }
      return std::unexpected(id.error());
    }
    out["id"] = *id;
  }
  if (!answer_explained) out.erase("explanation");
  return out;
}

Result<Json> Decisions::DecideBatch(const Json& body) {
  if (!body.is_object()) return Fail(ErrorCode::kInvalidArgument, "the request body must be a JSON object");
  LOYALTY_TRY(core::RejectUnknownFields(body, {"segment", "members", "channel", "k", "utc_offset_minutes", "dry_run", "limit"}));
  LOYALTY_ASSIGN_OR_RETURN(auto segment_text, core::OptionalString(body, "segment"));
  LOYALTY_ASSIGN_OR_RETURN(const auto segment, decision::CompileRule(segment_text.value_or(""), known_facts_, "segment"));
  LOYALTY_ASSIGN_OR_RETURN(const auto request, ParseRequest(body));
  LOYALTY_ASSIGN_OR_RETURN(auto limit, core::OptionalInt(body, "limit"));
  if (limit && (*limit < 0 || *limit > 1000)) return Fail(ErrorCode::kInvalidArgument, "field 'limit' must be from 0 to 1000");
  const size_t shown = static_cast<size_t>(limit.value_or(20));

  std::vector<MemberId> targets;
  if (auto it = body.find("members"); it != body.end()) {
    if (!it->is_array() || it->empty() || it->size() > 100000) {
      return Fail(ErrorCode::kInvalidArgument, "field 'members' must be an array of 1 to 100,000 member ids");
    }
    for (size_t i = 0; i < it->size(); ++i) {
      if (!(*it)[i].is_string()) return Fail(ErrorCode::kInvalidArgument, "members[" + std::to_string(i) + "] must be a string");
      auto id = MemberId::Parse((*it)[i].get<std::string>());
      if (!id) return core::Wrap(id.error(), "members[" + std::to_string(i) + "]");
      targets.push_back(*id);
    }
  } else {
    LOYALTY_TRY(members_.EnsureLiveFeatures());
    LOYALTY_ASSIGN_OR_RETURN(targets, members_.LiveMembers());
  }

  std::map<std::string, int64_t> by_offer, by_channel, by_routing, by_strategy;
  int64_t considered = 0, matched = 0, with_offers = 0, held_out = 0, committed = 0;
  Json sample = Json::array();
  std::vector<decision::DecisionLog::Entry> pending;
  auto flush = [&]() -> Status {
    if (pending.empty() || !request.context.reserve) return {};
    if (auto stored = log_->RecordBatch(pending); !stored) {
      for (const auto& e : pending) decider_.Release(e.decision);
      return stored;
    }
    pending.clear();
    return {};
  };
  for (const auto& member : targets) {
    ++considered;
    auto view = View(member, request);
    if (!view) {
      if (view.error().code == ErrorCode::kNotFound) continue;  // merged away or never seen
      LOYALTY_TRY(flush());
      return std::unexpected(view.error());
    }
    if (!segment.Evaluate(view->facts)) continue;
    ++matched;
    const Choice choice = ChooseStrategy(view->member);
    decision::Decision d = decider_.Decide(*view, request.context, choice.strategy);
    LOYALTY_TRY(RecommendProducts(d));
    ++by_strategy[std::string(decision::StrategyName(d.strategy))];
    if (d.holdout) ++held_out;
    if (!d.offers.empty()) ++with_offers;
    for (const auto& o : d.offers) {
      ++by_offer[o.offer];
      ++by_channel[std::string(decision::ChannelName(o.channel))];
      ++by_routing[o.routing];
      committed += o.cost_minor;
    }
    if (sample.size() < shown) {
      Json entry = decision::ToJson(d);
      entry.erase("explanation");
      sample.push_back(std::move(entry));
    }
    if (request.context.reserve) {
      pending.push_back({decision::DecisionLog::NewId(), std::move(d), choice.assignment, view->pre_period_spend_minor, {}, {}});
    }
    if (pending.size() >= 1000) LOYALTY_TRY(flush());
  }
  LOYALTY_TRY(flush());
  return Json{{"considered", considered},
              {"matched", matched},
              {"with_offers", with_offers},
              {"held_out", held_out},
              {"dry_run", !request.context.reserve},
              {"committed_minor", request.context.reserve ? committed : 0},
              {"by_offer", by_offer},
              {"by_channel", by_channel},
              {"by_routing", by_routing},
              {"by_strategy", by_strategy},
              {"decisions", sample}};
}

Result<Json> Decisions::Get(const std::string& id) {
  Flush();
  return log_->Get(id);
}

Result<std::vector<decision::DecisionLog::RoutedOffer>> Decisions::RoutedOffers(core::Timestamp since) {
  Flush();
  return log_->RoutedOffers(since);
}

Result<Json> Decisions::ForMembers(std::span<const core::MemberId> members) {
  Flush();
  std::vector<std::string> ids;
  for (const auto& m : members) ids.push_back(m.str());
  return log_->ForMembers(ids);
}

Result<Json> Decisions::RecordOutcome(const std::string& id, const Json& body) {
  LOYALTY_ASSIGN_OR_RETURN(auto outcome, decision::ParseOutcome(body, id, clock_.Now()));
  Flush();
  LOYALTY_ASSIGN_OR_RETURN(auto receipt, log_->RecordOutcome(outcome, decider_));
  return Json{{"decision", id},
              {"id", outcome.id},
              {"duplicate", receipt.duplicate},
              {"counted_as_response", receipt.counted_as_response},
              {"bandit_arm", receipt.bandit_arm}};
}

Result<Json> Decisions::Evaluate(std::optional<core::Timestamp> since) {
  Flush();
  LOYALTY_ASSIGN_OR_RETURN(auto logged, log_->Logged(since));
  // Target policies evaluated on the logged first offers: "greedy" (the offer the bandit now
  // rates best for the member's segment) against what was logged. The logged policy's own
  // response rate is the on-policy baseline.
  std::vector<decision::LoggedRound> greedy;
  double responded = 0;
  std::map<std::string, std::map<std::string, double>> best;  // segment -> offer -> posterior mean
  const auto offers = decider_.offers();
  std::map<std::string, double> prior;
  for (const auto& o : *offers) prior[o.id] = o.prior_response_rate;
  for (const auto& l : logged) {
    const auto bar = l.arm.find('|');
    const std::string segment = bar == std::string::npos ? "" : l.arm.substr(bar + 1);
    auto& means = best[segment];
    if (means.empty()) {
      for (const auto& [offer, p] : prior) means[offer] = decider_.arms().Posterior(offer + "|" + segment, p).Mean();
    }
  }
  for (const auto& l : logged) {
    responded += l.responded ? 1 : 0;
    const auto bar = l.arm.find('|');
    const std::string segment = bar == std::string::npos ? "" : l.arm.substr(bar + 1);
    const auto& means = best[segment];
    std::string top;
    double top_mean = -1;
    for (const auto& [offer, mean] : means) {
      if (mean > top_mean) {
        top_mean = mean;
        top = offer;
      }
    }
    decision::LoggedRound r;
    r.reward = l.responded ? 1 : 0;
    r.propensity = std::max(l.propensity, 1e-3);
    r.target_probability = l.offer == top ? 1.0 : 0.0;
    r.predicted_reward = l.response_probability;
    auto it = means.find(top);
    r.target_value = it == means.end() ? 0.0 : it->second;
    greedy.push_back(r);
  }
  // Bootstrap intervals while they stay cheap; the normal approximation beyond.
  const decision::IntervalOptions bootstrap{.bootstrap_resamples = logged.size() <= 100000 ? 1000 : 0, .seed = 1};
  return Json{{"decisions", logged.size()},
              {"logged_response_rate", logged.empty() ? 0.0 : responded / static_cast<double>(logged.size())},
              {"greedy",
               {{"ips", decision::ToJson(decision::InversePropensity(greedy, bootstrap))},
                {"snips", decision::ToJson(decision::SelfNormalisedInversePropensity(greedy, bootstrap))},
                {"dr", decision::ToJson(decision::DoublyRobust(greedy, bootstrap))}}}};
}

}  // namespace loyalty::engine
