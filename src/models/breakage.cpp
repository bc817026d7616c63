#include "loyalty/models/breakage.hpp"

#include <algorithm>
#include <boost/math/special_functions/digamma.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <thread>
#include <utility>

#include "loyalty/core/random.hpp"
#include "maximise.hpp"

namespace loyalty::models {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kPointsPriorWeight = 2;  // purchases' worth of the population mean in a member's mean
constexpr int kMaxEventsAfterHorizon = 20000;  // per member and future, after the forecast horizon

struct Lot {
  double day;
  double points;
};

// Open lots, oldest first; points leave from the front.
class Lots {
 public:
  void Clear() {
    lots_.clear();
    head_ = 0;
    total_ = 0;
  }
  void Add(double day, double points) {
    lots_.push_back({day, points});
    total_ += points;
  }
  // Takes up to `points` from the oldest lots; returns what was taken.
  double Take(double points) {
    double taken = 0;
    while (taken < points && head_ < lots_.size()) {
      Lot& lot = lots_[head_];
      const double part = std::min(lot.points, points - taken);
      lot.points -= part;
      taken += part;
      if (lot.points <= 1e-9) ++head_;
    }
    total_ = std::max(0.0, total_ - taken);
    if (head_ == lots_.size()) Clear();
    return taken;
  }
  // Removes every open lot; returns their points.
  double TakeAll() {
    double points = 0;
    for (size_t i = head_; i < lots_.size(); ++i) points += lots_[i].points;
    Clear();
    return points;
  }
  // Removes and returns the oldest lot's points.
  double TakeOldest() {
    if (head_ >= lots_.size()) return 0;
    const double points = lots_[head_++].points;
    total_ = std::max(0.0, total_ - points);
    if (head_ == lots_.size()) Clear();
    return points;
  }
  bool empty() const { return head_ >= lots_.size(); }
  double oldest_day() const { return lots_[head_].day; }
  double total() const { return total_; }
  std::span<const Lot> open() const { return std::span(lots_).subspan(head_); }

 private:
  std::vector<Lot> lots_;
  size_t head_ = 0;
  double total_ = 0;
};

// A member as of the cutoff, replayed from the moves before it.
struct MemberAtCutoff {
  bool present = false;  // any move before the cutoff
  Lots lots;
  double last_activity = 0;
  // Purchases (earn moves) by distinct day, for BG/NBD.
  int64_t purchase_days = 0;
  double first_purchase = kInf;
  double last_purchase = -kInf;
  double first_move = kInf;
  double earned = 0;
  int64_t earns = 0;
  // Purchase occasions that left the member holding enough to redeem, and redemptions.
  int64_t occasions = 0;
  int64_t redemptions = 0;
};

// Applies one move; `min_redemption` decides which purchases were chances to redeem.
void ApplyMove(MemberAtCutoff& m, const PointsMove& move, double min_redemption, double* last_purchase_day) {
  if (!m.present) m.last_activity = move.day;  // a transfer or correction opens the history too
  m.present = true;
  m.first_move = std::min(m.first_move, move.day);
  const double points = static_cast<double>(move.points);
  if (points > 0) {
    m.lots.Add(move.day, points);
  } else if (points < 0) {
    m.lots.Take(-points);
  }
  switch (move.kind) {
    case PointsMoveKind::kEarn: {
      const double day = std::floor(move.day);
      if (day != *last_purchase_day) {
        ++m.purchase_days;
        *last_purchase_day = day;
      }
      m.first_purchase = std::min(m.first_purchase, day);
      m.last_purchase = std::max(m.last_purchase, day);
      m.earned += points;
      ++m.earns;
      if (m.lots.total() >= min_redemption) ++m.occasions;
      m.last_activity = move.day;
      break;
    }
    case PointsMoveKind::kRedeem:
      ++m.redemptions;
      m.last_activity = move.day;
      break;
    case PointsMoveKind::kBonus:
      m.last_activity = move.day;
      break;
    default:
      break;
  }
}

MemberAtCutoff Replay(const MemberPoints& member, double cutoff_day, double min_redemption) {
  MemberAtCutoff m;
  double last_purchase_day = -kInf;
  for (const auto& move : member.moves) {
    if (move.day >= cutoff_day) break;
    ApplyMove(m, move, min_redemption, &last_purchase_day);
  }
  m.occasions = std::max(m.occasions, m.redemptions);
  return m;
}

CustomerHistory HistoryOf(const MemberAtCutoff& m, double cutoff_day) {
  CustomerHistory h;
  if (m.purchase_days == 0) {
    h.age = std::max(0.0, cutoff_day - std::floor(m.first_move));
    return h;
  }
  h.frequency = m.purchase_days - 1;
  h.recency = m.last_purchase - m.first_purchase;
  h.age = std::max(h.recency, cutoff_day - m.first_purchase);
  return h;
}

double Quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double pos = q * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (pos - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

Band BandOf(const std::vector<double>& draws) {
  double sum = 0;
  for (double v : draws) sum += v;
  return {draws.empty() ? 0 : sum / static_cast<double>(draws.size()), Quantile(draws, 0.05), Quantile(draws, 0.95)};
}

// Beta-binomial log-likelihood of (k of n) rows over log(alpha), log(beta), with gradient.
double BetaBinomialLogLikelihood(const std::vector<double>& log_params,
                                 const std::map<std::pair<int64_t, int64_t>, double>& rows, double* grad) {
  const double a = std::exp(log_params[0]), b = std::exp(log_params[1]);
  using boost::math::digamma;
  using boost::math::lgamma;
  double ll = 0, ga = 0, gb = 0;
  const double lbeta_ab = lgamma(a) + lgamma(b) - lgamma(a + b);
  const double dab = digamma(a + b), da = digamma(a), db = digamma(b);
  for (const auto& [kn, weight] : rows) {
    const auto [k, n] = kn;
    const double kk = static_cast<double>(k), nn = static_cast<double>(n);
    ll += weight * (lgamma(kk + a) + lgamma(nn - kk + b) - lgamma(nn + a + b) - lbeta_ab);
    if (grad) {
      const double dnab = digamma(nn + a + b);
      ga += weight * (digamma(kk + a) - dnab - da + dab);
      gb += weight * (digamma(nn - kk + b) - dnab - db + dab);
    }
  }
  if (grad) {
    grad[0] = ga * a;  // d/d log(alpha)
    grad[1] = gb * b;
  }
  return ll;
}

// One member's futures, added into per-draw totals.
struct DrawTotals {
  explicit DrawTotals(int draws, int months)
      : liability(static_cast<size_t>(draws) * static_cast<size_t>(months), 0.0),
        issued(static_cast<size_t>(draws), 0.0),
        redeemed(static_cast<size_t>(draws), 0.0),
        expired(static_cast<size_t>(draws), 0.0),
        outstanding_redeemed(static_cast<size_t>(draws), 0.0),
        ultimately_redeemed(static_cast<size_t>(draws), 0.0) {}
  void Add(const DrawTotals& other) {
    auto add = [](std::vector<double>& to, const std::vector<double>& from) {
      for (size_t i = 0; i < to.size(); ++i) to[i] += from[i];
    };
    add(liability, other.liability);
    add(issued, other.issued);
    add(redeemed, other.redeemed);
    add(expired, other.expired);
    add(outstanding_redeemed, other.outstanding_redeemed);
    add(ultimately_redeemed, other.ultimately_redeemed);
  }
  std::vector<double> liability;  // [draw * months + month]
  std::vector<double> issued, redeemed, expired, outstanding_redeemed, ultimately_redeemed;
};

using core::BetaDraw;
using core::MixSeed;

void SimulateMember(const BreakageParams& params, const MemberAtCutoff& m, double cutoff_day, uint64_t seed,
                    const BreakageOptions& options, DrawTotals& totals) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const CustomerHistory h = HistoryOf(m, cutoff_day);
  const double x = static_cast<double>(h.frequency);
  const double p_alive = m.purchase_days == 0 ? 1.0 : ProbabilityAlive(params.purchases, x, h.recency, h.age);
  const BgNbdParams& bg = params.purchases;
  const double per_purchase = (m.earned + kPointsPriorWeight * params.points_per_purchase) /
                              (static_cast<double>(m.earns) + kPointsPriorWeight);
  const double outstanding = m.lots.total();
  const int months = options.horizon_months;
  const double horizon = months * kDaysPerMonth;
  const double end = options.ultimate_years * 365.25;
  const ExpiryRule& expiry = params.expiry;
  Lots lots;

  for (int d = 0; d < options.draws; ++d) {
    const auto draw = static_cast<size_t>(d);
    lots.Clear();
    for (const Lot& lot : m.lots.open()) lots.Add(lot.day - cutoff_day, lot.points);
    double last_activity = m.last_activity - cutoff_day;
    double old_left = outstanding;
    bool alive = unit(rng) < p_alive;
    // Posteriors given alive: rate ~ Gamma(r + x, alpha + T), dropout ~ Beta(a, b + x).
    const double rate = std::gamma_distribution<double>(bg.r + x, 1.0 / (bg.alpha + h.age))(rng);
    const double dropout = BetaDraw(rng, bg.a, bg.b + x);
    const double redeem_chance =
        params.redemptions_seen == 0
            ? 0.0
            : BetaDraw(rng, params.redeem_alpha + static_cast<double>(m.redemptions),
                       params.redeem_beta + static_cast<double>(m.occasions - m.redemptions));
    std::exponential_distribution<double> gap(std::max(rate, 1e-12));
    double next_purchase = alive ? gap(rng) : kInf;
    int month = 1;
    double next_month_end = kDaysPerMonth;
    int events_after = 0;

    auto consume_old = [&](double taken) {
      const double old = std::min(old_left, taken);
      old_left -= old;
      return old;
    };
    while (true) {
      double next_expiry = kInf;
      if (!lots.empty()) {
        if (expiry.mode == PointsExpiry::kAfterEarn) next_expiry = lots.oldest_day() + expiry.days;
        if (expiry.mode == PointsExpiry::kInactivity) next_expiry = last_activity + expiry.days;
      }
      const double boundary = month <= months ? next_month_end : kInf;
      const double t = std::min({next_purchase, next_expiry, boundary});
      if (t > end || t == kInf) break;
      // Past the horizon only the fate of today's points is still open: stop once none is
      // left, or nobody will redeem them, or (a bound on very frequent buyers) after
      // kMaxEventsAfterHorizon more events, counting what is left as never redeemed.
      if (month > months && (!alive || old_left <= 0 || redeem_chance <= 0 || ++events_after >= kMaxEventsAfterHorizon)) {
        break;
      }
      if (t == boundary) {
        totals.liability[draw * static_cast<size_t>(months) + static_cast<size_t>(month - 1)] += lots.total();
        ++month;
        next_month_end += kDaysPerMonth;
        continue;
      }
      if (t == next_expiry) {
        const double gone = expiry.mode == PointsExpiry::kAfterEarn ? lots.TakeOldest() : lots.TakeAll();
        consume_old(gone);
        if (t <= horizon) totals.expired[draw] += gone;
        continue;
      }
      // A purchase: points earned, perhaps a redemption, perhaps the member's last.
      lots.Add(t, per_purchase);
      last_activity = t;
      if (t <= horizon) totals.issued[draw] += per_purchase;
      if (lots.total() >= params.min_redemption && unit(rng) < redeem_chance) {
        const double amount = std::min(lots.total(), std::max(params.min_redemption, params.redeemed_share * lots.total()));
        const double taken = lots.Take(amount);
        const double old = consume_old(taken);
        totals.ultimately_redeemed[draw] += old;
        if (t <= horizon) {
          totals.redeemed[draw] += taken;
          totals.outstanding_redeemed[draw] += old;
        }
      }
      if (unit(rng) < dropout) {
        alive = false;
        next_purchase = kInf;
      } else {
        next_purchase = t + gap(rng);
      }
    }
    // Months past the last event keep the balance they ended with.
    for (; month <= months; ++month) {
      totals.liability[draw * static_cast<size_t>(months) + static_cast<size_t>(month - 1)] += lots.total();
    }
  }
}

}  // namespace

Result<BreakageFit> FitBreakage(std::span<const MemberPoints> members, double cutoff_day, const ExpiryRule& expiry,
                                const FitOptions& options) {
  if (expiry.mode != PointsExpiry::kNever && !(expiry.days > 0)) {
    return Fail(ErrorCode::kInvalidArgument, "an expiry rule needs a positive number of days");
  }
  // Pass 1: redemption sizes and the share of the balance each took.
  std::vector<double> sizes;
  double share_sum = 0;
  for (const auto& member : members) {
    double balance = 0;
    for (const auto& move : member.moves) {
      if (move.day >= cutoff_day) break;
      if (move.kind == PointsMoveKind::kRedeem && move.points < 0 && balance > 0) {
        sizes.push_back(static_cast<double>(-move.points));
        share_sum += std::min(1.0, static_cast<double>(-move.points) / balance);
      }
      balance = std::max(0.0, balance + static_cast<double>(move.points));
    }
  }
  BreakageFit fit;
  BreakageParams& params = fit.params;
  params.expiry = expiry;
  params.redemptions_seen = static_cast<int64_t>(sizes.size());
  if (!sizes.empty()) {
    params.min_redemption = Quantile(sizes, 0.05);
    params.redeemed_share = share_sum / static_cast<double>(sizes.size());
  }

  // Pass 2: each member at the cutoff.
  std::vector<CustomerHistory> histories;
  std::map<std::pair<int64_t, int64_t>, double> redemption_rows;  // (k, n) -> members
  double earned = 0;
  int64_t earns = 0;
  for (const auto& member : members) {
    const MemberAtCutoff m = Replay(member, cutoff_day, params.min_redemption);
    if (!m.present) continue;
    ++fit.members;
    earned += m.earned;
    earns += m.earns;
    if (m.purchase_days > 0) {
      CustomerHistory h = HistoryOf(m, cutoff_day);
      if (h.age > 0) histories.push_back(std::move(h));
    }
    if (m.occasions > 0) redemption_rows[{m.redemptions, m.occasions}] += 1;
  }
  if (histories.size() < 20) {
    return Fail(ErrorCode::kFailedPrecondition, "not enough history for a breakage model: " +
                                                    std::to_string(histories.size()) +
                                                    " members with purchases before the cutoff; it needs 20");
  }
  params.points_per_purchase = earns > 0 ? earned / static_cast<double>(earns) : 0;
  LOYALTY_ASSIGN_OR_RETURN(auto bg, FitBgNbd(histories, options));
  if (!bg.report.converged) {
    return Fail(ErrorCode::kFailedPrecondition, "the purchase model behind breakage did not converge: " + bg.report.status);
  }
  params.purchases = bg.params;
  fit.purchases_report = bg.report;

  if (params.redemptions_seen > 0) {
    double rows = 0;
    for (const auto& [kn, w] : redemption_rows) rows += w;
    auto optimum = internal::Maximise(
        [&](const std::vector<double>& v, double* grad) { return BetaBinomialLogLikelihood(v, redemption_rows, grad); },
        {0.0, 0.0}, rows, options.max_evaluations);
    fit.redemption_report = optimum.report;
    params.redeem_alpha = std::exp(optimum.log_params[0]);
    params.redeem_beta = std::exp(optimum.log_params[1]);
    if (!optimum.report.converged) {
      return Fail(ErrorCode::kFailedPrecondition,
                  "the redemption model behind breakage did not converge: " + optimum.report.status);
    }
  } else {
    fit.redemption_report.converged = true;
    fit.redemption_report.status = "no redemptions yet: every point is forecast to stay unredeemed";
  }
  return fit;
}

Result<BreakageForecast> ForecastBreakage(const BreakageParams& params, std::span<const MemberPoints> members,
                                          double cutoff_day, const BreakageOptions& options) {
  if (options.horizon_months < 1 || options.horizon_months > 120) {
    return Fail(ErrorCode::kInvalidArgument, "the breakage horizon must be 1 to 120 months");
  }
  if (options.draws < 20 || options.draws > 10000) {
    return Fail(ErrorCode::kInvalidArgument, "breakage needs 20 to 10000 simulated futures");
  }
  if (!(options.ultimate_years * 12 >= options.horizon_months) || options.ultimate_years > 100) {
    return Fail(ErrorCode::kInvalidArgument, "the ultimate horizon must cover the forecast horizon and be at most 100 years");
  }
  std::vector<MemberAtCutoff> state;
  state.reserve(members.size());
  BreakageForecast forecast;
  for (const auto& member : members) {
    MemberAtCutoff m = Replay(member, cutoff_day, params.min_redemption);
    if (!m.present) continue;
    forecast.outstanding += m.lots.total();
    state.push_back(std::move(m));
  }
  forecast.members = static_cast<int64_t>(state.size());

  const int threads = std::clamp(options.threads, 1, 16);
  std::vector<DrawTotals> partial(static_cast<size_t>(threads), DrawTotals(options.draws, options.horizon_months));
  auto work = [&](int part) {
    for (size_t i = static_cast<size_t>(part); i < state.size(); i += static_cast<size_t>(threads)) {
      SimulateMember(params, state[i], cutoff_day, MixSeed(options.seed ^ MixSeed(i)), options,
                     partial[static_cast<size_t>(part)]);
    }
  };
  std::vector<std::jthread> pool;
  for (int part = 1; part < threads; ++part) pool.emplace_back(work, part);
  work(0);
  pool.clear();
  DrawTotals totals(options.draws, options.horizon_months);
  for (const auto& p : partial) totals.Add(p);

  const auto draws = static_cast<size_t>(options.draws);
  const auto months = static_cast<size_t>(options.horizon_months);
  for (size_t month = 0; month < months; ++month) {
    std::vector<double> values(draws);
    for (size_t d = 0; d < draws; ++d) values[d] = totals.liability[d * months + month];
    forecast.liability.push_back(BandOf(values));
  }
  forecast.issued = BandOf(totals.issued);
  forecast.redeemed = BandOf(totals.redeemed);
  forecast.expired = BandOf(totals.expired);
  forecast.outstanding_redeemed = BandOf(totals.outstanding_redeemed);
  std::vector<double> shares(draws, 0.0);
  if (forecast.outstanding > 0) {
    for (size_t d = 0; d < draws; ++d) shares[d] = 1.0 - totals.ultimately_redeemed[d] / forecast.outstanding;
  }
  forecast.breakage_share = BandOf(shares);
  return forecast;
}

BreakageOutcome ObserveBreakage(std::span<const MemberPoints> members, double cutoff_day, double data_end_day,
                                int horizon_months) {
  BreakageOutcome out;
  const int complete = std::clamp(static_cast<int>(std::floor((data_end_day - cutoff_day) / kDaysPerMonth)), 0,
                                  horizon_months);
  const double end = cutoff_day + complete * kDaysPerMonth;
  out.liability.assign(static_cast<size_t>(complete), 0.0);
  for (const auto& member : members) {
    if (member.moves.empty() || member.moves.front().day >= cutoff_day) continue;
    ++out.members;
    double balance = 0;
    size_t i = 0;
    for (; i < member.moves.size() && member.moves[i].day < cutoff_day; ++i) {
      balance = std::max(0.0, balance + static_cast<double>(member.moves[i].points));
    }
    out.outstanding += balance;
    double old_left = balance;
    int month = 0;
    for (; i < member.moves.size() && member.moves[i].day < end; ++i) {
      const PointsMove& move = member.moves[i];
      while (month < complete && move.day >= cutoff_day + (month + 1) * kDaysPerMonth) {
        out.liability[static_cast<size_t>(month++)] += balance;
      }
      const double points = static_cast<double>(move.points);
      if (points < 0) {
        const double old = std::min(old_left, -points);
        old_left -= old;
        if (move.kind == PointsMoveKind::kRedeem) {
          out.redeemed -= points;
          out.outstanding_redeemed += old;
        }
        if (move.kind == PointsMoveKind::kExpire) out.expired -= points;
      } else if (move.kind == PointsMoveKind::kEarn) {
        out.issued += points;
      }
      balance = std::max(0.0, balance + points);
    }
    for (; month < complete; ++month) out.liability[static_cast<size_t>(month)] += balance;
  }
  return out;
}

std::vector<double> RunRateLiability(std::span<const MemberPoints> members, double cutoff_day, int horizon_months) {
  double balance = 0, last_year = 0;
  for (const auto& member : members) {
    for (const auto& move : member.moves) {
      if (move.day >= cutoff_day) break;
      balance += static_cast<double>(move.points);
      if (move.day >= cutoff_day - 365.25) last_year += static_cast<double>(move.points);
    }
  }
  std::vector<double> out;
  for (int month = 1; month <= horizon_months; ++month) out.push_back(std::max(0.0, balance + last_year * month / 12.0));
  return out;
}

namespace {

const char* ExpiryName(PointsExpiry mode) {
  switch (mode) {
    case PointsExpiry::kAfterEarn: return "after_earn";
    case PointsExpiry::kInactivity: return "inactivity";
    default: return "never";
  }
}

}  // namespace

Json ToJson(const BreakageParams& p) {
  return {{"purchases", {{"r", p.purchases.r}, {"alpha", p.purchases.alpha}, {"a", p.purchases.a}, {"b", p.purchases.b}}},
          {"redeem_alpha", p.redeem_alpha},
          {"redeem_beta", p.redeem_beta},
          {"min_redemption", p.min_redemption},
          {"redeemed_share", p.redeemed_share},
          {"points_per_purchase", p.points_per_purchase},
          {"expiry", {{"mode", ExpiryName(p.expiry.mode)}, {"days", p.expiry.days}}},
          {"redemptions_seen", p.redemptions_seen}};
}

Result<BreakageParams> BreakageParamsFromJson(const Json& j) {
  try {
    BreakageParams p;
    const Json& bg = j.at("purchases");
    p.purchases = {bg.at("r").get<double>(), bg.at("alpha").get<double>(), bg.at("a").get<double>(),
                   bg.at("b").get<double>()};
    p.redeem_alpha = j.at("redeem_alpha").get<double>();
    p.redeem_beta = j.at("redeem_beta").get<double>();
    p.min_redemption = j.at("min_redemption").get<double>();
    p.redeemed_share = j.at("redeemed_share").get<double>();
    p.points_per_purchase = j.at("points_per_purchase").get<double>();
    const std::string mode = j.at("expiry").at("mode").get<std::string>();
    p.expiry.mode = mode == "after_earn"   ? PointsExpiry::kAfterEarn
                    : mode == "inactivity" ? PointsExpiry::kInactivity
                                           : PointsExpiry::kNever;
    p.expiry.days = j.at("expiry").at("days").get<double>();
    p.redemptions_seen = j.at("redemptions_seen").get<int64_t>();
    for (double v : {p.purchases.r, p.purchases.alpha, p.purchases.a, p.purchases.b}) {
      if (!(v > 0)) return Fail(ErrorCode::kInternal, "the stored breakage model has a non-positive purchase parameter");
    }
    if (p.redemptions_seen > 0 && !(p.redeem_alpha > 0 && p.redeem_beta > 0)) {
      return Fail(ErrorCode::kInternal, "the stored breakage model has a non-positive redemption parameter");
    }
    return p;
  } catch (const Json::exception& e) {
    return Fail(ErrorCode::kInternal, std::string("the stored breakage model is unreadable: ") + e.what());
  }
}

Json ToJson(const Band& band) { return {{"mean", band.mean}, {"low", band.low}, {"high", band.high}}; }

Json ToJson(const BreakageForecast& f) {
  Json liability = Json::array();
  for (size_t m = 0; m < f.liability.size(); ++m) {
    Json band = ToJson(f.liability[m]);
    band["month"] = m + 1;
    liability.push_back(std::move(band));
  }
  return {{"members", f.members},
          {"outstanding_points", f.outstanding},
          {"breakage_share", ToJson(f.breakage_share)},
          {"liability_points", liability},
          {"issued_points", ToJson(f.issued)},
          {"redeemed_points", ToJson(f.redeemed)},
          {"expired_points", ToJson(f.expired)},
          {"outstanding_redeemed_points", ToJson(f.outstanding_redeemed)}};
}

}  // namespace loyalty::models
