#include "loyalty/models/drift.hpp"

#include <algorithm>
#include <cmath>

namespace loyalty::models {

using core::Json;

namespace {

constexpr double kFloor = 1e-4;  // an empty bin counts as this share, so the log stays finite

std::vector<double> Shares(const std::vector<double>& edges, std::span<const double> values) {
  std::vector<double> counts(edges.size() + 2, 0);  // bins, the open last bin, missing
  for (double v : values) {
    if (std::isnan(v)) {
      counts.back() += 1;
      continue;
    }
    const size_t bin = static_cast<size_t>(std::lower_bound(edges.begin(), edges.end(), v) - edges.begin());
    counts[bin] += 1;
  }
  const double n = values.empty() ? 1.0 : static_cast<double>(values.size());
  for (double& c : counts) c /= n;
  return counts;
}

}  // namespace

Distribution DistributionOf(const std::string& name, std::span<const double> values) {
  std::vector<double> present;
  for (double v : values) {
    if (!std::isnan(v)) present.push_back(v);
  }
  std::sort(present.begin(), present.end());
  Distribution d{name, {}, {}};
  for (int q = 1; q < 10 && !present.empty(); ++q) {
    const double edge = present[std::min(present.size() - 1, present.size() * static_cast<size_t>(q) / 10)];
    if (d.edges.empty() || edge > d.edges.back()) d.edges.push_back(edge);
  }
  d.shares = Shares(d.edges, values);
  return d;
}

std::vector<Distribution> Distributions(const Dataset& data) {
  std::vector<Distribution> out;
  std::vector<double> column(data.rows);
  for (size_t j = 0; j < data.cols(); ++j) {
    for (size_t r = 0; r < data.rows; ++r) column[r] = data.at(r, j);
    out.push_back(DistributionOf(data.feature_names[j], column));
  }
  return out;
}

double PopulationStability(const Distribution& then, std::span<const double> now) {
  const auto shares = Shares(then.edges, now);
  double psi = 0;
  for (size_t i = 0; i < shares.size() && i < then.shares.size(); ++i) {
    const double a = std::max(then.shares[i], kFloor), b = std::max(shares[i], kFloor);
    psi += (b - a) * std::log(b / a);
  }
  return psi;
}

std::string StabilityLevel(double psi) { return psi < 0.1 ? "stable" : (psi < 0.25 ? "watch" : "act"); }

DriftReport CompareDistributions(const std::vector<Distribution>& then, const Dataset& now) {
  DriftReport report;
  std::vector<double> column(now.rows);
  for (const auto& d : then) {
    const auto it = std::find(now.feature_names.begin(), now.feature_names.end(), d.name);
    if (it == now.feature_names.end()) continue;
    const size_t j = static_cast<size_t>(it - now.feature_names.begin());
    for (size_t r = 0; r < now.rows; ++r) column[r] = now.at(r, j);
    const double psi = PopulationStability(d, column);
    report.items.push_back({d.name, psi, StabilityLevel(psi)});
  }
  std::sort(report.items.begin(), report.items.end(), [](const auto& l, const auto& r) { return l.psi > r.psi; });
  return report;
}

Json ToJson(const Distribution& d) { return Json{{"name", d.name}, {"edges", d.edges}, {"shares", d.shares}}; }

core::Result<Distribution> DistributionFromJson(const Json& j) {
  try {
    Distribution d{j.at("name").get<std::string>(), j.at("edges").get<std::vector<double>>(),
                   j.at("shares").get<std::vector<double>>()};
    if (d.shares.size() != d.edges.size() + 2) {
      return core::Fail(core::ErrorCode::kInvalidArgument, "distribution '" + d.name + "' has mismatched bins");
    }
    return d;
  } catch (const std::exception& e) {
    return core::Fail(core::ErrorCode::kInvalidArgument, std::string("distribution: ") + e.what());
  }
}

Json ToJson(const DriftReport& report) {
  Json items = Json::array();
  for (const auto& i : report.items) items.push_back({{"name", i.name}, {"psi", i.psi}, {"level", i.level}});
  return items;
}

}  // namespace loyalty::models
