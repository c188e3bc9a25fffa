#include "bench/arca_bench/load_driver.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <limits>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace arca::bench {
namespace {

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string Describe(const grpc::Status& status) {
  return absl::StrCat("gRPC code ", static_cast<int>(status.error_code()), ": ",
                      status.error_message());
}

// The measuring window and the stop rule shared by both drivers. In duration
// mode a request counts if it completes inside [start, end); in op-count mode
// the first `ops` requests started after `start` count.
class Window {
 public:
  explicit Window(const StepOptions& options)
      : start_(NowNanos() + absl::ToInt64Nanoseconds(options.warmup)),
        end_(options.ops > 0
                 ? std::numeric_limits<int64_t>::max()
                 : start_ + absl::ToInt64Nanoseconds(options.duration)),
        ops_(options.ops) {}

  // Whether a slot may start another request now. A step whose requests
  // take longer than its duration (a 1,000-item vaulted batch) runs on until
  // one has completed, so it measures something instead of nothing.
  bool MayStart(int64_t now) {
    if (now >= end_ && counted_.load() > 0) return false;
    if (ops_ > 0 && now >= start_) return started_.fetch_add(1) < ops_;
    return true;
  }
  // Whether a request counts; counts it.
  bool Counts(int64_t started, int64_t finished) {
    bool counts = false;
    if (ops_ > 0) {
      counts = started >= start_;
    } else {
      counts = finished >= start_ && (finished < end_ || counted_.load() == 0);
    }
    if (counts) counted_.fetch_add(1);
    return counts;
  }
  int64_t start() const { return start_; }
  int64_t end() const { return end_; }

 private:
  const int64_t start_;
  const int64_t end_;
  const int64_t ops_;
  std::atomic<int64_t> started_{0};
  std::atomic<int64_t> counted_{0};
};

// Everything one in-flight slot owns. Only its own callback chain touches it.
struct Slot {
  std::unique_ptr<AsyncOp> op;
  LatencyHistogram latency;
  int64_t ops = 0;
  int64_t errors = 0;
  int64_t started_at = 0;
  int64_t last_finish = 0;
  std::string first_error;
};

class AsyncStep {
 public:
  AsyncStep(const StepOptions& options, StepProgress& progress)
      : window_(options), progress_(progress) {}

  void Run(Scenario& scenario,
           const std::vector<std::shared_ptr<grpc::Channel>>& channels,
           int concurrency, const std::function<void()>& on_tick) {
    slots_.resize(concurrency);
    for (int i = 0; i < concurrency; ++i) {
      // No channels: the scenario speaks another protocol (libpq).
      slots_[i].op = scenario.NewAsyncOp(
          i, channels.empty() ? nullptr : channels[i % channels.size()]);
    }
    running_ = concurrency;
    for (auto& slot : slots_) Next(slot);
    while (!done_.WaitForNotificationWithTimeout(absl::Milliseconds(50))) {
      on_tick();
    }
  }

  StepResult Result() const {
    StepResult r;
    int64_t last_finish = 0;
    for (const auto& slot : slots_) {
      r.ops += slot.ops;
      r.errors += slot.errors;
      r.latency.Merge(slot.latency);
      last_finish = std::max(last_finish, slot.last_finish);
      if (r.first_error.empty()) r.first_error = slot.first_error;
    }
    // Past the window's end only when the step ran on for its first
    // request.
    const int64_t end = window_.end() == std::numeric_limits<int64_t>::max()
                            ? last_finish
                            : std::max(window_.end(), last_finish);
    r.seconds =
        std::max<double>(0, static_cast<double>(end - window_.start()) / 1e9);
    return r;
  }

 private:
  void Next(Slot& slot) {
    const int64_t now = NowNanos();
    if (!window_.MayStart(now)) {
      if (running_.fetch_sub(1) == 1) done_.Notify();
      return;
    }
    slot.started_at = now;
    slot.op->Start([this, &slot](const grpc::Status& status) {
      const int64_t finished = NowNanos();
      if (window_.Counts(slot.started_at, finished)) {
        if (status.ok()) {
          slot.latency.Record(
              static_cast<uint64_t>(finished - slot.started_at));
          ++slot.ops;
          progress_.ops.fetch_add(1, std::memory_order_relaxed);
        } else {
          if (slot.errors++ == 0) slot.first_error = Describe(status);
          progress_.errors.fetch_add(1, std::memory_order_relaxed);
        }
        slot.last_finish = finished;
      }
      Next(slot);
    });
  }

  Window window_;
  StepProgress& progress_;
  std::vector<Slot> slots_;
  std::atomic<int> running_{0};
  absl::Notification done_;
};

}  // namespace

StepResult RunAsyncStep(
    Scenario& scenario,
    const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    const StepOptions& options, StepProgress& progress,
    const std::function<void()>& on_tick) {
  AsyncStep step(options, progress);
  step.Run(scenario, channels, std::max(1, options.concurrency), on_tick);
  return step.Result();
}

StepResult RunInProcessStep(Scenario& scenario, const StepOptions& options,
                            StepProgress& progress,
                            const std::function<void()>& on_tick) {
  const int hardware = std::max(1u, std::thread::hardware_concurrency());
  const int workers = std::clamp(options.concurrency, 1, hardware);
  Window window(options);
  std::vector<Slot> slots(workers);
  std::atomic<int> running{workers};
  absl::Notification done;
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      Slot& slot = slots[w];
      for (int64_t now = NowNanos(); window.MayStart(now); now = NowNanos()) {
        absl::Status status = scenario.RunOnce(w);
        const int64_t finished = NowNanos();
        if (!window.Counts(now, finished)) continue;
        if (status.ok()) {
          slot.latency.Record(static_cast<uint64_t>(finished - now));
          ++slot.ops;
          progress.ops.fetch_add(1, std::memory_order_relaxed);
        } else {
          if (slot.errors++ == 0) slot.first_error = status.ToString();
          progress.errors.fetch_add(1, std::memory_order_relaxed);
        }
        slot.last_finish = finished;
      }
      if (running.fetch_sub(1) == 1) done.Notify();
    });
  }
  while (!done.WaitForNotificationWithTimeout(absl::Milliseconds(50))) {
    on_tick();
  }
  for (auto& t : threads) t.join();

  StepResult r;
  int64_t last_finish = 0;
  for (const auto& slot : slots) {
    r.ops += slot.ops;
    r.errors += slot.errors;
    r.latency.Merge(slot.latency);
    last_finish = std::max(last_finish, slot.last_finish);
    if (r.first_error.empty()) r.first_error = slot.first_error;
  }
  const int64_t end = window.end() == std::numeric_limits<int64_t>::max()
                          ? last_finish
                          : std::max(window.end(), last_finish);
  r.seconds =
      std::max<double>(0, static_cast<double>(end - window.start()) / 1e9);
  return r;
}

}  // namespace arca::bench
