#include "loyalty/decision/decider.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "contact_ledger.hpp"
#include "loyalty/core/random.hpp"

namespace loyalty::decision {

using core::Json;
using core::Timestamp;

namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr int kPropensityRounds = 32;

// Candidates that passed eligibility and suppression, with what scoring needs.
struct Candidate {
  const Offer* offer = nullptr;
  std::vector<Channel> channels;  // allowed for this member now
  BetaPosterior posterior;
  double value_minor = 0;          // what a response is worth
  double response_cost_minor = 0;  // what a response costs
  double expected_value = 0;       // at the posterior mean, before the lever
  double score = 0;
  std::string arm;

  // The AI strategy's score for a response probability p: expected value times the lever.
  double ScoreAt(double p) const {
    return (p * (value_minor - response_cost_minor) - static_cast<double>(offer->message_cost_minor)) * offer->priority;
  }
};

CandidateNote ScoredNote(const Candidate& c) {
  CandidateNote entry;
  entry.offer = c.offer->id;
  entry.scored = true;
  entry.response_probability = c.posterior.Mean();
  entry.value_minor = c.value_minor;
  entry.response_cost_minor = c.response_cost_minor;
  entry.expected_value_minor = c.expected_value;
  entry.priority = c.offer->priority;
  entry.score = c.score;
  return entry;
}

bool ValidAt(const Offer& offer, Timestamp at) {
  if (offer.valid_from && at < *offer.valid_from) return false;
  if (offer.valid_until && at >= *offer.valid_until) return false;
  return true;
}

bool HasConsent(const MemberView& member, Channel channel) {
  return std::binary_search(member.consents.begin(), member.consents.end(), ConsentPurpose(channel));
}

// Why the offer may not be made to the member at `at` (validity, eligibility rule, holdout,
// an open ticket), or nullopt.
std::optional<std::string_view> Exclusion(const Offer& offer, const MemberView& member, Timestamp at, bool holdout) {
  if (!ValidAt(offer, at)) return "not valid at this time";
  if (!offer.rule.Evaluate(member.facts)) return "eligibility rule not met";
  if (holdout && offer.marketing) return "member is in the holdout group";
  if (offer.upsell && member.open_ticket) return "suppressed: a service ticket is open";
  return std::nullopt;
}

// The first moment at or after `at` outside the policy's quiet hours, in the member's time.
Timestamp OutsideQuietHours(Timestamp at, const ContactPolicy& policy, int offset_minutes) {
  if (policy.quiet_start_hour == policy.quiet_end_hour) return at;
  const core::LocalTime local = core::ToLocal(at, offset_minutes);
  const int hour = local.hour;
  const int start = policy.quiet_start_hour, end = policy.quiet_end_hour;
  const bool quiet = start < end ? (hour >= start && hour < end) : (hour >= start || hour < end);
  if (!quiet) return at;
  // The quiet window ends at `end` o'clock: today if we are before it, else tomorrow.
  Timestamp resume = local.day_start + std::chrono::hours(end);
  if (resume <= at) resume += std::chrono::days(1);
  return resume;
}

double ResponseCost(const Offer& offer, const MemberView& member, const ContactPolicy& policy) {
  const double point_cost = static_cast<double>(policy.point_cost_minor_per_1000) / 1000.0;
  // A multiplier's extra points: (m - 1) x the base points the expected basket earns.
  const double extra_points = (offer.multiplier - 1.0) * member.basket_points;
  return (static_cast<double>(offer.points) + extra_points) * point_cost + static_cast<double>(offer.discount_minor);
}

// The offer's risk class for the member (see automation.hpp).
RiskAssessment Risk(const Offer& offer, const MemberView& member, int64_t cost_minor, const BetaPosterior& posterior,
                    const ContactPolicy& policy) {
  RiskInputs inputs;
  inputs.cost_minor = cost_minor;
  inputs.points = static_cast<double>(offer.points) + (offer.multiplier - 1.0) * member.basket_points;
  inputs.tier_change = offer.kind == OfferKind::kTierNudge;
  inputs.member_clv_minor = member.clv_minor;
  inputs.response_uncertainty = posterior.RelativeSd();
  inputs.review_rule = offer.review_rule && offer.review_rule->Evaluate(member.facts);
  inputs.fairness_alert = member.fairness_alert;
  return AssessRisk(inputs, policy);
}

// Send time: now where the member is; otherwise a day before the next expected purchase
// (within a week and the offer's validity) for marketing, at once for service messages;
// always outside quiet hours.
Timestamp SendTime(const Offer& offer, Channel channel, const MemberView& member, Timestamp at,
                   const ContactPolicy& policy, int offset_minutes) {
  if (IsInteractive(channel)) return at;
  Timestamp send = at;
  if (offer.marketing && member.days_to_next_purchase && *member.days_to_next_purchase > 2) {
    const double days = std::min(*member.days_to_next_purchase - 1.0, 7.0);
    send += std::chrono::milliseconds(static_cast<int64_t>(days * static_cast<double>(kDayMs)));
    if (offer.valid_until && send >= *offer.valid_until) send = at;
  }
  return OutsideQuietHours(send, policy, offset_minutes);
}

}  // namespace

Decider::Decider(uint64_t seed) : contacts_(std::make_unique<ContactLedger>()), seed_(seed) {
  config_.offers = std::make_shared<const std::vector<Offer>>();
  config_.policy = std::make_shared<const ContactPolicy>();
  config_.automation = FullAutomation();
}

Decider::~Decider() = default;

void Decider::Configure(std::vector<Offer> offers, ContactPolicy policy, AutomationSettings automation) {
  Snapshot next{std::make_shared<const std::vector<Offer>>(std::move(offers)),
                std::make_shared<const ContactPolicy>(std::move(policy)), automation};
  std::lock_guard lock(config_mutex_);
  config_ = std::move(next);
}

Decider::Snapshot Decider::Current() const {
  std::lock_guard lock(config_mutex_);
  return config_;
}

std::shared_ptr<const std::vector<Offer>> Decider::offers() const { return Current().offers; }
std::shared_ptr<const ContactPolicy> Decider::policy() const { return Current().policy; }
AutomationSettings Decider::automation() const { return Current().automation; }

Decision Decider::Decide(const MemberView& member, const DecisionContext& context, Strategy strategy) {
  const Snapshot config = Current();
  const ContactPolicy& policy = *config.policy;
  Decision decision;
  decision.member = member.member;
  decision.at = context.at;
  decision.holdout = policy.holdout_percent > 0 && InShare(policy.holdout_salt, member.member, policy.holdout_percent);
  decision.strategy = strategy;
  decision.phase = config.automation.For(strategy);
  // Before the dynamic phase the AI strategy takes the best posterior mean: it learns from
  // outcomes but does not explore.
  const bool explore = decision.phase >= AutomationPhase::kDynamic;
  // A per-decision stream: reproducible for a seed and a sequence of decisions on one thread.
  core::FastRng rng(seed_ + draws_.fetch_add(1, std::memory_order_relaxed));

  std::vector<Candidate> candidates;
  candidates.reserve(config.offers->size());
  for (const Offer& offer : *config.offers) {
    auto note = [&](std::string_view outcome) {
      CandidateNote n;
      n.offer = offer.id;
      n.outcome = outcome;
      decision.candidates.push_back(std::move(n));
    };
    if (!offer.active) continue;
    if (auto excluded = Exclusion(offer, member, context.at, decision.holdout)) {
      note(*excluded);
      continue;
    }
    if (strategy == Strategy::kControl && offer.marketing) {
      note("control arm: no marketing offers");
      continue;
    }
    Candidate c;
    c.offer = &offer;
    for (Channel channel : offer.channels) {
      if (context.channel && channel != *context.channel) continue;
      if (offer.marketing && !HasConsent(member, channel)) continue;
      c.channels.push_back(channel);
    }
    if (c.channels.empty()) {
      note(context.channel ? "suppressed: not offered on this channel, or no consent for it"
                           : "suppressed: no consent on any of its channels");
      continue;
    }
    c.arm = offer.id + "|" + member.segment;
    c.posterior = arms_.Posterior(c.arm, offer.prior_response_rate);
    c.value_minor = member.basket_minor + member.churn_probability * member.clv_minor;
    c.response_cost_minor = ResponseCost(offer, member, policy);
    c.expected_value = c.posterior.Mean() * (c.value_minor - c.response_cost_minor) -
                       static_cast<double>(offer.message_cost_minor);
    candidates.push_back(std::move(c));
  }

  // Score: what ranks the candidates under this strategy.
  auto score_all = [&](core::FastRng& r) {
    for (auto& c : candidates) {
      switch (strategy) {
        case Strategy::kAi: {
          c.score = c.ScoreAt(explore ? SampleBeta(c.posterior, r) : c.posterior.Mean());
          break;
        }
        case Strategy::kRules: c.score = c.offer->priority; break;
        case Strategy::kRandom: c.score = std::uniform_real_distribution<double>(0, 1)(r); break;
        case Strategy::kControl: c.score = c.offer->priority; break;  // service messages only
      }
    }
  };
  score_all(rng);
  std::vector<size_t> order(candidates.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return candidates[a].score > candidates[b].score; });

  const int offset = context.utc_offset_minutes.value_or(policy.default_utc_offset_minutes);
  const int k = std::clamp(context.k, 1, 10);
  std::vector<size_t> chosen;
  size_t rank = 0;
  for (; rank < order.size() && static_cast<int>(chosen.size()) < k; ++rank) {
    Candidate& c = candidates[order[rank]];
    CandidateNote entry = ScoredNote(c);
    // The AI strategy makes no offer whose expected value is not positive; a service message
    // (not marketing) is made whenever it is eligible.
    if (strategy == Strategy::kAi && c.score <= 0 && c.offer->marketing) {
      entry.outcome = "expected value not positive";
      decision.candidates.push_back(std::move(entry));
      continue;
    }
    // Channel: where the member is, else by response history; the first the caps allow.
    std::vector<Channel> channels = c.channels;
    std::stable_sort(channels.begin(), channels.end(), [&](Channel a, Channel b) {
      return member.channel_affinity[static_cast<size_t>(a)] > member.channel_affinity[static_cast<size_t>(b)];
    });
    const int64_t cost = static_cast<int64_t>(std::ceil(c.response_cost_minor)) + c.offer->message_cost_minor;
    Channel channel = channels.front();
    // Explain-only decisions check the caps and budgets without taking anything.
    std::optional<std::string> refused;
    for (Channel option : channels) {
      refused = contacts_->TryReserve({member.member, c.offer->id, option, context.at, cost}, *c.offer, policy,
                                      context.reserve);
      if (!refused) {
        channel = option;
        break;
      }
    }
    if (refused) {
      entry.outcome = std::move(*refused);
      decision.candidates.push_back(std::move(entry));
      continue;
    }
    DecidedOffer out;
    out.offer = c.offer->id;
    out.kind = c.offer->kind;
    out.channel = channel;
    out.response_probability = c.posterior.Mean();
    out.expected_value_minor = c.expected_value;
    out.score = c.score;
    out.cost_minor = cost;
    out.bandit_arm = c.arm;
    out.sku = c.offer->sku;
    RiskAssessment risk = Risk(*c.offer, member, cost, c.posterior, policy);
    out.risk = risk.risk;
    out.risk_reasons = std::move(risk.reasons);
    out.routing = Routing(decision.phase, out.risk);
    out.send_at = SendTime(*c.offer, channel, member, context.at, policy, offset);
    entry.outcome = "chosen";
    decision.candidates.push_back(std::move(entry));
    chosen.push_back(order[rank]);
    decision.offers.push_back(std::move(out));
  }

  // The candidates the top k left behind, with their numbers.
  for (; rank < order.size(); ++rank) {
    const Candidate& c = candidates[order[rank]];
    CandidateNote entry = ScoredNote(c);
    entry.outcome = "ranked lower";
    decision.candidates.push_back(std::move(entry));
  }

  // Propensity of each chosen offer: how often the strategy ranks it first among the
  // candidates, estimated by redrawing (exact for rules and for the AI strategy before the
  // dynamic phase, which does not draw; 1/n for random). Candidates that
  // cannot come first (even 4 standard deviations up they stay below another's 4 down) are
  // left out of the redraws: they would never win one.
  if (!decision.offers.empty()) {
    const size_t n = candidates.size();
    std::vector<int> wins(n, 0);
    if (strategy == Strategy::kAi && explore) {
      std::vector<std::pair<double, double>> range(n);
      double best_low = -std::numeric_limits<double>::infinity();
      for (size_t i = 0; i < n; ++i) {
        const Candidate& c = candidates[i];
        const double mean = c.posterior.Mean();
        const double sd = c.posterior.Sd();
        const double a = c.ScoreAt(std::clamp(mean - 4 * sd, 0.0, 1.0));
        const double b = c.ScoreAt(std::clamp(mean + 4 * sd, 0.0, 1.0));
        range[i] = {std::min(a, b), std::max(a, b)};
        best_low = std::max(best_low, range[i].first);
      }
      std::vector<size_t> contenders;
      for (size_t i = 0; i < n; ++i) {
        if (range[i].second >= best_low) contenders.push_back(i);
      }
      for (int round = 0; round < kPropensityRounds; ++round) {
        size_t best = contenders.front();
        double best_score = -std::numeric_limits<double>::infinity();
        for (size_t i : contenders) {
          const Candidate& c = candidates[i];
          const double score = c.ScoreAt(SampleBeta(c.posterior, rng));
          if (score > best_score) {
            best_score = score;
            best = i;
          }
        }
        ++wins[best];
      }
    }
    for (size_t j = 0; j < decision.offers.size(); ++j) {
      double p = 1.0;
      if (strategy == Strategy::kAi && explore) {
        // At least one round's worth: a logged propensity of 0 would make the choice impossible.
        p = std::max(1, wins[chosen[j]]) / static_cast<double>(kPropensityRounds);
      } else if (strategy == Strategy::kRandom) {
        p = 1.0 / static_cast<double>(n);
      }
      decision.offers[j].propensity = p;
    }
  }

  // The facts the catalogue's rules read, as the member had them.
  for (const Offer& offer : *config.offers) {
    for (const auto& name : offer.rule.facts()) {
      const bool seen = std::any_of(decision.facts_used.begin(), decision.facts_used.end(),
                                    [&](const auto& f) { return f.first == name; });
      if (seen) continue;
      const FactValue* v = member.facts.Find(name);
      decision.facts_used.emplace_back(name, v ? *v : FactValue());
    }
  }
  decision.segment = member.segment;
  decision.churn_probability = member.churn_probability;
  decision.clv_minor = member.clv_minor;
  decision.basket_minor = member.basket_minor;
  decision.days_to_next_purchase = member.days_to_next_purchase;
  decision.models = member.model_versions;
  return decision;
}

void Decider::Release(const Decision& decision) {
  for (const auto& o : decision.offers) contacts_->Release({decision.member, o.offer, o.channel, decision.at, o.cost_minor});
}

void Decider::RestoreContact(const std::string& member, const std::string& offer, Channel channel, Timestamp at) {
  contacts_->Restore({member, offer, channel, at, 0});
}

void Decider::RestoreSpend(const std::string& offer, int64_t cost_minor) { contacts_->RestoreSpend(offer, cost_minor); }

core::Json Decider::BudgetReport() const { return contacts_->Budgets(); }

core::Result<DecidedOffer> Decider::Substitute(const MemberView& member, const std::string& offer_id, Channel channel,
                                               Timestamp at, const Replaced& replaced) {
  const Snapshot config = Current();
  const ContactPolicy& policy = *config.policy;
  auto refuse = [&](std::string_view why) {
    return core::Fail(core::ErrorCode::kFailedPrecondition,
                      "offer '" + offer_id + "' cannot be made to this member: " + std::string(why));
  };
  const auto found = std::find_if(config.offers->begin(), config.offers->end(),
                                  [&](const Offer& o) { return o.id == offer_id; });
  if (found == config.offers->end()) return core::Fail(core::ErrorCode::kNotFound, "no offer '" + offer_id + "'");
  const Offer& offer = *found;
  if (!offer.active) return refuse("it is not active");
  if (auto excluded = Exclusion(offer, member, at, replaced.holdout)) return refuse(*excluded);
  if (replaced.strategy == Strategy::kControl && offer.marketing) return refuse("control arm: no marketing offers");
  if (std::find(offer.channels.begin(), offer.channels.end(), channel) == offer.channels.end()) {
    return refuse("it is not offered on " + std::string(ChannelName(channel)));
  }
  if (offer.marketing && !HasConsent(member, channel)) {
    return refuse("no consent to " + ConsentPurpose(channel));
  }
  DecidedOffer out;
  out.offer = offer.id;
  out.kind = offer.kind;
  out.channel = channel;
  out.bandit_arm = offer.id + "|" + member.segment;
  const BetaPosterior posterior = arms_.Posterior(out.bandit_arm, offer.prior_response_rate);
  const double response_cost = ResponseCost(offer, member, policy);
  out.cost_minor = static_cast<int64_t>(std::ceil(response_cost)) + offer.message_cost_minor;
  out.response_probability = posterior.Mean();
  out.expected_value_minor = posterior.Mean() * (member.basket_minor + member.churn_probability * member.clv_minor -
                                                 response_cost) -
                             static_cast<double>(offer.message_cost_minor);
  out.score = out.expected_value_minor * offer.priority;
  out.propensity = 1;
  out.sku = offer.sku;
  RiskAssessment risk = Risk(offer, member, out.cost_minor, posterior, policy);
  out.risk = risk.risk;
  out.risk_reasons = std::move(risk.reasons);
  out.routing = Routing(config.automation.For(replaced.strategy), out.risk);
  out.send_at = SendTime(offer, channel, member, at, policy, policy.default_utc_offset_minutes);
  auto refused = contacts_->TryReplace({replaced.member, replaced.offer, replaced.channel, replaced.at, replaced.cost_minor},
                                       {member.member, offer.id, channel, replaced.at, out.cost_minor}, offer, policy, at);
  if (refused) return refuse(*refused);
  return out;
}

void Decider::UndoSubstitute(const std::string& member, const DecidedOffer& chosen, const Replaced& replaced) {
  contacts_->UndoReplace({replaced.member, replaced.offer, replaced.channel, replaced.at, replaced.cost_minor},
                         {member, chosen.offer, chosen.channel, replaced.at, chosen.cost_minor});
}

void Decider::RenameMember(const std::string& from, const std::string& to) { contacts_->Rename(from, to); }

Json ToJson(const DecidedOffer& o) {
  Json out{{"offer", o.offer},
          {"kind", OfferKindName(o.kind)},
          {"channel", ChannelName(o.channel)},
          {"send_at", core::FormatTimestamp(o.send_at)},
          {"response_probability", o.response_probability},
          {"expected_value_minor", o.expected_value_minor},
          {"score", o.score},
          {"cost_minor", o.cost_minor},
          {"propensity", o.propensity},
          {"bandit_arm", o.bandit_arm},
          {"risk", RiskName(o.risk)},
          {"risk_reasons", o.risk_reasons},
          {"routing", o.routing}};
  if (!o.sku.empty()) out["sku"] = o.sku;
  return out;
}

Json ExplanationJson(const Decision& d) {
  Json facts = Json::object();
  for (const auto& [name, value] : d.facts_used) {
    if (const double* x = std::get_if<double>(&value)) {
      facts[name] = std::isfinite(*x) ? Json(*x) : Json(nullptr);
    } else if (const bool* b = std::get_if<bool>(&value)) {
      facts[name] = *b;
    } else if (const std::string* text = std::get_if<std::string>(&value)) {
      facts[name] = *text;
    } else {
      facts[name] = nullptr;
    }
  }
  // Scored candidates one by one; the others grouped by why they were left out (a catalogue
  // of fifty offers mostly fails its rules, and one line per reason reads better).
  Json candidates = Json::array();
  Json excluded = Json::object();
  for (const auto& c : d.candidates) {
    if (!c.scored) {
      excluded[c.outcome].push_back(c.offer);
      continue;
    }
    candidates.push_back({{"offer", c.offer},
                          {"outcome", c.outcome},
                          {"response_probability", c.response_probability},
                          {"value_minor", c.value_minor},
                          {"response_cost_minor", c.response_cost_minor},
                          {"expected_value_minor", c.expected_value_minor},
                          {"priority", c.priority},
                          {"score", c.score}});
  }
  Json out{{"segment", d.segment},
           {"churn_probability", d.churn_probability},
           {"clv_minor", d.clv_minor},
           {"basket_minor", d.basket_minor},
           {"facts", facts},
           {"candidates", candidates},
           {"excluded", excluded},
           {"models", d.models}};
  out["days_to_next_purchase"] = d.days_to_next_purchase ? Json(*d.days_to_next_purchase) : Json(nullptr);
  return out;
}

Json ToJson(const Decision& d) {
  Json offers = Json::array();
  for (const auto& o : d.offers) offers.push_back(ToJson(o));
  return {{"member", d.member},
          {"at", core::FormatTimestamp(d.at)},
          {"strategy", StrategyName(d.strategy)},
          {"phase", PhaseName(d.phase)},
          {"holdout", d.holdout},
          {"offers", offers},
          {"explanation", ExplanationJson(d)}};
}

}  // namespace loyalty::decision
