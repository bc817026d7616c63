#pragma once
// NATS JetStream as the event bus between `serve` nodes and `worker` processes (libnats).
//
// One stream holds every partition's subject, "<prefix>.<partition>"; a member's messages
// always go to the same partition (PartitionOf), so they are consumed in order by one worker.
// Publishing waits for the stream's acknowledgements; the stream drops a message whose id it
// saw within its duplicate window. Delivery is at least once: a message not acknowledged
// within ack_wait is delivered again, so consumers must be idempotent by message id.
// The bus is never the durable record (JetStream 2.9 acknowledges before fsync): messages
// come from the store's outbox, which publishes again whatever was not acknowledged.

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "loyalty/bus/outbox.hpp"
#include "loyalty/core/error.hpp"

namespace loyalty::bus {

struct JetStreamOptions {
  std::string url = "nats://127.0.0.1:4222";
  std::string stream = "LOYALTY";            // letters, digits, '_' and '-'
  std::string subject_prefix = "loyalty.events";
  int partitions = 8;                       // fixed for the life of a stream
  int duplicate_window_ms = 120'000;
  // How long the stream keeps a message: longer than any worker outage to ride out, short
  // enough that erased members' events do not linger (the store is the record).
  int max_age_hours = 72;
  int ack_wait_ms = 30'000;                 // redelivery after this without an ack
  int publish_timeout_ms = 5'000;
};

// The partition of a member's messages: a stable hash of its id.
int PartitionOf(std::string_view member, int partitions);
std::string SubjectOf(const JetStreamOptions& options, int partition);

// One received message.
struct Delivery {
  std::string subject;
  std::string id;  // the publisher's message id
  std::string payload;
  uint64_t delivered = 1;  // how many times it was delivered (1: first time)
};

// Messages fetched from a durable pull consumer; each is acknowledged when processed.
class FetchedBatch {
 public:
  FetchedBatch() = default;
  FetchedBatch(FetchedBatch&&) noexcept;
  FetchedBatch& operator=(FetchedBatch&&) noexcept;
  ~FetchedBatch();
  const std::vector<Delivery>& deliveries() const { return deliveries_; }
  // Done with message i: it is not delivered again.
  [[nodiscard]] core::Status Ack(size_t i);
  // Message i failed: deliver it again (after a short delay).
  void Nak(size_t i);

 private:
  friend class PartitionConsumer;
  struct Messages;
  std::unique_ptr<Messages> messages_;
  std::vector<Delivery> deliveries_;
};

class PartitionConsumer {
 public:
  ~PartitionConsumer();
  // Up to `max` messages, waiting at most `timeout_ms` for the first; empty on timeout.
  [[nodiscard]] core::Result<FetchedBatch> Fetch(int max, int timeout_ms);

 private:
  friend class JetStream;
  struct Impl;
  explicit PartitionConsumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// An ordered subscription to every partition from now on (a cache kept fresh).
class Follower {
 public:
  ~Follower();

 private:
  friend class JetStream;
  struct Impl;
  explicit Follower(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class JetStream {
 public:
  // Connects (reconnecting on its own afterwards) and creates the stream when missing. Fails
  // with kUnavailable when the server cannot be reached or has JetStream off, and
  // kFailedPrecondition when the stream exists with another partition layout.
  [[nodiscard]] static core::Result<std::unique_ptr<JetStream>> Connect(const JetStreamOptions& options);
  ~JetStream();

  // Publishes in order and waits until the stream acknowledged every message. On failure
  // some may have been stored: publish them all again (the duplicate window drops repeats).
  [[nodiscard]] core::Status Publish(std::span<const Message> messages);
  // The durable pull consumer `durable` of one partition. Processes binding the same name
  // share its messages; a restarted process resumes after the last acknowledged message.
  [[nodiscard]] core::Result<std::unique_ptr<PartitionConsumer>> Consume(int partition, const std::string& durable);
  // Calls `on_message` on a library thread with every message published from now on.
  [[nodiscard]] core::Result<std::unique_ptr<Follower>> Follow(std::function<void(const Delivery&)> on_message);

  const JetStreamOptions& options() const { return options_; }

 private:
  struct Impl;
  JetStream(JetStreamOptions options, std::unique_ptr<Impl> impl);
  JetStreamOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loyalty::bus
