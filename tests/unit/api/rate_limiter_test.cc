#include "server/api/rate_limiter.h"

#include <gtest/gtest.h>

#include "absl/time/time.h"

namespace arca::api {
namespace {

class FakeClock {
 public:
  absl::Time Now() const { return now_; }
  void Advance(absl::Duration d) { now_ += d; }

 private:
  absl::Time now_ = absl::FromUnixSeconds(1'000'000);
};

TEST(PeerRateLimiterTest, BurstIsAllowedThenExhausted) {
  FakeClock clock;
  PeerRateLimiter limiter({.per_second = 1, .burst = 3, .max_peers = 10},
                          [&] { return clock.Now(); });
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Acquire("10.0.0.1").ok());
  absl::Status s = limiter.Acquire("10.0.0.1");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
}

TEST(PeerRateLimiterTest, BucketRefillsAtTheConfiguredRate) {
  FakeClock clock;
  PeerRateLimiter limiter({.per_second = 2, .burst = 1, .max_peers = 10},
                          [&] { return clock.Now(); });
  EXPECT_TRUE(limiter.Acquire("p").ok());
  EXPECT_FALSE(limiter.Acquire("p").ok());
  clock.Advance(absl::Milliseconds(400));  // 0.8 token
  EXPECT_FALSE(limiter.Acquire("p").ok());
  clock.Advance(absl::Milliseconds(100));  // 1.0 token
  EXPECT_TRUE(limiter.Acquire("p").ok());
}

TEST(PeerRateLimiterTest, PeersHaveSeparateBuckets) {
  FakeClock clock;
  PeerRateLimiter limiter({.per_second = 1, .burst = 1, .max_peers = 10},
                          [&] { return clock.Now(); });
  EXPECT_TRUE(limiter.Acquire("a").ok());
  EXPECT_FALSE(limiter.Acquire("a").ok());
  EXPECT_TRUE(limiter.Acquire("b").ok());
}

TEST(PeerRateLimiterTest, NewPeersBeyondCapacityShareOneOverflowBucket) {
  FakeClock clock;
  PeerRateLimiter limiter({.per_second = 1, .burst = 2, .max_peers = 2},
                          [&] { return clock.Now(); });
  EXPECT_TRUE(limiter.Acquire("a").ok());
  EXPECT_TRUE(limiter.Acquire("b").ok());
  // a and b are not full, so they are kept; c, d, e share the overflow.
  EXPECT_TRUE(limiter.Acquire("c").ok());
  EXPECT_TRUE(limiter.Acquire("d").ok());
  EXPECT_FALSE(limiter.Acquire("e").ok());
}

TEST(PeerRateLimiterTest, RefilledPeersAreEvictedToMakeRoom) {
  FakeClock clock;
  PeerRateLimiter limiter({.per_second = 1, .burst = 1, .max_peers = 1},
                          [&] { return clock.Now(); });
  EXPECT_TRUE(limiter.Acquire("a").ok());
  clock.Advance(absl::Seconds(5));  // a's bucket is full again
  EXPECT_TRUE(limiter.Acquire("b").ok());
  EXPECT_FALSE(limiter.Acquire("b").ok()) << "b got its own bucket";
}

TEST(PeerRateLimiterTest, ZeroRateTurnsLimitingOff) {
  PeerRateLimiter limiter({.per_second = 0, .burst = 0, .max_peers = 1});
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(limiter.Acquire("a").ok());
}

TEST(PeerHostTest, PortIsDroppedSoReconnectingDoesNotResetTheBucket) {
  EXPECT_EQ(PeerHost("ipv4:10.1.2.3:40000"), "10.1.2.3");
  EXPECT_EQ(PeerHost("ipv4:10.1.2.3:40001"), "10.1.2.3");
  EXPECT_EQ(PeerHost("ipv6:[2001:db8::1]:443"), "[2001:db8::1]");
  EXPECT_EQ(PeerHost("unix:/run/arca.sock"), "unix:/run/arca.sock");
}

}  // namespace
}  // namespace arca::api
