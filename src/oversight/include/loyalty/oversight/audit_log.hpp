#pragma once
// The audit trail: an append-only, hash-chained record of every change made through the API
// and of every read of personal data — who (user and role), what (action and target), when,
// why (the reason given), and digests of the request and of the outcome. Each entry's hash
// covers its fields and the previous entry's hash (BLAKE2b, libsodium), so altering, removing
// or reordering any entry breaks every hash after it: Verify() finds the first break.

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "loyalty/core/clock.hpp"
#include "loyalty/core/error.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/store/database.hpp"

namespace loyalty::oversight {

struct AuditEntry {
  int64_t seq = 0;             // position in the chain, from 1
  core::Timestamp at;
  std::string actor;           // the signed-in user ("cli" for the local operator)
  std::string role;
  std::string action;          // e.g. "POST /v1/members/{id}/bonus"
  std::string target;          // e.g. "/v1/members/ann/bonus"
  std::string member;          // the member concerned, when there is one
  int status = 0;              // the outcome (HTTP status)
  std::string reason;          // the reason the caller gave, if any
  std::string request_digest;  // BLAKE2b of the request body (hex), empty when there was none
  std::string result_digest;   // BLAKE2b of the response body (hex)
  std::string model_version;   // the model behind an automated decision, if any
  std::string hash;            // of this entry and the previous hash (hex)
};

struct AuditQuery {
  std::optional<std::string> member = std::nullopt;
  std::optional<std::string> actor = std::nullopt;
  std::optional<core::Timestamp> from = std::nullopt;  // inclusive
  std::optional<core::Timestamp> to = std::nullopt;    // exclusive
  int limit = 100;                      // newest first, 1 to 1000
};

struct AuditVerification {
  bool ok = true;
  int64_t entries = 0;
  std::optional<int64_t> first_broken;  // the first entry whose hash does not match
  std::string problem;
};

// BLAKE2b-256 of bytes, in hex.
std::string Digest(std::string_view bytes);
// An entry's hash given the previous entry's ("" for the first): what Verify recomputes.
std::string ChainHash(const std::string& previous, const AuditEntry& entry);

class AuditLog {
 public:
  // Migrates the schema. `db` and `clock` must outlive this object.
  [[nodiscard]] static core::Result<std::unique_ptr<AuditLog>> Open(store::Database& db, const core::Clock& clock);

  // Appends an entry (seq, at and hash are set here) and returns it as stored.
  [[nodiscard]] core::Result<AuditEntry> Append(AuditEntry entry);
  // Appends entries in order inside a caller's write transaction (what they record commits, or
  // fails, with them); sets their seq, at and hash.
  [[nodiscard]] core::Status AppendIn(store::Transaction& tx, std::span<AuditEntry> entries) const;
  [[nodiscard]] core::Result<std::vector<AuditEntry>> Query(const AuditQuery& query);
  // Recomputes the whole chain.
  [[nodiscard]] core::Result<AuditVerification> Verify();

 private:
  AuditLog(store::Database& db, const core::Clock& clock) : db_(db), clock_(clock) {}
  store::Database& db_;
  const core::Clock& clock_;
};

core::Json ToJson(const AuditEntry& entry);
core::Json ToJson(const AuditVerification& verification);

}  // namespace loyalty::oversight
