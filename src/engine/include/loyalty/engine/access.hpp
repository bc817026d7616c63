#pragma once
// Who may do what. People and integrations are users with one role each; they call the API
// with API keys. A key is 32 random bytes shown once when issued; only its BLAKE2b hash is
// stored (libsodium), so a copy of the database gives no working key. A fast hash is right
// here, unlike for passwords: the key is random, so there is nothing to guess.
//
// Every HTTP route and every command names a Permission; Allowed() is the one table that
// says which roles hold it. Analysts see pseudonymous member ids and aggregates, never PII;
// auditors read, and only what they audit.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/core/recent_values.hpp"
#include "loyalty/store/database.hpp"

namespace loyalty::engine {

enum class Role { kAdmin, kManager, kAnalyst, kService, kAuditor };
inline constexpr Role kRoles[] = {Role::kAdmin, Role::kManager, Role::kAnalyst, Role::kService, Role::kAuditor};

std::string_view RoleName(Role role);
[[nodiscard]] core::Result<Role> ParseRole(std::string_view name);

enum class Permission {
  kPublic,          // liveness, readiness and metrics: no key needed
  kReadAggregates,  // segments, score summaries, model versions and quality, drift, breakage
  kReadMember,      // one member by pseudonymous id: balance, statement, features, scores
  kReadPii,         // member profiles with their identifiers (e-mail, phone, card)
  kIngest,          // events from POS, app and web
  kTransact,        // earn, redeem and return points (tills and apps)
  kGrant,           // bonuses, adjustments and the rewards catalogue (people decide these)
  kManageMembers,   // create members, add identifiers, merge and unmerge
  kManageModels,    // promote, roll back, keep predictions
  kReadAudit,       // the audit trail
  kManageAccess,    // users and API keys
  kDecide,          // ask for next best actions and report their outcomes (apps, tills, sends)
  kManageOffers,    // offers, contact policy, strategy, experiments and campaigns
  kReview,          // the review queue: approve, reject, modify and escalate routed offers
  kSignedIn,        // any valid key: who am I and what may I do (the dashboard's sign-in)
  kSetAutomation,   // move the program between automation phases, or roll a move back
  kErase,           // erase a member (the right to erasure): cannot be undone
};
inline constexpr int kPermissionCount = 17;

std::string_view PermissionName(Permission permission);  // words: "read personal data"
std::string_view PermissionCode(Permission permission);  // the API's name: "read_pii"
// The one table of who may do what.
bool Allowed(Role role, Permission permission);

// An authenticated caller.
struct Principal {
  std::string user;
  Role role = Role::kAnalyst;
  int64_t key_id = 0;  // 0: the local operator (CLI on the data directory)
};

struct User {
  std::string name;
  Role role = Role::kAnalyst;
  core::Timestamp created_at;
  bool disabled = false;
};

struct ApiKeyInfo {
  int64_t id = 0;
  std::string user;
  std::string label;
  std::string prefix;  // the key's first characters, to tell keys apart
  core::Timestamp created_at;
  std::optional<core::Timestamp> revoked_at;
};

struct IssuedKey {
  ApiKeyInfo info;
  std::string secret;  // the whole key: shown once, never stored
};

class Access {
 public:
  // Migrates the schema. `db` and `clock` must outlive this object.
  [[nodiscard]] static core::Result<std::unique_ptr<Access>> Open(store::Database& db, const core::Clock& clock);

  // Users: names of 1 to 64 letters, digits, '.', '_', '-' or '@'.
  [[nodiscard]] core::Result<User> CreateUser(const std::string& name, Role role);
  [[nodiscard]] core::Result<std::vector<User>> ListUsers();
  // A disabled user's keys stop working at once (changes made by another process, such as
  // the CLI while the server runs, within a second: see Authenticate).
  [[nodiscard]] core::Result<User> SetUserDisabled(const std::string& name, bool disabled);

  [[nodiscard]] core::Result<IssuedKey> IssueKey(const std::string& user, const std::string& label);
  [[nodiscard]] core::Result<std::vector<ApiKeyInfo>> ListKeys(const std::string& user = "");
  [[nodiscard]] core::Result<ApiKeyInfo> RevokeKey(int64_t key_id);

  // The caller a key belongs to; kUnauthenticated for a missing, malformed, unknown or revoked
  // key or a disabled user (one message for all, so probing learns nothing). A key found
  // valid is trusted for a second without asking the store again (the guard asks on every
  // request); revoking a key or disabling a user here forgets every such key at once.
  [[nodiscard]] core::Result<Principal> Authenticate(std::string_view key);
  // kPermissionDenied, naming the role and what it may not do.
  [[nodiscard]] static core::Status Authorize(const Principal& principal, Permission permission);

 private:
  Access(store::Database& db, const core::Clock& clock) : db_(db), clock_(clock) {}
  store::Database& db_;
  const core::Clock& clock_;
  core::RecentValues<Principal> authenticated_{std::chrono::seconds(1)};  // by key hash
};

core::Json ToJson(const User& user);
core::Json ToJson(const ApiKeyInfo& key);

}  // namespace loyalty::engine
