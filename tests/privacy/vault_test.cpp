// The PII vault: what goes in comes out only with the key, nothing readable reaches the
// database file, erasure and re-keying work, and a tampered or moved ciphertext is refused.

#include "loyalty/privacy/vault.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "support/test_store.hpp"

namespace loyalty::privacy {
namespace {

core::MemberId Member(const std::string& id) { return *core::MemberId::Parse(id); }

class VaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Reopen();
    vault_ = std::move(*Vault::Open(*db_, key_, clock_));
  }

  void Reopen() {
    auto db = store_.Open(store::Durability::kFull);
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
  }

  std::string FileBytes() { return store_.StoredBytes(); }

  ::loyalty::testing::TestStore store_;
  core::ManualClock clock_{*core::ParseTimestamp("2026-07-01T08:00:00Z")};
  VaultKey key_ = VaultKey::Generate();
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Vault> vault_;
};

TEST_F(VaultTest, KeepsSecretsThatOnlyTheKeyOpensAndNoPlaintextReachesTheFile) {
  const std::string text = "Ann Example, 12 Acacia Avenue: the courier lost my parcel";
  ASSERT_TRUE(vault_->Put(std::vector<Secret>{{"evt:1", Member("m1"), "text", text},
                                              {"evt:2", Member("m1"), "text", "second"},
                                              {"evt:3", Member("m2"), "text", "other member"}}));
  EXPECT_EQ(vault_->Get("evt:1").value(), text);
  EXPECT_EQ(vault_->Get("evt:9").value(), std::nullopt);
  EXPECT_EQ(*vault_->Count(), 3);
  auto mine = vault_->ForMember(Member("m1"));
  ASSERT_TRUE(mine.has_value());
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[1].plaintext, "second");

  db_.reset();  // checkpoint and close: everything is in the files now
  const std::string bytes = FileBytes();
  EXPECT_EQ(bytes.find("Acacia"), std::string::npos);
  EXPECT_EQ(bytes.find("courier"), std::string::npos);
  EXPECT_EQ(bytes.find("other member"), std::string::npos);

  Reopen();
  // Another key is refused at once, naming the key that sealed the entries ...
  auto wrong = Vault::Open(*db_, VaultKey::Generate(), clock_);
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_NE(wrong.error().message.find(key_.id()), std::string::npos) << wrong.error().message;
  // ... and, opened unchecked, opens nothing.
  auto other_key = std::move(*Vault::Open(*db_, VaultKey::Generate(), clock_, false));
  auto refused = other_key->Get("evt:1");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, core::ErrorCode::kFailedPrecondition);
}

TEST_F(VaultTest, ARetriedPutKeepsTheFirstContent) {
  ASSERT_TRUE(vault_->Put(std::vector<Secret>{{"evt:1", Member("m1"), "text", "first"}}));
  ASSERT_TRUE(vault_->Put(std::vector<Secret>{{"evt:1", Member("m1"), "text", "changed"}}));
  EXPECT_EQ(vault_->Get("evt:1").value(), "first");
  EXPECT_EQ(*vault_->Count(), 1);
}

TEST_F(VaultTest, ACiphertextMovedToAnotherRowOrAlteredDoesNotOpen) {
  ASSERT_TRUE(vault_->Put(std::vector<Secret>{{"evt:1", Member("m1"), "text", "secret one"},
                                              {"evt:2", Member("m2"), "text", "secret two"}}));
  ASSERT_TRUE(db_->Write([](store::Transaction& tx) -> core::Status {
    LOYALTY_TRY(
        tx.Execute("UPDATE vault_entries SET sealed = (SELECT sealed FROM vault_entries WHERE ref = 'evt:2') "
                   "WHERE ref = 'evt:1'"));
    return {};
  }));
  auto moved = vault_->Get("evt:1");
  ASSERT_FALSE(moved.has_value());
  EXPECT_NE(moved.error().message.find("altered"), std::string::npos);
  EXPECT_EQ(vault_->Get("evt:2").value(), "secret two");
}

TEST_F(VaultTest, ErasureRemovesOnlyThatMembersEntries) {
  ASSERT_TRUE(vault_->Put(std::vector<Secret>{{"evt:1", Member("m1"), "text", "a"},
                                              {"evt:2", Member("m1"), "text", "b"},
                                              {"evt:3", Member("m2"), "text", "c"}}));
  EXPECT_EQ(*vault_->EraseMember(Member("m1")), 2);
  EXPECT_EQ(vault_->Get("evt:1").value(), std::nullopt);
  EXPECT_EQ(vault_->Get("evt:3").value(), "c");
  EXPECT_EQ(*vault_->EraseMember(Member("m1")), 0);
}

TEST_F(VaultTest, RekeyReSealsEverythingUnderTheNewKey) {
  ASSERT_TRUE(
      vault_->Put(std::vector<Secret>{{"evt:1", Member("m1"), "text", "a"}, {"evt:2", Member("m2"), "text", "b"}}));
  const std::string digest = *vault_->Digest("email:ann@example.com");
  const VaultKey next = VaultKey::Generate();
  EXPECT_EQ(*Vault::Rekey(*db_, key_, next), 2);
  auto reopened = std::move(*Vault::Open(*db_, next, clock_));
  EXPECT_EQ(reopened->Get("evt:2").value(), "b");
  EXPECT_EQ(*reopened->Digest("email:ann@example.com"), digest) << "lookup digests outlive a rotation";
  EXPECT_FALSE(vault_->Get("evt:1").has_value());             // the old key no longer opens it
  EXPECT_FALSE(Vault::Open(*db_, key_, clock_).has_value());  // nor may it open the vault again
  // Re-keying from a key that did not seal the entries changes nothing.
  auto wrong = Vault::Rekey(*db_, key_, VaultKey::Generate());
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code, core::ErrorCode::kFailedPrecondition);
  EXPECT_EQ(reopened->Get("evt:1").value(), "a");
}

TEST_F(VaultTest, DigestsAreKeyedAndStable) {
  const std::string digest = *vault_->Digest("email:ann@example.com");
  EXPECT_EQ(digest.size(), 32u);
  EXPECT_EQ(*vault_->Digest("email:ann@example.com"), digest);
  EXPECT_NE(*vault_->Digest("email:bob@example.com"), digest);
  // Another store's vault has its own lookup key: the same value gives another digest.
  ::loyalty::testing::TestStore other_store;
  auto other_db = std::move(*other_store.Open());
  auto other = std::move(*Vault::Open(*other_db, key_, clock_));
  EXPECT_NE(*other->Digest("email:ann@example.com"), digest);
  // A vault opened without the key check by a key that did not seal the lookup key cannot
  // make digests (it would find nobody).
  auto stranger = std::move(*Vault::Open(*db_, VaultKey::Generate(), clock_, false));
  EXPECT_EQ(stranger->Digest("email:ann@example.com").error().code, core::ErrorCode::kFailedPrecondition);
}

TEST(VaultKeyTest, ReadsHexAndCreatesAPrivateKeyFileOnce) {
  ::loyalty::testing::TempDir dir;
  const auto path = dir / "vault.key";
  EXPECT_EQ(VaultKey::FromFile(path, false).error().code, core::ErrorCode::kNotFound);
  auto created = VaultKey::FromFile(path, true);
  ASSERT_TRUE(created.has_value()) << created.error().message;
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  auto again = VaultKey::FromFile(path, true);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->Hex(), created->Hex());
  EXPECT_EQ(again->id(), created->id());
  EXPECT_EQ(again->id().size(), 16u);

  EXPECT_EQ(VaultKey::FromHex("  " + created->Hex() + "\n")->Hex(), created->Hex());
  // Writing over it needs `replace`; the file stays private and whole.
  const VaultKey next = VaultKey::Generate();
  EXPECT_EQ(next.WriteFile(path, false).error().code, core::ErrorCode::kAlreadyExists);
  ASSERT_TRUE(next.WriteFile(path, true));
  EXPECT_EQ(VaultKey::FromFile(path, false)->id(), next.id());
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()), 1);
  EXPECT_FALSE(VaultKey::FromHex("abc").has_value());
  EXPECT_FALSE(VaultKey::FromHex(std::string(64, 'z')).has_value());
}

}  // namespace
}  // namespace loyalty::privacy
