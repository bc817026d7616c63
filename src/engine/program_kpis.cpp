#include "loyalty/engine/program_kpis.hpp"

#include <array>
#include <bit>
#include <cmath>
#include <unordered_map>

#include "loyalty/core/money.hpp"
#include "loyalty/decision/experiments.hpp"
#include "loyalty/features/member_state.hpp"

namespace loyalty::engine {

namespace {

using core::Json;
using core::Result;
using events::EventType;
using std::chrono::days;

constexpr int kRetentionMonths = 3;  // retention compares a quarter with the quarter before it
constexpr days kHoldoutLookback{90};  // decisions whose lift is measured: the last 90 days'

int MonthIndex(core::Timestamp t) {
  const std::chrono::year_month_day ymd{std::chrono::floor<days>(t)};
  return static_cast<int>(ymd.year()) * 12 + static_cast<int>(static_cast<unsigned>(ymd.month())) - 1;
}

std::string MonthName(int index) {
  char out[16];
  std::snprintf(out, sizeof out, "%04d-%02d", index / 12, index % 12 + 1);
  return out;
}

// A purchase's amount in minor units of `currency`: the sum of its lines; 0 in another
// currency or when no line parses.
int64_t PurchaseMinor(const Json& properties, const core::Currency& currency) {
  if (const auto code = properties.find("currency"); code != properties.end() && code->is_string() &&
                                                       code->get_ref<const std::string&>() != currency.code) {
    return 0;
  }
  const auto lines = properties.find("lines");
  if (lines == properties.end() || !lines->is_array()) return 0;
  int64_t total = 0;
  for (const auto& line : *lines) {
    const auto price = line.find("unit_price");
    const auto quantity = line.find("quantity");
    if (price == line.end() || !price->is_string() || quantity == line.end() || !quantity->is_number_integer()) continue;
    auto money = core::Money::Parse(price->get_ref<const std::string&>(), currency.code);
    if (!money) continue;
    auto amount = core::CheckedMultiply(money->minor_units(), quantity->get<int64_t>());
    if (amount && *amount > 0) total += *amount;
  }
  return total;
}

// The acts that count a member as engaged in a month: what the features call engagement
// (purchase, login, app open, product view, search, cart add, message) and the answers a member
// gives the program (e-mail click, offer response, redemption).
bool Engages(EventType type) {
  switch (type) {
    case EventType::kPurchase:
    case EventType::kLogin:
    case EventType::kAppOpen:
    case EventType::kProductView:
    case EventType::kSearch:
    case EventType::kCartAdd:
    case EventType::kEmailClick:
    case EventType::kMessage:
    case EventType::kOfferResponse:
    case EventType::kRedemption:
      return true;
    default:
      return false;
  }
}

Json Rate(int64_t part, int64_t whole) {
  return whole > 0 ? Json(static_cast<double>(part) / static_cast<double>(whole)) : Json(nullptr);
}

struct MonthTotals {
  int64_t buyers = 0;
  int64_t engaged = 0;
  int64_t redeemers = 0;
  int64_t revenue_minor = 0;
  int64_t offers_made = 0;
  int64_t offers_accepted = 0;
  int64_t retained = 0;        // bought in the quarter before this month's quarter and in this one
  int64_t retention_base = 0;  // bought in the quarter before
};

// One member's history, folded as their events pass by.
struct MemberYear {
  uint64_t bought = 0;  // bit i: a purchase in month base + i
  uint64_t engaged = 0;
  uint64_t redeemed = 0;
  core::Timestamp last_purchase = core::Timestamp::min();
  core::Timestamp last_engaged = core::Timestamp::min();
  core::Timestamp last_redeemed = core::Timestamp::min();
  bool bought_last_year = false;       // [now - 365 d, now)
  int64_t revenue_last_year = 0;
  bool bought_last_quarter = false;    // [now - 90 d, now)
  bool bought_quarter_before = false;  // [now - 180 d, now - 90 d)
  uint32_t consents = 0;               // bit i: features::ConsentPurposes()[i] granted, as of now
  std::array<int64_t, 32> consent_ms{};  // when each purpose last changed (0: never)

  // Folds in the history of a profile merged into the same member.
  void Absorb(const MemberYear& other) {
    bought |= other.bought;
    engaged |= other.engaged;
    redeemed |= other.redeemed;
    last_purchase = std::max(last_purchase, other.last_purchase);
    last_engaged = std::max(last_engaged, other.last_engaged);
    last_redeemed = std::max(last_redeemed, other.last_redeemed);
    bought_last_year |= other.bought_last_year;
    revenue_last_year += other.revenue_last_year;
    bought_last_quarter |= other.bought_last_quarter;
    bought_quarter_before |= other.bought_quarter_before;
    for (size_t i = 0; i < consent_ms.size(); ++i) {  // the later choice stands
      if (other.consent_ms[i] <= consent_ms[i]) continue;
      consent_ms[i] = other.consent_ms[i];
      consents = (consents & ~(1u << i)) | (other.consents & (1u << i));
    }
  }
};

}  // namespace

ProgramKpis::ProgramKpis(events::EventLog& events, decision::DecisionLog& decisions,
                         const identity::IdentityGraph& identity, const core::Clock& clock, core::Currency currency)
    : events_(events), decisions_(decisions), identity_(identity), clock_(clock), currency_(currency) {}

Result<std::string> ProgramKpis::Fingerprint(int months, core::Timestamp now) {
  LOYALTY_ASSIGN_OR_RETURN(const int64_t events, events_.Count());
  LOYALTY_ASSIGN_OR_RETURN(const int64_t decisions, decisions_.Count());
  LOYALTY_ASSIGN_OR_RETURN(const decision::ContactPolicy policy, decisions_.Policy());  // the attribution window
  const auto day = std::chrono::floor<days>(now).time_since_epoch().count();
  return std::to_string(months) + "/" + std::to_string(day) + "/" + std::to_string(events) + "/" +
         std::to_string(decisions) + "/" + std::to_string(policy.attribution_days);
}

Result<Json> ProgramKpis::Compute(int months) {
  if (months < 1 || months > kMaxKpiMonths) {
    return core::Fail(core::ErrorCode::kInvalidArgument, "months must be 1 to " + std::to_string(kMaxKpiMonths));
  }
  const core::Timestamp now = clock_.Now();
  LOYALTY_ASSIGN_OR_RETURN(const std::string fingerprint, Fingerprint(months, now));
  {
    std::lock_guard lock(mu_);
    if (fingerprint == cached_for_) {
      Json answer = cached_;
      answer["as_of"] = core::FormatTimestamp(now);
      return answer;
    }
  }
  LOYALTY_ASSIGN_OR_RETURN(Json answer, ComputeUncached(months, now));
  std::lock_guard lock(mu_);
  cached_for_ = fingerprint;
  cached_ = answer;
  return answer;
}

Result<Json> ProgramKpis::ComputeUncached(int months, core::Timestamp now) {
  const core::Currency& currency = currency_;
  const double unit = std::pow(10.0, currency.minor_digits);
  const int current = MonthIndex(now);
  const int first = current - months + 1;                       // the first month shown
  const int base = first - 2 * kRetentionMonths + 1;             // the first month retention looks at
  const auto bit = [&](int month) { return uint64_t{1} << (month - base); };
  const auto in_span = [&](int month) { return month >= base && month <= current; };

  // The decisions whose lift is measured: each member's first in the lookback window whose
  // attribution window has closed, so every member had the whole window to buy.
  LOYALTY_ASSIGN_OR_RETURN(const decision::ContactPolicy policy, decisions_.Policy());
  const days window{std::max(1, policy.attribution_days)};
  LOYALTY_ASSIGN_OR_RETURN(auto firsts, decisions_.FirstDecisions(now - kHoldoutLookback - window, now - window));
  std::unordered_map<std::string, size_t> decided;  // member -> index in firsts
  for (size_t i = 0; i < firsts.size(); ++i) decided.emplace(firsts[i].member, i);
  std::vector<double> lift_revenue(firsts.size(), 0.0);

  std::vector<MonthTotals> totals(static_cast<size_t>(months));
  int64_t members = 0, active_90 = 0, redeemed_and_active_90 = 0, engaged_30 = 0, offers_30 = 0, accepted_30 = 0;
  int64_t buyers_365 = 0, revenue_365 = 0, retained_qoq = 0, base_qoq = 0;
  int earliest_month = current + 1;
  const auto purposes = features::ConsentPurposes();
  std::vector<int64_t> consented(purposes.size(), 0);

  // Events come profile by profile. A profile merged into another, and the one it was merged
  // into, wait here until the end, folded into one member.
  std::unordered_map<std::string, MemberYear> merged;
  std::string member;    // the profile whose events are passing
  std::string resolved;  // the member it belongs to
  bool folds = false;    // the profile takes part in a merge
  const auto count_member = [&](const MemberYear& one) {
    ++members;
    for (int m = first; m <= current; ++m) {
      MonthTotals& t = totals[static_cast<size_t>(m - first)];
      t.buyers += (one.bought & bit(m)) != 0;
      t.engaged += (one.engaged & bit(m)) != 0;
      t.redeemers += (one.redeemed & bit(m)) != 0;
      // Retention at the end of month m: the three months up to m against the three before.
      uint64_t before = 0, during = 0;
      for (int k = 0; k < kRetentionMonths; ++k) {
        during |= bit(m - k);
        before |= bit(m - kRetentionMonths - k);
      }
      if (one.bought & before) {
        ++t.retention_base;
        t.retained += (one.bought & during) != 0;
      }
    }
    const bool active = one.last_purchase >= now - days(90);
    active_90 += active;
    redeemed_and_active_90 += active && one.last_redeemed >= now - days(90);
    engaged_30 += one.last_engaged >= now - days(30);
    buyers_365 += one.bought_last_year;
    revenue_365 += one.revenue_last_year;
    base_qoq += one.bought_quarter_before;
    retained_qoq += one.bought_quarter_before && one.bought_last_quarter;
    for (size_t i = 0; i < purposes.size(); ++i) consented[i] += (one.consents >> i) & 1u;
  };
  MemberYear year;
  const auto finish_member = [&] {
    if (member.empty()) return;
    if (folds) {
      merged[resolved].Absorb(year);
    } else {
      count_member(year);
    }
    year = MemberYear{};
  };

  LOYALTY_TRY(events_.ReplayAll(now, [&](const events::Event& e) {
    if (e.member.str() != member) {
      finish_member();
      member = e.member.str();
      resolved = identity_.Resolve(e.member).str();
      folds = resolved != member || !identity_.Absorbed(e.member).empty();
    }
    const int month = MonthIndex(e.at);
    earliest_month = std::min(earliest_month, month);
    const bool shown = month >= first && month <= current;
    MonthTotals* t = shown ? &totals[static_cast<size_t>(month - first)] : nullptr;
    if (Engages(e.type)) {
      if (in_span(month)) year.engaged |= bit(month);
      year.last_engaged = std::max(year.last_engaged, e.at);
    }
    switch (e.type) {
      case EventType::kPurchase: {
        const int64_t amount = PurchaseMinor(e.properties, currency);
        if (in_span(month)) year.bought |= bit(month);
        year.last_purchase = std::max(year.last_purchase, e.at);
        if (t) t->revenue_minor += amount;
        if (e.at >= now - days(365)) {
          year.bought_last_year = true;
          year.revenue_last_year += amount;
        }
        if (e.at >= now - days(90)) {
          year.bought_last_quarter = true;
        } else if (e.at >= now - days(180)) {
          year.bought_quarter_before = true;
        }
        if (auto it = decided.find(resolved); it != decided.end()) {
          const auto& d = firsts[it->second];
          if (e.at >= d.at && e.at < d.at + window) lift_revenue[it->second] += static_cast<double>(amount) / unit;
        }
        break;
      }
      case EventType::kRedemption:
        if (in_span(month)) year.redeemed |= bit(month);
        year.last_redeemed = std::max(year.last_redeemed, e.at);
        break;
      case EventType::kOfferImpression:
        if (t) ++t->offers_made;
        offers_30 += e.at >= now - days(30);
        break;
      case EventType::kOfferResponse: {
        const auto response = e.properties.find("response");
        const bool accepted = response != e.properties.end() && response->is_string() &&
                              response->get_ref<const std::string&>() == "accepted";
        if (t && accepted) ++t->offers_accepted;
        accepted_30 += accepted && e.at >= now - days(30);
        break;
      }
      case EventType::kConsentChanged: {
        // A member's events come in time order: the last change of a purpose stands.
        const auto purpose = e.properties.find("purpose");
        const auto granted = e.properties.find("granted");
        if (purpose == e.properties.end() || !purpose->is_string()) break;
        for (size_t i = 0; i < purposes.size(); ++i) {
          if (purposes[i] != purpose->get_ref<const std::string&>()) continue;
          const bool on = granted != e.properties.end() && granted->is_boolean() && granted->get<bool>();
          year.consents = on ? (year.consents | (1u << i)) : (year.consents & ~(1u << i));
          year.consent_ms[i] = core::ToUnixMillis(e.at);
        }
        break;
      }
      default:
        break;
    }
  }));
  finish_member();
  for (const auto& [id, folded] : merged) count_member(folded);

  Json series = Json::array();
  for (int m = first; m <= current; ++m) {
    const MonthTotals& t = totals[static_cast<size_t>(m - first)];
    const double revenue = static_cast<double>(t.revenue_minor) / unit;
    // Retention needs the whole quarter before this month's quarter in the log.
    const bool history = earliest_month <= m - 2 * kRetentionMonths + 1;
    series.push_back({{"month", MonthName(m)},
                      {"buyers", t.buyers},
                      {"engaged_members", t.engaged},
                      {"redeemers", t.redeemers},
                      {"revenue", revenue},
                      {"revenue_per_active_member", t.buyers ? Json(revenue / static_cast<double>(t.buyers)) : Json(nullptr)},
                      {"redemption_rate", Rate(t.redeemers, t.engaged)},
                      {"retention_rate", history ? Rate(t.retained, t.retention_base) : Json(nullptr)},
                      {"offers_made", t.offers_made},
                      {"offers_accepted", t.offers_accepted},
                      {"offer_response_rate", Rate(t.offers_accepted, t.offers_made)}});
  }

  std::vector<double> treated, held_out;
  for (size_t i = 0; i < firsts.size(); ++i) (firsts[i].holdout ? held_out : treated).push_back(lift_revenue[i]);
  const auto mean = [](const std::vector<double>& v) {
    if (v.empty()) return Json(nullptr);
    double sum = 0;
    for (double x : v) sum += x;
    return Json(sum / static_cast<double>(v.size()));
  };
  Json incremental = nullptr;
  if (treated.size() >= 2 && held_out.size() >= 2) {
    const auto test = decision::WelchTest(held_out, treated);
    incremental = {{"mean", test.difference}, {"ci_low", test.ci_low}, {"ci_high", test.ci_high}, {"p_value", test.p_value}};
  }

  Json consent = Json::object();
  for (size_t i = 0; i < purposes.size(); ++i) {
    consent[std::string(purposes[i])] = {{"members", consented[i]}, {"share", Rate(consented[i], members)}};
  }

  return Json{
      {"as_of", core::FormatTimestamp(now)},
      {"consent", std::move(consent)},
      {"currency", currency_.code},
      {"months", std::move(series)},
      {"current",
       {{"members", members},
        {"active_members", active_90},
        {"engagement_rate", Rate(engaged_30, members)},
        {"redemption_rate", Rate(redeemed_and_active_90, active_90)},
        {"offer_response_rate", Rate(accepted_30, offers_30)},
        {"revenue_per_member",
         buyers_365 ? Json(static_cast<double>(revenue_365) / unit / static_cast<double>(buyers_365)) : Json(nullptr)},
        {"retention_rate", earliest_month <= MonthIndex(now - days(180)) ? Rate(retained_qoq, base_qoq) : Json(nullptr)}}},
      {"holdout",
       {{"window_days", window.count()},
        {"treated_members", treated.size()},
        {"holdout_members", held_out.size()},
        {"revenue_per_treated", mean(treated)},
        {"revenue_per_holdout", mean(held_out)},
        {"incremental_revenue", incremental}}}};
}

}  // namespace loyalty::engine
