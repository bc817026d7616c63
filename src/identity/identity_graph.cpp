#include "loyalty/identity/identity_graph.hpp"

#include <algorithm>
#include <mutex>

namespace loyalty::identity {

using core::ErrorCode;
using core::Fail;
using core::Result;
using core::Status;
using store::Transaction;

namespace {

// identifiers: who holds each normalised identifier; merged_profiles: the live merge links
// (one per absorbed profile); merges: every merge ever made, with its undo when there was one.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE identifiers (
  kind      TEXT NOT NULL,
  value     TEXT NOT NULL,
  member_id TEXT NOT NULL,
  added_at  INTEGER NOT NULL,
  PRIMARY KEY (kind, value)
) WITHOUT ROWID;
CREATE INDEX identifiers_by_member ON identifiers(member_id);
CREATE TABLE merges (
  merge_id    INTEGER PRIMARY KEY,
  survivor_id TEXT NOT NULL,
  absorbed_id TEXT NOT NULL,
  at          INTEGER NOT NULL,
  reason      TEXT NOT NULL,
  actor       TEXT NOT NULL,
  undone_at   INTEGER,
  undo_reason TEXT NOT NULL DEFAULT '',
  undo_actor  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX merges_by_survivor ON merges(survivor_id);
CREATE INDEX merges_by_absorbed ON merges(absorbed_id);
CREATE TABLE merged_profiles (
  member_id   TEXT PRIMARY KEY,
  survivor_id TEXT NOT NULL,
  merge_id    INTEGER NOT NULL REFERENCES merges(merge_id)
) WITHOUT ROWID;
)sql";

constexpr store::Migration kMigrations[] = {{1, "identifiers, merges", kSchemaV1}};

// Since identifiers are personal data, `identifiers.value` holds the vault's keyed digest of
// "kind:value"; the value itself is sealed in the vault under IdentifierRef. Stores written
// before kept values in the clear: this one-off task seals them.
constexpr std::string_view kSealTask = "seal identifiers";
constexpr std::string_view kVaultKind = "identifier";

Result<std::string> DigestOf(const privacy::Vault& vault, const Identifier& identifier) {
  return vault.Digest(ToString(identifier));
}

std::string IdentifierRef(std::string_view kind, std::string_view digest) {
  return "identifier:" + std::string(kind) + ":" + std::string(digest);
}

// Seals the value of the identifier stored under `digest`, inside the caller's transaction.
Status SealValue(Transaction& tx, const privacy::Vault& vault, std::string_view kind, std::string_view digest,
                 const MemberId& holder, const std::string& value) {
  const privacy::Secret secret{IdentifierRef(kind, digest), holder, std::string(kVaultKind), value};
  return vault.Put(tx, std::span(&secret, 1));
}

// Merge chains are short in practice; the bound turns a corrupted cycle into an error.
constexpr int kMaxChain = 1000;

Result<MergeRecord> ReadMerge(Transaction& tx, int64_t merge_id) {
  LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT merge_id, survivor_id, absorbed_id, at, reason, actor, "
                                                 "undone_at, undo_reason, undo_actor FROM merges WHERE merge_id = ?1",
                                                 {merge_id}));
  if (!row) return Fail(ErrorCode::kInternal, "merge " + std::to_string(merge_id) + " is missing");
  MergeRecord record;
  record.merge_id = row->Int(0);
  LOYALTY_ASSIGN_OR_RETURN(record.survivor, MemberId::Parse(row->Text(1)));
  LOYALTY_ASSIGN_OR_RETURN(record.absorbed, MemberId::Parse(row->Text(2)));
  record.at = core::FromUnixMillis(row->Int(3));
  record.reason = row->Text(4);
  record.actor = row->Text(5);
  if (auto undone = row->OptionalInt(6)) record.undone_at = core::FromUnixMillis(*undone);
  record.undo_reason = row->Text(7);
  record.undo_actor = row->Text(8);
  return record;
}

}  // namespace

Result<std::unique_ptr<IdentityGraph>> IdentityGraph::Open(store::Database& db, Normalizer normalizer,
                                                           privacy::Vault& vault) {
  LOYALTY_TRY(store::Migrate(db, "identity", kMigrations));
  std::unique_ptr<IdentityGraph> graph(new IdentityGraph(db, std::move(normalizer), vault));
  LOYALTY_TRY(graph->SealClearValues());
  LOYALTY_TRY(graph->Refresh());
  return graph;
}

Status IdentityGraph::SealClearValues() {
  LOYALTY_ASSIGN_OR_RETURN(const bool done, vault_.TaskDone(kSealTask));
  if (done) return {};
  return db_.Write([&](Transaction& tx) -> Status {
    // Asked again inside the write: another process may have sealed them meanwhile, and
    // sealing digests as if they were values would lose every identifier.
    LOYALTY_ASSIGN_OR_RETURN(const bool sealed_meanwhile, vault_.TaskDone(tx, kSealTask));
    if (sealed_meanwhile) return {};
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT kind, value, member_id FROM identifiers"));
    for (const auto& row : rows) {
      LOYALTY_ASSIGN_OR_RETURN(IdentifierKind kind, ParseIdentifierKind(row.Text(0)));
      LOYALTY_ASSIGN_OR_RETURN(MemberId holder, MemberId::Parse(row.Text(2)));
      const Identifier identifier{kind, row.Text(1)};
      LOYALTY_ASSIGN_OR_RETURN(std::string digest, DigestOf(vault_, identifier));
      LOYALTY_TRY(SealValue(tx, vault_, row.Text(0), digest, holder, row.Text(1)));
      LOYALTY_TRY(tx.Execute("UPDATE identifiers SET value = ?3 WHERE kind = ?1 AND value = ?2",
                             {row.Text(0), row.Text(1), digest}));
    }
    return vault_.MarkTaskDone(tx, kSealTask);
  });
}

Status IdentityGraph::Refresh() {
  std::unordered_map<MemberId, MemberId> links;
  LOYALTY_TRY(db_.Read([&](Transaction& tx) -> Status {
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT member_id, survivor_id FROM merged_profiles"));
    for (const auto& row : rows) {
      LOYALTY_ASSIGN_OR_RETURN(auto absorbed, MemberId::Parse(row.Text(0)));
      LOYALTY_ASSIGN_OR_RETURN(auto survivor, MemberId::Parse(row.Text(1)));
      links.emplace(std::move(absorbed), std::move(survivor));
    }
    return {};
  }));
  std::unique_lock lock(mutex_);
  merged_into_ = std::move(links);
  return {};
}

MemberId IdentityGraph::Resolve(const MemberId& member) const {
  std::shared_lock lock(mutex_);
  const MemberId* current = &member;
  for (int hops = 0; hops < kMaxChain; ++hops) {
    auto it = merged_into_.find(*current);
    if (it == merged_into_.end()) break;
    current = &it->second;
  }
  return *current;
}

bool IdentityGraph::IsAbsorbed(const MemberId& member) const {
  std::shared_lock lock(mutex_);
  return merged_into_.contains(member);
}

std::vector<MemberId> IdentityGraph::Absorbed(const MemberId& member) const {
  std::shared_lock lock(mutex_);
  std::vector<MemberId> out;
  std::vector<const MemberId*> frontier{&member};
  // Few profiles are ever merged, so a scan of the links per level is cheap.
  while (!frontier.empty() && out.size() < static_cast<size_t>(kMaxChain)) {
    std::vector<const MemberId*> next;
    for (const auto& [absorbed, survivor] : merged_into_) {
      for (const MemberId* parent : frontier) {
        if (survivor == *parent) {
          out.push_back(absorbed);
          next.push_back(&absorbed);
        }
      }
    }
    frontier = std::move(next);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<MemberId> IdentityGraph::DerivedMemberId(const Identifier& identifier) const {
  // Its own purpose in the digest: the id is not a prefix of the identifier's stored digest.
  LOYALTY_ASSIGN_OR_RETURN(const std::string digest, vault_.Digest("member-id|" + ToString(identifier)));
  return MemberId::Parse("auto-" + digest.substr(0, 16));
}

Result<std::optional<MemberId>> IdentityGraph::Lookup(const Identifier& identifier) {
  LOYALTY_ASSIGN_OR_RETURN(std::string digest, DigestOf(vault_, identifier));
  std::optional<MemberId> holder;
  LOYALTY_TRY(db_.Read([&](Transaction& tx) -> Status {
    LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT member_id FROM identifiers WHERE kind = ?1 AND value = ?2",
                                                   {IdentifierKindName(identifier.kind), digest}));
    if (!row) return {};
    LOYALTY_ASSIGN_OR_RETURN(holder, MemberId::Parse(row->Text(0)));
    return {};
  }));
  if (!holder) return std::optional<MemberId>();
  return std::optional<MemberId>(Resolve(*holder));
}

Result<std::vector<Identifier>> IdentityGraph::IdentifiersOf(const MemberId& member) {
  std::vector<MemberId> profiles = Absorbed(member);
  profiles.push_back(member);
  std::vector<Identifier> out;
  LOYALTY_TRY(db_.Read([&](Transaction& tx) -> Status {
    for (const auto& profile : profiles) {
      LOYALTY_ASSIGN_OR_RETURN(auto rows,
                               tx.Query("SELECT kind, value FROM identifiers WHERE member_id = ?1", {profile.str()}));
      for (const auto& row : rows) {
        LOYALTY_ASSIGN_OR_RETURN(IdentifierKind kind, ParseIdentifierKind(row.Text(0)));
        const std::string ref = IdentifierRef(row.Text(0), row.Text(1));
        LOYALTY_ASSIGN_OR_RETURN(auto value, vault_.Get(tx, ref));
        if (!value) return Fail(ErrorCode::kInternal, "the vault holds no value for " + ref);
        out.push_back({kind, std::move(*value)});
      }
    }
    return {};
  }));
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<MergeRecord>> IdentityGraph::History(const MemberId& member) {
  std::vector<MergeRecord> out;
  LOYALTY_TRY(db_.Read([&](Transaction& tx) -> Status {
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT merge_id FROM merges WHERE survivor_id = ?1 OR absorbed_id = ?1 "
                                                 "ORDER BY merge_id DESC",
                                                 {member.str()}));
    for (const auto& row : rows) {
      LOYALTY_ASSIGN_OR_RETURN(auto record, ReadMerge(tx, row.Int(0)));
      out.push_back(std::move(record));
    }
    return {};
  }));
  return out;
}

Result<MemberId> IdentityGraph::ResolveIn(Transaction& tx, const MemberId& member) {
  MemberId current = member;
  for (int hops = 0; hops < kMaxChain; ++hops) {
    LOYALTY_ASSIGN_OR_RETURN(auto row,
                             tx.QueryOne("SELECT survivor_id FROM merged_profiles WHERE member_id = ?1", {current.str()}));
    if (!row) return current;
    LOYALTY_ASSIGN_OR_RETURN(current, MemberId::Parse(row->Text(0)));
  }
  return Fail(ErrorCode::kInternal, "the merge links of member '" + member.str() + "' form a cycle");
}

Result<AttachOutcome> IdentityGraph::AttachIn(Transaction& tx, const MemberId& member,
                                              std::span<const Identifier> identifiers, Timestamp now) {
  LOYALTY_ASSIGN_OR_RETURN(MemberId canonical, ResolveIn(tx, member));
  if (canonical != member) {
    return Fail(ErrorCode::kConflict,
                "member '" + member.str() + "' was merged into '" + canonical.str() + "'; add identifiers there");
  }
  AttachOutcome outcome;
  for (const auto& identifier : identifiers) {
    const std::string_view kind = IdentifierKindName(identifier.kind);
    LOYALTY_ASSIGN_OR_RETURN(std::string digest, DigestOf(vault_, identifier));
    LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT member_id FROM identifiers WHERE kind = ?1 AND value = ?2",
                                                   {kind, digest}));
    if (!row) {
      LOYALTY_TRY(tx.Execute("INSERT INTO identifiers (kind, value, member_id, added_at) VALUES (?1, ?2, ?3, ?4)",
                             {kind, digest, member.str(), core::ToUnixMillis(now)}));
      LOYALTY_TRY(SealValue(tx, vault_, kind, digest, member, identifier.value));
      outcome.added.push_back(identifier);
      continue;
    }
    LOYALTY_ASSIGN_OR_RETURN(MemberId holder, MemberId::Parse(row->Text(0)));
    LOYALTY_ASSIGN_OR_RETURN(MemberId holder_canonical, ResolveIn(tx, holder));
    if (holder_canonical == member) {
      outcome.existing.push_back(identifier);
    } else {
      outcome.held_elsewhere.push_back({identifier, holder_canonical});
    }
  }
  return outcome;
}

Result<MergeRecord> IdentityGraph::MergeIn(Transaction& tx, const MemberId& survivor, const MemberId& absorbed,
                                           std::string_view reason, std::string_view actor, Timestamp now) {
  if (survivor == absorbed) return Fail(ErrorCode::kInvalidArgument, "a member cannot be merged into itself");
  if (reason.empty()) return Fail(ErrorCode::kInvalidArgument, "a merge needs a reason");
  LOYALTY_ASSIGN_OR_RETURN(MemberId survivor_canonical, ResolveIn(tx, survivor));
  LOYALTY_ASSIGN_OR_RETURN(auto link, tx.QueryOne("SELECT survivor_id, merge_id FROM merged_profiles WHERE member_id = ?1",
                                                  {absorbed.str()}));
  if (link) {
    if (link->Text(0) == survivor.str()) return ReadMerge(tx, link->Int(1));  // a retry of this merge
    return Fail(ErrorCode::kConflict,
                "member '" + absorbed.str() + "' is already merged into '" + link->Text(0) + "'; unmerge it first");
  }
  if (survivor_canonical != survivor) {
    return Fail(ErrorCode::kConflict, "member '" + survivor.str() + "' was merged into '" + survivor_canonical.str() +
                                          "'; merge into '" + survivor_canonical.str() + "' instead");
  }
  LOYALTY_ASSIGN_OR_RETURN(auto inserted,
                           tx.QueryOne("INSERT INTO merges (survivor_id, absorbed_id, at, reason, actor) "
                                       "VALUES (?1, ?2, ?3, ?4, ?5) RETURNING merge_id",
                                       {survivor.str(), absorbed.str(), core::ToUnixMillis(now), reason, actor}));
  const int64_t merge_id = inserted->Int(0);
  LOYALTY_TRY(tx.Execute("INSERT INTO merged_profiles (member_id, survivor_id, merge_id) VALUES (?1, ?2, ?3)",
                         {absorbed.str(), survivor.str(), merge_id}));
  return ReadMerge(tx, merge_id);
}

Result<MergeRecord> IdentityGraph::UnmergeIn(Transaction& tx, const MemberId& absorbed, std::string_view reason,
                                             std::string_view actor, Timestamp now) {
  if (reason.empty()) return Fail(ErrorCode::kInvalidArgument, "an unmerge needs a reason");
  LOYALTY_ASSIGN_OR_RETURN(auto link, tx.QueryOne("SELECT survivor_id, merge_id FROM merged_profiles WHERE member_id = ?1",
                                                  {absorbed.str()}));
  if (!link) return Fail(ErrorCode::kConflict, "member '" + absorbed.str() + "' is not merged into another member");
  LOYALTY_ASSIGN_OR_RETURN(MemberId survivor, MemberId::Parse(link->Text(0)));
  LOYALTY_ASSIGN_OR_RETURN(MemberId survivor_canonical, ResolveIn(tx, survivor));
  if (survivor_canonical != survivor) {
    return Fail(ErrorCode::kConflict, "member '" + survivor.str() + "' was itself merged into '" +
                                          survivor_canonical.str() + "' later; unmerge '" + survivor.str() +
                                          "' first");
  }
  const int64_t merge_id = link->Int(1);
  LOYALTY_TRY(tx.Execute("DELETE FROM merged_profiles WHERE member_id = ?1", {absorbed.str()}));
  LOYALTY_TRY(tx.Execute("UPDATE merges SET undone_at = ?2, undo_reason = ?3, undo_actor = ?4 WHERE merge_id = ?1",
                         {merge_id, core::ToUnixMillis(now), reason, actor}));
  return ReadMerge(tx, merge_id);
}

Result<int64_t> IdentityGraph::EraseIn(Transaction& tx, const std::map<MemberId, MemberId>& pseudonyms) {
  int64_t erased = 0;
  for (const auto& [profile, pseudonym] : pseudonyms) {
    LOYALTY_ASSIGN_OR_RETURN(int64_t removed, tx.Execute("DELETE FROM identifiers WHERE member_id = ?1", {profile.str()}));
    erased += removed;
    LOYALTY_TRY(vault_.EraseMember(tx, profile, std::string(kVaultKind)));
    // Reasons are typed by people and may name the member: they go, the records stay.
    LOYALTY_TRY(tx.Execute("UPDATE merges SET reason = 'erased', undo_reason = CASE WHEN undone_at IS NULL THEN '' "
                           "ELSE 'erased' END WHERE survivor_id = ?1 OR absorbed_id = ?1",
                           {profile.str()}));
    LOYALTY_TRY(tx.Execute("UPDATE merges SET survivor_id = ?2 WHERE survivor_id = ?1", {profile.str(), pseudonym.str()}));
    LOYALTY_TRY(tx.Execute("UPDATE merges SET absorbed_id = ?2 WHERE absorbed_id = ?1", {profile.str(), pseudonym.str()}));
    LOYALTY_TRY(tx.Execute("UPDATE merged_profiles SET member_id = ?2 WHERE member_id = ?1",
                           {profile.str(), pseudonym.str()}));
    LOYALTY_TRY(tx.Execute("UPDATE merged_profiles SET survivor_id = ?2 WHERE survivor_id = ?1",
                           {profile.str(), pseudonym.str()}));
  }
  return erased;
}

}  // namespace loyalty::identity
