#include "group_commit.hpp"

#include <chrono>
#include <string>

namespace loyalty::store::internal {

using core::Error;
using core::ErrorCode;

// A writer waiting in the queue.
struct GroupCommit::PendingWrite {
  const std::function<Status(Transaction&)>* work = nullptr;
  const std::function<Status()>* alone = nullptr;  // runs by itself, outside any transaction
  Status status;
  bool done = false;
  std::condition_variable cv;
};

Status GroupCommit::Write(const std::function<Status(Transaction&)>& work) {
  PendingWrite self;
  self.work = &work;
  std::unique_lock lock(mu_);
  queue_.push_back(&self);
  if (leader_waiting_) arrival_cv_.notify_one();
  while (!self.done && &self != queue_.front()) self.cv.wait(lock);
  if (self.done) return std::move(self.status);

  // This thread leads: it runs every queued write, including those that arrive while it
  // runs, in one transaction, then commits once for all of them.
  const size_t max_batch = static_cast<size_t>(std::max(1, options_.max_batch));
  std::vector<PendingWrite*> batch;
  lock.unlock();
  try {
    RunBatch(batch, max_batch);
  } catch (const std::exception& e) {
    // Never leave the queue stuck or the transaction open: fail the batch and move on. The
    // leader is always part of its batch, even if the failure came before it was taken in.
    if (batch.empty()) batch.push_back(&self);
    AbortBatch(batch, Error{ErrorCode::kInternal, std::string("write failed: ") + e.what()});
  }
  lock.lock();
  for (size_t i = 0; i < batch.size(); ++i) {
    PendingWrite* w = queue_.front();
    queue_.pop_front();
    w->done = true;
    if (w != &self) w->cv.notify_one();
  }
  if (!queue_.empty()) queue_.front()->cv.notify_one();
  return std::move(self.status);
}

Status GroupCommit::RunAlone(const std::function<Status()>& alone) {
  PendingWrite self;
  self.alone = &alone;
  std::unique_lock lock(mu_);
  queue_.push_back(&self);
  if (leader_waiting_) arrival_cv_.notify_one();
  while (&self != queue_.front()) self.cv.wait(lock);
  lock.unlock();
  Status status;
  try {
    status = alone();
  } catch (const std::exception& e) {
    status = core::Fail(ErrorCode::kInternal, std::string("store maintenance failed: ") + e.what());
  }
  lock.lock();
  queue_.pop_front();
  if (!queue_.empty()) queue_.front()->cv.notify_one();
  return status;
}

// Takes the writes at the front of the queue (the leader's own first) into `batch`, runs each
// in its own savepoint so a failure rolls back only itself, and commits the batch.
void GroupCommit::RunBatch(std::vector<PendingWrite*>& batch, size_t max_batch) {
  auto take_arrivals = [&] {
    std::lock_guard lock(mu_);
    for (size_t i = batch.size(); i < queue_.size() && batch.size() < max_batch && queue_[i]->alone == nullptr; ++i) {
      batch.push_back(queue_[i]);
    }
  };
  take_arrivals();
  if (Status begin = writer_.Begin(); !begin) {
    writer_.Rollback();
    for (auto* w : batch) w->status = begin;
    return;
  }
  bool any_ok = false;
  bool waited = false;
  for (size_t next = 0; next < batch.size();) {
    for (; next < batch.size(); ++next) {
      PendingWrite* w = batch[next];
      w->status = writer_.Savepoint();
      if (w->status) w->status = RunWork(*w);
      if (!writer_.InTransaction()) {
        return AbortBatch(batch, Error{ErrorCode::kUnavailable, "the store aborted the transaction; retry"});
      }
      if (!w->status) {
        if (Status undone = writer_.RollbackToSavepoint(); !undone) return AbortBatch(batch, undone.error());
      } else if (Status released = writer_.ReleaseSavepoint(); !released) {
        return AbortBatch(batch, released.error());
      }
      any_ok = any_ok || w->status.has_value();
    }
    take_arrivals();
    // The writers of the previous batch are still waking up: give them a moment to join this
    // commit rather than each paying for one of their own. Once per batch, and only while
    // writers are concurrent, so a lone writer never waits.
    if (next == batch.size() && !waited && batch.size() < last_batch_size_ && batch.size() < max_batch &&
        options_.commit_delay_us > 0) {
      waited = true;
      std::unique_lock lock(mu_);
      leader_waiting_ = true;
      arrival_cv_.wait_for(lock, std::chrono::microseconds(options_.commit_delay_us),
                           [&] { return queue_.size() > batch.size(); });
      leader_waiting_ = false;
      lock.unlock();
      take_arrivals();
    }
  }
  last_batch_size_ = batch.size();
  if (!any_ok) {
    writer_.Rollback();
    return;
  }
  if (Status commit = writer_.Commit(); !commit) return AbortBatch(batch, commit.error());
  writes_ += static_cast<int64_t>(batch.size());
  commits_ += 1;
}

// Runs one write's work; an exception from it fails that write only.
Status GroupCommit::RunWork(PendingWrite& w) {
  try {
    return (*w.work)(writer_.transaction());
  } catch (const std::exception& e) {
    return core::Fail(ErrorCode::kInternal, std::string("write failed: ") + e.what());
  }
}

// Rolls back whatever the batch did and fails every write in it, including those that had
// succeeded: none of them is durable.
void GroupCommit::AbortBatch(const std::vector<PendingWrite*>& batch, const Error& error) {
  writer_.Rollback();
  for (auto* w : batch) w->status = std::unexpected(error);
}

}  // namespace loyalty::store::internal
