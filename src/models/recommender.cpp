#include "loyalty/models/recommender.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>
#include <thread>

namespace loyalty::models {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;

namespace {

using Factors = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;

// Compressed rows: for each row, its (column, confidence - 1) pairs.
struct Sparse {
  std::vector<size_t> start;
  std::vector<uint32_t> column;
  std::vector<float> extra;  // c - 1 = alpha * weight
};

Sparse Rows(std::span<const Interaction> interactions, uint32_t rows, bool by_user, double alpha) {
  std::vector<std::pair<uint64_t, float>> keyed;
  keyed.reserve(interactions.size());
  for (const auto& i : interactions) {
    const uint64_t row = by_user ? i.user : i.item, col = by_user ? i.item : i.user;
    keyed.push_back({(row << 32) | col, i.weight});
  }
  std::sort(keyed.begin(), keyed.end(), [](const auto& l, const auto& r) { return l.first < r.first; });
  Sparse s;
  s.start.assign(rows + 1, 0);
  for (size_t k = 0; k < keyed.size();) {
    size_t e = k;
    float weight = 0;
    while (e < keyed.size() && keyed[e].first == keyed[k].first) weight += keyed[e++].second;
    const auto row = static_cast<uint32_t>(keyed[k].first >> 32);
    s.column.push_back(static_cast<uint32_t>(keyed[k].first & 0xffffffffu));
    s.extra.push_back(static_cast<float>(alpha * weight));
    ++s.start[row + 1];
    k = e;
  }
  for (uint32_t r = 0; r < rows; ++r) s.start[r + 1] += s.start[r];
  return s;
}

// Solves (Y^T Y + Y^T (C - I) Y + lambda I) x = Y^T C p for one row by a few CG steps from
// the current x (Takács et al. 2011): no f x f matrix per row.
void UpdateRow(const Factors& other, const Eigen::MatrixXd& gram, const Sparse& s, uint32_t row, double lambda,
               int steps, float* x_out) {
  const int f = static_cast<int>(other.cols());
  Eigen::Map<Eigen::VectorXf> x_f(x_out, f);
  Vector x = x_f.cast<double>();
  auto multiply = [&](const Vector& v) {
    Vector out = gram * v + lambda * v;
    for (size_t k = s.start[row]; k < s.start[row + 1]; ++k) {
      const auto y = other.row(s.column[k]).cast<double>();
      out += (s.extra[k] * y.dot(v)) * y.transpose();
    }
    return out;
  };
  Vector b = Vector::Zero(f);
  for (size_t k = s.start[row]; k < s.start[row + 1]; ++k) {
    b += (1.0 + s.extra[k]) * other.row(s.column[k]).cast<double>().transpose();
  }
  Vector r = b - multiply(x);
  Vector p = r;
  double rs = r.squaredNorm();
  for (int it = 0; it < steps && rs > 1e-20; ++it) {
    const Vector ap = multiply(p);
    const double step = rs / p.dot(ap);
    x += step * p;
    r -= step * ap;
    const double rs_new = r.squaredNorm();
    p = r + (rs_new / rs) * p;
    rs = rs_new;
  }
  x_f = x.cast<float>();
}

void Sweep(Factors& solve, const Factors& fixed, const Sparse& s, double lambda, int steps, int threads) {
  const Eigen::MatrixXd gram = (fixed.transpose() * fixed).cast<double>();
  const auto rows = static_cast<uint32_t>(solve.rows());
  auto work = [&](uint32_t begin, uint32_t end) {
    for (uint32_t r = begin; r < end; ++r) UpdateRow(fixed, gram, s, r, lambda, steps, solve.row(r).data());
  };
  const int n = std::max(1, threads);
  std::vector<std::thread> pool;
  for (int t = 1; t < n; ++t) pool.emplace_back(work, rows * t / n, rows * (t + 1) / n);
  work(0, rows / n);
  for (auto& t : pool) t.join();
}

std::vector<Scored> TopN(std::vector<Scored> all, size_t n) {
  n = std::min(n, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
                    [](const Scored& l, const Scored& r) { return l.score > r.score || (l.score == r.score && l.item < r.item); });
  all.resize(n);
  return all;
}

}  // namespace

Result<ImplicitAls> ImplicitAls::Train(std::span<const Interaction> interactions, uint32_t users, uint32_t items,
                                       const AlsOptions& o) {
  if (o.factors < 1 || o.factors > 512) return Fail(ErrorCode::kInvalidArgument, "factors must be 1 to 512");
  if (o.iterations < 1 || o.cg_steps < 1 || !(o.regularization >= 0) || !(o.alpha > 0)) {
    return Fail(ErrorCode::kInvalidArgument, "iterations and CG steps must be positive, alpha above 0");
  }
  if (users == 0 || items == 0 || interactions.empty()) {
    return Fail(ErrorCode::kFailedPrecondition, "recommendations need purchases or views to learn from");
  }
  for (const auto& i : interactions) {
    if (i.user >= users || i.item >= items || !(i.weight > 0)) {
      return Fail(ErrorCode::kInvalidArgument, "an interaction names a user or item out of range, or has no weight");
    }
  }
  const Sparse by_user = Rows(interactions, users, true, o.alpha);
  const Sparse by_item = Rows(interactions, items, false, o.alpha);
  std::mt19937_64 rng(o.seed);
  std::normal_distribution<float> init(0.0f, 0.01f);
  Factors x(users, o.factors), y(items, o.factors);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = init(rng);
  for (Eigen::Index i = 0; i < y.size(); ++i) y.data()[i] = init(rng);
  for (int it = 0; it < o.iterations; ++it) {
    Sweep(x, y, by_user, o.regularization, o.cg_steps, o.threads);
    Sweep(y, x, by_item, o.regularization, o.cg_steps, o.threads);
  }
  ImplicitAls model;
  model.items_ = items;
  model.factors_ = o.factors;
  model.regularization_ = o.regularization;
  model.alpha_ = o.alpha;
  model.item_factors_.assign(y.data(), y.data() + y.size());
  model.Prepare();
  return model;
}

void ImplicitAls::Prepare() {
  const Eigen::Map<const Factors> y(item_factors_.data(), items_, factors_);
  const Eigen::MatrixXd gram = (y.transpose() * y).cast<double>();
  gram_.assign(gram.data(), gram.data() + gram.size());
  norms_.resize(items_);
  for (uint32_t i = 0; i < items_; ++i) norms_[i] = y.row(i).cast<double>().norm();
}

std::vector<Scored> ImplicitAls::Recommend(std::span<const Interaction> own, size_t n, bool exclude_seen) const {
  const Eigen::Map<const Factors> y(item_factors_.data(), items_, factors_);
  // Fold-in: the exact least-squares factor for this member given the item factors.
  Eigen::MatrixXd a = Eigen::Map<const Eigen::MatrixXd>(gram_.data(), factors_, factors_);
  a.diagonal().array() += regularization_;
  Vector b = Vector::Zero(factors_);
  std::map<uint32_t, double> weights;
  for (const auto& i : own) {
    if (i.item < items_) weights[i.item] += i.weight;
  }
  for (const auto& [item, weight] : weights) {
    const Vector yi = y.row(item).cast<double>().transpose();
    const double extra = alpha_ * weight;
    a += extra * yi * yi.transpose();
    b += (1.0 + extra) * yi;
  }
  const Eigen::VectorXf x = a.ldlt().solve(b).cast<float>();
  const Eigen::VectorXf scores = y * x;  // one matrix-vector product over every item
  std::vector<Scored> all;
  all.reserve(items_);
  for (uint32_t i = 0; i < items_; ++i) {
    if (exclude_seen && weights.contains(i)) continue;
    all.push_back({i, scores[i]});
  }
  return TopN(std::move(all), n);
}

std::vector<Scored> ImplicitAls::Similar(uint32_t item, size_t n) const {
  if (item >= items_ || norms_[item] == 0) return {};
  const Eigen::Map<const Factors> y(item_factors_.data(), items_, factors_);
  const Eigen::VectorXf dots = y * y.row(item).transpose();
  std::vector<Scored> all;
  for (uint32_t i = 0; i < items_; ++i) {
    if (i == item || norms_[i] == 0) continue;
    all.push_back({i, dots[i] / (norms_[i] * norms_[item])});
  }
  return TopN(std::move(all), n);
}

Json ImplicitAls::ToJson() const {
  return Json{{"items", items_}, {"factors", factors_}, {"regularization", regularization_}, {"alpha", alpha_},
              {"item_factors", item_factors_}};
}

Result<ImplicitAls> ImplicitAls::FromJson(const Json& j) {
  try {
    ImplicitAls m;
    m.items_ = j.at("items").get<uint32_t>();
    m.factors_ = j.at("factors").get<int>();
    m.regularization_ = j.at("regularization").get<double>();
    m.alpha_ = j.at("alpha").get<double>();
    m.item_factors_ = j.at("item_factors").get<std::vector<float>>();
    if (m.factors_ < 1 || m.item_factors_.size() != static_cast<size_t>(m.items_) * static_cast<size_t>(m.factors_)) {
      return Fail(ErrorCode::kInvalidArgument, "stored item factors do not match items x factors");
    }
    m.Prepare();
    return m;
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInvalidArgument, std::string("stored recommender: ") + e.what());
  }
}

std::vector<Scored> Popularity(std::span<const Interaction> interactions, uint32_t items) {
  std::vector<Scored> all(items);
  for (uint32_t i = 0; i < items; ++i) all[i].item = i;
  for (const auto& i : interactions) {
    if (i.item < items) all[i.item].score += i.weight;
  }
  return TopN(std::move(all), items);
}

RankingMetrics EvaluateRanking(const std::map<uint32_t, std::vector<uint32_t>>& truth,
                               const std::function<std::vector<Scored>(uint32_t)>& recommend) {
  RankingMetrics m;
  for (const auto& [user, relevant_list] : truth) {
    if (relevant_list.empty()) continue;
    const std::set<uint32_t> relevant(relevant_list.begin(), relevant_list.end());
    const auto ranked = recommend(user);
    double hits = 0, dcg = 0, ideal = 0;
    for (size_t k = 0; k < ranked.size() && k < 10; ++k) {
      if (relevant.contains(ranked[k].item)) {
        hits += 1;
        dcg += 1.0 / std::log2(static_cast<double>(k) + 2);
      }
    }
    for (size_t k = 0; k < std::min<size_t>(10, relevant.size()); ++k) ideal += 1.0 / std::log2(static_cast<double>(k) + 2);
    m.precision_at_10 += hits / 10.0;
    m.recall_at_10 += hits / static_cast<double>(relevant.size());
    m.ndcg_at_10 += dcg / ideal;
    ++m.users;
  }
  if (m.users > 0) {
    m.precision_at_10 /= static_cast<double>(m.users);
    m.recall_at_10 /= static_cast<double>(m.users);
    m.ndcg_at_10 /= static_cast<double>(m.users);
  }
  return m;
}

Json ToJson(const RankingMetrics& m) {
  return Json{{"precision_at_10", m.precision_at_10}, {"recall_at_10", m.recall_at_10}, {"ndcg_at_10", m.ndcg_at_10},
              {"users", m.users}};
}

}  // namespace loyalty::models
