#ifndef ARCA_SERVER_API_BLOCKING_POOL_H_
#define ARCA_SERVER_API_BLOCKING_POOL_H_

#include <cstddef>
#include <deque>
#include <functional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace arca::api {

// BlockingPool runs handlers that wait on the disk (synced writes) off
// gRPC's callback threads. gRPC 1.51 serves callback RPCs on only
// max(2, cores/2) threads; a handler that blocks in fdatasync there caps a
// 2-core server at two writes in flight, and RocksDB's group commit never
// sees a group. Threads are started on demand (an idle server keeps none,
// so idle RSS does not grow) up to a fixed maximum. Thread-safe.
class BlockingPool {
 public:
  explicit BlockingPool(size_t max_threads) : max_threads_(max_threads) {}
  // Runs the queued tasks, then waits for every thread to end.
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // The pool the API layer shares; never destroyed.
  static BlockingPool& Default();

  // Queues `task`; starts a thread if none is idle and the maximum allows.
  void Run(std::function<void()> task);

  size_t threads() const;

 private:
  void Work();
  bool HasWorkOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_threads_;
  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  size_t threads_ ABSL_GUARDED_BY(mu_) = 0;
  size_t idle_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace arca::api

#endif  // ARCA_SERVER_API_BLOCKING_POOL_H_
