#ifndef ARCA_CLIENT_RETRY_H_
#define ARCA_CLIENT_RETRY_H_

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace arca {

// How a Client retries a failed RPC. Only UNAVAILABLE is retried (the server
// is unreachable, restarting or sealed); every other code is final, because
// retrying e.g. INVALID_ARGUMENT or FAILED_PRECONDITION cannot succeed and
// could repeat a non-idempotent write.
struct RetryPolicy {
  // Extra attempts after the first one; 0 disables retries.
  int max_retries = 2;
  // Wait before the first retry; each later wait is multiplied by
  // `multiplier` and capped at `max_backoff`.
  absl::Duration initial_backoff = absl::Milliseconds(100);
  double multiplier = 2.0;
  absl::Duration max_backoff = absl::Seconds(5);
};

// Checks that the policy's numbers make sense (non-negative retries and
// backoffs, multiplier >= 1). INVALID_ARGUMENT otherwise.
absl::Status ValidateRetryPolicy(const RetryPolicy& policy);

// True if a call that failed with `status` may be tried again.
bool IsRetryable(const absl::Status& status);

// The wait before retry number `retry` (0 for the first retry):
// min(initial_backoff * multiplier^retry, max_backoff).
absl::Duration BackoffDelay(const RetryPolicy& policy, int retry);

}  // namespace arca

#endif  // ARCA_CLIENT_RETRY_H_
