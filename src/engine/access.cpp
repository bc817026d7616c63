#include "loyalty/engine/access.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace loyalty::engine {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;
using store::Transaction;

namespace {

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE access_users (
  name       TEXT PRIMARY KEY,
  role       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  disabled   INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE access_keys (
  key_id     INTEGER PRIMARY KEY,
  user_name  TEXT NOT NULL REFERENCES access_users(name),
  label      TEXT NOT NULL,
  prefix     TEXT NOT NULL,
  hash       TEXT NOT NULL UNIQUE,  -- BLAKE2b of the key, hex
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
)sql";

constexpr store::Migration kMigrations[] = {{1, "users and API keys", kSchemaV1}};

constexpr std::string_view kKeyPrefix = "lk_";
constexpr size_t kKeyBytes = 32;

// Which roles hold each permission, in Permission order: admin, manager, analyst, service, auditor.
constexpr std::array<std::array<bool, 5>, kPermissionCount> kAllowed = {{
    /* kPublic         */ {true, true, true, true, true},
    /* kReadAggregates */ {true, true, true, false, true},
    /* kReadMember     */ {true, true, true, true, false},
    /* kReadPii        */ {true, true, false, true, false},
    /* kIngest         */ {true, false, false, true, false},
    /* kTransact       */ {true, true, false, true, false},
    /* kGrant          */ {true, true, false, false, false},
    /* kManageMembers  */ {true, true, false, true, false},
    /* kManageModels   */ {true, true, false, false, false},
    /* kReadAudit      */ {true, false, false, false, true},
    /* kManageAccess   */ {true, false, false, false, false},
    /* kDecide         */ {true, true, false, true, false},
    /* kManageOffers   */ {true, true, false, false, false},
    /* kReview         */ {true, true, false, false, false},
    /* kSignedIn       */ {true, true, true, true, true},
    /* kSetAutomation  */ {true, false, false, false, false},
    /* kErase          */ {true, false, false, false, false},
}};

std::string Hex(const unsigned char* bytes, size_t n) {
  std::string out(n * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes, n);
  out.pop_back();
  return out;
}

std::string HashKey(std::string_view key) {
  std::array<unsigned char, crypto_generichash_BYTES> hash{};
  crypto_generichash(hash.data(), hash.size(), reinterpret_cast<const unsigned char*>(key.data()), key.size(), nullptr, 0);
  return Hex(hash.data(), hash.size());
}

core::Status CheckName(const std::string& name) {
  const bool ok = !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '@';
  });
  if (!ok) {
    return Fail(ErrorCode::kInvalidArgument,
                "a user name has 1 to 64 letters, digits, '.', '_', '-' or '@', not '" + name + "'");
  }
  return {};
}

// A role the store holds but this build does not know is damage, not the caller's mistake.
Result<Role> StoredRole(const std::string& name) {
  auto role = ParseRole(name);
  if (!role) return Fail(ErrorCode::kInternal, "the store holds an unknown role '" + name + "'");
  return role;
}

Result<User> ReadUser(const store::Row& row) {
  LOYALTY_ASSIGN_OR_RETURN(Role role, StoredRole(row.Text(1)));
  return User{row.Text(0), role, core::FromUnixMillis(row.Int(2)), row.Int(3) != 0};
}

ApiKeyInfo ReadKey(const store::Row& row) {
  ApiKeyInfo key{row.Int(0), row.Text(1), row.Text(2), row.Text(3), core::FromUnixMillis(row.Int(4)), std::nullopt};
  if (auto revoked = row.OptionalInt(5)) key.revoked_at = core::FromUnixMillis(*revoked);
  return key;
}

constexpr std::string_view kKeyColumns = "SELECT key_id, user_name, label, prefix, created_at, revoked_at FROM access_keys";

Result<User> GetUser(Transaction& tx, const std::string& name) {
  LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT name, role, created_at, disabled FROM access_users WHERE name = ?1",
                                                 {name}));
  if (!row) return Fail(ErrorCode::kNotFound, "no user '" + name + "'; create one with `loyalty access user create`");
  return ReadUser(*row);
}

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin: return "admin";
    case Role::kManager: return "manager";
    case Role::kAnalyst: return "analyst";
    case Role::kService: return "service";
    case Role::kAuditor: return "auditor";
  }
  return "analyst";
}

Result<Role> ParseRole(std::string_view name) {
  for (Role role : kRoles) {
    if (RoleName(role) == name) return role;
  }
  return Fail(ErrorCode::kInvalidArgument,
              "no role '" + std::string(name) + "'; the roles are admin, manager, analyst, service and auditor");
}

std::string_view PermissionName(Permission permission) {
  switch (permission) {
    case Permission::kPublic: return "public";
    case Permission::kReadAggregates: return "read aggregates";
    case Permission::kReadMember: return "read member data";
    case Permission::kReadPii: return "read personal data";
    case Permission::kIngest: return "send events";
    case Permission::kTransact: return "earn, redeem and return points";
    case Permission::kGrant: return "grant bonuses, adjust points and edit rewards";
    case Permission::kManageMembers: return "manage members";
    case Permission::kManageModels: return "manage models";
    case Permission::kReadAudit: return "read the audit trail";
    case Permission::kManageAccess: return "manage users and keys";
    case Permission::kDecide: return "ask for decisions and report their outcomes";
    case Permission::kManageOffers: return "manage offers, contact policy, strategy, experiments and campaigns";
    case Permission::kReview: return "review routed offers: approve, reject, modify, escalate";
    case Permission::kSignedIn: return "see who is signed in";
    case Permission::kSetAutomation: return "move the program between automation phases";
    case Permission::kErase: return "erase members";
  }
  return "unknown";
}

std::string_view PermissionCode(Permission permission) {
  switch (permission) {
    case Permission::kPublic: return "public";
    case Permission::kReadAggregates: return "read_aggregates";
    case Permission::kReadMember: return "read_member";
    case Permission::kReadPii: return "read_pii";
    case Permission::kIngest: return "ingest";
    case Permission::kTransact: return "transact";
    case Permission::kGrant: return "grant";
    case Permission::kManageMembers: return "manage_members";
    case Permission::kManageModels: return "manage_models";
    case Permission::kReadAudit: return "read_audit";
    case Permission::kManageAccess: return "manage_access";
    case Permission::kDecide: return "decide";
    case Permission::kManageOffers: return "manage_offers";
    case Permission::kReview: return "review";
    case Permission::kSignedIn: return "signed_in";
    case Permission::kSetAutomation: return "set_automation";
    case Permission::kErase: return "erase_members";
  }
  return "unknown";
}

bool Allowed(Role role, Permission permission) {
  return kAllowed[static_cast<size_t>(permission)][static_cast<size_t>(role)];
}

Result<std::unique_ptr<Access>> Access::Open(store::Database& db, const core::Clock& clock) {
  if (sodium_init() < 0) return Fail(ErrorCode::kInternal, "libsodium could not be initialised");
  LOYALTY_TRY(store::Migrate(db, "access", kMigrations));
  return std::unique_ptr<Access>(new Access(db, clock));
}

Result<User> Access::CreateUser(const std::string& name, Role role) {
  LOYALTY_TRY(CheckName(name));
  return db_.WriteValue<User>([&](Transaction& tx) -> Result<User> {
    LOYALTY_ASSIGN_OR_RETURN(auto exists, tx.QueryOne("SELECT 1 FROM access_users WHERE name = ?1", {name}));
    if (exists) return Fail(ErrorCode::kAlreadyExists, "user '" + name + "' exists already");
    const User user{name, role, clock_.Now(), false};
    LOYALTY_TRY(tx.Execute("INSERT INTO access_users (name, role, created_at) VALUES (?1, ?2, ?3)",
                           {name, std::string(RoleName(role)), core::ToUnixMillis(user.created_at)}));
    return user;
  });
}

Result<std::vector<User>> Access::ListUsers() {
  return db_.ReadValue<std::vector<User>>([&](Transaction& tx) -> Result<std::vector<User>> {
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT name, role, created_at, disabled FROM access_users ORDER BY name"));
    std::vector<User> out;
    for (const auto& row : rows) {
      LOYALTY_ASSIGN_OR_RETURN(auto user, ReadUser(row));
      out.push_back(std::move(user));
    }
    return out;
  });
}

Result<User> Access::SetUserDisabled(const std::string& name, bool disabled) {
  auto changed = db_.WriteValue<User>([&](Transaction& tx) -> Result<User> {
    LOYALTY_ASSIGN_OR_RETURN(User user, GetUser(tx, name));
    LOYALTY_TRY(tx.Execute("UPDATE access_users SET disabled = ?2 WHERE name = ?1", {name, disabled ? 1 : 0}));
    user.disabled = disabled;
    return user;
  });
  authenticated_.Forget();
  return changed;
}

Result<IssuedKey> Access::IssueKey(const std::string& user, const std::string& label) {
  if (label.size() > 200) return Fail(ErrorCode::kInvalidArgument, "a key label has at most 200 characters");
  std::array<unsigned char, kKeyBytes> random{};
  randombytes_buf(random.data(), random.size());
  const std::string secret = std::string(kKeyPrefix) + Hex(random.data(), random.size());
  sodium_memzero(random.data(), random.size());
  return db_.WriteValue<IssuedKey>([&](Transaction& tx) -> Result<IssuedKey> {
    LOYALTY_ASSIGN_OR_RETURN(User owner, GetUser(tx, user));
    if (owner.disabled) return Fail(ErrorCode::kFailedPrecondition, "user '" + user + "' is disabled");
    IssuedKey issued;
    issued.secret = secret;
    issued.info = {0, user, label, secret.substr(0, 10), clock_.Now(), std::nullopt};
    LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("INSERT INTO access_keys (user_name, label, prefix, hash, created_at) "
                                                   "VALUES (?1, ?2, ?3, ?4, ?5) RETURNING key_id",
                                                   {user, label, issued.info.prefix, HashKey(secret),
                                                    core::ToUnixMillis(issued.info.created_at)}));
    issued.info.id = row->Int(0);
    return issued;
  });
}

Result<std::vector<ApiKeyInfo>> Access::ListKeys(const std::string& user) {
  return db_.ReadValue<std::vector<ApiKeyInfo>>([&](Transaction& tx) -> Result<std::vector<ApiKeyInfo>> {
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query(std::string(kKeyColumns) + " WHERE ?1 = '' OR user_name = ?1 ORDER BY key_id",
                                                 {user}));
    std::vector<ApiKeyInfo> out;
    for (const auto& row : rows) out.push_back(ReadKey(row));
    return out;
  });
}

Result<ApiKeyInfo> Access::RevokeKey(int64_t key_id) {
  auto revoked = db_.WriteValue<ApiKeyInfo>([&](Transaction& tx) -> Result<ApiKeyInfo> {
    LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne(std::string(kKeyColumns) + " WHERE key_id = ?1", {key_id}));
    if (!row) return Fail(ErrorCode::kNotFound, "no API key " + std::to_string(key_id));
    ApiKeyInfo key = ReadKey(*row);
    if (!key.revoked_at) {
      key.revoked_at = clock_.Now();
      LOYALTY_TRY(tx.Execute("UPDATE access_keys SET revoked_at = ?2 WHERE key_id = ?1",
                             {key_id, core::ToUnixMillis(*key.revoked_at)}));
    }
    return key;
  });
  authenticated_.Forget();
  return revoked;
}

Result<Principal> Access::Authenticate(std::string_view key) {
  auto refused = [] {
    return Fail(ErrorCode::kUnauthenticated,
                "send a valid API key as 'Authorization: Bearer lk_...' (issue one with `loyalty access key issue`)");
  };
  if (!key.starts_with(kKeyPrefix) || key.size() != kKeyPrefix.size() + 2 * kKeyBytes) return refused();
  std::string hash = HashKey(key);
  auto recent = authenticated_.Find(hash);
  if (recent.value) return *recent.value;
  auto principal = db_.ReadValue<Principal>([&](Transaction& tx) -> Result<Principal> {
    LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT k.key_id, u.name, u.role FROM access_keys k JOIN access_users u "
                                                   "ON u.name = k.user_name WHERE k.hash = ?1 AND k.revoked_at IS NULL "
                                                   "AND u.disabled = 0",
                                                   {hash}));
    if (!row) return refused();
    LOYALTY_ASSIGN_OR_RETURN(Role role, StoredRole(row->Text(2)));
    return Principal{row->Text(1), role, row->Int(0)};
  });
  if (principal) authenticated_.Remember(std::move(hash), *principal, recent.ticket);
  return principal;
}

core::Status Access::Authorize(const Principal& principal, Permission permission) {
  if (Allowed(principal.role, permission)) return {};
  return Fail(ErrorCode::kPermissionDenied, "user '" + principal.user + "' (" + std::string(RoleName(principal.role)) +
                                                ") may not " + std::string(PermissionName(permission)));
}

Json ToJson(const User& user) {
  return {{"name", user.name},
          {"role", RoleName(user.role)},
          {"created_at", core::FormatTimestamp(user.created_at)},
          {"disabled", user.disabled}};
}

Json ToJson(const ApiKeyInfo& key) {
  return {{"id", key.id},
          {"user", key.user},
          {"label", key.label},
          {"prefix", key.prefix},
          {"created_at", core::FormatTimestamp(key.created_at)},
          {"revoked_at", key.revoked_at ? Json(core::FormatTimestamp(*key.revoked_at)) : Json(nullptr)}};
}

}  // namespace loyalty::engine
