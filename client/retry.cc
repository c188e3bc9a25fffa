#include "client/retry.h"

#include <cmath>

namespace arca {

absl::Status ValidateRetryPolicy(const RetryPolicy& policy) {
  if (policy.max_retries < 0) {
    return absl::InvalidArgumentError("max_retries must be >= 0");
  }
  if (policy.initial_backoff < absl::ZeroDuration() ||
      policy.max_backoff < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("backoff durations must be >= 0");
  }
  if (!(policy.multiplier >= 1.0) || !std::isfinite(policy.multiplier)) {
    return absl::InvalidArgumentError("backoff multiplier must be >= 1");
  }
  return absl::OkStatus();
}

bool IsRetryable(const absl::Status& status) {
  return status.code() == absl::StatusCode::kUnavailable;
}

absl::Duration BackoffDelay(const RetryPolicy& policy, int retry) {
  absl::Duration delay = policy.initial_backoff;
  for (int i = 0; i < retry && delay < policy.max_backoff; ++i) {
    delay *= policy.multiplier;
  }
  return delay < policy.max_backoff ? delay : policy.max_backoff;
}

}  // namespace arca
