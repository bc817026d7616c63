#include "loyalty/sim/policy_evaluation.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "loyalty/core/random.hpp"
#include "loyalty/decision/decider.hpp"
#include "loyalty/decision/experiments.hpp"

namespace loyalty::sim {

namespace {

using core::Json;
using decision::Strategy;

enum Persona { kDealSeeker, kCollector, kServiceSensitive, kIndifferent, kPersonas };
enum Group { kAi, kRfm, kRandom, kHoldout, kGroups };
constexpr std::array<const char*, 3> kPolicyNames = {"ai", "rfm", "random"};

// The offers and how each kind of member answers them (the ground truth policies never see).
enum OfferIndex { kWinback, kDoublePoints, kBonus, kServiceRecovery, kTips, kOffers };
constexpr std::array<const char*, kOffers> kOfferIds = {"winback_discount", "double_points", "bonus_500",
                                                        "service_recovery", "content_tips"};
constexpr double kResponse[kOffers][kPersonas] = {
    /* winback_discount */ {0.30, 0.05, 0.06, 0.03},
    /* double_points    */ {0.06, 0.30, 0.05, 0.03},
    /* bonus_500        */ {0.10, 0.15, 0.05, 0.04},
    /* service_recovery */ {0.20, 0.20, 0.50, 0.15},
    /* content_tips     */ {0.06, 0.08, 0.08, 0.05},
};
constexpr double kPointCostEur = 0.01;  // what a point costs the program

struct SimMember {
  std::string id;
  Persona persona = kIndifferent;
  Group group = kHoldout;
  double rate = 0;     // purchases per day while active
  double basket = 0;   // EUR
  double hazard = 0;   // daily chance to lapse
  bool lapsed = false;
  int boost_until = -1;   // lapse hazard reduced until this day (after a response)
  int ticket_until = -1;  // a service ticket is open until this day
  int last_purchase = std::numeric_limits<int>::min();
  int purchases = 0;
  double spend_total = 0;  // EUR, lifetime (observed)
  std::vector<std::pair<int, double>> recent;  // purchases in the last 90 days
  std::array<int, 4> logins{};    // per week, newest first
  std::array<int, 4> abandons{};
  std::vector<std::string> consents;
  double pre_revenue = 0;  // EUR, warm-up
  double revenue = 0;      // EUR, net, under the policy
  double spend = 0;        // EUR of offer costs
};

Json Offer(const char* id, const char* kind, std::vector<const char*> channels, Json extra) {
  Json doc{{"id", id}, {"kind", kind}, {"channels", channels}};
  for (auto it = extra.begin(); it != extra.end(); ++it) doc[it.key()] = it.value();
  return doc;
}

// The AI and random policies choose from every offer; the RFM campaign's rules decide who
// gets what.
std::vector<decision::Offer> Catalogue(bool rfm_rules) {
  std::vector<Json> docs = {
      Offer("winback_discount", "discount", {"email"},
            {{"discount_minor", 1000}, {"message_cost_minor", 1}, {"max_per_member_per_week", 1},
             {"eligibility", rfm_rules ? "recency_days > 30" : ""}, {"priority", rfm_rules ? 2 : 1}}),
      Offer("double_points", "points_multiplier", {"push"},
            {{"multiplier", 2.0}, {"message_cost_minor", 1}}),
      Offer("bonus_500", "bonus_points", {"email"},
            {{"points", 500}, {"message_cost_minor", 1}, {"eligibility", rfm_rules ? "recency_days <= 30 and frequency >= 8" : ""}}),
      Offer("service_recovery", "service_recovery", {"sms", "email"},
            {{"points", 300}, {"message_cost_minor", 5}, {"eligibility", "open_ticket"}, {"priority", rfm_rules ? 3 : 1}}),
      Offer("content_tips", "content_message", {"email"},
            {{"message_cost_minor", 1}}),
  };
  std::vector<decision::Offer> offers;
  for (const auto& doc : docs) {
    // The campaign has no multiplier or content offer: it runs on two segment rules.
    if (rfm_rules && (doc["id"] == "double_points" || doc["id"] == "content_tips")) continue;
    offers.push_back(*decision::ParseOffer(doc, {}));
  }
  return offers;
}

int OfferIndexOf(const std::string& id) {
  for (int i = 0; i < kOffers; ++i) {
    if (id == kOfferIds[static_cast<size_t>(i)]) return i;
  }
  return -1;
}

double Poisson(std::mt19937_64& rng, double mean) { return std::poisson_distribution<int>(mean)(rng); }

// What a program sees of the member on `day`.
decision::MemberView View(const SimMember& m, int day, int observed_days) {
  decision::MemberView v;
  v.member = m.id;
  const bool bought = m.purchases > 0;
  const double recency = bought ? day - m.last_purchase : std::numeric_limits<double>::quiet_NaN();
  double monetary_90d = 0;
  for (const auto& [d, amount] : m.recent) {
    if (d > day - 90) monetary_90d += amount;
  }
  const int logins = m.logins[0] + m.logins[1] + m.logins[2] + m.logins[3];
  const int abandons = m.abandons[0] + m.abandons[1] + m.abandons[2] + m.abandons[3];
  const bool ticket = day < m.ticket_until;
  v.facts.Set("recency_days", bought ? decision::FactValue(recency) : decision::FactValue());
  v.facts.Set("frequency", static_cast<double>(m.purchases));
  v.facts.Set("monetary_90d", monetary_90d);
  v.facts.Set("logins_30d", static_cast<double>(logins));
  v.facts.Set("cart_abandons_30d", static_cast<double>(abandons));
  v.facts.Set("open_ticket", ticket);
  const char* recency_band = !bought || recency > 90 ? "dormant" : recency > 30 ? "lapsing" : "active";
  const char* behaviour = logins >= 8 ? "app" : abandons >= 3 ? "deals" : "plain";
  v.segment = std::string(recency_band) + "/" + behaviour;
  v.facts.Set("segment", v.segment);
  const double gap = bought ? static_cast<double>(observed_days) / m.purchases : 60.0;
  v.churn_probability = bought ? 1.0 - std::exp(-recency / (2.0 * gap)) : 0.5;
  const double basket = bought ? m.spend_total / m.purchases : 30.0;
  v.basket_minor = basket * 100;
  v.basket_points = basket;
  v.clv_minor = (bought ? m.purchases / static_cast<double>(observed_days) : 0.0) * basket * 180 * 100;
  v.open_ticket = ticket;
  v.consents = m.consents;
  v.channel_affinity[static_cast<size_t>(decision::Channel::kEmail)] = 0.3;
  v.channel_affinity[static_cast<size_t>(decision::Channel::kPush)] = std::min(1.0, logins / 10.0);
  v.channel_affinity[static_cast<size_t>(decision::Channel::kSms)] = 0.1;
  v.pre_period_spend_minor = monetary_90d * 100;
  return v;
}

struct Tally {
  int64_t offers = 0;
  int64_t responses = 0;
};

// What happens when member `m` gets offer `offer` on `day`: the ground truth answers.
bool Resolve(SimMember& m, int offer, int day, std::mt19937_64& rng) {
  double p = kResponse[offer][m.persona];
  if (m.lapsed) p /= 3;
  const bool responded = std::bernoulli_distribution(p)(rng);
  const double message = offer == kServiceRecovery ? 0.05 : 0.01;
  m.spend += message;
  m.revenue -= message;
  if (!responded) return false;
  if (m.lapsed && std::bernoulli_distribution(0.5)(rng)) m.lapsed = false;
  m.boost_until = day + 90;
  const bool buys = offer != kTips || std::bernoulli_distribution(0.3)(rng);
  if (!buys) return true;
  const double amount = m.basket * std::exp(std::normal_distribution<double>(0, 0.3)(rng));
  double cost = 0;
  switch (offer) {
    case kWinback: cost = std::min(10.0, amount); break;
    case kDoublePoints: cost = amount * kPointCostEur; break;
    case kBonus: cost = 500 * kPointCostEur; break;
    case kServiceRecovery: cost = 300 * kPointCostEur; break;
    default: break;
  }
  m.revenue += amount - cost;
  m.spend += cost;
  m.purchases += 1;
  m.spend_total += amount;
  m.last_purchase = day;
  m.recent.emplace_back(day, amount);
  return true;
}

Interval FromComparison(const decision::Comparison& c) { return {c.difference, c.ci_low, c.ci_high}; }

}  // namespace

core::Result<PolicyEvaluation> EvaluatePolicies(const PolicyEvaluationConfig& config) {
  if (config.members < 400 || config.members > 2000000) {
    return core::Fail(core::ErrorCode::kInvalidArgument, "--members must be from 400 to 2,000,000");
  }
  if (config.days < 28 || config.days > 3650 || config.warmup_days < 28 || config.warmup_days > 3650) {
    return core::Fail(core::ErrorCode::kInvalidArgument, "--days must be from 28 to 3650");
  }
  std::mt19937_64 rng(core::MixSeed(config.seed));
  std::vector<SimMember> members(static_cast<size_t>(config.members));
  std::vector<size_t> order(members.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  for (size_t i = 0; i < members.size(); ++i) {
    SimMember& m = members[i];
    std::string digits = std::to_string(i);
    m.id = "s" + std::string(digits.size() < 7 ? 7 - digits.size() : 0, '0') + digits;
    m.group = static_cast<Group>(order[i] % kGroups);
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    m.persona = u < 0.30 ? kDealSeeker : u < 0.60 ? kCollector : u < 0.75 ? kServiceSensitive : kIndifferent;
    m.rate = std::gamma_distribution<double>(2.0, 0.025)(rng);
    m.basket = std::exp(std::normal_distribution<double>(std::log(45.0), 0.5)(rng)) * (m.persona == kDealSeeker ? 0.7 : 1.0);
    m.hazard = std::bernoulli_distribution(0.4)(rng) ? 1.0 / 250 : 1.0 / 2000;
    if (std::bernoulli_distribution(0.85)(rng)) m.consents.push_back("marketing_email");
    if (std::bernoulli_distribution(0.60)(rng)) m.consents.push_back("marketing_push");
    if (std::bernoulli_distribution(0.40)(rng)) m.consents.push_back("marketing_sms");
    std::sort(m.consents.begin(), m.consents.end());
  }

  std::array<std::unique_ptr<decision::Decider>, 3> deciders;
  for (int g = 0; g < 3; ++g) deciders[static_cast<size_t>(g)] = std::make_unique<decision::Decider>(config.seed + static_cast<uint64_t>(g));
  std::array<std::vector<size_t>, kGroups> groups;
  for (size_t i = 0; i < members.size(); ++i) groups[members[i].group].push_back(i);
  std::array<Tally, 3> tallies{};
  const core::Timestamp epoch = *core::ParseTimestamp("2026-01-05T10:00:00Z");

  const int total_days = config.warmup_days + config.days;
  for (int day = 0; day < total_days; ++day) {
    const bool treating = day >= config.warmup_days;
    if (day % 7 == 0) {
      for (auto& m : members) {
        std::rotate(m.logins.rbegin(), m.logins.rbegin() + 1, m.logins.rend());
        std::rotate(m.abandons.rbegin(), m.abandons.rbegin() + 1, m.abandons.rend());
        const bool active = !m.lapsed;
        m.logins[0] = static_cast<int>(Poisson(rng, active ? (m.persona == kCollector ? 3.0 : 0.5) : 0.1));
        m.abandons[0] = static_cast<int>(Poisson(rng, active ? (m.persona == kDealSeeker ? 1.2 : 0.15) : 0.0));
        std::erase_if(m.recent, [&](const auto& p) { return p.first <= day - 90; });
      }
    }
    for (auto& m : members) {
      if (!m.lapsed) {
        const double hazard = day < m.boost_until ? m.hazard * 0.3 : m.hazard;
        if (std::bernoulli_distribution(hazard)(rng)) m.lapsed = true;
      }
      if (!m.lapsed && std::bernoulli_distribution(m.rate)(rng)) {
        const double amount = m.basket * std::exp(std::normal_distribution<double>(0, 0.3)(rng));
        (treating ? m.revenue : m.pre_revenue) += amount;
        m.purchases += 1;
        m.spend_total += amount;
        m.last_purchase = day;
        m.recent.emplace_back(day, amount);
      }
      const double ticket_rate = m.persona == kServiceSensitive ? 1.0 / 60 : 1.0 / 400;
      if (std::bernoulli_distribution(ticket_rate)(rng)) m.ticket_until = day + 7;
    }
    if (!treating || (day - config.warmup_days) % 7 != 0) continue;

    // A week of offers for each policy, within its budget so far.
    const int week = (day - config.warmup_days) / 7 + 1;
    const core::Timestamp now = epoch + std::chrono::days(day);
    for (int g = 0; g < 3; ++g) {
      auto& decider = *deciders[static_cast<size_t>(g)];
      decision::ContactPolicy policy;
      policy.holdout_percent = 0;
      policy.max_per_day = 1;
      policy.max_per_week = 1;
      policy.quiet_start_hour = policy.quiet_end_hour = 0;
      policy.program_budget_minor = config.weekly_budget_minor_per_member * static_cast<int64_t>(groups[static_cast<size_t>(g)].size()) * week;
      decider.Configure(Catalogue(g == kRfm), policy);
      const Strategy strategy = g == kAi ? Strategy::kAi : g == kRfm ? Strategy::kRules : Strategy::kRandom;

      std::vector<std::pair<double, size_t>> queue;
      std::vector<decision::MemberView> views(members.size());
      for (size_t index : groups[static_cast<size_t>(g)]) {
        views[index] = View(members[index], day, day);
        double key = 0;
        if (g == kAi) {
          // The AI spends the budget where the expected value is highest.
          const auto plan = decider.Decide(views[index], {.at = now, .reserve = false}, Strategy::kAi);
          key = plan.offers.empty() ? -1e18 : plan.offers.front().score;
        } else if (g == kRfm) {
          key = views[index].facts.Find("monetary_90d") ? std::get<double>(*views[index].facts.Find("monetary_90d")) : 0;
        } else {
          key = std::uniform_real_distribution<double>(0, 1)(rng);
        }
        queue.emplace_back(key, index);
      }
      std::sort(queue.begin(), queue.end(), std::greater<>());
      for (const auto& [key, index] : queue) {
        if (g == kAi && key <= -1e17) break;
        const auto d = decider.Decide(views[index], {.at = now}, strategy);
        for (const auto& o : d.offers) {
          const int offer = OfferIndexOf(o.offer);
          const bool responded = Resolve(members[index], offer, day, rng);
          ++tallies[static_cast<size_t>(g)].offers;
          tallies[static_cast<size_t>(g)].responses += responded ? 1 : 0;
          decider.arms().Record(o.bandit_arm, 1, responded ? 1 : 0);
        }
      }
    }
  }

  // Outcomes: CUPED over everyone with the warm-up revenue, one theta for all groups.
  std::vector<double> revenue, covariate;
  for (const auto& m : members) {
    revenue.push_back(m.revenue);
    covariate.push_back(m.pre_revenue);
  }
  const std::vector<double> adjusted = decision::CupedAdjust(revenue, covariate);
  std::array<std::vector<double>, kGroups> adjusted_by_group;
  std::array<int64_t, kGroups> retained{};
  std::array<double, kGroups> raw{}, spend{};
  for (size_t i = 0; i < members.size(); ++i) {
    const auto g = static_cast<size_t>(members[i].group);
    adjusted_by_group[g].push_back(adjusted[i]);
    retained[g] += members[i].lapsed ? 0 : 1;
    raw[g] += members[i].revenue;
    spend[g] += members[i].spend;
  }
  PolicyEvaluation out;
  out.config = config;
  const auto n = [&](size_t g) { return static_cast<int64_t>(groups[g].size()); };
  out.holdout_revenue_per_member = raw[kHoldout] / static_cast<double>(n(kHoldout));
  out.holdout_retention = static_cast<double>(retained[kHoldout]) / static_cast<double>(n(kHoldout));
  for (size_t g = 0; g < 3; ++g) {
    PolicyOutcome p;
    p.name = kPolicyNames[g];
    p.members = n(g);
    p.incremental_revenue = FromComparison(decision::WelchTest(adjusted_by_group[kHoldout], adjusted_by_group[g]));
    p.retention_lift = FromComparison(decision::TwoProportionTest(retained[kHoldout], n(kHoldout), retained[g], n(g)));
    p.revenue_per_member = raw[g] / static_cast<double>(n(g));
    p.retention = static_cast<double>(retained[g]) / static_cast<double>(n(g));
    p.spend_per_member = spend[g] / static_cast<double>(n(g));
    p.offers = tallies[g].offers;
    p.responses = tallies[g].responses;
    out.policies.push_back(p);
  }
  out.ai_vs_rfm_revenue = FromComparison(decision::WelchTest(adjusted_by_group[kRfm], adjusted_by_group[kAi]));
  out.ai_vs_random_revenue = FromComparison(decision::WelchTest(adjusted_by_group[kRandom], adjusted_by_group[kAi]));
  out.ai_vs_rfm_retention = FromComparison(decision::TwoProportionTest(retained[kRfm], n(kRfm), retained[kAi], n(kAi)));
  out.ai_vs_random_retention =
      FromComparison(decision::TwoProportionTest(retained[kRandom], n(kRandom), retained[kAi], n(kAi)));
  return out;
}

core::Json ToJson(const PolicyEvaluation& e) {
  auto interval = [](const Interval& i) { return Json{{"mean", i.mean}, {"ci_low", i.ci_low}, {"ci_high", i.ci_high}}; };
  Json policies = Json::object();
  for (const auto& p : e.policies) {
    policies[p.name] = {{"members", p.members},
                        {"incremental_revenue", interval(p.incremental_revenue)},
                        {"retention_lift", interval(p.retention_lift)},
                        {"revenue_per_member", p.revenue_per_member},
                        {"retention", p.retention},
                        {"spend_per_member", p.spend_per_member},
                        {"offers", p.offers},
                        {"responses", p.responses},
                        {"response_rate", p.offers > 0 ? static_cast<double>(p.responses) / static_cast<double>(p.offers) : 0.0}};
  }
  return {{"members", e.config.members},
          {"days", e.config.days},
          {"warmup_days", e.config.warmup_days},
          {"seed", e.config.seed},
          {"weekly_budget_minor_per_member", e.config.weekly_budget_minor_per_member},
          {"units", "currency units per member; net of offer costs; CUPED-adjusted; 95% intervals"},
          {"holdout", {{"revenue_per_member", e.holdout_revenue_per_member}, {"retention", e.holdout_retention}}},
          {"policies", policies},
          {"ai_vs_rfm", {{"revenue", interval(e.ai_vs_rfm_revenue)}, {"retention", interval(e.ai_vs_rfm_retention)}}},
          {"ai_vs_random", {{"revenue", interval(e.ai_vs_random_revenue)}, {"retention", interval(e.ai_vs_random_retention)}}}};
}

}  // namespace loyalty::sim
