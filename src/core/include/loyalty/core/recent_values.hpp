#pragma once
// Values looked up recently, trusted for a short while without asking the store again: for
// reads on every request (API keys, model aliases) whose answers rarely change. The owner calls
// Forget() after any change it makes itself, so its own changes show at once; changes made by
// another process (the CLI while the server runs) show within `ttl`. Thread-safe.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace loyalty::core {

template <typename Value>
class RecentValues {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RecentValues(Clock::duration ttl, size_t capacity = 10000) : ttl_(ttl), capacity_(capacity) {}

  // What the store must be asked for `key`: either a fresh remembered value, or a ticket to
  // hand back to Remember with the answer.
  struct Lookup {
    std::optional<Value> value;
    uint64_t ticket = 0;
  };
  Lookup Find(const std::string& key) {
    std::lock_guard lock(mutex_);
    if (auto it = values_.find(key); it != values_.end() && it->second.until > Clock::now()) return {it->second.value, 0};
    return {std::nullopt, generation_};
  }

  // Keeps what the store answered, unless Forget ran after the ticket was taken (the answer may
  // predate a change that must not be undone).
  void Remember(std::string key, Value value, uint64_t ticket) {
    std::lock_guard lock(mutex_);
    if (ticket != generation_) return;
    if (values_.size() >= capacity_) values_.clear();
    values_.insert_or_assign(std::move(key), Entry{std::move(value), Clock::now() + ttl_});
  }

  void Forget() {
    std::lock_guard lock(mutex_);
    values_.clear();
    ++generation_;
  }

 private:
  struct Entry {
    Value value;
    Clock::time_point until;
  };
  const Clock::duration ttl_;
  const size_t capacity_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> values_;
  uint64_t generation_ = 0;
};

}  // namespace loyalty::core
