#include "loyalty/privacy/vault.hpp"

#include "loyalty/privacy/private_file.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace loyalty::privacy {
namespace {

using core::ErrorCode;
using core::Fail;
using core::Result;
using core::Status;

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE vault_entries (
  ref TEXT PRIMARY KEY,
  member TEXT NOT NULL,
  kind TEXT NOT NULL,
  key_id TEXT NOT NULL,
  sealed TEXT NOT NULL,  -- base64 of nonce || ciphertext
  created_at INTEGER NOT NULL
);
CREATE INDEX vault_entries_member ON vault_entries (member, created_at);
)sql";
constexpr std::string_view kSchemaV2 = R"sql(
CREATE TABLE vault_tasks (
  name TEXT PRIMARY KEY,
  done_at INTEGER NOT NULL
);
)sql";
constexpr std::string_view kSchemaV3 = "CREATE INDEX vault_entries_kind ON vault_entries (kind, ref)";
// The key of lookup digests, sealed like an entry: it outlives key rotations (Rekey re-seals
// it), so digests already stored stay valid.
constexpr std::string_view kSchemaV4 = R"sql(
CREATE TABLE vault_lookup_key (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  key_id TEXT NOT NULL,
  sealed TEXT NOT NULL
);
)sql";
constexpr store::Migration kMigrations[] = {{1, "PII vault", kSchemaV1},
                                            {2, "one-off vault tasks", kSchemaV2},
                                            {3, "vault entries by kind", kSchemaV3},
                                            {4, "lookup digest key", kSchemaV4}};
// Reference and associated-data member of the sealed lookup key.
constexpr std::string_view kLookupKeyRef = "vault:lookup-key";

constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;

// The associated data binds a ciphertext to its row.
std::string AssociatedData(std::string_view ref, std::string_view member) {
  std::string ad(ref);
  ad += '\0';
  ad += member;
  return ad;
}

std::string Base64(const std::string& bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);
  return out;
}

std::string Seal(const VaultKey& key, std::string_view ref, std::string_view member, std::string_view plaintext) {
  std::string out(kNonce + plaintext.size() + kTag, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(bytes, kNonce);
  const std::string ad = AssociatedData(ref, member);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      bytes + kNonce, &written, reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
      reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, bytes, key.bytes().data());
  out.resize(kNonce + written);
  return Base64(out);
}

Result<std::string> Open(const VaultKey& key, std::string_view ref, std::string_view member, std::string_view sealed) {
  std::string bytes(sealed.size(), '\0');
  size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(), sealed.data(), sealed.size(),
                        nullptr, &length, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      length < kNonce + kTag) {
    return Fail(ErrorCode::kInternal, "vault entry '" + std::string(ref) + "' is corrupt");
  }
  const auto* in = reinterpret_cast<const unsigned char*>(bytes.data());
  std::string plaintext(length - kNonce - kTag, '\0');
  unsigned long long written = 0;
  const std::string ad = AssociatedData(ref, member);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(plaintext.data()), &written, nullptr, in + kNonce, length - kNonce,
          reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), in, key.bytes().data()) != 0) {
    return Fail(ErrorCode::kInternal, "vault entry '" + std::string(ref) +
                                          "' does not open with this key: it was altered or sealed by another key");
  }
  plaintext.resize(written);
  return plaintext;
}

Status CheckKey(const VaultKey& key, std::string_view ref, std::string_view key_id) {
  if (key_id == key.id()) return {};
  return Fail(ErrorCode::kFailedPrecondition, "vault entry '" + std::string(ref) + "' was sealed by key " +
                                                  std::string(key_id) + ", not by the configured key " + key.id());
}

}  // namespace

VaultKey VaultKey::Generate() {
  if (sodium_init() < 0) std::abort();  // no randomness: nothing safe to do
  VaultKey key;
  crypto_aead_xchacha20poly1305_ietf_keygen(key.bytes_.data());
  unsigned char digest[8];
  crypto_generichash(digest, sizeof digest, key.bytes_.data(), key.bytes_.size(), nullptr, 0);
  char hex[sizeof digest * 2 + 1];
  key.id_ = sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return key;
}

Result<VaultKey> VaultKey::FromHex(std::string_view hex) {
  while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.front()))) hex.remove_prefix(1);
  while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.back()))) hex.remove_suffix(1);
  VaultKey key = Generate();  // initialises libsodium; the bytes are replaced below
  size_t length = 0;
  if (hex.size() != kBytes * 2 ||
      sodium_hex2bin(key.bytes_.data(), key.bytes_.size(), hex.data(), hex.size(), nullptr, &length, nullptr) != 0 ||
      length != kBytes) {
    return Fail(ErrorCode::kInvalidArgument, "a vault key is 64 hex digits (32 bytes)");
  }
  unsigned char digest[8];
  crypto_generichash(digest, sizeof digest, key.bytes_.data(), key.bytes_.size(), nullptr, 0);
  char text[sizeof digest * 2 + 1];
  key.id_ = sodium_bin2hex(text, sizeof text, digest, sizeof digest);
  return key;
}

Status VaultKey::WriteFile(const std::filesystem::path& path, bool replace) const {
  auto written = WritePrivateFile(path, Hex() + "\n", replace);
  if (!written) return core::Wrap(written.error(), "the vault key file");
  return {};
}

Result<VaultKey> VaultKey::FromFile(const std::filesystem::path& path, bool create) {
  if (!std::filesystem::exists(path)) {
    if (!create) return Fail(ErrorCode::kNotFound, "vault key file " + path.string() + " does not exist");
    VaultKey key = Generate();
    auto written = key.WriteFile(path, false);
    if (written) return key;
    // Another process created it first: use the key it wrote.
    if (written.error().code != ErrorCode::kAlreadyExists) return std::unexpected(written.error());
  }
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  if (!in) return Fail(ErrorCode::kInvalidArgument, "cannot read the vault key file " + path.string());
  auto key = FromHex(content.str());
  if (!key) return Fail(ErrorCode::kInvalidArgument, path.string() + ": " + key.error().message);
  return key;
}

std::string VaultKey::Hex() const {
  char hex[kBytes * 2 + 1];
  return sodium_bin2hex(hex, sizeof hex, bytes_.data(), bytes_.size());
}

Result<std::unique_ptr<Vault>> Vault::Open(store::Database& db, VaultKey key, const core::Clock& clock,
                                           bool check_key) {
  if (sodium_init() < 0) return Fail(ErrorCode::kInternal, "libsodium could not be initialised");
  LOYALTY_TRY(store::Migrate(db, "vault", kMigrations));
  if (check_key) {
    LOYALTY_ASSIGN_OR_RETURN(auto sealed_by, db.ReadValue<std::vector<store::Row>>([](store::Transaction& tx) {
      return tx.Query("SELECT key_id, COUNT(*) FROM vault_entries GROUP BY key_id");
    }));
    if (!sealed_by.empty() && std::none_of(sealed_by.begin(), sealed_by.end(),
                                           [&](const store::Row& row) { return row.Text(0) == key.id(); })) {
      return Fail(ErrorCode::kFailedPrecondition,
                  "the vault's entries were sealed by key " + sealed_by.front().Text(0) +
                      ", not by the configured key " + key.id() +
                      ": restore the key that sealed them (docs/operations.md, PII vault)");
    }
  }
  std::unique_ptr<Vault> vault(new Vault(db, std::move(key), clock));
  LOYALTY_TRY(vault->LoadLookupKey(check_key));
  return vault;
}

Status Vault::LoadLookupKey(bool check_key) {
  // Takes the stored key; nullopt row: there is none yet.
  auto adopt = [&](const store::Row& row) -> Status {
    // Another key sealed it: a vault opened without the key check cannot make digests
    // (Digest says so).
    if (row.Text(0) != key_.id()) {
      if (!check_key) return {};
      return Fail(ErrorCode::kFailedPrecondition, "the vault's lookup key was sealed by key " + row.Text(0) +
                                                      ", not by the configured key " + key_.id() +
                                                      ": restore the key that sealed it (docs/operations.md, PII vault)");
    }
    LOYALTY_ASSIGN_OR_RETURN(std::string opened, privacy::Open(key_, kLookupKeyRef, "", row.Text(1)));
    if (opened.size() != crypto_generichash_KEYBYTES) {
      return Fail(ErrorCode::kInternal, "the vault's lookup key is corrupt");
    }
    lookup_key_ = std::move(opened);
    return {};
  };
  constexpr std::string_view kSelect = "SELECT key_id, sealed FROM vault_lookup_key WHERE id = 1";
  // A read first: every start after the first finds the key, and a start needs no commit.
  LOYALTY_ASSIGN_OR_RETURN(auto stored, db_.ReadValue<std::optional<store::Row>>(
                                            [&](store::Transaction& tx) { return tx.QueryOne(kSelect); }));
  if (stored) return adopt(*stored);
  // The first use creates it; asked again inside the write, where another process may have
  // created it meanwhile.
  return db_.Write([&](store::Transaction& tx) -> Status {
    LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne(kSelect));
    if (row) return adopt(*row);
    std::string fresh(crypto_generichash_KEYBYTES, '\0');
    randombytes_buf(fresh.data(), fresh.size());
    LOYALTY_TRY(tx.Execute("INSERT INTO vault_lookup_key (id, key_id, sealed) VALUES (1, ?1, ?2)",
                           {key_.id(), Seal(key_, kLookupKeyRef, "", fresh)}));
    lookup_key_ = std::move(fresh);
    return {};
  });
}

Result<std::string> Vault::Digest(std::string_view value) const {
  if (!lookup_key_) {
    return Fail(ErrorCode::kFailedPrecondition,
                "the vault's lookup key was sealed by another key: open the vault with the key that sealed it");
  }
  unsigned char digest[16];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(value.data()), value.size(),
                     reinterpret_cast<const unsigned char*>(lookup_key_->data()), lookup_key_->size());
  char hex[sizeof digest * 2 + 1];
  return std::string(sodium_bin2hex(hex, sizeof hex, digest, sizeof digest));
}

Status Vault::Put(std::span<const Secret> secrets) {
  if (secrets.empty()) return {};
  return db_.Write([&](store::Transaction& tx) { return Put(tx, secrets); });
}

Status Vault::Put(store::Transaction& tx, std::span<const Secret> secrets) const {
  const int64_t now = core::ToUnixMillis(clock_.Now());
  for (const Secret& secret : secrets) {
    if (secret.ref.empty()) return Fail(ErrorCode::kInvalidArgument, "a vault entry needs a reference");
    const std::string sealed = Seal(key_, secret.ref, secret.member.str(), secret.plaintext);
    LOYALTY_TRY(tx.Execute(
        "INSERT INTO vault_entries (ref, member, kind, key_id, sealed, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
        "ON CONFLICT (ref) DO NOTHING",
        {secret.ref, secret.member.str(), secret.kind, key_.id(), sealed, now}));
  }
  return {};
}

Status Vault::Replace(std::span<const Secret> secrets) {
  if (secrets.empty()) return {};
  const int64_t now = core::ToUnixMillis(clock_.Now());
  return db_.Write([&](store::Transaction& tx) -> Status {
    for (const Secret& secret : secrets) {
      if (secret.ref.empty()) return Fail(ErrorCode::kInvalidArgument, "a vault entry needs a reference");
      const std::string sealed = Seal(key_, secret.ref, secret.member.str(), secret.plaintext);
      LOYALTY_TRY(tx.Execute(
          "INSERT INTO vault_entries (ref, member, kind, key_id, sealed, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
          "ON CONFLICT (ref) DO UPDATE SET member = excluded.member, kind = excluded.kind, key_id = excluded.key_id, "
          "sealed = excluded.sealed",
          {secret.ref, secret.member.str(), secret.kind, key_.id(), sealed, now}));
    }
    return {};
  });
}

Result<std::vector<Secret>> Vault::OfKind(std::string_view kind) {
  return db_.ReadValue<std::vector<Secret>>([&](store::Transaction& tx) -> Result<std::vector<Secret>> {
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT ref, member, key_id, sealed FROM vault_entries WHERE kind = ?1 "
                                                 "ORDER BY ref",
                                                 {kind}));
    std::vector<Secret> out;
    out.reserve(rows.size());
    for (const store::Row& row : rows) {
      LOYALTY_TRY(CheckKey(key_, row.Text(0), row.Text(2)));
      LOYALTY_ASSIGN_OR_RETURN(auto member, core::MemberId::Parse(row.Text(1)));
      LOYALTY_ASSIGN_OR_RETURN(std::string plaintext, privacy::Open(key_, row.Text(0), row.Text(1), row.Text(3)));
      out.push_back({row.Text(0), std::move(member), std::string(kind), std::move(plaintext)});
    }
    return out;
  });
}

Result<std::optional<std::string>> Vault::Get(std::string_view ref) {
  return db_.ReadValue<std::optional<std::string>>(
      [&](store::Transaction& tx) -> Result<std::optional<std::string>> { return Get(tx, ref); });
}

Result<std::optional<std::string>> Vault::Get(store::Transaction& tx, std::string_view ref) const {
  LOYALTY_ASSIGN_OR_RETURN(auto row,
                           tx.QueryOne("SELECT member, key_id, sealed FROM vault_entries WHERE ref = ?1", {ref}));
  if (!row) return std::optional<std::string>();
  LOYALTY_TRY(CheckKey(key_, ref, row->Text(1)));
  LOYALTY_ASSIGN_OR_RETURN(std::string plaintext, privacy::Open(key_, ref, row->Text(0), row->Text(2)));
  return std::optional<std::string>(std::move(plaintext));
}

Result<std::vector<Secret>> Vault::ForMember(const core::MemberId& member) {
  return db_.ReadValue<std::vector<Secret>>([&](store::Transaction& tx) -> Result<std::vector<Secret>> {
    LOYALTY_ASSIGN_OR_RETURN(auto rows,
                             tx.Query("SELECT ref, kind, key_id, sealed FROM vault_entries WHERE member = ?1 "
                                      "ORDER BY created_at, ref",
                                      {member.str()}));
    std::vector<Secret> out;
    for (const store::Row& row : rows) {
      LOYALTY_TRY(CheckKey(key_, row.Text(0), row.Text(2)));
      LOYALTY_ASSIGN_OR_RETURN(std::string plaintext, privacy::Open(key_, row.Text(0), member.str(), row.Text(3)));
      out.push_back({row.Text(0), member, row.Text(1), std::move(plaintext)});
    }
    return out;
  });
}

Result<int64_t> Vault::EraseMember(const core::MemberId& member, std::optional<std::string> kind) {
  return db_.WriteValue<int64_t>(
      [&](store::Transaction& tx) { return EraseMember(tx, member, std::move(kind)); });
}

Result<int64_t> Vault::EraseMember(store::Transaction& tx, const core::MemberId& member,
                                   std::optional<std::string> kind) const {
  if (kind) return tx.Execute("DELETE FROM vault_entries WHERE member = ?1 AND kind = ?2", {member.str(), *kind});
  return tx.Execute("DELETE FROM vault_entries WHERE member = ?1", {member.str()});
}

Result<int64_t> Vault::Erase(store::Transaction& tx, std::span<const std::string> refs) const {
  int64_t erased = 0;
  for (const auto& ref : refs) {
    LOYALTY_ASSIGN_OR_RETURN(int64_t removed, tx.Execute("DELETE FROM vault_entries WHERE ref = ?1", {ref}));
    erased += removed;
  }
  return erased;
}

Result<bool> Vault::TaskDone(std::string_view name) {
  return db_.ReadValue<bool>([&](store::Transaction& tx) { return TaskDone(tx, name); });
}

Result<bool> Vault::TaskDone(store::Transaction& tx, std::string_view name) const {
  LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT 1 FROM vault_tasks WHERE name = ?1", {name}));
  return row.has_value();
}

Status Vault::MarkTaskDone(store::Transaction& tx, std::string_view name) const {
  LOYALTY_TRY(tx.Execute("INSERT INTO vault_tasks (name, done_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                         {name, core::ToUnixMillis(clock_.Now())}));
  return {};
}

Result<int64_t> Vault::Count() {
  return db_.ReadValue<int64_t>([](store::Transaction& tx) -> Result<int64_t> {
    LOYALTY_ASSIGN_OR_RETURN(auto row, tx.QueryOne("SELECT COUNT(*) FROM vault_entries"));
    return row->Int(0);
  });
}

Result<int64_t> Vault::Rekey(store::Database& db, const VaultKey& current, const VaultKey& next) {
  if (sodium_init() < 0) return Fail(ErrorCode::kInternal, "libsodium could not be initialised");
  LOYALTY_TRY(store::Migrate(db, "vault", kMigrations));
  return db.WriteValue<int64_t>([&](store::Transaction& tx) -> Result<int64_t> {
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT ref, member, key_id, sealed FROM vault_entries"));
    for (const store::Row& row : rows) {
      LOYALTY_TRY(CheckKey(current, row.Text(0), row.Text(2)));
      LOYALTY_ASSIGN_OR_RETURN(std::string plaintext, privacy::Open(current, row.Text(0), row.Text(1), row.Text(3)));
      LOYALTY_TRY(tx.Execute("UPDATE vault_entries SET key_id = ?1, sealed = ?2 WHERE ref = ?3",
                             {next.id(), Seal(next, row.Text(0), row.Text(1), plaintext), row.Text(0)}));
      sodium_memzero(plaintext.data(), plaintext.size());
    }
    LOYALTY_ASSIGN_OR_RETURN(auto lookup, tx.QueryOne("SELECT key_id, sealed FROM vault_lookup_key WHERE id = 1"));
    if (lookup) {
      LOYALTY_TRY(CheckKey(current, kLookupKeyRef, lookup->Text(0)));
      LOYALTY_ASSIGN_OR_RETURN(std::string plaintext, privacy::Open(current, kLookupKeyRef, "", lookup->Text(1)));
      LOYALTY_TRY(tx.Execute("UPDATE vault_lookup_key SET key_id = ?1, sealed = ?2 WHERE id = 1",
                             {next.id(), Seal(next, kLookupKeyRef, "", plaintext)}));
      sodium_memzero(plaintext.data(), plaintext.size());
    }
    return static_cast<int64_t>(rows.size());
  });
}

}  // namespace loyalty::privacy
