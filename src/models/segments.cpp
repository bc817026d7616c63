#include "loyalty/models/segments.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>

namespace loyalty::models {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;

namespace {

double Compress(double v) { return std::copysign(std::log1p(std::abs(v)), v); }
double Expand(double c) { return std::copysign(std::expm1(std::abs(c)), c); }

double SquaredDistance(const std::vector<double>& a, const std::vector<double>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d += (a[i] - b[i]) * (a[i] - b[i]);
  return d;
}

std::string Describe(const Segment& s, const std::vector<std::string>& names, const FeatureWords& words) {
  std::vector<size_t> order(names.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t l, size_t r) { return std::abs(s.center_z[l]) > std::abs(s.center_z[r]); });
  std::ostringstream out;
  int shown = 0;
  for (size_t i : order) {
    if (shown == 3 || std::abs(s.center_z[i]) < 0.5) break;
    if (shown++ > 0) out << "; ";
    out << (words ? words(names[i], s.center[i]) : names[i] + " = " + std::to_string(s.center[i]))
        << (s.center_z[i] > 0 ? " (high)" : " (low)");
  }
  if (shown == 0) out << "close to the typical member";
  return out.str();
}

}  // namespace

void SegmentModel::Standardise(const float* row, std::vector<double>& out) const {
  out.resize(names_.size());
  for (size_t j = 0; j < names_.size(); ++j) {
    const double v = row[j];
    out[j] = std::isfinite(v) ? (Compress(v) - mean_[j]) / scale_[j] : 0.0;  // missing sits at the mean
  }
}

int SegmentModel::Nearest(const std::vector<double>& z, double* distance) const {
  int best = 0;
  double best_d = std::numeric_limits<double>::max();
  for (size_t c = 0; c < centers_.size(); ++c) {
    const double d = SquaredDistance(z, centers_[c]);
    if (d < best_d) {
      best_d = d;
      best = static_cast<int>(c);
    }
  }
  if (distance) *distance = best_d;
  return best;
}

Result<SegmentModel> SegmentModel::Train(const Dataset& data, const SegmentOptions& o, const FeatureWords& words) {
  if (o.k < 2 || o.k > 10000) return Fail(ErrorCode::kInvalidArgument, "the number of segments must be 2 to 10000");
  if (data.rows < static_cast<size_t>(o.k)) {
    return Fail(ErrorCode::kFailedPrecondition, "segmenting into " + std::to_string(o.k) + " needs at least as many members (have " +
                                                    std::to_string(data.rows) + ")");
  }
  if (o.batch_size < 1 || o.iterations < 1) return Fail(ErrorCode::kInvalidArgument, "batch size and iterations must be positive");
  SegmentModel m;
  m.names_ = data.feature_names;
  const size_t d = data.cols();
  m.mean_.assign(d, 0);
  m.scale_.assign(d, 1);
  for (size_t j = 0; j < d; ++j) {
    double sum = 0, sum2 = 0;
    int64_t n = 0;
    for (size_t r = 0; r < data.rows; ++r) {
      const double v = data.at(r, j);
      if (!std::isfinite(v)) continue;
      const double c = Compress(v);
      sum += c;
      sum2 += c * c;
      ++n;
    }
    if (n > 0) {
      m.mean_[j] = sum / static_cast<double>(n);
      const double var = sum2 / static_cast<double>(n) - m.mean_[j] * m.mean_[j];
      m.scale_[j] = var > 1e-12 ? std::sqrt(var) : 1.0;
    }
  }
  std::vector<std::vector<double>> z(data.rows);
  for (size_t r = 0; r < data.rows; ++r) m.Standardise(&data.values[r * d], z[r]);

  // k-means++ seeding on a sample, then mini-batch updates; several restarts, keeping the
  // one with the lowest inertia on the sample (one unlucky seeding can split a true group).
  std::mt19937_64 rng(o.seed);
  const size_t sample = std::min<size_t>(data.rows, std::max<size_t>(20000, static_cast<size_t>(o.k) * 20));
  std::vector<size_t> pool(data.rows);
  std::iota(pool.begin(), pool.end(), 0);
  std::shuffle(pool.begin(), pool.end(), rng);
  pool.resize(sample);
  double best_inertia = std::numeric_limits<double>::max();
  std::vector<std::vector<double>> best_centers;
  for (int restart = 0; restart < std::max(1, o.restarts); ++restart) {
    m.centers_.clear();
    m.centers_.push_back(z[pool[std::uniform_int_distribution<size_t>(0, sample - 1)(rng)]]);
    std::vector<double> nearest(sample, std::numeric_limits<double>::max());
    while (m.centers_.size() < static_cast<size_t>(o.k)) {
      double total = 0;
      for (size_t i = 0; i < sample; ++i) {
        nearest[i] = std::min(nearest[i], SquaredDistance(z[pool[i]], m.centers_.back()));
        total += nearest[i];
      }
      if (!(total > 0)) break;  // fewer distinct points than k
      double pick = std::uniform_real_distribution<double>(0, total)(rng);
      size_t chosen = sample - 1;
      for (size_t i = 0; i < sample; ++i) {
        pick -= nearest[i];
        if (pick <= 0) {
          chosen = i;
          break;
        }
      }
      m.centers_.push_back(z[pool[chosen]]);
    }
    // Each centre moves toward its batch members at a rate of 1 / (members it has seen),
    // so it settles as evidence accumulates.
    std::vector<int64_t> seen(m.centers_.size(), 0);
    std::uniform_int_distribution<size_t> pick_row(0, data.rows - 1);
    std::vector<size_t> batch(static_cast<size_t>(o.batch_size));
    std::vector<int> assigned(batch.size());
    for (int it = 0; it < o.iterations; ++it) {
      for (size_t b = 0; b < batch.size(); ++b) {
        batch[b] = pick_row(rng);
        assigned[b] = m.Nearest(z[batch[b]], nullptr);
      }
      for (size_t b = 0; b < batch.size(); ++b) {
        auto& center = m.centers_[assigned[b]];
        const double rate = 1.0 / static_cast<double>(++seen[assigned[b]]);
        const auto& point = z[batch[b]];
        for (size_t j = 0; j < d; ++j) center[j] += rate * (point[j] - center[j]);
      }
    }
    double inertia = 0;
    for (size_t i : pool) {
      double dist = 0;
      m.Nearest(z[i], &dist);
      inertia += dist;
    }
    if (best_centers.empty() || inertia < best_inertia) {
      best_inertia = inertia;
      best_centers = m.centers_;
    }
  }
  m.centers_ = std::move(best_centers);

  // Final assignment: sizes, inertia, centres in original units, descriptions.
  m.segments_.resize(m.centers_.size());
  double inertia = 0;
  for (size_t r = 0; r < data.rows; ++r) {
    double dist = 0;
    ++m.segments_[m.Nearest(z[r], &dist)].members;
    inertia += dist;
  }
  m.inertia_ = inertia / static_cast<double>(data.rows);
  for (size_t c = 0; c < m.centers_.size(); ++c) {
    Segment& s = m.segments_[c];
    s.id = static_cast<int>(c);
    s.center_z = m.centers_[c];
    s.center.resize(d);
    for (size_t j = 0; j < d; ++j) s.center[j] = Expand(m.mean_[j] + m.scale_[j] * s.center_z[j]);
    s.description = Describe(s, m.names_, words);
  }
  return m;
}

Result<std::vector<int>> SegmentModel::Assign(const Dataset& rows) const {
  if (rows.cols() != names_.size()) {
    return Fail(ErrorCode::kInvalidArgument, "the segments expect " + std::to_string(names_.size()) + " features, got " +
                                                 std::to_string(rows.cols()));
  }
  std::vector<int> out(rows.rows);
  std::vector<double> z;
  for (size_t r = 0; r < rows.rows; ++r) {
    Standardise(&rows.values[r * rows.cols()], z);
    out[r] = Nearest(z, nullptr);
  }
  return out;
}

Json SegmentModel::ToJson() const {
  Json segments = Json::array();
  for (const auto& s : segments_) {
    segments.push_back({{"id", s.id}, {"members", s.members}, {"center", s.center}, {"center_z", s.center_z},
                        {"description", s.description}});
  }
  return Json{{"features", names_}, {"mean", mean_}, {"scale", scale_}, {"segments", segments}, {"inertia", inertia_}};
}

Result<SegmentModel> SegmentModel::FromJson(const Json& j) {
  try {
    SegmentModel m;
    m.names_ = j.at("features").get<std::vector<std::string>>();
    m.mean_ = j.at("mean").get<std::vector<double>>();
    m.scale_ = j.at("scale").get<std::vector<double>>();
    m.inertia_ = j.at("inertia").get<double>();
    for (const auto& s : j.at("segments")) {
      Segment seg{s.at("id").get<int>(), s.at("members").get<int64_t>(), s.at("center").get<std::vector<double>>(),
                  s.at("center_z").get<std::vector<double>>(), s.at("description").get<std::string>()};
      if (seg.center_z.size() != m.names_.size()) return Fail(ErrorCode::kInvalidArgument, "segment centres do not match the features");
      m.centers_.push_back(seg.center_z);
      m.segments_.push_back(std::move(seg));
    }
    if (m.mean_.size() != m.names_.size() || m.scale_.size() != m.names_.size() || m.segments_.empty()) {
      return Fail(ErrorCode::kInvalidArgument, "stored segments are incomplete");
    }
    return m;
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInvalidArgument, std::string("stored segments: ") + e.what());
  }
}

}  // namespace loyalty::models
