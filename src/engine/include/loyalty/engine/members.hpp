#pragma once
// Members as one profile across channels: creation with identifiers, lookup by any
// identifier, merges and unmerges that move identity, points, orders and features together,
// and the member's live or point-in-time features with its RFM segment.
//
// A merge changes the identity graph and the ledger in one transaction (the points move as
// journal postings), then replays the survivor's features from the event log. Merges take an
// exclusive lock that event ingestion shares, so no event is applied to a profile that is
// being merged away.
// Threads: safe to share.

#include <atomic>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/events/event_log.hpp"
#include "loyalty/features/feature_store.hpp"
#include "loyalty/identity/identity_graph.hpp"
#include "loyalty/ledger/ledger.hpp"

namespace loyalty::engine {

using core::MemberId;
using core::Result;
using core::Timestamp;

struct Profile {
  MemberId member;                         // canonical
  std::optional<MemberId> resolved_from;   // the id asked for, when it was merged into `member`
  std::vector<identity::Identifier> identifiers;
  std::vector<MemberId> merged_profiles;   // absorbed into `member`
  ledger::TierStatus tier;
  ledger::Balance balance;
};

struct AddIdentifiersResult {
  Profile profile;
  std::vector<identity::Identifier> added;
  std::vector<identity::MergeRecord> merges;  // profiles that shared an identifier, merged in
};

struct MergeResult {
  identity::MergeRecord merge;
  ledger::MergeTransfer ledger;
};

struct UnmergeResult {
  identity::MergeRecord merge;
  ledger::UnmergeTransfer ledger;
};

// Erasure renames every profile of the member to a fresh pseudonym with this prefix: their
// events, points and decisions stay for the program's totals, tied to nobody. Profiles under
// such a name are left out of features, training and decisions, and producers cannot use it.
inline constexpr std::string_view kErasedPrefix = "erased-";
bool IsErasedProfile(const MemberId& member);

struct ErasedProfiles {
  std::vector<MemberId> profiles;  // the member and every profile merged into it
  int64_t identifiers = 0;         // identifiers dropped (their sealed values with them)
  int64_t events = 0;              // events now under a pseudonym
};

struct FeatureReport {
  MemberId member;
  Timestamp as_of;
  bool live = true;  // false: replayed from the log to `as_of`
  features::FeatureVector features;
  std::optional<features::RfmScore> rfm;
  std::string tier;  // the member's tier today (whatever `as_of`)
};

class Members {
 public:
  // Everything passed must outlive this object.
  Members(store::Database& db, identity::IdentityGraph& graph, ledger::Ledger& ledger, events::EventLog& log,
          features::FeatureStore& features, const core::Clock& clock)
      : db_(db), graph_(graph), ledger_(ledger), log_(log), features_(features), clock_(clock) {}

  const identity::Normalizer& normalizer() const { return graph_.normalizer(); }

  // Creates a member with identifiers (normalised; a malformed one fails the whole call).
  // An identifier another member already holds is a conflict: look that member up instead.
  // Creating an existing member adds the identifiers it does not have yet.
  [[nodiscard]] Result<Profile> Create(const MemberId& member, std::span<const identity::Identifier> identifiers);
  // The member (resolved through merges) with its identifiers and balance; kNotFound if unknown.
  [[nodiscard]] Result<Profile> Get(const MemberId& member);
  [[nodiscard]] Result<Profile> Lookup(const identity::Identifier& identifier);
  // Gives the member more identifiers. A profile already holding one of them is merged into
  // this member (the member named in the call survives), with `actor` and a reason naming the
  // shared identifier.
  [[nodiscard]] Result<AddIdentifiersResult> AddIdentifiers(const MemberId& member,
                                                            std::span<const identity::Identifier> identifiers,
                                                            std::string_view actor);
  [[nodiscard]] Result<MergeResult> Merge(const MemberId& survivor, const MemberId& absorbed, std::string_view reason,
                                          std::string_view actor);
  [[nodiscard]] Result<UnmergeResult> Unmerge(const MemberId& absorbed, std::string_view reason,
                                              std::string_view actor);
  [[nodiscard]] Result<std::vector<identity::MergeRecord>> History(const MemberId& member);

  // Erases the member (any of its ids): in one transaction, with ingestion and merges held
  // off, drops its identifiers, files its ledger, events and merges under pseudonyms and runs
  // `also` for what other services keep (given each profile's pseudonym); then forgets its
  // live features. kNotFound for an unknown member.
  using ErasureStep = std::function<core::Status(store::Transaction&, const std::map<MemberId, MemberId>&)>;
  [[nodiscard]] Result<ErasedProfiles> Erase(const MemberId& member, const ErasureStep& also);

  // Live features (as_of nullopt) or features replayed from the log as of a past time.
  [[nodiscard]] Result<FeatureReport> Features(const MemberId& member, std::optional<Timestamp> as_of);

  // A point-in-time training snapshot: the features of every member with an event before
  // `cutoff`, replayed from the log with only those events (no later event leaks in), points
  // as the ledger stood then, and RFM scored within that population. Rows come in member
  // order; the callback may stop the snapshot by returning an error.
  struct SnapshotRow {
    MemberId member;
    features::FeatureVector features;
    std::optional<features::RfmScore> rfm;
    std::optional<features::MemberState::PurchaseDays> purchase_days;  // for the CLV models
  };
  [[nodiscard]] core::Status Snapshot(Timestamp cutoff, const std::function<core::Status(const SnapshotRow&)>& row);

  // Who model training may learn from: not erased profiles, and not members whose latest
  // choice on the `profiling` purpose is a refusal. Their live choice counts (an objection
  // covers models trained on their past too). Ask with canonical member ids.
  class TrainingConsent {
   public:
    bool Allows(const MemberId& member) const { return !IsErasedProfile(member) && !refused_.contains(member); }

   private:
    friend class Members;
    std::set<MemberId> refused_;
  };
  static constexpr std::string_view kTrainingPurpose = "profiling";
  [[nodiscard]] Result<TrainingConsent> ForTraining();

  // Every member with live features (an event seen), in id order. Builds them on first use.
  [[nodiscard]] Result<std::vector<MemberId>> LiveMembers();

  // Live RFM: the quintile breakpoints and how many members each segment holds.
  [[nodiscard]] Result<core::Json> Segments();

  // The canonical member an event belongs to; for an event named by identifier, the profile
  // holding it, created ("auto-" + a keyed digest of the identifier) when nobody does. Fills
  // event.member with the profile and returns the canonical member.
  [[nodiscard]] Result<MemberId> ResolveEvent(events::Event& event);
  // The profile a ledger command acts on: a merged id's survivor. An erased profile's id is
  // not found: its points stay on the books, and nobody may earn or spend them.
  [[nodiscard]] Result<MemberId> ResolveForLedger(const MemberId& member) const;

  // Live features are built from the event log on first use (or eagerly by `serve`), so
  // commands that never read them (daily jobs, ledger commands) do not replay the log. Until
  // then ingestion only logs events; the build replays them.
  [[nodiscard]] core::Status EnsureLiveFeatures();
  // Another process logged an event of `member` (a node of a multi-node program): rebuilds the
  // live features of the profile it resolves to from the log. Nothing to do before the build.
  [[nodiscard]] core::Status RefreshLiveFeatures(const MemberId& member);
  bool live_features_ready() const { return live_ready_.load(std::memory_order_acquire); }

  // Ingestion holds this shared for a batch; merges and the live-feature build hold it
  // exclusively. A waiting merge goes first: new batches queue behind it (a turnstile), so a
  // steady stream of ingestion cannot starve merges.
  [[nodiscard]] std::shared_lock<std::shared_mutex> SharedIdentityLock();

  // RFM breakpoints are recomputed at most this often (a scan of every member).
  static constexpr std::chrono::seconds kRfmRefresh{60};

 private:
  // Both halves of a merge inside the caller's write transaction.
  [[nodiscard]] Result<MergeResult> MergeIn(store::Transaction& tx, const MemberId& survivor, const MemberId& absorbed,
                                            std::string_view reason, std::string_view actor);
  // After a committed merge or unmerge: reload the links and replay the members' features.
  [[nodiscard]] core::Status AfterIdentityChange(std::initializer_list<MemberId> replay, const MemberId* dropped);
  // Replays the member's features (all its merged profiles) from the log into the store.
  [[nodiscard]] core::Status ReplayFeatures(const MemberId& member);
  // Points balance and last redemption from the ledger as of `as_of`; returns the member's
  // tier today, read in the same transaction.
  [[nodiscard]] Result<std::string> FillPoints(const MemberId& member, Timestamp as_of, bool live,
                                               features::FeatureVector& features);
  [[nodiscard]] Result<features::MemberState> ReplayState(const MemberId& member, std::optional<Timestamp> before);

  store::Database& db_;
  identity::IdentityGraph& graph_;
  ledger::Ledger& ledger_;
  events::EventLog& log_;
  features::FeatureStore& features_;
  const core::Clock& clock_;
  [[nodiscard]] std::unique_lock<std::shared_mutex> ExclusiveIdentityLock();

  std::mutex turnstile_;
  std::shared_mutex merge_lock_;
  std::atomic<bool> live_ready_{false};
};

core::Json ToJson(const Profile& profile);
core::Json ToJson(const identity::MergeRecord& merge);
core::Json ToJson(const MergeResult& result);
core::Json ToJson(const UnmergeResult& result);
core::Json ToJson(const FeatureReport& report);

}  // namespace loyalty::engine
