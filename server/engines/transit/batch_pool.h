#ifndef ARCA_SERVER_ENGINES_TRANSIT_BATCH_POOL_H_
#define ARCA_SERVER_ENGINES_TRANSIT_BATCH_POOL_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"

namespace arca::engines::transit {

// BatchPool spreads the chunks of one big batch over the calling thread and
// a few helper threads (started on demand, then kept), so a 1,000-item call
// uses every core instead of one of gRPC's callback threads. The caller
// claims chunks too and never waits for one nobody started, so a busy pool
// costs it only the hand-off. Thread-safe.
class BatchPool {
 public:
  explicit BatchPool(size_t max_helpers) : max_helpers_(max_helpers) {}
  // Waits for every helper to end (helpers only run inside a Run call, so
  // none is busy once no Run is in progress).
  ~BatchPool();
  BatchPool(const BatchPool&) = delete;
  BatchPool& operator=(const BatchPool&) = delete;

  // The pool the transit engines of this process share: one helper per core
  // beyond the first (one if the core count is unknown), never destroyed.
  static BatchPool& Shared();

  // Calls fn(begin, end) for consecutive ranges that cover [0, n), each at
  // most `chunk` long, on this thread and on idle helpers; returns once
  // every call has returned. `fn` must be safe to call concurrently for
  // different ranges. With n <= chunk it is one inline call.
  void Run(size_t n, size_t chunk, absl::FunctionRef<void(size_t, size_t)> fn);

  size_t helpers() const;

 private:
  struct Job;
  void Work();
  bool HasWorkOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_helpers_;
  mutable absl::Mutex mu_;
  std::deque<std::shared_ptr<Job>> queue_ ABSL_GUARDED_BY(mu_);
  size_t helpers_ ABSL_GUARDED_BY(mu_) = 0;
  size_t idle_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace arca::engines::transit

#endif  // ARCA_SERVER_ENGINES_TRANSIT_BATCH_POOL_H_
