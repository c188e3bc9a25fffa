#ifndef ARCA_BENCH_ARCA_BENCH_LOAD_DRIVER_H_
#define ARCA_BENCH_ARCA_BENCH_LOAD_DRIVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "bench/arca_bench/histogram.h"
#include "bench/arca_bench/scenario.h"
#include "grpcpp/channel.h"

namespace arca::bench {

// One measured step: one scenario at one concurrency.
struct StepOptions {
  int concurrency = 1;
  // Requests run but are not counted for this long first.
  absl::Duration warmup = absl::Seconds(1);
  // The measured window. Ignored when `ops` > 0.
  absl::Duration duration = absl::Seconds(5);
  // When > 0: measure exactly this many requests instead of a duration.
  int64_t ops = 0;
};

struct StepResult {
  int64_t ops = 0;           // successful requests completed in the window
  int64_t errors = 0;        // failed requests completed in the window
  std::string first_error;   // "CODE: message" of the first failure
  double seconds = 0;        // length of the measured window
  LatencyHistogram latency;  // of successful requests
};

// Live counters for a progress line, read from another thread.
struct StepProgress {
  std::atomic<int64_t> ops{0};
  std::atomic<int64_t> errors{0};
};

// Keeps `options.concurrency` requests in flight, spread round-robin over
// `channels`, driven by gRPC callbacks (no thread per request): each
// completion records its latency and starts the next request of its slot.
// Blocks until the step is over; `on_tick` is called about every 50 ms from
// the calling thread.
StepResult RunAsyncStep(
    Scenario& scenario,
    const std::vector<std::shared_ptr<grpc::Channel>>& channels,
    const StepOptions& options, StepProgress& progress,
    const std::function<void()>& on_tick);

// Runs an in-process scenario on min(concurrency, hardware threads) worker
// threads, each calling RunOnce in a loop.
StepResult RunInProcessStep(Scenario& scenario, const StepOptions& options,
                            StepProgress& progress,
                            const std::function<void()>& on_tick);

}  // namespace arca::bench

#endif  // ARCA_BENCH_ARCA_BENCH_LOAD_DRIVER_H_
