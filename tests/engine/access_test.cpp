// Users, roles and API keys: keys work once issued, stop when revoked or disabled, and are
// never stored as they are.

#include "loyalty/engine/access.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "loyalty/store/sqlite.hpp"
#include "support/temp_dir.hpp"
#include "support/test_store.hpp"

namespace loyalty::engine {
namespace {

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::move(*store_.Open());
    access_ = std::move(*Access::Open(*db_, clock_));
  }

  ::loyalty::testing::TestStore store_;
  core::ManualClock clock_{*core::ParseTimestamp("2026-06-01T09:00:00Z")};
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Access> access_;
};

TEST_F(AccessTest, AnIssuedKeyAuthenticatesItsUserUntilRevoked) {
  ASSERT_TRUE(access_->CreateUser("pos-berlin", Role::kService));
  auto key = access_->IssueKey("pos-berlin", "store 12");
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_TRUE(key->secret.starts_with("lk_"));
  EXPECT_EQ(key->secret.size(), 67u);
  auto who = access_->Authenticate(key->secret);
  ASSERT_TRUE(who) << who.error().message;
  EXPECT_EQ(who->user, "pos-berlin");
  EXPECT_EQ(who->role, Role::kService);
  EXPECT_EQ(who->key_id, key->info.id);

  // Two keys never match each other; a changed character is a different key.
  auto other = access_->IssueKey("pos-berlin", "store 13");
  ASSERT_TRUE(other);
  EXPECT_NE(other->secret, key->secret);
  std::string tampered = key->secret;
  tampered.back() = tampered.back() == '0' ? '1' : '0';
  EXPECT_EQ(access_->Authenticate(tampered).error().code, core::ErrorCode::kUnauthenticated);
  EXPECT_EQ(access_->Authenticate("").error().code, core::ErrorCode::kUnauthenticated);

  auto revoked = access_->RevokeKey(key->info.id);
  ASSERT_TRUE(revoked);
  EXPECT_TRUE(revoked->revoked_at);
  EXPECT_EQ(access_->Authenticate(key->secret).error().code, core::ErrorCode::kUnauthenticated);
  EXPECT_TRUE(access_->Authenticate(other->secret));  // the other key still works
  ASSERT_TRUE(access_->SetUserDisabled("pos-berlin", true));
  EXPECT_EQ(access_->Authenticate(other->secret).error().code, core::ErrorCode::kUnauthenticated);
  EXPECT_EQ(access_->IssueKey("pos-berlin", "").error().code, core::ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(access_->SetUserDisabled("pos-berlin", false));
  EXPECT_TRUE(access_->Authenticate(other->secret));

  auto keys = access_->ListKeys("pos-berlin");
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].prefix, key->secret.substr(0, 10));
}

TEST_F(AccessTest, ARevocationByAnotherProcessTakesEffectWithinASecond) {
  ASSERT_TRUE(access_->CreateUser("pos-berlin", Role::kService));
  auto key = access_->IssueKey("pos-berlin", "");
  ASSERT_TRUE(key);
  ASSERT_TRUE(access_->Authenticate(key->secret));  // now remembered for a second

  // The CLI revokes the key through its own connection while the server runs.
  auto cli_db = store_.Open();
  ASSERT_TRUE(cli_db);
  auto cli = Access::Open(**cli_db, clock_);
  ASSERT_TRUE(cli);
  ASSERT_TRUE((*cli)->RevokeKey(key->info.id));
  EXPECT_EQ((*cli)->Authenticate(key->secret).error().code, core::ErrorCode::kUnauthenticated);

  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(access_->Authenticate(key->secret).error().code, core::ErrorCode::kUnauthenticated);
}

TEST_F(AccessTest, TheStoreNeverHoldsAKeyAsItIs) {
  ASSERT_TRUE(access_->CreateUser("ann", Role::kAdmin));
  auto key = access_->IssueKey("ann", "");
  ASSERT_TRUE(key);
  db_.reset();  // flush and close
  const std::string bytes = store_.StoredBytes();
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.find(key->secret), std::string::npos);
  EXPECT_EQ(bytes.find(key->secret.substr(10)), std::string::npos);  // not even its unshown part
}

TEST_F(AccessTest, NamesRolesAndDuplicatesAreChecked) {
  EXPECT_EQ(access_->CreateUser("", Role::kAdmin).error().code, core::ErrorCode::kInvalidArgument);
  EXPECT_EQ(access_->CreateUser("ann smith", Role::kAdmin).error().code, core::ErrorCode::kInvalidArgument);
  ASSERT_TRUE(access_->CreateUser("ann@example.com", Role::kAuditor));
  EXPECT_EQ(access_->CreateUser("ann@example.com", Role::kAdmin).error().code, core::ErrorCode::kAlreadyExists);
  EXPECT_EQ(access_->IssueKey("nobody", "").error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(access_->RevokeKey(99).error().code, core::ErrorCode::kNotFound);
  EXPECT_EQ(ParseRole("root").error().code, core::ErrorCode::kInvalidArgument);
  for (Role role : kRoles) EXPECT_EQ(*ParseRole(RoleName(role)), role);
}

TEST_F(AccessTest, TheTableKeepsPersonalDataFromAnalystsAndTheAuditTrailFromEveryoneButAuditors) {
  for (int p = 0; p < kPermissionCount; ++p) {
    EXPECT_TRUE(Allowed(Role::kAdmin, static_cast<Permission>(p))) << PermissionCode(static_cast<Permission>(p));
  }
  EXPECT_FALSE(Allowed(Role::kAnalyst, Permission::kReadPii));
  EXPECT_TRUE(Allowed(Role::kAnalyst, Permission::kReadMember));
  EXPECT_TRUE(Allowed(Role::kAnalyst, Permission::kReadAggregates));
  EXPECT_FALSE(Allowed(Role::kAnalyst, Permission::kManageModels));
  EXPECT_TRUE(Allowed(Role::kAuditor, Permission::kReadAudit));
  EXPECT_FALSE(Allowed(Role::kManager, Permission::kReadAudit));
  EXPECT_FALSE(Allowed(Role::kAuditor, Permission::kReadMember));
  EXPECT_FALSE(Allowed(Role::kService, Permission::kGrant));  // a till cannot grant itself bonuses
  EXPECT_FALSE(Allowed(Role::kManager, Permission::kManageAccess));
  const Principal analyst{"sam", Role::kAnalyst, 1};
  auto denied = Access::Authorize(analyst, Permission::kReadPii);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code, core::ErrorCode::kPermissionDenied);
  EXPECT_NE(denied.error().message.find("user 'sam' (analyst) may not read personal data"), std::string::npos)
      << denied.error().message;
}

}  // namespace
}  // namespace loyalty::engine
