#pragma once
// Drift: the population stability index (PSI) of each feature, and of a score, between the
// training window and now. PSI = sum over bins of (now - then) * ln(now / then), with bins at
// the training deciles and missing values as a bin of their own. Rule of thumb: below 0.1
// stable, 0.1 to 0.25 a shift worth watching, above 0.25 a shift to act on.

#include <span>
#include <string>
#include <vector>

#include "loyalty/core/json.hpp"
#include "loyalty/models/dataset.hpp"

namespace loyalty::models {

struct Distribution {
  std::string name;
  std::vector<double> edges;   // upper bin edges (the last bin is open)
  std::vector<double> shares;  // per bin, then the missing share last
};

// Decile bins of each column (ties merged), with their shares.
std::vector<Distribution> Distributions(const Dataset& data);
Distribution DistributionOf(const std::string& name, std::span<const double> values);

double PopulationStability(const Distribution& then, std::span<const double> now);

struct DriftReport {
  struct Item {
    std::string name;
    double psi = 0;
    std::string level;  // "stable", "watch", "act"
  };
  std::vector<Item> items;  // largest PSI first
};
DriftReport CompareDistributions(const std::vector<Distribution>& then, const Dataset& now);

core::Json ToJson(const Distribution& d);
core::Result<Distribution> DistributionFromJson(const core::Json& j);
core::Json ToJson(const DriftReport& report);
std::string StabilityLevel(double psi);

}  // namespace loyalty::models
