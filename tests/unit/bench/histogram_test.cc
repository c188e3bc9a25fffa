// arca-bench's latency histogram: percentiles land within its stated 3%
// bucket precision, and merging equals recording everything in one.

#include "bench/arca_bench/histogram.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace arca::bench {
namespace {

TEST(LatencyHistogramTest,
     PercentilesOfAUniformSpreadAreWithinBucketPrecision) {
  LatencyHistogram h;
  // 1 µs .. 10 ms in 1 µs steps.
  for (uint64_t us = 1; us <= 10000; ++us) h.Record(us * 1000);
  ASSERT_EQ(h.count(), 10000u);
  for (double q : {0.50, 0.95, 0.99, 0.999}) {
    const double exact_ms = q * 10.0;
    EXPECT_GE(h.PercentileMs(q), exact_ms * 0.999) << q;
    EXPECT_LE(h.PercentileMs(q), exact_ms * 1.035) << q;
  }
  EXPECT_NEAR(h.MeanMs(), 5.0005, 1e-6);
}

TEST(LatencyHistogramTest, ATailOfSlowRequestsShowsInP99ButNotInP50) {
  LatencyHistogram h;
  for (int i = 0; i < 980; ++i) h.Record(100'000);    // 0.1 ms
  for (int i = 0; i < 20; ++i) h.Record(50'000'000);  // 50 ms
  EXPECT_LT(h.PercentileMs(0.50), 0.11);
  EXPECT_GT(h.PercentileMs(0.99), 49.0);
  EXPECT_LT(h.PercentileMs(0.99), 52.0);
}

TEST(LatencyHistogramTest, MergeEqualsRecordingIntoOne) {
  LatencyHistogram a, b, all;
  for (uint64_t v = 1; v < 5000; v += 7) {
    (v % 2 ? a : b).Record(v * 997);
    all.Record(v * 997);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  for (double q : {0.1, 0.5, 0.9, 0.99, 0.999}) {
    EXPECT_EQ(a.PercentileMs(q), all.PercentileMs(q)) << q;
  }
}

TEST(LatencyHistogramTest, SmallAndHugeValuesAreKept) {
  LatencyHistogram h;
  h.Record(0);
  h.Record(UINT64_MAX);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.PercentileMs(0.5), 0.0);
  EXPECT_GE(h.PercentileMs(1.0), 1.8e13);  // ~2^64 ns in ms
}

TEST(LatencyHistogramTest, EmptyHistogramReportsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.PercentileMs(0.99), 0.0);
  EXPECT_EQ(h.MeanMs(), 0.0);
}

}  // namespace
}  // namespace arca::bench
