#include "schema.hpp"

namespace loyalty::ledger::internal {

namespace {

// Amounts are integers (points; money in minor units). Times are Unix milliseconds.
// `accounts.balance` and `lots.remaining` are caches maintained in the same transaction as
// the postings they summarise; VerifyInvariants recomputes both from the journal.
// Every b-tree a command touches costs a page write per commit, so tables keyed by text are
// WITHOUT ROWID (one b-tree, not two) and indexes that serve only some programs are partial.
constexpr std::string_view kV1 = R"sql(
CREATE TABLE members (
  member_id        TEXT PRIMARY KEY,
  created_at       INTEGER NOT NULL,
  tier             TEXT NOT NULL,
  last_activity_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE accounts (
  account TEXT PRIMARY KEY,
  balance INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE commands (
  idempotency_key TEXT PRIMARY KEY,
  kind            TEXT NOT NULL,
  payload         TEXT NOT NULL,
  result          TEXT NOT NULL,
  created_at      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE entries (
  entry_id        INTEGER PRIMARY KEY,
  kind            TEXT NOT NULL,
  member_id       TEXT REFERENCES members(member_id),
  idempotency_key TEXT,
  created_at      INTEGER NOT NULL,
  details         TEXT NOT NULL DEFAULT '{}'
);
-- Clustered by account, so a statement is one range read; an entry posts to an account once.
CREATE TABLE postings (
  account  TEXT NOT NULL REFERENCES accounts(account),
  entry_id INTEGER NOT NULL REFERENCES entries(entry_id),
  amount   INTEGER NOT NULL CHECK (amount <> 0),
  PRIMARY KEY (account, entry_id)
) WITHOUT ROWID;
CREATE TABLE lots (
  lot_id       INTEGER PRIMARY KEY,
  member_id    TEXT NOT NULL REFERENCES members(member_id),
  entry_id     INTEGER NOT NULL REFERENCES entries(entry_id),
  earned_at    INTEGER NOT NULL,
  available_at INTEGER NOT NULL,
  expires_at   INTEGER,
  original     INTEGER NOT NULL CHECK (original > 0),
  remaining    INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= original)
);
CREATE INDEX lots_open_by_member ON lots(member_id, earned_at, lot_id) WHERE remaining > 0;
-- Only lots still pending (pending_days > 0) and only lots with a fixed expiry are indexed.
CREATE INDEX lots_pending ON lots(member_id, available_at) WHERE remaining > 0 AND available_at > earned_at;
CREATE INDEX lots_expiring ON lots(expires_at) WHERE remaining > 0 AND expires_at IS NOT NULL;
-- What consumed each lot (redemption, expiry, return, negative adjustment), by entry.
CREATE TABLE lot_movements (
  entry_id INTEGER NOT NULL REFERENCES entries(entry_id),
  lot_id   INTEGER NOT NULL REFERENCES lots(lot_id),
  amount   INTEGER NOT NULL CHECK (amount < 0)
);
-- Orders earn once; their points and spend qualify for tiers until returned.
CREATE TABLE orders (
  order_id              TEXT PRIMARY KEY,
  member_id             TEXT NOT NULL REFERENCES members(member_id),
  entry_id              INTEGER REFERENCES entries(entry_id),
  lot_id                INTEGER REFERENCES lots(lot_id),
  occurred_at           INTEGER NOT NULL,
  spend_minor           INTEGER NOT NULL,
  spend_returned_minor  INTEGER NOT NULL DEFAULT 0,
  points                INTEGER NOT NULL,
  points_returned       INTEGER NOT NULL DEFAULT 0,
  order_points          INTEGER NOT NULL,
  order_points_reversed INTEGER NOT NULL DEFAULT 0,
  -- [{sku, category, quantity, unit_price_minor, points, returned}]: kept in the order's row,
  -- not a table of its own, so an earn writes one b-tree page fewer.
  lines                 TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX orders_by_member ON orders(member_id, occurred_at);
CREATE TABLE rewards (
  reward_id    TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  points_price INTEGER NOT NULL CHECK (points_price > 0),
  stock        INTEGER CHECK (stock IS NULL OR stock >= 0)
) WITHOUT ROWID;
CREATE TABLE tier_history (
  member_id  TEXT NOT NULL REFERENCES members(member_id),
  at         INTEGER NOT NULL,
  from_tier  TEXT NOT NULL,
  to_tier    TEXT NOT NULL,
  qualifying INTEGER NOT NULL,
  reason     TEXT NOT NULL
);
CREATE INDEX tier_history_by_member ON tier_history(member_id, at);
)sql";

// Member merges: what each merge moved, so an unmerge can give it back.
constexpr std::string_view kV2 = R"sql(
CREATE TABLE member_merges (
  merge_id         INTEGER PRIMARY KEY,
  survivor_id      TEXT NOT NULL REFERENCES members(member_id),
  absorbed_id      TEXT NOT NULL REFERENCES members(member_id),
  entry_id         INTEGER REFERENCES entries(entry_id),
  points           INTEGER NOT NULL,
  lots             TEXT NOT NULL,
  orders           TEXT NOT NULL,
  unmerge_entry_id INTEGER REFERENCES entries(entry_id),
  unmerged         INTEGER NOT NULL DEFAULT 0
);
-- Commands check that their member was not merged away, in their own transaction.
CREATE INDEX member_merges_open_by_absorbed ON member_merges(absorbed_id) WHERE unmerged = 0;
)sql";

// When a posting's business event happened (a sale, a redemption at the till), which may be
// earlier than when the ledger recorded it; NULL means "when recorded". Point-in-time reads and
// the breakage model use it, so history loaded in bulk keeps its own dates.
constexpr std::string_view kV3 = R"sql(
ALTER TABLE entries ADD COLUMN occurred_at INTEGER;
UPDATE entries SET occurred_at = (SELECT CASE WHEN o.occurred_at < entries.created_at THEN o.occurred_at
                                               ELSE entries.created_at END FROM orders o
                                  WHERE o.entry_id = entries.entry_id)
 WHERE kind = 'earn';
)sql";

// Tier history reads newest first, ties in insertion order: SQLite has the rowid for that;
// PostgreSQL gets a column of the same name.
constexpr std::string_view kV4Postgres = R"sql(
ALTER TABLE tier_history ADD COLUMN rowid BIGINT GENERATED ALWAYS AS IDENTITY;
)sql";

constexpr store::Migration kMigrations[] = {
    {1, "members, accounts, journal, lots, orders, rewards, tiers", kV1},
    {2, "member merges", kV2},
    {3, "occurrence time of journal entries", kV3},
    {4, "insertion order of tier history", "", kV4Postgres},
};

}  // namespace

std::span<const store::Migration> LedgerMigrations() { return kMigrations; }

}  // namespace loyalty::ledger::internal
