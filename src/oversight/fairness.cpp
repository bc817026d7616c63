#include "loyalty/oversight/fairness.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace loyalty::oversight {

using core::Json;

namespace {

constexpr double kZ95 = 1.959963984540054;
constexpr double kInfinity = std::numeric_limits<double>::infinity();

// Infinite or undefined ends become null in JSON.
Json Number(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

// The reference group first, then the others by name.
template <typename T>
std::vector<const T*> ReferenceFirst(std::span<const T> groups, std::string_view reference) {
  std::vector<const T*> out;
  for (const auto& g : groups) out.push_back(&g);
  std::stable_sort(out.begin(), out.end(), [&](const T* a, const T* b) {
    const bool ra = a->group == reference, rb = b->group == reference;
    if (ra != rb) return ra;
    return a->group < b->group;
  });
  return out;
}

double Mean(std::span<const double> values) {
  return values.empty() ? 0.0 : std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

struct Counts {
  int64_t tp = 0, positives = 0, fp = 0, negatives = 0;
};

// The difference of two rates (group - reference) with Newcombe's interval built from their
// Wilson intervals: it stays honest at rates of 0 or 1 and in small groups, where the Wald
// interval collapses. The p value is the pooled z test's.
decision::Comparison RateDifference(int64_t ref_x, int64_t ref_n, int64_t x, int64_t n) {
  decision::Comparison c = decision::TwoProportionTest(ref_x, ref_n, x, n);
  if (ref_n <= 0 || n <= 0) return c;
  const Rate r = WilsonRate(ref_x, ref_n), g = WilsonRate(x, n);
  c.ci_low = c.difference - std::sqrt((g.value - g.ci_low) * (g.value - g.ci_low) + (r.ci_high - r.value) * (r.ci_high - r.value));
  c.ci_high = c.difference + std::sqrt((g.ci_high - g.value) * (g.ci_high - g.value) + (r.value - r.ci_low) * (r.value - r.ci_low));
  return c;
}

Counts CountAt(const GroupPredictions& g, double threshold) {
  Counts c;
  for (size_t i = 0; i < g.scores.size() && i < g.labels.size(); ++i) {
    const bool flagged = g.scores[i] >= threshold;
    if (g.labels[i] == 1) {
      ++c.positives;
      c.tp += flagged ? 1 : 0;
    } else {
      ++c.negatives;
      c.fp += flagged ? 1 : 0;
    }
  }
  return c;
}

}  // namespace

Rate WilsonRate(int64_t x, int64_t n) {
  Rate r;
  r.x = x;
  r.n = n;
  if (n <= 0) {
    r.ci_high = 1;
    return r;
  }
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(x) / nn;
  const double z2 = kZ95 * kZ95;
  const double denominator = 1 + z2 / nn;
  const double centre = (p + z2 / (2 * nn)) / denominator;
  const double half = kZ95 * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / denominator;
  r.value = p;
  r.ci_low = std::max(0.0, centre - half);
  r.ci_high = std::min(1.0, centre + half);
  return r;
}

RatioEstimate RateRatio(const Rate& group, const Rate& reference) {
  RatioEstimate out;
  if (reference.n <= 0 || group.n <= 0) return {std::nan(""), 0, kInfinity};
  out.value = reference.x == 0 ? (group.x == 0 ? std::nan("") : kInfinity) : group.value / reference.value;
  // A zero count: half a member added to each count and total for the interval (the point
  // estimate stays as observed), so a group that got nothing still has a finite interval.
  const double half = group.x == 0 || reference.x == 0 ? 0.5 : 0.0;
  const double x1 = static_cast<double>(group.x) + half, n1 = static_cast<double>(group.n) + half;
  const double x2 = static_cast<double>(reference.x) + half, n2 = static_cast<double>(reference.n) + half;
  const double log_ratio = std::log((x1 / n1) / (x2 / n2));
  const double se = std::sqrt(1.0 / x1 - 1.0 / n1 + 1.0 / x2 - 1.0 / n2);
  out.ci_low = std::exp(log_ratio - kZ95 * se);
  out.ci_high = std::exp(log_ratio + kZ95 * se);
  return out;
}

std::vector<ParityRow> DemographicParity(std::span<const GroupOutcomes> groups, std::string_view reference) {
  std::vector<ParityRow> rows;
  const GroupOutcomes* ref = nullptr;
  for (const auto& g : groups) {
    if (g.group == reference) ref = &g;
  }
  for (const GroupOutcomes* g : ReferenceFirst(groups, reference)) {
    if (g->value_granted.empty()) continue;
    ParityRow row;
    row.group = g->group;
    row.members = static_cast<int64_t>(g->value_granted.size());
    row.offered = WilsonRate(g->members_offered, row.members);
    row.value_per_member = Mean(g->value_granted);
    if (ref != nullptr && !ref->value_granted.empty()) {
      const Rate ref_offered = WilsonRate(ref->members_offered, static_cast<int64_t>(ref->value_granted.size()));
      row.offered_difference = RateDifference(ref_offered.x, ref_offered.n, row.offered.x, row.offered.n);
      row.offered_ratio = RateRatio(row.offered, ref_offered);
      row.value_difference = decision::WelchTest(ref->value_granted, g->value_granted);
      const double ref_value = Mean(ref->value_granted);
      row.value_ratio = ref_value > 0 ? row.value_per_member / ref_value : 0;
    } else {
      row.offered_ratio = {std::nan(""), 0, kInfinity};  // nothing to compare with
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<OddsRow> ErrorRates(std::span<const GroupPredictions> groups, std::string_view reference, double threshold,
                                const std::map<std::string, double>& per_group) {
  auto threshold_of = [&](const std::string& group) {
    const auto it = per_group.find(group);
    return it == per_group.end() ? threshold : it->second;
  };
  Counts ref_counts;
  for (const auto& g : groups) {
    if (g.group == reference) ref_counts = CountAt(g, threshold_of(g.group));
  }
  std::vector<OddsRow> rows;
  for (const GroupPredictions* g : ReferenceFirst(groups, reference)) {
    if (g->scores.empty()) continue;
    OddsRow row;
    row.group = g->group;
    row.threshold = threshold_of(g->group);
    const Counts c = CountAt(*g, row.threshold);
    row.flagged = WilsonRate(c.tp + c.fp, c.positives + c.negatives);
    row.flagged_difference = RateDifference(ref_counts.tp + ref_counts.fp, ref_counts.positives + ref_counts.negatives,
                                            c.tp + c.fp, c.positives + c.negatives);
    row.true_positive = WilsonRate(c.tp, c.positives);
    row.false_positive = WilsonRate(c.fp, c.negatives);
    row.tpr_difference = RateDifference(ref_counts.tp, ref_counts.positives, c.tp, c.positives);
    row.fpr_difference = RateDifference(ref_counts.fp, ref_counts.negatives, c.fp, c.negatives);
    row.equalized_odds_difference = std::max(std::abs(row.tpr_difference.difference), std::abs(row.fpr_difference.difference));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<double> ReweighingWeights(std::span<const std::string> groups, std::span<const int> labels) {
  const size_t n = std::min(groups.size(), labels.size());
  std::map<std::string, double> by_group;
  std::map<int, double> by_label;
  std::map<std::pair<std::string, int>, double> by_both;
  for (size_t i = 0; i < n; ++i) {
    by_group[groups[i]] += 1;
    by_label[labels[i]] += 1;
    by_both[{groups[i], labels[i]}] += 1;
  }
  std::vector<double> weights(n);
  for (size_t i = 0; i < n; ++i) {
    // P(g) P(y) / P(g, y) = n_g n_y / (N n_gy)
    weights[i] = by_group[groups[i]] * by_label[labels[i]] / (static_cast<double>(n) * by_both[{groups[i], labels[i]}]);
  }
  return weights;
}

std::map<std::string, double> EqualOpportunityThresholds(std::span<const GroupPredictions> groups,
                                                         std::string_view reference, double threshold) {
  std::map<std::string, double> out;
  double target = -1;
  for (const auto& g : groups) {
    if (g.group != reference) continue;
    const Counts c = CountAt(g, threshold);
    if (c.positives > 0) target = static_cast<double>(c.tp) / static_cast<double>(c.positives);
  }
  for (const auto& g : groups) {
    out[g.group] = threshold;
    if (g.group == reference || target < 0) continue;
    std::vector<double> positives;
    for (size_t i = 0; i < g.scores.size() && i < g.labels.size(); ++i) {
      if (g.labels[i] == 1) positives.push_back(g.scores[i]);
    }
    if (positives.empty()) continue;
    std::sort(positives.begin(), positives.end(), std::greater<>());
    // Flag the k highest-scored positives: k / P reaches the target.
    const auto k = static_cast<size_t>(std::ceil(target * static_cast<double>(positives.size()) - 1e-9));
    const double t = k == 0 ? std::nextafter(positives.front(), kInfinity) : positives[k - 1];
    out[g.group] = std::clamp(t, 1e-6, 1 - 1e-6);  // a threshold strictly between 0 and 1
  }
  return out;
}

Json ToJson(const Rate& rate) {
  return {{"x", rate.x}, {"n", rate.n}, {"value", rate.value}, {"ci_low", rate.ci_low}, {"ci_high", rate.ci_high}};
}

Json ToJson(const RatioEstimate& ratio) {
  return {{"value", Number(ratio.value)}, {"ci_low", Number(ratio.ci_low)}, {"ci_high", Number(ratio.ci_high)}};
}

Json ToJson(const ParityRow& row) {
  return {{"group", row.group},
          {"members", row.members},
          {"offered", ToJson(row.offered)},
          {"offered_difference", decision::ToJson(row.offered_difference)},
          {"offered_ratio", ToJson(row.offered_ratio)},
          {"value_per_member", row.value_per_member},
          {"value_difference", decision::ToJson(row.value_difference)},
          {"value_ratio", row.value_ratio}};
}

Json ToJson(const OddsRow& row) {
  return {{"group", row.group},
          {"threshold", row.threshold},
          {"flagged", ToJson(row.flagged)},
          {"flagged_difference", decision::ToJson(row.flagged_difference)},
          {"true_positive_rate", ToJson(row.true_positive)},
          {"false_positive_rate", ToJson(row.false_positive)},
          {"equal_opportunity_difference", decision::ToJson(row.tpr_difference)},
          {"false_positive_difference", decision::ToJson(row.fpr_difference)},
          {"equalized_odds_difference", row.equalized_odds_difference}};
}

}  // namespace loyalty::oversight
