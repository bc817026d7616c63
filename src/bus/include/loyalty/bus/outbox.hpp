#pragma once
// The transactional outbox between the store and the event bus. A message is staged in the
// same transaction as the change it announces (an accepted event), so it exists exactly when
// the change does; a relay then publishes staged messages in order and removes them once the
// bus has acknowledged them. A crash between the two publishes again: consumers deduplicate
// by message id (the bus also drops a repeat within its duplicate window).

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "loyalty/store/database.hpp"

namespace loyalty::bus {

struct Message {
  std::string subject;  // e.g. "loyalty.events.3"
  std::string id;       // deduplication id, e.g. the event id
  std::string payload;  // JSON
};

struct StagedMessage {
  int64_t seq = 0;  // staging order
  Message message;
};

class Outbox {
 public:
  // Migrates the outbox table. `db` must outlive the outbox.
  [[nodiscard]] static core::Result<std::unique_ptr<Outbox>> Open(store::Database& db);

  // Stages messages inside the caller's write transaction.
  [[nodiscard]] core::Status Stage(store::Transaction& tx, std::span<const Message> messages) const;
  // The oldest staged messages, at most `limit`, in staging order.
  [[nodiscard]] core::Result<std::vector<StagedMessage>> Oldest(int limit);
  // Removes every staged message up to and including `seq` (they were published).
  [[nodiscard]] core::Status RemoveThrough(int64_t seq);
  // How many messages wait to be published.
  [[nodiscard]] core::Result<int64_t> Backlog();

 private:
  explicit Outbox(store::Database& db) : db_(db) {}
  store::Database& db_;
};

}  // namespace loyalty::bus
