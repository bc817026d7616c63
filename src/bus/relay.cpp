#include "loyalty/bus/relay.hpp"

#include <vector>

#include "loyalty/core/logging.hpp"

namespace loyalty::bus {

namespace {
constexpr int kBatch = 512;
constexpr std::chrono::milliseconds kRetryAfter{250};
}  // namespace

Relay::Relay(Outbox& outbox, Publish publish, std::chrono::milliseconds idle_poll)
    : outbox_(outbox), publish_(std::move(publish)), idle_poll_(idle_poll), thread_([this] { Run(); }) {}

Relay::~Relay() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Relay::Wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
}

Relay::Stats Relay::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

core::Result<size_t> Relay::PublishOldest() {
  LOYALTY_ASSIGN_OR_RETURN(auto staged, outbox_.Oldest(kBatch));
  if (staged.empty()) return size_t{0};
  std::vector<Message> messages;
  messages.reserve(staged.size());
  for (auto& s : staged) messages.push_back(std::move(s.message));
  LOYALTY_TRY(publish_(messages));
  LOYALTY_TRY(outbox_.RemoveThrough(staged.back().seq));
  return staged.size();
}

void Relay::Run() {
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      woken_ = false;
    }
    auto published = PublishOldest();
    std::unique_lock lock(mutex_);
    if (!published) {
      ++stats_.failures;
      if (stats_.last_error != published.error().message) {
        core::Log(core::LogLevel::kWarn, "bus.relay_failed", {{"error", published.error().message}});
      }
      stats_.last_error = published.error().message;
      wake_.wait_for(lock, kRetryAfter, [&] { return stopping_; });
      continue;
    }
    stats_.published += static_cast<int64_t>(*published);
    // A full batch suggests more are waiting: go again at once.
    if (*published == static_cast<size_t>(kBatch)) continue;
    wake_.wait_for(lock, idle_poll_, [&] { return stopping_ || woken_; });
  }
}

}  // namespace loyalty::bus
