#pragma once
// The program on an event bus (NATS JetStream) when it runs on several nodes.
//
// A `serve` node stages every accepted event in the store's outbox, in the transaction that
// logs it; a relay publishes the outbox to the stream, partitioned by member. Each node also
// follows the stream: an event logged by any node refreshes this node's live features of
// that member, so decisions on every node see every node's events.
//
// A `worker` consumes partitions through durable consumers (several workers share the
// partitions they name; a restarted worker resumes where it acknowledged). For each event it
// refreshes the member's features and, for the configured event types, makes the member's
// next-best-action decision: once per event, however often the event is delivered (the
// decision log keeps the triggering event's id, unique). A message is acknowledged only
// after its decision is stored.

#include <atomic>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "loyalty/bus/jetstream.hpp"
#include "loyalty/bus/relay.hpp"
#include "loyalty/core/json.hpp"
#include "loyalty/engine/platform.hpp"

namespace loyalty::engine {

struct BusOptions {
  bus::JetStreamOptions jetstream;
  // Worker: the event types that trigger a decision, and the channel it is made for.
  std::set<events::EventType> decide_on = {events::EventType::kPurchase, events::EventType::kCartAbandon};
  std::string channel = "email";
  std::string durable_prefix = "loyalty-worker";  // consumer "<prefix>-<partition>"
};

// `[bus]` and `[worker]` of the configuration; nullopt for the in-process default (no
// `[bus]`, or backend = "in_process").
[[nodiscard]] core::Result<std::optional<BusOptions>> ParseBusOptions(const core::Json& config);

// "0-3,6": partitions, each below `partitions`; empty text: all of them.
[[nodiscard]] core::Result<std::vector<int>> ParsePartitions(std::string_view text, int partitions);

// Stages every event the platform logs in the bus's outbox, inside the transaction that logs
// it: installed by every process of a multi-node program (serve, import, the demo loader), so
// no accepted event misses the bus. Needs only the store; a serve node's relay publishes.
class EventStaging {
 public:
  [[nodiscard]] static core::Result<std::unique_ptr<EventStaging>> Install(Platform& platform,
                                                                          const bus::JetStreamOptions& options);
  ~EventStaging();  // the event log stages nothing more

 private:
  EventStaging(Platform& platform, bus::JetStreamOptions options) : platform_(platform), options_(std::move(options)) {}
  Platform& platform_;
  const bus::JetStreamOptions options_;
  std::unique_ptr<bus::Outbox> outbox_;
};

class NodeBusLink {
 public:
  // Connects and starts the relay (the outbox to the stream) and the follower (the stream to
  // this node's live features). Events are staged by EventStaging, installed beforehand.
  [[nodiscard]] static core::Result<std::unique_ptr<NodeBusLink>> Start(Platform& platform,
                                                                        const bus::JetStreamOptions& options);
  ~NodeBusLink();

 private:
  NodeBusLink() = default;
  Platform* platform_ = nullptr;
  std::unique_ptr<bus::JetStream> stream_;
  std::unique_ptr<bus::Outbox> outbox_;
  std::unique_ptr<bus::Relay> relay_;
  std::unique_ptr<bus::Follower> follower_;
};

class Worker {
 public:
  // Starts one consuming thread per partition.
  [[nodiscard]] static core::Result<std::unique_ptr<Worker>> Start(Platform& platform, const BusOptions& options,
                                                                   std::vector<int> partitions);
  ~Worker();  // stops after the batches in hand

  struct Stats {
    int64_t processed = 0;  // events acknowledged
    int64_t decided = 0;    // decisions made
    int64_t repeated = 0;   // redeliveries that found their decision made
    int64_t skipped = 0;    // unreadable messages, or events that fail for good (acknowledged, logged)
    int64_t retried = 0;    // events handed back for redelivery (the store or bus was unavailable)
  };
  Stats stats() const;

 private:
  Worker(Platform& platform, BusOptions options) : platform_(platform), options_(std::move(options)) {}
  void Consume(bus::PartitionConsumer& consumer);
  // Handles one delivery; false when it should be delivered again.
  bool Handle(const bus::Delivery& delivery);

  Platform& platform_;
  const BusOptions options_;
  std::unique_ptr<bus::JetStream> stream_;
  std::vector<std::unique_ptr<bus::PartitionConsumer>> consumers_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> processed_{0}, decided_{0}, repeated_{0}, skipped_{0}, retried_{0};
};

}  // namespace loyalty::engine
