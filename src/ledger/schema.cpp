#include "schema.hpp"

namespace loyalty::ledger::internal {

namespace {

// Amounts are integers (points; money in minor units). Times are Unix milliseconds.
// `accounts.balance` and `lots.remaining` are caches maintained in the same transaction as
// the postings they summarise; VerifyInvariants recomputes both from the journal.
constexpr std::string_view kV1 = R"sql(
CREATE TABLE members (
  member_id        TEXT PRIMARY KEY,
  created_at       INTEGER NOT NULL,
  tier             TEXT NOT NULL,
  last_activity_at INTEGER NOT NULL
);
CREATE TABLE accounts (
  account TEXT PRIMARY KEY,
  balance INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE commands (
  idempotency_key TEXT PRIMARY KEY,
  kind            TEXT NOT NULL,
  payload         TEXT NOT NULL,
  result          TEXT NOT NULL,
  created_at      INTEGER NOT NULL
);
CREATE TABLE entries (
  entry_id        INTEGER PRIMARY KEY,
  kind            TEXT NOT NULL,
  member_id       TEXT REFERENCES members(member_id),
  idempotency_key TEXT,
  created_at      INTEGER NOT NULL,
  details         TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE postings (
  posting_id INTEGER PRIMARY KEY,
  entry_id   INTEGER NOT NULL REFERENCES entries(entry_id),
  account    TEXT NOT NULL REFERENCES accounts(account),
  amount     INTEGER NOT NULL CHECK (amount <> 0)
);
CREATE INDEX postings_by_account ON postings(account, entry_id);
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
CREATE INDEX lots_open_by_availability ON lots(member_id, available_at) WHERE remaining > 0;
CREATE INDEX lots_open_by_expiry ON lots(expires_at) WHERE remaining > 0;
CREATE TABLE lot_movements (
  entry_id INTEGER NOT NULL REFERENCES entries(entry_id),
  lot_id   INTEGER NOT NULL REFERENCES lots(lot_id),
  amount   INTEGER NOT NULL CHECK (amount <> 0)
);
CREATE INDEX lot_movements_by_lot ON lot_movements(lot_id);
CREATE TABLE orders (
  order_id     TEXT PRIMARY KEY,
  member_id    TEXT NOT NULL REFERENCES members(member_id),
  entry_id     INTEGER REFERENCES entries(entry_id),
  lot_id       INTEGER REFERENCES lots(lot_id),
  occurred_at  INTEGER NOT NULL,
  spend_minor  INTEGER NOT NULL,
  order_points INTEGER NOT NULL,
  order_points_reversed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE order_lines (
  order_id          TEXT NOT NULL REFERENCES orders(order_id),
  line_no           INTEGER NOT NULL,
  sku               TEXT NOT NULL,
  category          TEXT NOT NULL,
  quantity          INTEGER NOT NULL,
  unit_price_minor  INTEGER NOT NULL,
  points            INTEGER NOT NULL,
  returned_quantity INTEGER NOT NULL DEFAULT 0 CHECK (returned_quantity <= quantity),
  PRIMARY KEY (order_id, line_no)
);
CREATE TABLE qualifying_activity (
  member_id   TEXT NOT NULL REFERENCES members(member_id),
  at          INTEGER NOT NULL,
  points      INTEGER NOT NULL,
  spend_minor INTEGER NOT NULL,
  entry_id    INTEGER REFERENCES entries(entry_id)
);
CREATE INDEX qualifying_by_member ON qualifying_activity(member_id, at);
CREATE TABLE rewards (
  reward_id    TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  points_price INTEGER NOT NULL CHECK (points_price > 0),
  stock        INTEGER CHECK (stock IS NULL OR stock >= 0)
);
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

constexpr store::Migration kMigrations[] = {
    {1, "members, accounts, journal, lots, orders, rewards, tiers", kV1},
};

}  // namespace

std::span<const store::Migration> LedgerMigrations() { return kMigrations; }

}  // namespace loyalty::ledger::internal
