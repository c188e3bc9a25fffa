#include "server/api/rate_limiter.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"

namespace arca::api {

PeerRateLimiter::PeerRateLimiter(RateLimitOptions options,
                                 std::function<absl::Time()> now)
    : options_(options), now_(std::move(now)) {
  overflow_.tokens = options_.burst;
  overflow_.updated = now_();
}

void PeerRateLimiter::Refill(Bucket& bucket, absl::Time now) const {
  const double elapsed = absl::ToDoubleSeconds(now - bucket.updated);
  if (elapsed > 0) {
    bucket.tokens =
        std::min(options_.burst, bucket.tokens + elapsed * options_.per_second);
    bucket.updated = now;
  }
}

void PeerRateLimiter::EvictFull(absl::Time now) {
  absl::erase_if(buckets_, [&](auto& entry) {
    Refill(entry.second, now);
    return entry.second.tokens >= options_.burst;
  });
}

absl::Status PeerRateLimiter::Acquire(std::string_view peer) {
  if (options_.per_second <= 0) return absl::OkStatus();
  const absl::Time now = now_();
  absl::MutexLock lock(&mu_);
  Bucket* bucket = nullptr;
  const std::string key(peer);
  if (auto it = buckets_.find(key); it != buckets_.end()) {
    bucket = &it->second;
  } else {
    if (buckets_.size() >= options_.max_peers) EvictFull(now);
    if (buckets_.size() < options_.max_peers) {
      bucket = &buckets_[key];
      bucket->tokens = options_.burst;
      bucket->updated = now;
    } else {
      bucket = &overflow_;
    }
  }
  Refill(*bucket, now);
  if (bucket->tokens < 1) {
    return absl::ResourceExhaustedError(
        "too many unauthenticated requests from this address; retry later");
  }
  bucket->tokens -= 1;
  return absl::OkStatus();
}

std::string PeerHost(std::string_view peer) {
  if (peer.starts_with("ipv4:")) {
    peer.remove_prefix(5);
    return std::string(peer.substr(0, peer.rfind(':')));
  }
  if (peer.starts_with("ipv6:")) {
    peer.remove_prefix(5);
    const size_t close = peer.find(']');
    if (close != std::string_view::npos) {
      return std::string(peer.substr(0, close + 1));
    }
  }
  return std::string(peer);
}

}  // namespace arca::api
