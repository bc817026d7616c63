#pragma once
// Micro-segments: mini-batch k-means (Sculley 2010) over standardised behaviour features,
// with k from a handful to thousands, and a readable description of each segment: the
// features on which its centre stands furthest from the population.
//
// Features are compressed with sign(x) * log(1 + |x|) before standardising, so a few very
// large spenders do not own the distance; a missing value sits at the population mean.

#include <functional>
#include <string>
#include <vector>

#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/models/dataset.hpp"

namespace loyalty::models {

struct SegmentOptions {
  int k = 12;
  int batch_size = 1024;
  int iterations = 200;
  int restarts = 3;  // keep the best of this many seedings
  uint64_t seed = 1;
};

struct Segment {
  int id = 0;
  int64_t members = 0;
  std::vector<double> center;      // in the original units, per feature
  std::vector<double> center_z;    // standardised, per feature
  std::string description;         // "no purchase in 180 days; 0 visits in the last 30 days (both high)"
};

// How a feature's value reads in words ("no purchase in 41 days"); default "name = value".
using FeatureWords = std::function<std::string(const std::string& feature, double value)>;

class SegmentModel {
 public:
  [[nodiscard]] static core::Result<SegmentModel> Train(const Dataset& data, const SegmentOptions& options,
                                                        const FeatureWords& words = {});

  // The nearest segment per row.
  [[nodiscard]] core::Result<std::vector<int>> Assign(const Dataset& rows) const;
  const std::vector<Segment>& segments() const { return segments_; }
  const std::vector<std::string>& feature_names() const { return names_; }
  double inertia() const { return inertia_; }  // mean squared distance to the nearest centre

  core::Json ToJson() const;
  [[nodiscard]] static core::Result<SegmentModel> FromJson(const core::Json& json);

 private:
  SegmentModel() = default;
  void Standardise(const float* row, std::vector<double>& out) const;
  int Nearest(const std::vector<double>& z, double* distance) const;

  std::vector<std::string> names_;
  std::vector<double> mean_, scale_;  // of the compressed features
  std::vector<std::vector<double>> centers_;  // standardised
  std::vector<Segment> segments_;
  double inertia_ = 0;
};

}  // namespace loyalty::models
