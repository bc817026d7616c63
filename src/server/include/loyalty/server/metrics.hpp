#pragma once
// Process metrics in the Prometheus text exposition format: request counts and latency
// histograms per route, plus named counters the routes add to (events ingested, postings).
// Safe to update and render from any thread.

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string_view>
#include <tuple>
#include <string>

namespace loyalty::server {

class Metrics {
 public:
  // Records one request: its route pattern (not the raw path, so ids do not explode the
  // label set), method, status and duration.
  void ObserveRequest(const std::string& route, std::string_view method, int status, double seconds);

  // Adds to a counter, created on first use. `name` must be a valid Prometheus metric name.
  void AddCounter(const std::string& name, const std::string& help, int64_t value);

  // Sets a gauge.
  void SetGauge(const std::string& name, const std::string& help, int64_t value);

  std::string Render() const;

 private:
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  struct Histogram {
    std::array<int64_t, kBuckets.size()> buckets{};
    int64_t count = 0;
    double sum = 0;
  };
  struct Scalar {
    std::string help;
    int64_t value = 0;
  };

  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, int64_t> requests_;  // GUARDED_BY(mu_)
  std::map<std::pair<std::string, std::string>, Histogram> latency_;      // GUARDED_BY(mu_)
  std::map<std::string, Scalar> counters_;                                // GUARDED_BY(mu_)
  std::map<std::string, Scalar> gauges_;                                  // GUARDED_BY(mu_)
};

}  // namespace loyalty::server
