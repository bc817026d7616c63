#pragma once
// A synthetic loyalty program with known ground truth, for the demo, tests, benchmarks and
// what-if analysis. Members buy as in a BG/NBD world (a personal purchase rate, and after each
// purchase a personal chance of dropping out), spend as in a Gamma-Gamma world, prefer some
// categories and channels, give or refuse consent, respond to offers differently (so targeting
// matters), redeem points with a personal propensity (so some points are never redeemed),
// belong to a protected group whose members historically saw fewer offers (a
// configurable bias), and now and then open service tickets and write reviews.
//
// Deterministic for a seed: each member draws from its own generator seeded from (seed,
// member index), so output does not depend on threads or order. Memory is per member, not
// per program: a million members stream through without being held.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/error.hpp"

namespace loyalty::sim {

struct SimConfig {
  int64_t members = 1000;
  int days = 365;
  uint64_t seed = 42;
  core::Timestamp start = *core::ParseTimestamp("2025-01-01");
  // BG/NBD population: purchase rate ~ Gamma(r, 1/alpha) per day; dropout ~ Beta(a, b).
  double r = 0.8;
  double alpha = 25.0;
  double a = 0.8;
  double b = 4.0;
  // Gamma-Gamma spend: per-member mean ~ Gamma(q, gamma), order value ~ Gamma(p, mean / p).
  double p = 6.0;
  double q = 4.0;
  double gamma = 12.0;
  // Fraction of members in the protected group, and how much less often they were shown
  // offers historically (0: not at all, 0.5: half as often).
  double protected_share = 0.3;
  double historical_bias = 0.4;
  // Each offer a member accepts cuts their chance of leaving after a purchase by this share,
  // so a group shown fewer offers also leaves more often: the outcome itself is biased, as
  // in a program whose past treatment differed by group. 0 (the default) leaves every draw as
  // it was.
  double offer_retention = 0.0;
  // Redemptions: members hold about one point per whole currency unit spent (the default
  // program) and, at a purchase that leaves them at least `redeem_block` points, redeem whole
  // blocks with a personal propensity ~ Beta(redeem_a, redeem_b). Some never do: breakage.
  int64_t redeem_block = 250;
  double redeem_a = 0.6;
  double redeem_b = 1.0;
  // Messages (app chat, e-mail replies) after a purchase with this chance. Their tone reads a
  // member's hidden contentment: members likelier to drop out write negatively more often, and
  // one leaving after this purchase complains first with `farewell_rate`. So what members
  // write tells a churn model what their purchases do not show yet.
  double message_rate = 0.12;
  double farewell_rate = 0.5;
};

struct SimCounts {
  int64_t members = 0;
  int64_t events = 0;
  int64_t purchases = 0;
  int64_t redemptions = 0;
};

// Writes DIR/members.csv (member_id,email,joined_at,segment_hint), DIR/events.ndjson (the
// events `loyalty import events` reads, each member's in time order) and
// DIR/ground_truth.csv (the hidden parameters and outcomes). `progress` is called now and
// then with the members done.
[[nodiscard]] core::Result<SimCounts> Simulate(const SimConfig& config, const std::filesystem::path& dir,
                                               const std::function<void(int64_t)>& progress = {});

// Checks ranges (members >= 1, days 1..3650, positive shape parameters, shares in [0, 1]).
[[nodiscard]] core::Status ValidateSimConfig(const SimConfig& config);

}  // namespace loyalty::sim
