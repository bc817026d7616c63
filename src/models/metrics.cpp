#include "loyalty/models/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace loyalty::models {

namespace {

std::vector<size_t> ByScoreDescending(std::span<const double> scores) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t l, size_t r) { return scores[l] > scores[r]; });
  return order;
}

double Clip(double p) { return std::clamp(p, 1e-15, 1 - 1e-15); }

// NaN never equals itself, so tie runs would never end on it: a NaN score ranks lowest.
std::vector<double> Comparable(std::span<const double> scores) {
  std::vector<double> out(scores.begin(), scores.end());
  for (double& v : out) {
    if (std::isnan(v)) v = -std::numeric_limits<double>::infinity();
  }
  return out;
}

}  // namespace

double RocAuc(std::span<const double> raw_scores, std::span<const int> labels) {
  const auto scores = Comparable(raw_scores);
  // Mann-Whitney U with mid-ranks for ties.
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t l, size_t r) { return scores[l] < scores[r]; });
  double positive_rank_sum = 0;
  int64_t positives = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    const double mid_rank = (static_cast<double>(i + j - 1) / 2.0) + 1.0;
    for (size_t k = i; k < j; ++k) {
      if (labels[order[k]]) {
        positive_rank_sum += mid_rank;
        ++positives;
      }
    }
    i = j;
  }
  const int64_t negatives = static_cast<int64_t>(scores.size()) - positives;
  if (positives == 0 || negatives == 0) return 0.5;
  const double p = static_cast<double>(positives);
  return (positive_rank_sum - p * (p + 1) / 2) / (p * static_cast<double>(negatives));
}

double PrAuc(std::span<const double> raw_scores, std::span<const int> labels) {
  const auto scores = Comparable(raw_scores);
  const auto order = ByScoreDescending(scores);
  const double positives = static_cast<double>(std::count(labels.begin(), labels.end(), 1));
  if (positives == 0) return 0;
  double true_positives = 0, seen = 0, area = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    double new_positives = 0;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) new_positives += labels[order[j++]];
    seen += static_cast<double>(j - i);
    true_positives += new_positives;
    area += (new_positives / positives) * (true_positives / seen);
    i = j;
  }
  return area;
}

double LogLoss(std::span<const double> p, std::span<const int> labels) {
  double sum = 0;
  for (size_t i = 0; i < p.size(); ++i) sum -= labels[i] ? std::log(Clip(p[i])) : std::log(1 - Clip(p[i]));
  return p.empty() ? 0 : sum / static_cast<double>(p.size());
}

double BrierScore(std::span<const double> p, std::span<const int> labels) {
  double sum = 0;
  for (size_t i = 0; i < p.size(); ++i) sum += (p[i] - labels[i]) * (p[i] - labels[i]);
  return p.empty() ? 0 : sum / static_cast<double>(p.size());
}

double LiftTopDecile(std::span<const double> scores, std::span<const int> labels) {
  if (scores.empty()) return 0;
  const auto order = ByScoreDescending(scores);
  const size_t top = std::max<size_t>(1, order.size() / 10);
  double top_positives = 0;
  for (size_t i = 0; i < top; ++i) top_positives += labels[order[i]];
  const double overall = static_cast<double>(std::count(labels.begin(), labels.end(), 1)) /
                         static_cast<double>(labels.size());
  return overall == 0 ? 0 : (top_positives / static_cast<double>(top)) / overall;
}

std::vector<CalibrationBin> CalibrationCurve(std::span<const double> p, std::span<const int> labels, int bins) {
  std::vector<CalibrationBin> all(static_cast<size_t>(bins));
  for (size_t i = 0; i < p.size(); ++i) {
    const int b = std::clamp(static_cast<int>(p[i] * bins), 0, bins - 1);
    all[b].mean_predicted += p[i];
    all[b].observed_rate += labels[i];
    ++all[b].count;
  }
  std::vector<CalibrationBin> out;
  for (auto& bin : all) {
    if (bin.count == 0) continue;
    bin.mean_predicted /= static_cast<double>(bin.count);
    bin.observed_rate /= static_cast<double>(bin.count);
    out.push_back(bin);
  }
  return out;
}

BinaryMetrics Evaluate(std::span<const double> p, std::span<const int> labels) {
  BinaryMetrics m;
  m.rows = static_cast<int64_t>(p.size());
  m.roc_auc = RocAuc(p, labels);
  m.pr_auc = PrAuc(p, labels);
  m.log_loss = LogLoss(p, labels);
  m.brier = BrierScore(p, labels);
  m.lift_top_decile = LiftTopDecile(p, labels);
  m.positive_rate = p.empty() ? 0
                              : static_cast<double>(std::count(labels.begin(), labels.end(), 1)) /
                                    static_cast<double>(labels.size());
  return m;
}

core::Json ToJson(const BinaryMetrics& m) {
  return core::Json{{"roc_auc", m.roc_auc},     {"pr_auc", m.pr_auc},
                    {"log_loss", m.log_loss},   {"brier", m.brier},
                    {"lift_top_decile", m.lift_top_decile}, {"positive_rate", m.positive_rate},
                    {"rows", m.rows}};
}

core::Json ToJson(const std::vector<CalibrationBin>& curve) {
  core::Json out = core::Json::array();
  for (const auto& bin : curve) {
    out.push_back({{"mean_predicted", bin.mean_predicted}, {"observed_rate", bin.observed_rate}, {"count", bin.count}});
  }
  return out;
}

}  // namespace loyalty::models
