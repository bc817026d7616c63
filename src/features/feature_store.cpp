#include "loyalty/features/feature_store.hpp"

#include <cmath>

namespace loyalty::features {

namespace {
// Categories past this many distinct names share one bucket: memory stays bounded whatever
// producers send.
constexpr size_t kMaxCategories = 65000;
constexpr std::string_view kOtherCategory = "other";
}  // namespace

FeatureStore::FeatureStore(const core::Currency& currency)
    : currency_(currency.code), minor_per_unit_(std::pow(10.0, currency.minor_digits)) {}

FeatureStore::Shard& FeatureStore::ShardOf(const core::MemberId& member) const {
  return shards_[std::hash<core::MemberId>{}(member) % kShards];
}

uint16_t FeatureStore::Intern(std::string_view category) const {
  {
    std::shared_lock lock(categories_mutex_);
    if (auto it = category_ids_.find(std::string(category)); it != category_ids_.end()) return it->second;
  }
  std::unique_lock lock(categories_mutex_);
  if (auto it = category_ids_.find(std::string(category)); it != category_ids_.end()) return it->second;
  if (category_names_.size() >= kMaxCategories) {
    if (category != kOtherCategory) {
      lock.unlock();
      return Intern(kOtherCategory);
    }
  }
  const auto id = static_cast<uint16_t>(category_names_.size());
  category_names_.emplace_back(category);
  category_ids_.emplace(std::string(category), id);
  return id;
}

std::string FeatureStore::CategoryName(uint16_t id) const {
  std::shared_lock lock(categories_mutex_);
  return id < category_names_.size() ? category_names_[id] : std::string(kOtherCategory);
}

void FeatureStore::ApplyTo(MemberState& state, const events::Event& event) const {
  state.Apply(event, currency_, [this](std::string_view c) { return Intern(c); });
}

void FeatureStore::Apply(const core::MemberId& member, const events::Event& event) {
  Shard& shard = ShardOf(member);
  std::lock_guard lock(shard.mutex);
  ApplyTo(shard.states[member], event);
}

void FeatureStore::Replace(const core::MemberId& member, std::optional<MemberState> state) {
  Shard& shard = ShardOf(member);
  std::lock_guard lock(shard.mutex);
  if (state) {
    shard.states[member] = std::move(*state);
  } else {
    shard.states.erase(member);
  }
}

std::optional<MemberState> FeatureStore::Get(const core::MemberId& member) const {
  Shard& shard = ShardOf(member);
  std::lock_guard lock(shard.mutex);
  auto it = shard.states.find(member);
  if (it == shard.states.end()) return std::nullopt;
  return it->second;
}

FeatureVector FeatureStore::ComputeFor(const MemberState& state, core::Timestamp at) const {
  return state.Compute(at, [this](uint16_t id) { return CategoryName(id); }, minor_per_unit_);
}

std::optional<FeatureVector> FeatureStore::Compute(const core::MemberId& member, core::Timestamp at) const {
  Shard& shard = ShardOf(member);
  std::lock_guard lock(shard.mutex);
  auto it = shard.states.find(member);
  if (it == shard.states.end()) return std::nullopt;
  return ComputeFor(it->second, at);
}

RfmBreakpoints FeatureStore::Breakpoints(core::Timestamp at, std::chrono::milliseconds max_age) {
  std::lock_guard lock(rfm_mutex_);
  // Reused while fresh and while the membership is about the same size (a bulk load makes
  // earlier quintiles meaningless at once, whatever the clock says).
  const size_t now_members = members();
  const bool same_population = now_members <= rfm_members_ + rfm_members_ / 100 &&
                               now_members + rfm_members_ / 100 >= rfm_members_;
  if (rfm_ && same_population && at >= rfm_->as_of && at - rfm_->as_of <= max_age) return *rfm_;
  rfm_members_ = now_members;
  std::vector<FeatureVector> vectors;
  vectors.reserve(members());
  ForEach([&](const core::MemberId&, const MemberState& state) {
    if (state.has_purchases()) vectors.push_back(ComputeFor(state, at));
  });
  std::vector<const FeatureVector*> pointers;
  pointers.reserve(vectors.size());
  for (const auto& v : vectors) pointers.push_back(&v);
  rfm_ = ComputeRfmBreakpoints(pointers, at);
  return *rfm_;
}

void FeatureStore::ForEach(const std::function<void(const core::MemberId&, const MemberState&)>& visit) const {
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (const auto& [member, state] : shard.states) visit(member, state);
  }
}

size_t FeatureStore::members() const {
  size_t n = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    n += shard.states.size();
  }
  return n;
}

size_t FeatureStore::MemoryBytes() const {
  size_t bytes = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    bytes += shard.states.bucket_count() * sizeof(void*);
    for (const auto& [member, state] : shard.states) {
      // A node: next pointer, cached hash, the key (and its heap buffer past the inline capacity), the state.
      bytes += 2 * sizeof(void*) + sizeof(core::MemberId) + state.MemoryBytes();
      if (member.str().size() > 15) bytes += member.str().capacity() + 1;
    }
  }
  return bytes;
}

}  // namespace loyalty::features
