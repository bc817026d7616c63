#pragma once
// Moves staged messages from the outbox to the bus, oldest first, on a thread of its own. A
// batch leaves the outbox only once the bus acknowledged all of it; on failure the relay
// waits and publishes the same batch again. Several relays (one per node) may run over one
// outbox: a message may then be published twice, which the bus's duplicate window and the
// consumers' idempotence absorb.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <thread>

#include "loyalty/bus/outbox.hpp"

namespace loyalty::bus {

class Relay {
 public:
  using Publish = std::function<core::Status(std::span<const Message>)>;

  // Starts at once; `outbox` and whatever `publish` uses must outlive the relay.
  Relay(Outbox& outbox, Publish publish, std::chrono::milliseconds idle_poll = std::chrono::milliseconds(20));
  ~Relay();  // stops after the batch in flight
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Something was staged: publish now rather than at the next poll.
  void Wake();

  struct Stats {
    int64_t published = 0;  // messages acknowledged by the bus
    int64_t failures = 0;   // batches that failed (and were retried)
    std::string last_error;
  };
  Stats stats() const;

 private:
  void Run();
  // One batch; returns how many messages it published.
  core::Result<size_t> PublishOldest();

  Outbox& outbox_;
  Publish publish_;
  const std::chrono::milliseconds idle_poll_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool woken_ = false;
  bool stopping_ = false;
  Stats stats_;
  std::thread thread_;
};

}  // namespace loyalty::bus
