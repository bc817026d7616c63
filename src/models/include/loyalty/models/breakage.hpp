#pragma once
// Points breakage: the share of the points members hold today that will never be redeemed,
// and the program's points liability month by month over the coming year.
//
// The model follows each member's own behaviour rather than one program-wide ratio:
//  - survival and purchase rate: BG/NBD fitted on the members' purchase days, so a member who
//    has gone quiet is likely gone and earns and redeems nothing more;
//  - redemption: at a purchase that leaves a member holding at least the usual smallest
//    redemption, the member redeems with a personal chance — a Beta prior fitted across
//    members (beta-binomial maximum likelihood), updated by their own record (empirical
//    Bayes) — taking the usual share of their balance; points are spent oldest first;
//  - expiry: the program's rule (after earning, or after inactivity).
// The future is then simulated many times per member from the posteriors of their purchase
// rate, dropout and redemption chances; the totals of each simulated future give the mean
// and a 90% band for every figure.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/models/clv.hpp"

namespace loyalty::models {

enum class PointsMoveKind { kEarn, kBonus, kRedeem, kExpire, kOther };

// One change of a member's balance, `day` in days from any origin shared by all members.
struct PointsMove {
  double day = 0;
  int64_t points = 0;  // signed
  PointsMoveKind kind = PointsMoveKind::kOther;
};

struct MemberPoints {
  std::string id;
  std::vector<PointsMove> moves;  // oldest first
};

enum class PointsExpiry { kNever, kAfterEarn, kInactivity };

struct ExpiryRule {
  PointsExpiry mode = PointsExpiry::kNever;
  double days = 0;  // after earning (kAfterEarn) or after the last activity (kInactivity)
};

struct BreakageParams {
  BgNbdParams purchases;           // on purchase days; time unit: days
  double redeem_alpha = 0;         // Beta prior of a member's chance to redeem at a purchase
  double redeem_beta = 0;          // made while holding at least `min_redemption` points
  double min_redemption = 0;       // points: the smallest redemption commonly made
  double redeemed_share = 0;       // mean share of the balance a redemption takes
  double points_per_purchase = 0;  // population mean, the prior of each member's own mean
  ExpiryRule expiry;
  int64_t redemptions_seen = 0;    // 0: nobody has redeemed, so nobody is forecast to
};

struct BreakageFit {
  BreakageParams params;
  FitReport purchases_report;
  FitReport redemption_report;
  int64_t members = 0;  // with points movements before the cutoff
};

// Fits on every move before `cutoff_day`. Fails when fewer than 20 members have purchases
// then, or when the purchase model does not converge.
[[nodiscard]] core::Result<BreakageFit> FitBreakage(std::span<const MemberPoints> members, double cutoff_day,
                                                    const ExpiryRule& expiry, const FitOptions& options = {});

// A figure with its 90% band (5th and 95th percentiles over the simulated futures).
struct Band {
  double mean = 0;
  double low = 0;
  double high = 0;
};

struct BreakageOptions {
  int horizon_months = 12;
  int draws = 200;             // simulated futures (each member is simulated this many times)
  double ultimate_years = 10;  // points still unredeemed then count as never redeemed
  uint64_t seed = 1;
  int threads = 2;
};

struct BreakageForecast {
  int64_t members = 0;
  double outstanding = 0;       // points held at the cutoff
  std::vector<Band> liability;  // points these members hold at the end of month 1..horizon
  Band issued;                  // earned on purchases over the horizon (bonuses are not forecast)
  Band redeemed;
  Band expired;
  Band outstanding_redeemed;    // of the points held at the cutoff: redeemed within the horizon
  Band breakage_share;          // of the points held at the cutoff: share never redeemed
};

// Forecasts for the members with moves before `cutoff_day`, from their moves up to then.
[[nodiscard]] core::Result<BreakageForecast> ForecastBreakage(const BreakageParams& params,
                                                              std::span<const MemberPoints> members,
                                                              double cutoff_day, const BreakageOptions& options = {});

// What did happen after the cutoff to the members with moves before it: the same figures,
// observed, for the months that ended by `data_end_day`.
struct BreakageOutcome {
  int64_t members = 0;
  double outstanding = 0;
  std::vector<double> liability;  // per complete month
  double issued = 0;              // earned on purchases within the complete months
  double redeemed = 0;
  double expired = 0;
  double outstanding_redeemed = 0;
};
[[nodiscard]] BreakageOutcome ObserveBreakage(std::span<const MemberPoints> members, double cutoff_day,
                                              double data_end_day, int horizon_months);

// The rule of thumb a model must beat: each month after the cutoff changes these members'
// balances by the monthly average of the year before it. Liability per month.
[[nodiscard]] std::vector<double> RunRateLiability(std::span<const MemberPoints> members, double cutoff_day,
                                                   int horizon_months);

inline constexpr double kDaysPerMonth = 365.25 / 12;

core::Json ToJson(const BreakageParams& params);
[[nodiscard]] core::Result<BreakageParams> BreakageParamsFromJson(const core::Json& json);
core::Json ToJson(const Band& band);
core::Json ToJson(const BreakageForecast& forecast);

}  // namespace loyalty::models
