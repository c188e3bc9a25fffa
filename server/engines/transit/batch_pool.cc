#include "server/engines/transit/batch_pool.h"

#include <pthread.h>

#include <algorithm>
#include <optional>
#include <thread>
#include <utility>

namespace arca::engines::transit {

// One Run call's ranges. Helpers hold it by shared_ptr, so one that wakes
// after the Run returned finds nothing left to claim and never touches `fn`
// (which lives on the caller's stack).
struct BatchPool::Job {
  Job(size_t n, size_t chunk, absl::FunctionRef<void(size_t, size_t)> fn)
      : n(n), chunk(chunk), fn(fn) {}

  // The next unclaimed range, marked as running; nullopt when none is left.
  std::optional<std::pair<size_t, size_t>> Claim() {
    absl::MutexLock lock(&mu);
    if (next >= n) return std::nullopt;
    const size_t begin = next;
    next = std::min(n, next + chunk);
    ++running;
    return std::make_pair(begin, next);
  }

  // Claims and runs ranges until none is left.
  void Drain() {
    while (auto range = Claim()) {
      fn(range->first, range->second);
      absl::MutexLock lock(&mu);
      --running;
    }
  }

  const size_t n;
  const size_t chunk;
  const absl::FunctionRef<void(size_t, size_t)> fn;
  absl::Mutex mu;
  size_t next ABSL_GUARDED_BY(mu) = 0;
  size_t running ABSL_GUARDED_BY(mu) = 0;
};

BatchPool& BatchPool::Shared() {
  static BatchPool* const pool = [] {
    const size_t cores = std::thread::hardware_concurrency();
    return new BatchPool(cores == 0 ? 1 : cores - 1);
  }();
  return *pool;
}

BatchPool::~BatchPool() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  mu_.Await(absl::Condition(
      +[](size_t* helpers) { return *helpers == 0; }, &helpers_));
}

size_t BatchPool::helpers() const {
  absl::MutexLock lock(&mu_);
  return helpers_;
}

void BatchPool::Run(size_t n, size_t chunk,
                    absl::FunctionRef<void(size_t, size_t)> fn) {
  if (chunk == 0) chunk = 1;
  if (n <= chunk || max_helpers_ == 0) {
    if (n > 0) fn(0, n);
    return;
  }
  auto job = std::make_shared<Job>(n, chunk, fn);
  // One helper per further chunk at most; each drains until nothing is left.
  const size_t wanted = std::min(max_helpers_, (n + chunk - 1) / chunk - 1);
  size_t start = 0;
  {
    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i < wanted; ++i) queue_.push_back(job);
    const size_t busy_or_new = wanted > idle_ ? wanted - idle_ : 0;
    start = std::min(busy_or_new, max_helpers_ - helpers_);
    helpers_ += start;
  }
  for (size_t i = 0; i < start; ++i) std::thread([this] { Work(); }).detach();
  job->Drain();
  {
    // Entries no helper took are stale now; drop them so the queue stays
    // short when every helper is busy.
    absl::MutexLock lock(&mu_);
    std::erase(queue_, job);
  }
  // Only ranges a helper already claimed can be left; wait for those.
  absl::MutexLock lock(&job->mu);
  job->mu.Await(absl::Condition(
      +[](size_t* running) { return *running == 0; }, &job->running));
}

bool BatchPool::HasWorkOrStopping() const {
  return !queue_.empty() || stopping_;
}

void BatchPool::Work() {
  // Named for top and perf; otherwise it inherits the starter's name (a
  // gRPC callback thread's).
  pthread_setname_np(pthread_self(), "transit-batch");
  for (;;) {
    std::shared_ptr<Job> job;
    {
      absl::MutexLock lock(&mu_);
      ++idle_;
      mu_.Await(absl::Condition(this, &BatchPool::HasWorkOrStopping));
      --idle_;
      if (queue_.empty()) {  // stopping
        --helpers_;
        return;
      }
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job->Drain();
  }
}

}  // namespace arca::engines::transit
