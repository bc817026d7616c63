#pragma once
// Tier qualification over the rolling window. Private to the ledger module.

#include <string>

#include "loyalty/core/clock.hpp"
#include "loyalty/ledger/program.hpp"
#include "loyalty/store/database.hpp"

namespace loyalty::ledger::internal {

// Start of the qualification window that ends at `now`.
core::Timestamp WindowStart(const TierPolicy& policy, core::Timestamp now);

// Qualifying points or spend (minor units) of the member within the window ending at `now`.
[[nodiscard]] core::Result<int64_t> QualifyingAmount(store::Transaction& tx, const TierPolicy& policy,
                                                     const core::MemberId& member, core::Timestamp now);

// The highest tier whose threshold `qualifying` reaches.
const Tier& TierFor(const TierPolicy& policy, int64_t qualifying);

// The configured tier of that name, or the first tier when the name is no longer configured.
const Tier& TierNamed(const TierPolicy& policy, const std::string& name);

// Index of a tier in the policy (0 when unknown): compares tiers by rank.
size_t TierRank(const TierPolicy& policy, const std::string& name);

// Moves the member to `to`, recording history. No-op when already there.
[[nodiscard]] core::Status ChangeTier(store::Transaction& tx, const core::MemberId& member, const std::string& from,
                                      const std::string& to, int64_t qualifying, std::string_view reason,
                                      core::Timestamp now);

}  // namespace loyalty::ledger::internal
