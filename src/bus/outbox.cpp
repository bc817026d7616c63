#include "loyalty/bus/outbox.hpp"

namespace loyalty::bus {

namespace {

// The sequence orders messages by commit: writes are serialised on both backends, so a
// message staged later always gets a larger seq and is never seen before an earlier one.
// AUTOINCREMENT: SQLite would otherwise give an emptied table's ids out again, and a relay's
// late RemoveThrough could then delete messages staged after its batch.
constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE bus_outbox (
  seq     INTEGER PRIMARY KEY AUTOINCREMENT,
  subject TEXT NOT NULL,
  msg_id  TEXT NOT NULL,
  payload TEXT NOT NULL
);
)sql";

constexpr store::Migration kMigrations[] = {{1, "bus outbox", kSchemaV1}};

}  // namespace

core::Result<std::unique_ptr<Outbox>> Outbox::Open(store::Database& db) {
  LOYALTY_TRY(store::Migrate(db, "bus_outbox", kMigrations));
  return std::unique_ptr<Outbox>(new Outbox(db));
}

core::Status Outbox::Stage(store::Transaction& tx, std::span<const Message> messages) const {
  for (const Message& message : messages) {
    LOYALTY_TRY(tx.Execute("INSERT INTO bus_outbox (subject, msg_id, payload) VALUES (?1, ?2, ?3)",
                           {message.subject, message.id, message.payload}));
  }
  return {};
}

core::Result<std::vector<StagedMessage>> Outbox::Oldest(int limit) {
  return db_.ReadValue<std::vector<StagedMessage>>([&](store::Transaction& tx) -> core::Result<std::vector<StagedMessage>> {
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT seq, subject, msg_id, payload FROM bus_outbox "
                                                 "ORDER BY seq LIMIT ?1",
                                                 {int64_t{limit}}));
    std::vector<StagedMessage> out;
    out.reserve(rows.size());
    for (const auto& row : rows) out.push_back({row.Int(0), {row.Text(1), row.Text(2), row.Text(3)}});
    return out;
  });
}

core::Status Outbox::RemoveThrough(int64_t seq) {
  return db_.Write([&](store::Transaction& tx) -> core::Status {
    LOYALTY_TRY(tx.Execute("DELETE FROM bus_outbox WHERE seq <= ?1", {seq}));
    return {};
  });
}

core::Result<int64_t> Outbox::Backlog() {
  return db_.ReadValue<int64_t>([&](store::Transaction& tx) -> core::Result<int64_t> {
    LOYALTY_ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT COUNT(*) FROM bus_outbox"));
    return rows.at(0).Int(0);
  });
}

}  // namespace loyalty::bus
