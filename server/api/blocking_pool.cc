#include "server/api/blocking_pool.h"

#include <thread>
#include <utility>

namespace arca::api {

BlockingPool& BlockingPool::Default() {
  // 64 writers in flight are enough for RocksDB to batch each fsync.
  static BlockingPool* const pool = new BlockingPool(64);
  return *pool;
}

BlockingPool::~BlockingPool() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  mu_.Await(absl::Condition(
      +[](size_t* threads) { return *threads == 0; }, &threads_));
}

void BlockingPool::Run(std::function<void()> task) {
  bool start = false;
  {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(task));
    if (idle_ == 0 && threads_ < max_threads_) {
      ++threads_;
      start = true;
    }
  }
  if (start) std::thread([this] { Work(); }).detach();
}

bool BlockingPool::HasWorkOrStopping() const {
  return !queue_.empty() || stopping_;
}

size_t BlockingPool::threads() const {
  absl::MutexLock lock(&mu_);
  return threads_;
}

void BlockingPool::Work() {
  for (;;) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      ++idle_;
      mu_.Await(absl::Condition(this, &BlockingPool::HasWorkOrStopping));
      --idle_;
      if (queue_.empty()) {  // stopping, nothing left to run
        --threads_;
        return;
      }
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace arca::api
