#pragma once
// The identity graph: which identifiers belong to which member profile, and which profiles
// were merged into which. A merge never rewrites history: the absorbed profile keeps its
// identifiers and its events, and resolves to its survivor until an unmerge cuts the link.
// Every merge and unmerge is recorded with its reason and actor.
//
// Identifier values are personal data: the graph's table keeps the vault's keyed digest of
// each, and the value itself is sealed in the vault (kind "identifier").
//
// Writes run inside the caller's transaction (the engine changes identity and ledger
// together, atomically); call Refresh() after the commit so Resolve() sees the new links.
// Threads: safe to share.

#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/ids.hpp"
#include "loyalty/identity/identifier.hpp"
#include "loyalty/privacy/vault.hpp"
#include "loyalty/store/database.hpp"

namespace loyalty::identity {

using core::MemberId;
using core::Timestamp;

struct MergeRecord {
  int64_t merge_id = 0;
  MemberId survivor;
  MemberId absorbed;
  Timestamp at;
  std::string reason;
  std::string actor;
  std::optional<Timestamp> undone_at;
  std::string undo_reason;
  std::string undo_actor;
};

struct AttachOutcome {
  std::vector<Identifier> added;     // now held by the member
  std::vector<Identifier> existing;  // already held by the member or a profile merged into it
  struct Held {
    Identifier identifier;
    MemberId holder;  // the canonical member that holds it
  };
  std::vector<Held> held_elsewhere;  // held by another member: not attached
};

class IdentityGraph {
 public:
  // Migrates the schema (sealing values an older store kept in the clear) and loads the merge
  // links. `db` and `vault` must outlive the graph.
  [[nodiscard]] static core::Result<std::unique_ptr<IdentityGraph>> Open(store::Database& db, Normalizer normalizer,
                                                                         privacy::Vault& vault);

  const Normalizer& normalizer() const { return normalizer_; }

  // The member a profile resolves to: its survivor after merges, itself otherwise.
  MemberId Resolve(const MemberId& member) const;
  // Profiles merged into `member`, directly or through other merges.
  std::vector<MemberId> Absorbed(const MemberId& member) const;
  // True when `member` was merged into another and not unmerged.
  bool IsAbsorbed(const MemberId& member) const;

  // A member id derived from the identifier ("auto-" and 16 hex digits of a keyed digest): the
  // same for the same identifier in this store, and no one without the vault can tell which
  // identifier it came from, or test a guess against it.
  [[nodiscard]] core::Result<MemberId> DerivedMemberId(const Identifier& identifier) const;

  // The canonical member holding the identifier, nullopt when nobody does.
  [[nodiscard]] core::Result<std::optional<MemberId>> Lookup(const Identifier& identifier);
  // Identifiers of the member and of every profile merged into it, sorted.
  [[nodiscard]] core::Result<std::vector<Identifier>> IdentifiersOf(const MemberId& member);
  // Merges and unmerges the member took part in, newest first.
  [[nodiscard]] core::Result<std::vector<MergeRecord>> History(const MemberId& member);

  // Gives the identifiers to `member` (a canonical member). Identifiers held by another
  // member are reported, not moved: the caller decides whether to merge.
  [[nodiscard]] core::Result<AttachOutcome> AttachIn(store::Transaction& tx, const MemberId& member,
                                                     std::span<const Identifier> identifiers, Timestamp now);
  // Links `absorbed` to `survivor`. Both must be canonical and different. Merging a profile
  // into the survivor it already resolves to returns the existing record (a safe retry).
  [[nodiscard]] core::Result<MergeRecord> MergeIn(store::Transaction& tx, const MemberId& survivor,
                                                  const MemberId& absorbed, std::string_view reason,
                                                  std::string_view actor, Timestamp now);
  // Cuts the link of `absorbed`. Its survivor must still be canonical (unmerge newer merges
  // first). Profiles merged into `absorbed` go with it.
  [[nodiscard]] core::Result<MergeRecord> UnmergeIn(store::Transaction& tx, const MemberId& absorbed,
                                                    std::string_view reason, std::string_view actor, Timestamp now);

  // Erasure: drops the identifiers of each profile (key) with their sealed values and renames
  // the profile to its pseudonym (value) in the merge records; returns the identifiers dropped.
  // Call Refresh() after the commit.
  [[nodiscard]] core::Result<int64_t> EraseIn(store::Transaction& tx, const std::map<MemberId, MemberId>& pseudonyms);

  // Reloads the merge links from the store: call after a transaction with MergeIn, UnmergeIn
  // or EraseIn committed (or failed).
  [[nodiscard]] core::Status Refresh();

 private:
  IdentityGraph(store::Database& db, Normalizer normalizer, privacy::Vault& vault)
      : db_(db), normalizer_(std::move(normalizer)), vault_(vault) {}
  [[nodiscard]] core::Status SealClearValues();
  // Resolve() against the links as the transaction sees them.
  [[nodiscard]] core::Result<MemberId> ResolveIn(store::Transaction& tx, const MemberId& member);

  store::Database& db_;
  const Normalizer normalizer_;
  privacy::Vault& vault_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<MemberId, MemberId> merged_into_;  // absorbed -> direct survivor
};

}  // namespace loyalty::identity
