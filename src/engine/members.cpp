#include "loyalty/engine/members.hpp"

#include "loyalty/core/logging.hpp"
#include "loyalty/ledger/json.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <mutex>
#include <random>

namespace loyalty::engine {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Status;
using identity::Identifier;
using store::Transaction;

namespace {

constexpr std::string_view kConcurrentClaim = "identifier claimed concurrently";

}  // namespace

std::shared_lock<std::shared_mutex> Members::SharedIdentityLock() {
  { std::lock_guard pass(turnstile_); }  // held by a waiting merge: wait for it to finish
  return std::shared_lock(merge_lock_);
}

std::unique_lock<std::shared_mutex> Members::ExclusiveIdentityLock() {
  std::lock_guard hold(turnstile_);  // no new shared holder gets in while we wait
  return std::unique_lock(merge_lock_);
}

bool IsErasedProfile(const MemberId& member) { return member.str().starts_with(kErasedPrefix); }

namespace {

// An erased profile's pseudonym is found by nothing, as if it never existed.
std::unexpected<core::Error> ErasedNotFound(const MemberId& member) {
  return Fail(ErrorCode::kNotFound, "member '" + member.str() + "' does not exist");
}

// Producers may not name a member by an erased profile's prefix.
std::unexpected<core::Error> ReservedId(std::string_view what) {
  return Fail(ErrorCode::kInvalidArgument, std::string(what) + ": ids starting with '" + std::string(kErasedPrefix) +
                                               "' name erased members and cannot be used");
}

}  // namespace

Result<ErasedProfiles> Members::Erase(const MemberId& member, const ErasureStep& also) {
  if (IsErasedProfile(member)) return ErasedNotFound(member);
  auto lock = ExclusiveIdentityLock();
  // Known to the ledger, or only through events (producers may send events for members the
  // ledger never saw). Nothing is decrypted: a damaged vault entry must not block an erasure.
  const MemberId canonical = graph_.Resolve(member);
  ErasedProfiles out;
  out.profiles.push_back(canonical);
  const auto absorbed = graph_.Absorbed(canonical);
  out.profiles.insert(out.profiles.end(), absorbed.begin(), absorbed.end());
  if (!ledger_.GetBalance(canonical)) {
    LOYALTY_ASSIGN_OR_RETURN(const auto seen, log_.ForMembers(out.profiles, std::nullopt, 1));
    if (seen.empty()) return Fail(ErrorCode::kNotFound, "member '" + member.str() + "' does not exist");
  }
  // Random names: nothing about the person can be worked back from them.
  std::random_device random;
  std::map<MemberId, MemberId> pseudonyms;
  for (const auto& id : out.profiles) {
    char name[48];
    std::snprintf(name, sizeof name, "%s%08x%08x", std::string(kErasedPrefix).c_str(), random(), random());
    LOYALTY_ASSIGN_OR_RETURN(pseudonyms[id], MemberId::Parse(name));
  }
  Status written = db_.Write([&](Transaction& tx) -> Status {
    LOYALTY_ASSIGN_OR_RETURN(out.identifiers, graph_.EraseIn(tx, pseudonyms));
    out.events = 0;
    for (const auto& [id, pseudonym] : pseudonyms) {
      LOYALTY_TRY(ledger_.PseudonymiseIn(tx, id, pseudonym));
      LOYALTY_ASSIGN_OR_RETURN(const int64_t events, log_.PseudonymiseIn(tx, id, pseudonym));
      out.events += events;
    }
    return also(tx, pseudonyms);
  });
  const Status refreshed = graph_.Refresh();
  if (!written) return std::unexpected(written.error());
  // The erasure is committed: what follows only tidies memory, and must not report it failed.
  if (!refreshed) core::Log(core::LogLevel::kError, "erasure.refresh_failed", {{"error", refreshed.error().message}});
  for (const auto& id : out.profiles) features_.Replace(id, std::nullopt);
  return out;
}

Result<Profile> Members::Get(const MemberId& member) {
  if (IsErasedProfile(member)) return ErasedNotFound(member);
  Profile profile;
  profile.member = graph_.Resolve(member);
  if (profile.member != member) profile.resolved_from = member;
  LOYALTY_ASSIGN_OR_RETURN(profile.balance, ledger_.GetBalance(profile.member));
  LOYALTY_ASSIGN_OR_RETURN(profile.tier, ledger_.GetTier(profile.member));
  LOYALTY_ASSIGN_OR_RETURN(profile.identifiers, graph_.IdentifiersOf(profile.member));
  profile.merged_profiles = graph_.Absorbed(profile.member);
  return profile;
}

Result<Profile> Members::Lookup(const Identifier& identifier) {
  LOYALTY_ASSIGN_OR_RETURN(auto holder, graph_.Lookup(identifier));
  if (!holder) return Fail(ErrorCode::kNotFound, "no member holds " + std::string(IdentifierKindName(identifier.kind)) +
                                                     " '" + identifier.value + "'");
  return Get(*holder);
}

Result<Profile> Members::Create(const MemberId& member, std::span<const Identifier> identifiers) {
  if (IsErasedProfile(member)) {
    return ReservedId("member id");
  }
  if (graph_.IsAbsorbed(member)) {
    return Fail(ErrorCode::kConflict,
                "member '" + member.str() + "' was merged into '" + graph_.Resolve(member).str() + "'");
  }
  LOYALTY_TRY(db_.Write([&](Transaction& tx) -> Status {
    LOYALTY_TRY(ledger_.CreateMembersIn(tx, std::span<const MemberId>(&member, 1)));
    LOYALTY_ASSIGN_OR_RETURN(auto outcome, graph_.AttachIn(tx, member, identifiers, clock_.Now()));
    if (!outcome.held_elsewhere.empty()) {
      const auto& held = outcome.held_elsewhere.front();
      return Fail(ErrorCode::kConflict, std::string(IdentifierKindName(held.identifier.kind)) + " '" +
                                            held.identifier.value + "' already belongs to member '" +
                                            held.holder.str() + "'; add identifiers to that member or merge");
    }
    return {};
  }));
  return Get(member);
}

Result<AddIdentifiersResult> Members::AddIdentifiers(const MemberId& member, std::span<const Identifier> identifiers,
                                                     std::string_view actor) {
  LOYALTY_TRY(ledger_.GetBalance(member));  // kNotFound for an unknown member; members are never deleted
  auto lock = ExclusiveIdentityLock();
  AddIdentifiersResult result;
  // Attaching and merging the profiles that shared an identifier is one transaction: all of
  // it happens, or none.
  Status written = db_.Write([&](Transaction& tx) -> Status {
    result = AddIdentifiersResult{};
    LOYALTY_ASSIGN_OR_RETURN(auto outcome, graph_.AttachIn(tx, member, identifiers, clock_.Now()));
    result.added = std::move(outcome.added);
    std::vector<MemberId> merged;
    for (const auto& held : outcome.held_elsewhere) {
      if (std::find(merged.begin(), merged.end(), held.holder) != merged.end()) continue;
      LOYALTY_ASSIGN_OR_RETURN(
          auto merge, MergeIn(tx, member, held.holder,
                              "shared " + std::string(IdentifierKindName(held.identifier.kind)) + " identifier", actor));
      merged.push_back(held.holder);
      result.merges.push_back(std::move(merge.merge));
    }
    return {};
  });
  LOYALTY_TRY(written);
  if (!result.merges.empty()) {
    LOYALTY_TRY(AfterIdentityChange({member}, nullptr));
    for (const auto& merge : result.merges) features_.Replace(merge.absorbed, std::nullopt);
  }
  LOYALTY_ASSIGN_OR_RETURN(result.profile, Get(member));
  return result;
}

Result<MergeResult> Members::Merge(const MemberId& survivor, const MemberId& absorbed, std::string_view reason,
                                   std::string_view actor) {
  auto lock = ExclusiveIdentityLock();
  MergeResult result;
  LOYALTY_TRY(db_.Write([&](Transaction& tx) -> Status {
    LOYALTY_ASSIGN_OR_RETURN(result, MergeIn(tx, survivor, absorbed, reason, actor));
    return {};
  }));
  LOYALTY_TRY(AfterIdentityChange({survivor}, &absorbed));
  return result;
}

Result<MergeResult> Members::MergeIn(Transaction& tx, const MemberId& survivor, const MemberId& absorbed,
                                     std::string_view reason, std::string_view actor) {
  MergeResult result;
  LOYALTY_ASSIGN_OR_RETURN(result.merge, graph_.MergeIn(tx, survivor, absorbed, reason, actor, clock_.Now()));
  LOYALTY_ASSIGN_OR_RETURN(result.ledger, ledger_.MergeMembersIn(tx, survivor, absorbed, result.merge.merge_id));
  return result;
}

Status Members::AfterIdentityChange(std::initializer_list<MemberId> replay, const MemberId* dropped) {
  LOYALTY_TRY(graph_.Refresh());
  if (!live_features_ready()) return {};
  if (dropped != nullptr) features_.Replace(*dropped, std::nullopt);
  for (const auto& member : replay) LOYALTY_TRY(ReplayFeatures(member));
  return {};
}

Result<UnmergeResult> Members::Unmerge(const MemberId& absorbed, std::string_view reason, std::string_view actor) {
  auto lock = ExclusiveIdentityLock();
  UnmergeResult result;
  LOYALTY_TRY(db_.Write([&](Transaction& tx) -> Status {
    LOYALTY_ASSIGN_OR_RETURN(result.merge, graph_.UnmergeIn(tx, absorbed, reason, actor, clock_.Now()));
    LOYALTY_ASSIGN_OR_RETURN(result.ledger, ledger_.UnmergeMembersIn(tx, result.merge.merge_id));
    return {};
  }));
  LOYALTY_TRY(AfterIdentityChange({result.merge.survivor, absorbed}, nullptr));
  return result;
}

Result<std::vector<identity::MergeRecord>> Members::History(const MemberId& member) {
  LOYALTY_TRY(ledger_.GetBalance(member));  // kNotFound for an unknown member
  return graph_.History(member);
}

Result<features::MemberState> Members::ReplayState(const MemberId& member, std::optional<Timestamp> before) {
  std::vector<MemberId> profiles = graph_.Absorbed(member);
  profiles.push_back(member);
  features::MemberState state;
  LOYALTY_TRY(log_.Replay(profiles, before, [&](const events::Event& event) { features_.ApplyTo(state, event); }));
  return state;
}

Status Members::ReplayFeatures(const MemberId& member) {
  LOYALTY_ASSIGN_OR_RETURN(features::MemberState state, ReplayState(member, std::nullopt));
  features_.Replace(member, std::move(state));
  return {};
}

Status Members::RefreshLiveFeatures(const MemberId& member) {
  // Locked before the check: a build in progress holds the lock exclusively, so an event
  // committed while it read the log is replayed here once it is done, never skipped.
  auto lock = SharedIdentityLock();
  if (!live_features_ready()) return {};
  const MemberId canonical = graph_.Resolve(member);
  if (IsErasedProfile(canonical)) return {};
  return ReplayFeatures(canonical);
}

Status Members::EnsureLiveFeatures() {
  if (live_features_ready()) return {};
  auto lock = ExclusiveIdentityLock();
  if (live_features_ready()) return {};
  std::vector<MemberId> merged_survivors;
  LOYALTY_TRY(log_.ReplayAll(std::nullopt, [&](const events::Event& event) {
    const MemberId canonical = graph_.Resolve(event.member);
    if (IsErasedProfile(canonical)) return;
    if (canonical != event.member) {
      merged_survivors.push_back(canonical);  // replayed below, in time order across its profiles
      return;
    }
    features_.Apply(canonical, event);
  }));
  std::sort(merged_survivors.begin(), merged_survivors.end());
  merged_survivors.erase(std::unique(merged_survivors.begin(), merged_survivors.end()), merged_survivors.end());
  for (const auto& survivor : merged_survivors) LOYALTY_TRY(ReplayFeatures(survivor));
  live_ready_.store(true, std::memory_order_release);
  return {};
}

Result<FeatureReport> Members::Features(const MemberId& member, std::optional<Timestamp> as_of) {
  if (IsErasedProfile(member)) return ErasedNotFound(member);
  FeatureReport report;
  report.member = graph_.Resolve(member);
  const Timestamp now = clock_.Now();
  report.as_of = as_of.value_or(now);
  report.live = !as_of;
  std::optional<features::MemberState> state;
  if (as_of) {
    if (*as_of > now) return Fail(ErrorCode::kInvalidArgument, "as_of lies in the future; omit it for live features");
    LOYALTY_TRY(ledger_.GetTierName(report.member));  // kNotFound for an unknown member, before replaying
    LOYALTY_ASSIGN_OR_RETURN(state, ReplayState(report.member, as_of));
  } else {
    LOYALTY_TRY(EnsureLiveFeatures());
    state = features_.Get(report.member);
  }
  report.features = features_.ComputeFor(state.value_or(features::MemberState{}), report.as_of);
  // kNotFound for an unknown member (live reads check here, in the one ledger read they need).
  LOYALTY_ASSIGN_OR_RETURN(report.tier, FillPoints(report.member, report.as_of, report.live, report.features));
  if (report.live && state) {
    report.rfm = features::ScoreRfm(report.features, features_.Breakpoints(now, kRfmRefresh));
  }
  return report;
}

Result<std::string> Members::FillPoints(const MemberId& member, Timestamp as_of, bool live,
                                       features::FeatureVector& features) {
  // Live reads include what was posted this very millisecond; a cutoff, like the event
  // replay, counts only what came strictly before it.
  const Timestamp until = live ? as_of + std::chrono::milliseconds(1) : as_of;
  LOYALTY_ASSIGN_OR_RETURN(auto points, ledger_.GetPointsAsOf(member, until));
  features[features::Feature::points_balance] = static_cast<double>(points.balance.value());
  if (points.last_redemption) {
    const double days = std::chrono::duration<double, std::ratio<86400>>(as_of - *points.last_redemption).count();
    double& since = features[features::Feature::days_since_redemption];
    since = std::isnan(since) ? days : std::min(since, days);
  }
  return std::move(points.tier_now);
}

Status Members::Snapshot(Timestamp cutoff, const std::function<Status(const SnapshotRow&)>& row) {
  auto lock = SharedIdentityLock();  // the graph must not change under the replay
  std::map<MemberId, features::MemberState> states;
  std::set<MemberId> merged_survivors;
  LOYALTY_TRY(log_.ReplayAll(cutoff, [&](const events::Event& event) {
    const MemberId canonical = graph_.Resolve(event.member);
    if (IsErasedProfile(canonical)) return;
    if (canonical != event.member) {
      merged_survivors.insert(canonical);
      return;
    }
    features_.ApplyTo(states[canonical], event);
  }));
  for (const auto& survivor : merged_survivors) {
    LOYALTY_ASSIGN_OR_RETURN(states[survivor], ReplayState(survivor, cutoff));
  }
  std::vector<SnapshotRow> rows;
  rows.reserve(states.size());
  for (auto& [member, state] : states) {
    rows.push_back({member, features_.ComputeFor(state, cutoff), std::nullopt, state.purchase_days()});
    LOYALTY_TRY(FillPoints(member, cutoff, /*live=*/false, rows.back().features));
  }
  std::vector<const features::FeatureVector*> population;
  population.reserve(rows.size());
  for (const auto& r : rows) population.push_back(&r.features);
  const auto breakpoints = features::ComputeRfmBreakpoints(population, cutoff);
  for (auto& r : rows) {
    r.rfm = features::ScoreRfm(r.features, breakpoints);
    LOYALTY_TRY(row(r));
  }
  return {};
}

Result<Json> Members::Segments() {
  LOYALTY_TRY(EnsureLiveFeatures());
  const Timestamp now = clock_.Now();
  const features::RfmBreakpoints breakpoints = features_.Breakpoints(now, kRfmRefresh);
  std::map<std::string, int64_t> counts;
  for (std::string_view name : {"Champions", "Loyal", "Potential", "New", "At Risk", "Can't Lose", "Hibernating", "Lost"}) {
    counts[std::string(name)] = 0;
  }
  int64_t without_purchases = 0;
  features_.ForEach([&](const MemberId&, const features::MemberState& state) {
    if (!state.has_purchases()) {
      ++without_purchases;
      return;
    }
    if (auto score = features::ScoreRfm(features_.ComputeFor(state, now), breakpoints)) {
      ++counts[std::string(score->segment)];
    }
  });
  return Json{{"as_of", core::FormatTimestamp(now)},
              {"breakpoints", features::ToJson(breakpoints)},
              {"segments", counts},
              {"members_without_purchases", without_purchases}};
}

Result<MemberId> Members::ResolveForLedger(const MemberId& member) const {
  if (IsErasedProfile(member)) return ErasedNotFound(member);
  return graph_.Resolve(member);
}

Result<MemberId> Members::ResolveEvent(events::Event& event) {
  if (event.identifier.empty()) {
    if (IsErasedProfile(event.member)) {
      return ReservedId("field 'member'");
    }
    return graph_.Resolve(event.member);
  }
  auto identifier = graph_.normalizer().Parse(event.identifier);
  if (!identifier) return core::Wrap(identifier.error(), "field 'identifier'");
  for (int attempt = 0; attempt < 2; ++attempt) {
    LOYALTY_ASSIGN_OR_RETURN(auto holder, graph_.Lookup(*identifier));
    if (holder) {
      event.member = *holder;
      return *holder;
    }
    // The id shows up in logs, exports and analysts' views; the identifier (PII) must not.
    LOYALTY_ASSIGN_OR_RETURN(const MemberId created, graph_.DerivedMemberId(*identifier));
    Status written = db_.Write([&](Transaction& tx) -> Status {
      LOYALTY_TRY(ledger_.CreateMembersIn(tx, std::span<const MemberId>(&created, 1)));
      LOYALTY_ASSIGN_OR_RETURN(auto outcome, graph_.AttachIn(tx, created, std::span(&*identifier, 1), clock_.Now()));
      if (!outcome.held_elsewhere.empty()) return Fail(ErrorCode::kConflict, std::string(kConcurrentClaim));
      return {};
    });
    if (written) {
      event.member = created;
      return created;
    }
    if (written.error().message != kConcurrentClaim) return std::unexpected(written.error());
  }
  return Fail(ErrorCode::kConflict, "identifier '" + event.identifier + "' is being claimed concurrently; retry");
}

Json ToJson(const Profile& profile) {
  Json identifiers = Json::array();
  for (const auto& id : profile.identifiers) {
    identifiers.push_back({{"kind", identity::IdentifierKindName(id.kind)}, {"value", id.value}});
  }
  Json merged = Json::array();
  for (const auto& m : profile.merged_profiles) merged.push_back(m.str());
  return Json{{"id", profile.member.str()},
              {"resolved_from", profile.resolved_from ? Json(profile.resolved_from->str()) : Json(nullptr)},
              {"identifiers", identifiers},
              {"merged_profiles", merged},
              {"tier", profile.tier},
              {"balance", profile.balance}};
}

Json ToJson(const identity::MergeRecord& merge) {
  return Json{{"merge_id", merge.merge_id},
              {"survivor", merge.survivor.str()},
              {"absorbed", merge.absorbed.str()},
              {"at", core::FormatTimestamp(merge.at)},
              {"reason", merge.reason},
              {"actor", merge.actor},
              {"undone_at", merge.undone_at ? Json(core::FormatTimestamp(*merge.undone_at)) : Json(nullptr)},
              {"undo_reason", merge.undone_at ? Json(merge.undo_reason) : Json(nullptr)},
              {"undo_actor", merge.undone_at ? Json(merge.undo_actor) : Json(nullptr)}};
}

Json ToJson(const MergeResult& result) {
  Json out = ToJson(result.merge);
  out["ledger"] = {{"entry_id", result.ledger.entry_id},
                   {"points_moved", result.ledger.points.value()},
                   {"lots_moved", result.ledger.lots},
                   {"orders_moved", result.ledger.orders}};
  return out;
}

Json ToJson(const UnmergeResult& result) {
  Json out = ToJson(result.merge);
  out["ledger"] = {{"entry_id", result.ledger.entry_id},
                   {"points_returned", result.ledger.returned.value()},
                   {"points_kept", result.ledger.kept.value()},
                   {"orders_returned", result.ledger.orders}};
  return out;
}

Json ToJson(const FeatureReport& report) {
  return Json{{"member", report.member.str()},
              {"as_of", core::FormatTimestamp(report.as_of)},
              {"live", report.live},
              {"features", features::ToJson(report.features)},
              {"rfm", report.rfm ? features::ToJson(*report.rfm) : Json(nullptr)}};
}

}  // namespace loyalty::engine

namespace loyalty::engine {

Result<Members::TrainingConsent> Members::ForTraining() {
  // Consent events only (an index by type), in time order: the latest choice across a
  // member's profiles wins. Cheaper than the live features, which daily jobs do not build.
  std::map<MemberId, bool> refused;
  LOYALTY_TRY(log_.OfType(events::EventType::kConsentChanged, core::FromUnixMillis(0), clock_.Now() + std::chrono::hours(48),
                          [&](const events::Event& event) {
                            const auto purpose = event.properties.find("purpose");
                            if (purpose == event.properties.end() || *purpose != kTrainingPurpose) return;
                            const auto granted = event.properties.find("granted");
                            refused[graph_.Resolve(event.member)] =
                                !(granted != event.properties.end() && granted->is_boolean() && granted->get<bool>());
                          }));
  TrainingConsent out;
  for (const auto& [member, no] : refused) {
    if (no) out.refused_.insert(member);
  }
  return out;
}

Result<std::vector<MemberId>> Members::LiveMembers() {
  LOYALTY_TRY(EnsureLiveFeatures());
  std::vector<MemberId> out;
  out.reserve(features_.members());
  features_.ForEach([&](const MemberId& m, const features::MemberState&) { out.push_back(m); });
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace loyalty::engine
