#ifndef ARCA_SERVER_API_RATE_LIMITER_H_
#define ARCA_SERVER_API_RATE_LIMITER_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace arca::api {

struct RateLimitOptions {
  // Tokens added per second to each peer's bucket; 0 turns limiting off.
  double per_second = 5;
  // Bucket size: how many requests a peer may make in a burst.
  double burst = 30;
  // Peers tracked at once. When full, buckets that have refilled completely
  // are dropped first (they carry no information); if none has, the new
  // peer shares one overflow bucket, so a flood of addresses cannot grow
  // memory or escape the limit.
  size_t max_peers = 10000;
};

// PeerRateLimiter is a token bucket per peer, used for the RPCs a caller
// may make without a token (init, unseal, seal-status, rekey). Thread-safe.
// The clock is injectable for tests.
class PeerRateLimiter {
 public:
  explicit PeerRateLimiter(RateLimitOptions options,
                           std::function<absl::Time()> now = absl::Now);

  // OK and one token taken, or RESOURCE_EXHAUSTED when the peer's bucket is
  // empty.
  absl::Status Acquire(std::string_view peer) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time updated;
  };
  void Refill(Bucket& bucket, absl::Time now) const;
  void EvictFull(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const RateLimitOptions options_;
  const std::function<absl::Time()> now_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  Bucket overflow_ ABSL_GUARDED_BY(mu_);
};

// The part of a gRPC peer string ("ipv4:10.0.0.1:5432", "ipv6:[::1]:80",
// "unix:/run/arca.sock") that names the host: the port changes with every
// connection and must not give a client a fresh bucket.
std::string PeerHost(std::string_view grpc_peer);

}  // namespace arca::api

#endif  // ARCA_SERVER_API_RATE_LIMITER_H_
