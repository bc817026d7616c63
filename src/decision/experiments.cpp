#include "loyalty/decision/experiments.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>

namespace loyalty::decision {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;

namespace {

constexpr std::array<std::string_view, 4> kStrategyNames = {"ai", "rules", "random", "control"};
constexpr double kZ95 = 1.959963984540054;

uint64_t Hash64(std::string_view salt, std::string_view member) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, 8);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(salt.data()), salt.size());
  const unsigned char separator = 0x1f;  // not an id character: "ab"+"c" differs from "a"+"bc"
  crypto_generichash_update(&state, &separator, 1);
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(member.data()), member.size());
  unsigned char out[8];
  crypto_generichash_final(&state, out, sizeof out);
  uint64_t value = 0;
  for (unsigned char byte : out) value = (value << 8) | byte;
  return value;
}

}  // namespace

uint32_t Bucket(std::string_view salt, std::string_view member) {
  return static_cast<uint32_t>(Hash64(salt, member) % kBuckets);
}

bool InShare(std::string_view salt, std::string_view member, double percent) {
  return static_cast<double>(Bucket(salt, member)) < percent * (kBuckets / 100.0);
}

std::string_view StrategyName(Strategy strategy) { return kStrategyNames[static_cast<size_t>(strategy)]; }

Result<Strategy> ParseStrategy(std::string_view name) {
  for (size_t i = 0; i < kStrategyNames.size(); ++i) {
    if (kStrategyNames[i] == name) return static_cast<Strategy>(i);
  }
  return Fail(ErrorCode::kInvalidArgument, "unknown strategy '" + std::string(name) + "'; one of ai, rules, random, control");
}

Result<Experiment> ParseExperiment(const Json& object) {
  if (!object.is_object()) return Fail(ErrorCode::kInvalidArgument, "an experiment must be a JSON object");
  LOYALTY_TRY(core::RejectUnknownFields(object, {"id", "name", "namespace", "traffic_percent", "arms"}));
  Experiment e;
  LOYALTY_ASSIGN_OR_RETURN(e.id, core::RequireString(object, "id"));
  if (e.id.empty() || e.id.size() > 64) return Fail(ErrorCode::kInvalidArgument, "field 'id' needs 1 to 64 characters");
  LOYALTY_ASSIGN_OR_RETURN(auto name, core::OptionalString(object, "name"));
  e.name = name.value_or(e.id);
  LOYALTY_ASSIGN_OR_RETURN(auto ns, core::OptionalString(object, "namespace"));
  e.ns = ns.value_or("default");
  if (e.ns.empty() || e.ns.size() > 64) return Fail(ErrorCode::kInvalidArgument, "field 'namespace' needs 1 to 64 characters");
  if (auto it = object.find("traffic_percent"); it != object.end()) {
    if (!it->is_number()) return Fail(ErrorCode::kInvalidArgument, "field 'traffic_percent' must be a number");
    e.traffic_percent = it->get<double>();
    if (!(e.traffic_percent > 0 && e.traffic_percent <= 100)) {
      return Fail(ErrorCode::kInvalidArgument, "field 'traffic_percent' must be above 0 and at most 100");
    }
  }
  LOYALTY_ASSIGN_OR_RETURN(const Json* arms, core::RequireArray(object, "arms"));
  if (arms->size() < 2 || arms->size() > 10) {
    return Fail(ErrorCode::kInvalidArgument, "field 'arms' needs 2 to 10 arms; the first is the control");
  }
  for (size_t i = 0; i < arms->size(); ++i) {
    const std::string path = "arms[" + std::to_string(i) + "]";
    const Json& a = (*arms)[i];
    if (!a.is_object()) return Fail(ErrorCode::kInvalidArgument, path + " must be an object");
    LOYALTY_TRY(core::RejectUnknownFields(a, {"name", "strategy", "weight"}, path));
    ExperimentArm arm;
    LOYALTY_ASSIGN_OR_RETURN(arm.name, core::RequireString(a, "name", path));
    if (arm.name.empty() || arm.name.size() > 64) return Fail(ErrorCode::kInvalidArgument, path + ".name needs 1 to 64 characters");
    LOYALTY_ASSIGN_OR_RETURN(auto strategy, core::RequireString(a, "strategy", path));
    auto parsed = ParseStrategy(strategy);
    if (!parsed) return core::Wrap(parsed.error(), path + ".strategy");
    arm.strategy = *parsed;
    LOYALTY_ASSIGN_OR_RETURN(auto weight, core::OptionalInt(a, "weight", path));
    arm.weight = static_cast<int>(weight.value_or(1));
    if (weight && (*weight < 1 || *weight > 1000)) return Fail(ErrorCode::kInvalidArgument, path + ".weight must be from 1 to 1000");
    for (const auto& other : e.arms) {
      if (other.name == arm.name) return Fail(ErrorCode::kInvalidArgument, path + ".name '" + arm.name + "' is used twice");
    }
    e.arms.push_back(std::move(arm));
  }
  return e;
}

Result<Experiment> PlaceExperiment(Experiment experiment, std::span<const Experiment> others) {
  const uint32_t width = static_cast<uint32_t>(std::lround(experiment.traffic_percent * (kBuckets / 100.0)));
  std::vector<std::pair<uint32_t, uint32_t>> taken;
  for (const auto& o : others) {
    if (o.running && o.ns == experiment.ns && o.id != experiment.id) taken.emplace_back(o.bucket_start, o.bucket_end);
  }
  std::sort(taken.begin(), taken.end());
  uint32_t start = 0;
  for (const auto& [s, e] : taken) {
    if (s >= start + width) break;
    start = std::max(start, e);
  }
  if (width == 0 || start + width > kBuckets) {
    return Fail(ErrorCode::kConflict, "namespace '" + experiment.ns + "' has no free " +
                                          std::to_string(experiment.traffic_percent) +
                                          "% of members: stop an experiment there or use another namespace");
  }
  experiment.bucket_start = start;
  experiment.bucket_end = start + width;
  return experiment;
}

std::optional<size_t> AssignArm(const Experiment& experiment, std::string_view member) {
  const uint32_t b = Bucket(experiment.ns, member);
  if (b < experiment.bucket_start || b >= experiment.bucket_end) return std::nullopt;
  int total = 0;
  for (const auto& arm : experiment.arms) total += arm.weight;
  if (total <= 0) return std::nullopt;
  const int pick = static_cast<int>(Hash64(experiment.id, member) % static_cast<uint64_t>(total));
  int cumulative = 0;
  for (size_t i = 0; i < experiment.arms.size(); ++i) {
    cumulative += experiment.arms[i].weight;
    if (pick < cumulative) return i;
  }
  return experiment.arms.size() - 1;
}

Json ToJson(const Experiment& e) {
  Json arms = Json::array();
  for (const auto& a : e.arms) arms.push_back({{"name", a.name}, {"strategy", StrategyName(a.strategy)}, {"weight", a.weight}});
  return {{"id", e.id},
          {"name", e.name},
          {"namespace", e.ns},
          {"traffic_percent", e.traffic_percent},
          {"buckets", {e.bucket_start, e.bucket_end}},
          {"arms", arms},
          {"status", e.running ? "running" : "stopped"}};
}

Comparison TwoProportionTest(int64_t cx, int64_t cn, int64_t tx, int64_t tn) {
  Comparison c;
  if (cn <= 0 || tn <= 0) return c;
  const double p1 = static_cast<double>(cx) / static_cast<double>(cn);
  const double p2 = static_cast<double>(tx) / static_cast<double>(tn);
  c.control = p1;
  c.treatment = p2;
  c.difference = p2 - p1;
  const double se = std::sqrt(p1 * (1 - p1) / static_cast<double>(cn) + p2 * (1 - p2) / static_cast<double>(tn));
  c.ci_low = c.difference - kZ95 * se;
  c.ci_high = c.difference + kZ95 * se;
  const double pooled = static_cast<double>(cx + tx) / static_cast<double>(cn + tn);
  const double se0 = std::sqrt(pooled * (1 - pooled) * (1.0 / static_cast<double>(cn) + 1.0 / static_cast<double>(tn)));
  if (se0 > 0) {
    const double z = std::abs(c.difference) / se0;
    c.p_value = 2 * boost::math::cdf(boost::math::complement(boost::math::normal_distribution<double>(), z));
  } else {
    c.p_value = c.difference == 0 ? 1.0 : 0.0;
  }
  return c;
}

namespace {

std::pair<double, double> MeanVariance(std::span<const double> x) {
  if (x.empty()) return {0, 0};
  double mean = 0;
  for (double v : x) mean += v;
  mean /= static_cast<double>(x.size());
  double ss = 0;
  for (double v : x) ss += (v - mean) * (v - mean);
  return {mean, x.size() > 1 ? ss / static_cast<double>(x.size() - 1) : 0};
}

}  // namespace

Comparison WelchTest(std::span<const double> control, std::span<const double> treatment) {
  Comparison c;
  if (control.size() < 2 || treatment.size() < 2) return c;
  const auto [m1, v1] = MeanVariance(control);
  const auto [m2, v2] = MeanVariance(treatment);
  const double a = v1 / static_cast<double>(control.size());
  const double b = v2 / static_cast<double>(treatment.size());
  c.control = m1;
  c.treatment = m2;
  c.difference = m2 - m1;
  const double se = std::sqrt(a + b);
  if (se <= 0) {
    c.ci_low = c.ci_high = c.difference;
    c.p_value = c.difference == 0 ? 1.0 : 0.0;
    return c;
  }
  const double df = (a + b) * (a + b) /
                    (a * a / static_cast<double>(control.size() - 1) + b * b / static_cast<double>(treatment.size() - 1));
  const boost::math::students_t_distribution<double> t(df);
  const double q = boost::math::quantile(boost::math::complement(t, 0.025));
  c.ci_low = c.difference - q * se;
  c.ci_high = c.difference + q * se;
  c.p_value = 2 * boost::math::cdf(boost::math::complement(t, std::abs(c.difference) / se));
  return c;
}

std::vector<double> CupedAdjust(std::span<const double> y, std::span<const double> x) {
  std::vector<double> out(y.begin(), y.end());
  if (y.size() != x.size() || y.size() < 2) return out;
  const auto [mx, vx] = MeanVariance(x);
  const auto [my, vy] = MeanVariance(y);
  (void)vy;
  if (vx <= 0) return out;
  double cov = 0;
  for (size_t i = 0; i < y.size(); ++i) cov += (y[i] - my) * (x[i] - mx);
  cov /= static_cast<double>(y.size() - 1);
  const double theta = cov / vx;
  for (size_t i = 0; i < y.size(); ++i) out[i] = y[i] - theta * (x[i] - mx);
  return out;
}

Json ToJson(const Comparison& c) {
  return {{"control", c.control}, {"treatment", c.treatment}, {"difference", c.difference},
          {"ci_low", c.ci_low},   {"ci_high", c.ci_high},     {"p_value", c.p_value}};
}

}  // namespace loyalty::decision
