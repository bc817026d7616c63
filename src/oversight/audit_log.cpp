#include "loyalty/oversight/audit_log.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>

namespace loyalty::oversight {

using core::ErrorCode;
using core::Fail;
using core::Json;
using core::Result;
using store::Transaction;

namespace {

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE audit_log (
  seq            INTEGER PRIMARY KEY,
  at             INTEGER NOT NULL,
  actor          TEXT NOT NULL,
  role           TEXT NOT NULL,
  action         TEXT NOT NULL,
  target         TEXT NOT NULL,
  member_id      TEXT NOT NULL,
  status         INTEGER NOT NULL,
  reason         TEXT NOT NULL,
  request_digest TEXT NOT NULL,
  result_digest  TEXT NOT NULL,
  model_version  TEXT NOT NULL,
  hash           TEXT NOT NULL
);
CREATE INDEX audit_log_by_member ON audit_log(member_id, seq) WHERE member_id <> '';
CREATE INDEX audit_log_by_actor ON audit_log(actor, seq);
CREATE INDEX audit_log_by_time ON audit_log(at);
)sql";

constexpr store::Migration kMigrations[] = {{1, "audit trail", kSchemaV1}};

constexpr std::string_view kColumns =
    "SELECT seq, at, actor, role, action, target, member_id, status, reason, request_digest, result_digest, "
    "model_version, hash FROM audit_log";

AuditEntry ReadEntry(const store::Row& row) {
  AuditEntry e;
  e.seq = row.Int(0);
  e.at = core::FromUnixMillis(row.Int(1));
  e.actor = row.Text(2);
  e.role = row.Text(3);
  e.action = row.Text(4);
  e.target = row.Text(5);
  e.member = row.Text(6);
  e.status = static_cast<int>(row.Int(7));
  e.reason = row.Text(8);
  e.request_digest = row.Text(9);
  e.result_digest = row.Text(10);
  e.model_version = row.Text(11);
  e.hash = row.Text(12);
  return e;
}

}  // namespace

// Every field but the hash itself, in a fixed order, each length-prefixed (so no two
// different entries serialise alike), after the previous hash.
std::string ChainHash(const std::string& previous, const AuditEntry& e) {
  std::string bytes = previous;
  auto add = [&bytes](std::string_view field) {
    bytes += std::to_string(field.size());
    bytes += ':';
    bytes += field;
  };
  add(std::to_string(e.seq));
  add(std::to_string(core::ToUnixMillis(e.at)));
  add(e.actor);
  add(e.role);
  add(e.action);
  add(e.target);
  add(e.member);
  add(std::to_string(e.status));
  add(e.reason);
  add(e.request_digest);
  add(e.result_digest);
  add(e.model_version);
  return Digest(bytes);
}

std::string Digest(std::string_view bytes) {
  std::array<unsigned char, crypto_generichash_BYTES> hash{};
  crypto_generichash(hash.data(), hash.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                     nullptr, 0);
  std::string hex(hash.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), hash.data(), hash.size());
  hex.pop_back();
  return hex;
}

Result<std::unique_ptr<AuditLog>> AuditLog::Open(store::Database& db, const core::Clock& clock) {
  if (sodium_init() < 0) return Fail(ErrorCode::kInternal, "libsodium could not be initialised");
  LOYALTY_TRY(store::Migrate(db, "audit", kMigrations));
  return std::unique_ptr<AuditLog>(new AuditLog(db, clock));
}

Result<AuditEntry> AuditLog::Append(AuditEntry entry) {
  return db_.WriteValue<AuditEntry>([&](Transaction& tx) -> Result<AuditEntry> {
    LOYALTY_TRY(AppendIn(tx, std::span(&entry, 1)));
    return entry;
  });
}

core::Status AuditLog::AppendIn(Transaction& tx, std::span<AuditEntry> entries) const {
  // The store's single writer orders appends, so each one reads the true previous hash; the
  // time is read there too, so times never run backwards along the chain.
  if (entries.empty()) return {};
  LOYALTY_ASSIGN_OR_RETURN(auto last, tx.QueryOne("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"));
  int64_t seq = last ? last->Int(0) : 0;
  std::string previous = last ? last->Text(1) : std::string();
  const core::Timestamp now = clock_.Now();
  for (auto& entry : entries) {
    if (entry.actor.empty() || entry.action.empty()) {
      return Fail(ErrorCode::kInvalidArgument, "an audit entry needs an actor and an action");
    }
    entry.at = now;
    entry.seq = ++seq;
    entry.hash = ChainHash(previous, entry);
    previous = entry.hash;
    LOYALTY_TRY(tx.Execute(
        "INSERT INTO audit_log (seq, at, actor, role, action, target, member_id, status, reason, request_digest, "
        "result_digest, model_version, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        {entry.seq, core::ToUnixMillis(entry.at), entry.actor, entry.role, entry.action, entry.target, entry.member,
         static_cast<int64_t>(entry.status), entry.reason, entry.request_digest, entry.result_digest,
         entry.model_version, entry.hash}));
  }
  return {};
}

Result<std::vector<AuditEntry>> AuditLog::Query(const AuditQuery& q) {
  if (q.limit < 1 || q.limit > 1000) return Fail(ErrorCode::kInvalidArgument, "the audit query limit must be 1 to 1000");
  return db_.ReadValue<std::vector<AuditEntry>>([&](Transaction& tx) -> Result<std::vector<AuditEntry>> {
    std::optional<int64_t> from, to;
    if (q.from) from = core::ToUnixMillis(*q.from);
    if (q.to) to = core::ToUnixMillis(*q.to);
    LOYALTY_ASSIGN_OR_RETURN(
        auto rows, tx.Query(std::string(kColumns) +
                                " WHERE (CAST(?1 AS TEXT) IS NULL OR member_id = ?1) AND (CAST(?2 AS TEXT) IS NULL OR "
                                "actor = ?2) AND (CAST(?3 AS BIGINT) IS NULL OR at >= ?3) AND (CAST(?4 AS BIGINT) IS NULL "
                                "OR at < ?4) ORDER BY seq DESC LIMIT ?5",
                            {q.member, q.actor, from, to, static_cast<int64_t>(q.limit)}));
    std::vector<AuditEntry> out;
    for (const auto& row : rows) out.push_back(ReadEntry(row));
    return out;
  });
}

Result<AuditVerification> AuditLog::Verify() {
  return db_.ReadValue<AuditVerification>([&](Transaction& tx) -> Result<AuditVerification> {
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query(std::string(kColumns) + " ORDER BY seq"));
    AuditVerification out;
    std::string previous;
    int64_t expected_seq = 1;
    for (const auto& row : rows) {
      const AuditEntry e = ReadEntry(row);
      ++out.entries;
      std::string problem;
      if (e.seq != expected_seq) {
        problem = "entry " + std::to_string(expected_seq) + " is missing";
      } else if (ChainHash(previous, e) != e.hash) {
        problem = "entry " + std::to_string(e.seq) + " does not match its hash: it was changed, or one before it was";
      }
      if (!problem.empty()) {
        out.ok = false;
        out.first_broken = std::min(e.seq, expected_seq);
        out.problem = problem;
        return out;
      }
      previous = e.hash;
      ++expected_seq;
    }
    return out;
  });
}

Json ToJson(const AuditEntry& e) {
  return {{"seq", e.seq},
          {"at", core::FormatTimestamp(e.at)},
          {"actor", e.actor},
          {"role", e.role},
          {"action", e.action},
          {"target", e.target},
          {"member", e.member.empty() ? Json(nullptr) : Json(e.member)},
          {"status", e.status},
          {"reason", e.reason.empty() ? Json(nullptr) : Json(e.reason)},
          {"request_digest", e.request_digest},
          {"result_digest", e.result_digest},
          {"model_version", e.model_version.empty() ? Json(nullptr) : Json(e.model_version)},
          {"hash", e.hash}};
}

Json ToJson(const AuditVerification& v) {
  return {{"ok", v.ok},
          {"entries", v.entries},
          {"first_broken", v.first_broken ? Json(*v.first_broken) : Json(nullptr)},
          {"problem", v.problem.empty() ? Json(nullptr) : Json(v.problem)}};
}

}  // namespace loyalty::oversight
