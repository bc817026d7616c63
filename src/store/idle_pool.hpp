#pragma once
// Reader connections kept open between reads, shared by the backends.

#include <memory>
#include <mutex>
#include <vector>

namespace loyalty::store::internal {

template <typename Connection>
class IdlePool {
 public:
  explicit IdlePool(int keep) : keep_(static_cast<size_t>(keep > 0 ? keep : 0)) {}

  // An idle connection, or null when there is none (the caller opens one).
  std::unique_ptr<Connection> Take() {
    std::lock_guard lock(mu_);
    if (idle_.empty()) return nullptr;
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return conn;
  }

  // Keeps `conn` for the next read, unless `keep` are idle already (then it closes).
  void Return(std::unique_ptr<Connection> conn) {
    std::lock_guard lock(mu_);
    if (idle_.size() < keep_) idle_.push_back(std::move(conn));
  }

 private:
  const size_t keep_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;  // GUARDED_BY(mu_)
};

}  // namespace loyalty::store::internal
