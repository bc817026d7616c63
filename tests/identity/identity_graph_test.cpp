// The identity graph on a real SQLite file: holders, lookups through merges, merge rules.

#include "loyalty/identity/identity_graph.hpp"

#include <gtest/gtest.h>

#include <map>

#include "loyalty/core/clock.hpp"
#include "support/test_store.hpp"

namespace loyalty::identity {
namespace {

MemberId M(std::string_view id) { return *MemberId::Parse(id); }

class IdentityGraphTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store_.Open();
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    vault_ = std::move(*privacy::Vault::Open(*db_, key_, clock_));
    graph_ = std::move(*IdentityGraph::Open(*db_, *Normalizer::Create("US"), *vault_));
  }

  std::string FileBytes() { return store_.StoredBytes(); }

  Identifier Email(std::string_view raw) { return *graph_->normalizer().Normalize(IdentifierKind::kEmail, raw); }

  AttachOutcome Attach(std::string_view member, std::vector<Identifier> ids) {
    std::optional<AttachOutcome> out;
    EXPECT_TRUE(db_->Write([&](store::Transaction& tx) -> core::Status {
      LOYALTY_ASSIGN_OR_RETURN(out, graph_->AttachIn(tx, M(member), ids, now_));
      return {};
    }));
    return out.value_or(AttachOutcome{});
  }

  core::Result<MergeRecord> Merge(std::string_view survivor, std::string_view absorbed) {
    std::optional<MergeRecord> out;
    auto status = db_->Write([&](store::Transaction& tx) -> core::Status {
      LOYALTY_ASSIGN_OR_RETURN(out, graph_->MergeIn(tx, M(survivor), M(absorbed), "same person", "tester", now_));
      return {};
    });
    EXPECT_TRUE(graph_->Refresh());
    if (!status) return std::unexpected(status.error());
    return *out;
  }

  core::Result<MergeRecord> Unmerge(std::string_view absorbed) {
    std::optional<MergeRecord> out;
    auto status = db_->Write([&](store::Transaction& tx) -> core::Status {
      LOYALTY_ASSIGN_OR_RETURN(out, graph_->UnmergeIn(tx, M(absorbed), "wrong match", "tester", now_));
      return {};
    });
    EXPECT_TRUE(graph_->Refresh());
    if (!status) return std::unexpected(status.error());
    return *out;
  }

  testing::TestStore store_;
  core::ManualClock clock_{*core::ParseTimestamp("2026-03-01T10:00:00Z")};
  privacy::VaultKey key_ = privacy::VaultKey::Generate();
  core::Timestamp now_ = *core::ParseTimestamp("2026-03-01T10:00:00Z");
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<privacy::Vault> vault_;
  std::unique_ptr<IdentityGraph> graph_;
};

TEST_F(IdentityGraphTest, KeepsIdentifierValuesOnlySealed) {
  Attach("a", {Email("ann.secret@example.com")});
  ASSERT_TRUE(db_->Scrub());
  EXPECT_EQ(FileBytes().find("ann.secret"), std::string::npos);
  EXPECT_EQ(**graph_->Lookup(Email("Ann.Secret@example.com")), M("a"));
  EXPECT_EQ(*graph_->IdentifiersOf(M("a")), std::vector<Identifier>{Email("ann.secret@example.com")});
}

TEST_F(IdentityGraphTest, DerivedMemberIdsAreStableHereAndKeyedSoAGuessCannotBeTested) {
  const auto ann = graph_->DerivedMemberId(Email("ann@example.com"));
  ASSERT_TRUE(ann) << ann.error().message;
  EXPECT_EQ(ann->str().rfind("auto-", 0), 0u);
  EXPECT_EQ(ann->str().size(), 5u + 16u);
  EXPECT_EQ(*graph_->DerivedMemberId(Email("ann@example.com")), *ann);
  EXPECT_NE(*graph_->DerivedMemberId(Email("bob@example.com")), *ann);
  // Another store (another vault key) derives another id for the same identifier: knowing the
  // identifier is not enough to find its member id.
  testing::TestStore other_store;
  auto other_db = std::move(*other_store.Open());
  auto other_vault = std::move(*privacy::Vault::Open(*other_db, privacy::VaultKey::Generate(), clock_));
  auto other_graph = std::move(*IdentityGraph::Open(*other_db, *Normalizer::Create("US"), *other_vault));
  EXPECT_NE(*other_graph->DerivedMemberId(Email("ann@example.com")), *ann);
  // ... nor is the id a piece of the identifier's own stored digest.
  Attach("a", {Email("ann@example.com")});
  EXPECT_EQ(FileBytes().find(ann->str().substr(5)), std::string::npos);
}

TEST_F(IdentityGraphTest, SealsValuesAnOlderStoreKeptInTheClear) {
  // An older store: the value in the clear and the sealing task not yet run.
  ASSERT_TRUE(db_->Write([](store::Transaction& tx) -> core::Status {
    LOYALTY_TRY(tx.Execute("INSERT INTO identifiers (kind, value, member_id, added_at) "
                           "VALUES ('email', 'old.timer@example.com', 'old', 0)", {}));
    LOYALTY_TRY(tx.Execute("DELETE FROM vault_tasks WHERE name = 'seal identifiers'", {}));
    return {};
  }));
  graph_ = std::move(*IdentityGraph::Open(*db_, *Normalizer::Create("US"), *vault_));
  EXPECT_EQ(**graph_->Lookup(Email("old.timer@example.com")), M("old"));
  EXPECT_EQ(*graph_->IdentifiersOf(M("old")), std::vector<Identifier>{Email("old.timer@example.com")});
  ASSERT_TRUE(db_->Scrub());
  EXPECT_EQ(FileBytes().find("old.timer"), std::string::npos);
}

TEST_F(IdentityGraphTest, ErasureDropsIdentifiersAndRenamesMerges) {
  Attach("a", {Email("ann@example.com")});
  Attach("b", {Email("ann.work@example.com")});
  ASSERT_TRUE(Merge("a", "b"));
  const std::map<MemberId, MemberId> pseudonyms{{M("a"), M("erased-1")}, {M("b"), M("erased-2")}};
  auto erased = db_->WriteValue<int64_t>([&](store::Transaction& tx) { return graph_->EraseIn(tx, pseudonyms); });
  ASSERT_TRUE(erased);
  EXPECT_EQ(*erased, 2);
  ASSERT_TRUE(graph_->Refresh());
  EXPECT_FALSE(graph_->Lookup(Email("ann@example.com"))->has_value());
  EXPECT_TRUE(graph_->IdentifiersOf(M("erased-1"))->empty());
  EXPECT_EQ(graph_->Resolve(M("erased-2")), M("erased-1"));
  EXPECT_EQ(graph_->Resolve(M("b")), M("b"));
  EXPECT_TRUE(graph_->History(M("a"))->empty());
  EXPECT_EQ(*vault_->Count(), 0);
}

TEST_F(IdentityGraphTest, AnIdentifierHasOneHolderAndIsFoundByAnySpelling) {
  auto first = Attach("ana", {Email("Ana@Example.com")});
  EXPECT_EQ(first.added.size(), 1u);
  EXPECT_EQ(*graph_->Lookup(Email(" ANA@example.com ")).value(), M("ana"));
  auto again = Attach("ana", {Email("ana@example.com")});
  EXPECT_EQ(again.existing.size(), 1u);
  auto other = Attach("bob", {Email("ana@example.com")});
  ASSERT_EQ(other.held_elsewhere.size(), 1u);
  EXPECT_EQ(other.held_elsewhere[0].holder, M("ana"));
  EXPECT_FALSE(graph_->Lookup(Email("nobody@example.com")).value().has_value());
}

TEST_F(IdentityGraphTest, MergedProfilesResolveToTheirSurvivorThroughChains) {
  Attach("ana", {Email("ana@example.com")});
  Attach("ana2", {Email("ana@work.example")});
  Attach("ana3", {Email("a@old.example")});
  ASSERT_TRUE(Merge("ana2", "ana3"));
  ASSERT_TRUE(Merge("ana", "ana2"));
  EXPECT_EQ(graph_->Resolve(M("ana3")), M("ana"));
  EXPECT_EQ(*graph_->Lookup(Email("a@old.example")).value(), M("ana"));
  EXPECT_EQ(graph_->Absorbed(M("ana")), (std::vector<MemberId>{M("ana2"), M("ana3")}));
  EXPECT_EQ(graph_->IdentifiersOf(M("ana"))->size(), 3u);
  // Identifiers held by an absorbed profile count as the survivor's own.
  EXPECT_EQ(Attach("ana", {Email("a@old.example")}).existing.size(), 1u);
}

TEST_F(IdentityGraphTest, MergeRulesAreEnforced) {
  EXPECT_EQ(Merge("ana", "ana").error().code, core::ErrorCode::kInvalidArgument);
  ASSERT_TRUE(Merge("ana", "bob"));
  auto retry = Merge("ana", "bob");  // the same merge again is the first record
  ASSERT_TRUE(retry);
  EXPECT_EQ(graph_->History(M("bob"))->size(), 1u);
  EXPECT_EQ(Merge("cat", "bob").error().code, core::ErrorCode::kConflict);  // bob is taken
  EXPECT_EQ(Merge("bob", "cat").error().code, core::ErrorCode::kConflict);  // bob is no survivor now
  AttachOutcome none;
  auto attach_absorbed = db_->Write([&](store::Transaction& tx) -> core::Status {
    LOYALTY_ASSIGN_OR_RETURN(none, graph_->AttachIn(tx, M("bob"), {}, now_));
    return {};
  });
  EXPECT_EQ(attach_absorbed.error().code, core::ErrorCode::kConflict);
}

TEST_F(IdentityGraphTest, UnmergeCutsTheLinkKeepsHistoryAndGoesNewestFirst) {
  ASSERT_TRUE(Merge("b", "c"));
  ASSERT_TRUE(Merge("a", "b"));
  // c's survivor b was merged later: that merge is undone first.
  EXPECT_EQ(Unmerge("c").error().code, core::ErrorCode::kConflict);
  ASSERT_TRUE(Unmerge("b"));
  EXPECT_EQ(graph_->Resolve(M("b")), M("b"));
  EXPECT_EQ(graph_->Resolve(M("c")), M("b"));  // c went with b
  ASSERT_TRUE(Unmerge("c"));
  EXPECT_EQ(graph_->Resolve(M("c")), M("c"));
  EXPECT_EQ(Unmerge("c").error().code, core::ErrorCode::kConflict);
  auto history = graph_->History(M("b")).value();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_TRUE(history[0].undone_at.has_value());
  EXPECT_EQ(history[0].undo_reason, "wrong match");
}

TEST_F(IdentityGraphTest, LinksSurviveAReopen) {
  ASSERT_TRUE(Merge("a", "b"));
  graph_.reset();
  graph_ = std::move(*IdentityGraph::Open(*db_, *Normalizer::Create("US"), *vault_));
  EXPECT_EQ(graph_->Resolve(M("b")), M("a"));
}

}  // namespace
}  // namespace loyalty::identity
