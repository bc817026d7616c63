#pragma once
// Group commit, shared by the backends: concurrent Write() calls queue; the writer at the front
// runs every queued call in one transaction, each inside its own savepoint so a failing call
// rolls back only itself, and commits once for all of them (the LevelDB writers_ pattern).

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "loyalty/store/database.hpp"

namespace loyalty::store::internal {

// The writer connection of a backend, as the group commit drives it. Used by one thread at a
// time (the batch leader).
class WriterConnection {
 public:
  virtual ~WriterConnection() = default;

  // Where the current write runs its statements (inside its savepoint).
  virtual Transaction& transaction() = 0;
  [[nodiscard]] virtual Status Begin() = 0;
  [[nodiscard]] virtual Status Savepoint() = 0;
  [[nodiscard]] virtual Status RollbackToSavepoint() = 0;
  [[nodiscard]] virtual Status ReleaseSavepoint() = 0;
  [[nodiscard]] virtual Status Commit() = 0;
  // Ends the open transaction, if any, keeping nothing. Never fails.
  virtual void Rollback() = 0;
  // False once the backend ended the transaction by itself (disk full, connection lost):
  // then every write of the batch is gone, and none may be reported done.
  virtual bool InTransaction() const = 0;
};

struct GroupCommitOptions {
  int max_batch = 512;      // upper bound on calls batched into one commit
  int commit_delay_us = 0;  // how long a leader waits for the previous batch's writers to rejoin
};

class GroupCommit {
 public:
  GroupCommit(WriterConnection& writer, GroupCommitOptions options) : writer_(writer), options_(options) {}

  [[nodiscard]] Status Write(const std::function<Status(Transaction&)>& work);

  // Runs `alone` on the writer outside any transaction, after the writes queued before it and
  // before those queued after it.
  [[nodiscard]] Status RunAlone(const std::function<Status()>& alone);

  Database::WriteStats stats() const { return {writes_.load(), commits_.load()}; }

 private:
  struct PendingWrite;

  void RunBatch(std::vector<PendingWrite*>& batch, size_t max_batch);
  Status RunWork(PendingWrite& w);
  void AbortBatch(const std::vector<PendingWrite*>& batch, const core::Error& error);

  WriterConnection& writer_;  // used only by the current batch leader
  const GroupCommitOptions options_;

  std::mutex mu_;
  std::deque<PendingWrite*> queue_;  // GUARDED_BY(mu_)
  std::condition_variable arrival_cv_;
  bool leader_waiting_ = false;  // GUARDED_BY(mu_)
  size_t last_batch_size_ = 0;   // used by the current leader only

  std::atomic<int64_t> writes_{0};
  std::atomic<int64_t> commits_{0};
};

}  // namespace loyalty::store::internal
