#ifndef ARCA_BENCH_ARCA_BENCH_HISTOGRAM_H_
#define ARCA_BENCH_ARCA_BENCH_HISTOGRAM_H_

#include <array>
#include <cstdint>

namespace arca::bench {

// LatencyHistogram counts latencies in nanoseconds in log-linear buckets:
// 32 linear sub-buckets per power of two, so a reported percentile is at most
// about 3% above the true value. Fixed size (16 KiB), no allocation on
// Record. Not thread-safe: the load driver keeps one per in-flight slot and
// merges them after the step.
class LatencyHistogram {
 public:
  void Record(uint64_t nanos);
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  // The latency below which a fraction `q` (0..1) of the samples lie,
  // in milliseconds (the upper edge of the bucket that holds it); 0 if empty.
  double PercentileMs(double q) const;
  double MeanMs() const;

 private:
  static constexpr int kSubBits = 5;
  static constexpr int kSub = 1 << kSubBits;  // 32
  static constexpr int kBuckets = (64 - kSubBits) * kSub + kSub;

  static int IndexOf(uint64_t nanos);
  static uint64_t UpperEdge(int index);

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  double sum_nanos_ = 0;
};

}  // namespace arca::bench

#endif  // ARCA_BENCH_ARCA_BENCH_HISTOGRAM_H_
