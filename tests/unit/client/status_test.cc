#include "client/status.h"

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace arca {
namespace {

TEST(FromGrpcStatusTest, OkStaysOk) {
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(FromGrpcStatusTest, EveryCanonicalCodeKeepsItsCodeAndMessage) {
  const struct {
    grpc::StatusCode grpc_code;
    absl::StatusCode absl_code;
  } cases[] = {
      {grpc::StatusCode::CANCELLED, absl::StatusCode::kCancelled},
      {grpc::StatusCode::UNKNOWN, absl::StatusCode::kUnknown},
      {grpc::StatusCode::INVALID_ARGUMENT, absl::StatusCode::kInvalidArgument},
      {grpc::StatusCode::DEADLINE_EXCEEDED,
       absl::StatusCode::kDeadlineExceeded},
      {grpc::StatusCode::NOT_FOUND, absl::StatusCode::kNotFound},
      {grpc::StatusCode::ALREADY_EXISTS, absl::StatusCode::kAlreadyExists},
      {grpc::StatusCode::PERMISSION_DENIED,
       absl::StatusCode::kPermissionDenied},
      {grpc::StatusCode::RESOURCE_EXHAUSTED,
       absl::StatusCode::kResourceExhausted},
      {grpc::StatusCode::FAILED_PRECONDITION,
       absl::StatusCode::kFailedPrecondition},
      {grpc::StatusCode::ABORTED, absl::StatusCode::kAborted},
      {grpc::StatusCode::OUT_OF_RANGE, absl::StatusCode::kOutOfRange},
      {grpc::StatusCode::UNIMPLEMENTED, absl::StatusCode::kUnimplemented},
      {grpc::StatusCode::INTERNAL, absl::StatusCode::kInternal},
      {grpc::StatusCode::UNAVAILABLE, absl::StatusCode::kUnavailable},
      {grpc::StatusCode::DATA_LOSS, absl::StatusCode::kDataLoss},
      {grpc::StatusCode::UNAUTHENTICATED, absl::StatusCode::kUnauthenticated},
  };
  for (const auto& c : cases) {
    const absl::Status s =
        FromGrpcStatus(grpc::Status(c.grpc_code, "message for this code"));
    EXPECT_EQ(s.code(), c.absl_code) << static_cast<int>(c.grpc_code);
    EXPECT_EQ(s.message(), "message for this code");
  }
}

TEST(FromGrpcStatusTest, SealedMessageIsCarriedVerbatim) {
  const absl::Status s = FromGrpcStatus(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "arca is sealed"));
  EXPECT_EQ(s, absl::UnavailableError("arca is sealed"));
}

TEST(FromGrpcStatusTest, OutOfRangeCodeBecomesUnknownNotOk) {
  const absl::Status s = FromGrpcStatus(
      grpc::Status(static_cast<grpc::StatusCode>(42), "strange"));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(s.message(), "strange");
}

}  // namespace
}  // namespace arca
