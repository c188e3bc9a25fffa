#include "bench/arca_bench/histogram.h"

#include <bit>
#include <cmath>

namespace arca::bench {

// Values below 2*kSub are exact (one bucket each). Above, a value with its top
// bit at position m (m >= kSubBits + 1) falls in group m - kSubBits, whose 32
// buckets split [2^m, 2^(m+1)) evenly.
int LatencyHistogram::IndexOf(uint64_t v) {
  if (v < 2 * kSub) return static_cast<int>(v);
  const int msb = 63 - std::countl_zero(v);
  const int shift = msb - kSubBits;
  const int sub = static_cast<int>((v >> shift) & (kSub - 1));
  return (shift + 1) * kSub + sub;
}

uint64_t LatencyHistogram::UpperEdge(int index) {
  if (index < 2 * kSub) return static_cast<uint64_t>(index);
  const int shift = index / kSub - 1;
  const uint64_t sub = static_cast<uint64_t>(index % kSub) + kSub;
  return ((sub + 1) << shift) - 1;
}

void LatencyHistogram::Record(uint64_t nanos) {
  ++counts_[IndexOf(nanos)];
  ++count_;
  sum_nanos_ += static_cast<double>(nanos);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_nanos_ += other.sum_nanos_;
}

double LatencyHistogram::PercentileMs(double q) const {
  if (count_ == 0) return 0;
  uint64_t rank =
      static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return static_cast<double>(UpperEdge(i)) / 1e6;
  }
  return static_cast<double>(UpperEdge(kBuckets - 1)) / 1e6;
}

double LatencyHistogram::MeanMs() const {
  return count_ == 0 ? 0 : sum_nanos_ / static_cast<double>(count_) / 1e6;
}

}  // namespace arca::bench
