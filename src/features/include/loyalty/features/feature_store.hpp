#pragma once
// The live feature state of every member, in memory, updated as events are accepted.
//
// Updates for one member are serialised (the member's shard is locked while its state
// changes), so concurrent events for the same member never lose an update; different members
// update in parallel. The store is derived data: the engine rebuilds it from the event log at
// start-up and replaces a member's state after a merge or unmerge.
// Threads: safe to share.

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "loyalty/core/ids.hpp"
#include "loyalty/core/money.hpp"
#include "loyalty/features/member_state.hpp"
#include "loyalty/features/rfm.hpp"

namespace loyalty::features {

class FeatureStore {
 public:
  // `currency`: the program currency that monetary features are measured in.
  explicit FeatureStore(const core::Currency& currency);

  // Applies an accepted event to the state of `member` (the canonical member it resolves to).
  void Apply(const core::MemberId& member, const events::Event& event);
  // Applies an event to a free-standing state (replays for snapshots and merges).
  void ApplyTo(MemberState& state, const events::Event& event) const;

  // Sets (or with nullopt removes) a member's whole state.
  void Replace(const core::MemberId& member, std::optional<MemberState> state);
  [[nodiscard]] std::optional<MemberState> Get(const core::MemberId& member) const;

  // Features of a live member as of `at` (now); nullopt when no event was seen for it.
  [[nodiscard]] std::optional<FeatureVector> Compute(const core::MemberId& member, core::Timestamp at) const;
  [[nodiscard]] FeatureVector ComputeFor(const MemberState& state, core::Timestamp at) const;

  // RFM breakpoints over all live members as of `at`. Recomputed (a full scan) when older
  // than `max_age` or when the number of members changed by more than 1%; callers in between
  // share the cached result.
  [[nodiscard]] RfmBreakpoints Breakpoints(core::Timestamp at, std::chrono::milliseconds max_age);

  // Calls `visit` with every member's id and state, one shard locked at a time.
  void ForEach(const std::function<void(const core::MemberId&, const MemberState&)>& visit) const;

  size_t members() const;
  // Bytes held by the member states, their records and the map entries (an estimate of the
  // allocator's view: node and bucket sizes included).
  size_t MemoryBytes() const;

 private:
  static constexpr size_t kShards = 64;
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<core::MemberId, MemberState> states;
  };
  Shard& ShardOf(const core::MemberId& member) const;
  uint16_t Intern(std::string_view category) const;
  std::string CategoryName(uint16_t id) const;

  const std::string currency_;
  const double minor_per_unit_;
  mutable std::array<Shard, kShards> shards_;

  mutable std::shared_mutex categories_mutex_;
  mutable std::unordered_map<std::string, uint16_t> category_ids_;
  mutable std::vector<std::string> category_names_;

  std::mutex rfm_mutex_;
  std::optional<RfmBreakpoints> rfm_;
  size_t rfm_members_ = 0;  // members() when rfm_ was computed
};

}  // namespace loyalty::features
