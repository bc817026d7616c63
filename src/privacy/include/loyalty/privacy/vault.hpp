#pragma once
// The PII vault: personal data (free text of tickets, reviews and messages today) kept
// encrypted at rest with libsodium's XChaCha20-Poly1305 AEAD. Everything else in the store
// refers to a vault entry by its reference; only the vault, holding the key, reads the
// plaintext. Each ciphertext is bound to its reference and member (the AEAD's associated
// data), so a ciphertext copied onto another row does not decrypt.
//
// Keys: 32 random bytes, written as 64 hex digits, from the environment, a key file, or a key
// file created beside the database on first use (see docs/operations.md). Each entry records
// the id of the key that sealed it; Rekey re-seals every entry under a new key.
// Threads: safe to share.

#include <array>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/error.hpp"
#include "loyalty/core/ids.hpp"
#include "loyalty/store/database.hpp"

namespace loyalty::privacy {

class VaultKey {
 public:
  static constexpr size_t kBytes = 32;
  [[nodiscard]] static VaultKey Generate();
  // 64 hex digits (surrounding whitespace ignored).
  [[nodiscard]] static core::Result<VaultKey> FromHex(std::string_view hex);
  // Reads a key file; creates it with a new key (mode 0600) when `create` and it is absent.
  [[nodiscard]] static core::Result<VaultKey> FromFile(const std::filesystem::path& path, bool create);
  // Writes the key to `path` (mode 0600, synced, moved into place whole). Without `replace`
  // an existing file is kept and the call fails with kAlreadyExists.
  [[nodiscard]] core::Status WriteFile(const std::filesystem::path& path, bool replace) const;

  std::string Hex() const;
  // A short public name for the key (hash of it): entries say which key sealed them.
  const std::string& id() const { return id_; }
  const std::array<unsigned char, kBytes>& bytes() const { return bytes_; }

 private:
  VaultKey() = default;
  std::array<unsigned char, kBytes> bytes_{};
  std::string id_;
};

struct Secret {
  std::string ref;        // the name others store instead of the data, e.g. "evt:<event id>"
  core::MemberId member;  // whose data it is (erasure removes a member's entries)
  std::string kind;       // "text", ...
  std::string plaintext;
};

class Vault {
 public:
  // Migrates the vault's schema. With `check_key`, refuses (kFailedPrecondition, naming both
  // key ids) a key that sealed none of the entries already kept: a lost or wrong key is found
  // at start, not when a text is read. `db` and `clock` must outlive the vault.
  [[nodiscard]] static core::Result<std::unique_ptr<Vault>> Open(store::Database& db, VaultKey key,
                                                                 const core::Clock& clock, bool check_key = true);

  // Seals and keeps the secrets in one transaction. A reference already kept keeps its first
  // content (a retried write changes nothing).
  [[nodiscard]] core::Status Put(std::span<const Secret> secrets);
  // Seals inside a caller's transaction (so the secret commits with what refers to it).
  [[nodiscard]] core::Status Put(store::Transaction& tx, std::span<const Secret> secrets) const;
  // Seals and keeps the secrets in one transaction, replacing what a reference held before
  // (values that change, such as a member's protected attribute).
  [[nodiscard]] core::Status Replace(std::span<const Secret> secrets);
  // Every entry of a kind, by reference.
  [[nodiscard]] core::Result<std::vector<Secret>> OfKind(std::string_view kind);
  // The plaintext under `ref`; nullopt when there is none (never kept, or erased).
  [[nodiscard]] core::Result<std::optional<std::string>> Get(std::string_view ref);
  [[nodiscard]] core::Result<std::optional<std::string>> Get(store::Transaction& tx, std::string_view ref) const;
  // A keyed digest of `value` (32 hex digits) for finding personal data without keeping it in
  // the clear: equal values give equal digests, and without the vault nobody can test a guess
  // against one. Its key is kept in the vault, sealed, and survives Rekey.
  [[nodiscard]] core::Result<std::string> Digest(std::string_view value) const;
  // A member's entries, oldest first.
  [[nodiscard]] core::Result<std::vector<Secret>> ForMember(const core::MemberId& member);
  // Removes a member's entries (of one kind, when given); returns how many there were.
  [[nodiscard]] core::Result<int64_t> EraseMember(const core::MemberId& member, std::optional<std::string> kind = std::nullopt);
  [[nodiscard]] core::Result<int64_t> EraseMember(store::Transaction& tx, const core::MemberId& member,
                                                  std::optional<std::string> kind = std::nullopt) const;
  // Removes the entries under these references inside a caller's transaction (those kept for
  // events the retention policy removes); returns how many there were.
  [[nodiscard]] core::Result<int64_t> Erase(store::Transaction& tx, std::span<const std::string> refs) const;
  [[nodiscard]] core::Result<int64_t> Count();

  // One-off tasks on the vault's data (e.g. sealing text logged before the vault existed):
  // whether `name` ran to the end, and marking it so inside the transaction that finishes it.
  [[nodiscard]] core::Result<bool> TaskDone(std::string_view name);
  [[nodiscard]] core::Result<bool> TaskDone(store::Transaction& tx, std::string_view name) const;
  [[nodiscard]] core::Status MarkTaskDone(store::Transaction& tx, std::string_view name) const;

  // Re-seals every entry of the vault in `db` from `current` to `next` in one transaction;
  // returns how many. An entry sealed by another key fails it with kFailedPrecondition and
  // nothing changes. Run it with the server stopped; it then starts with `next`.
  [[nodiscard]] static core::Result<int64_t> Rekey(store::Database& db, const VaultKey& current, const VaultKey& next);

  const std::string& key_id() const { return key_.id(); }

 private:
  Vault(store::Database& db, VaultKey key, const core::Clock& clock) : db_(db), key_(std::move(key)), clock_(clock) {}
  // Opens the lookup key, creating it on first use.
  [[nodiscard]] core::Status LoadLookupKey(bool check_key);
  store::Database& db_;
  VaultKey key_;
  std::optional<std::string> lookup_key_;  // nullopt: sealed by another key
  const core::Clock& clock_;
};

}  // namespace loyalty::privacy
