#include "loyalty/server/metrics.hpp"

#include <sstream>
#include <tuple>

namespace loyalty::server {

namespace {
std::string Escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}
}  // namespace

void Metrics::ObserveRequest(const std::string& route, std::string_view method, int status, double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{route, std::string(method), status}];
  Histogram& h = latency_[{route, std::string(method)}];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::AddCounter(const std::string& name, const std::string& help, int64_t value) {
  std::lock_guard lock(mu_);
  Scalar& s = counters_[name];
  s.help = help;
  s.value += value;
}

void Metrics::SetGauge(const std::string& name, const std::string& help, int64_t value) {
  std::lock_guard lock(mu_);
  Scalar& s = gauges_[name];
  s.help = help;
  s.value = value;
}

std::string Metrics::Render() const {
  std::lock_guard lock(mu_);
  std::ostringstream out;
  out << "# HELP loyalty_http_requests_total HTTP requests by route, method and status.\n"
         "# TYPE loyalty_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    const auto& [route, method, status] = key;
    out << "loyalty_http_requests_total{route=\"" << Escape(route) << "\",method=\"" << method << "\",status=\""
        << status << "\"} " << count << "\n";
  }
  out << "# HELP loyalty_http_request_duration_seconds HTTP request latency by route and method.\n"
         "# TYPE loyalty_http_request_duration_seconds histogram\n";
  for (const auto& [key, h] : latency_) {
    const std::string labels = "route=\"" + Escape(key.first) + "\",method=\"" + key.second + "\"";
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      out << "loyalty_http_request_duration_seconds_bucket{" << labels << ",le=\"" << kBuckets[i] << "\"} "
          << h.buckets[i] << "\n";
    }
    out << "loyalty_http_request_duration_seconds_bucket{" << labels << ",le=\"+Inf\"} " << h.count << "\n";
    out << "loyalty_http_request_duration_seconds_sum{" << labels << "} " << h.sum << "\n";
    out << "loyalty_http_request_duration_seconds_count{" << labels << "} " << h.count << "\n";
  }
  for (const auto& [name, s] : counters_) {
    out << "# HELP " << name << " " << s.help << "\n# TYPE " << name << " counter\n" << name << " " << s.value << "\n";
  }
  for (const auto& [name, s] : gauges_) {
    out << "# HELP " << name << " " << s.help << "\n# TYPE " << name << " gauge\n" << name << " " << s.value << "\n";
  }
  return out.str();
}

}  // namespace loyalty::server
