#include "client/retry.h"

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace arca {
namespace {

TEST(RetryPolicyTest, DefaultsAreTwoRetriesStartingAt100Ms) {
  RetryPolicy p;
  EXPECT_EQ(p.max_retries, 2);
  EXPECT_EQ(p.initial_backoff, absl::Milliseconds(100));
  EXPECT_TRUE(ValidateRetryPolicy(p).ok());
}

TEST(RetryPolicyTest, BackoffDoublesEachRetry) {
  RetryPolicy p;
  EXPECT_EQ(BackoffDelay(p, 0), absl::Milliseconds(100));
  EXPECT_EQ(BackoffDelay(p, 1), absl::Milliseconds(200));
  EXPECT_EQ(BackoffDelay(p, 2), absl::Milliseconds(400));
  EXPECT_EQ(BackoffDelay(p, 3), absl::Milliseconds(800));
}

TEST(RetryPolicyTest, BackoffIsCappedAtMaxBackoff) {
  RetryPolicy p;
  p.initial_backoff = absl::Seconds(1);
  p.multiplier = 3.0;
  p.max_backoff = absl::Seconds(5);
  EXPECT_EQ(BackoffDelay(p, 1), absl::Seconds(3));
  EXPECT_EQ(BackoffDelay(p, 2), absl::Seconds(5));
  EXPECT_EQ(BackoffDelay(p, 1000), absl::Seconds(5));
}

TEST(RetryPolicyTest, OnlyUnavailableIsRetryable) {
  EXPECT_TRUE(IsRetryable(absl::UnavailableError("arca is sealed")));
  EXPECT_FALSE(IsRetryable(absl::InvalidArgumentError("x")));
  EXPECT_FALSE(IsRetryable(absl::FailedPreconditionError("x")));
  EXPECT_FALSE(IsRetryable(absl::DeadlineExceededError("x")));
  EXPECT_FALSE(IsRetryable(absl::NotFoundError("x")));
  EXPECT_FALSE(IsRetryable(absl::InternalError("x")));
  EXPECT_FALSE(IsRetryable(absl::OkStatus()));
}

TEST(RetryPolicyTest, NonsensicalPoliciesAreRejected) {
  RetryPolicy negative_retries;
  negative_retries.max_retries = -1;
  EXPECT_EQ(ValidateRetryPolicy(negative_retries).code(),
            absl::StatusCode::kInvalidArgument);
  RetryPolicy negative_backoff;
  negative_backoff.initial_backoff = absl::Milliseconds(-1);
  EXPECT_EQ(ValidateRetryPolicy(negative_backoff).code(),
            absl::StatusCode::kInvalidArgument);
  RetryPolicy shrinking;
  shrinking.multiplier = 0.5;
  EXPECT_EQ(ValidateRetryPolicy(shrinking).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace arca
