#include "cli/errors.h"

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace arca::cli {
namespace {

TEST(StatusCodeNameTest, UsesCanonicalUpperCaseNames) {
  EXPECT_EQ(StatusCodeName(absl::StatusCode::kNotFound), "NOT_FOUND");
  EXPECT_EQ(StatusCodeName(absl::StatusCode::kInvalidArgument),
            "INVALID_ARGUMENT");
  EXPECT_EQ(StatusCodeName(absl::StatusCode::kFailedPrecondition),
            "FAILED_PRECONDITION");
  EXPECT_EQ(StatusCodeName(absl::StatusCode::kPermissionDenied),
            "PERMISSION_DENIED");
  EXPECT_EQ(StatusCodeName(absl::StatusCode::kUnavailable), "UNAVAILABLE");
  EXPECT_EQ(StatusCodeName(absl::StatusCode::kUnauthenticated),
            "UNAUTHENTICATED");
  EXPECT_EQ(StatusCodeName(absl::StatusCode::kResourceExhausted),
            "RESOURCE_EXHAUSTED");
}

TEST(StatusCodeNameTest, UnknownValueIsNamedUnknown) {
  EXPECT_EQ(StatusCodeName(static_cast<absl::StatusCode>(99)), "UNKNOWN");
}

TEST(FormatErrorTest, IsStatusNameColonMessage) {
  EXPECT_EQ(FormatError(absl::NotFoundError("no secret at app/db")),
            "NOT_FOUND: no secret at app/db");
  EXPECT_EQ(FormatError(absl::UnavailableError("arca is sealed")),
            "UNAVAILABLE: arca is sealed");
}

TEST(FormatErrorTest, MultiLineMessageBecomesOneLine) {
  const std::string line =
      FormatError(absl::InternalError("first\nsecond\r\nthird"));
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  EXPECT_EQ(line.rfind("INTERNAL: first", 0), 0u);
}

TEST(FormatErrorTest, EmptyMessageKeepsTheNameColonShape) {
  EXPECT_EQ(FormatError(absl::Status(absl::StatusCode::kAborted, "")),
            "ABORTED: (no message)");
}

TEST(ExitCodeForTest, NotFoundIsTwoOtherErrorsAreOne) {
  EXPECT_EQ(ExitCodeFor(absl::OkStatus()), 0);
  EXPECT_EQ(ExitCodeFor(absl::NotFoundError("x")), 2);
  EXPECT_EQ(ExitCodeFor(absl::InvalidArgumentError("x")), 1);
  EXPECT_EQ(ExitCodeFor(absl::PermissionDeniedError("x")), 1);
  EXPECT_EQ(ExitCodeFor(absl::UnavailableError("x")), 1);
}

}  // namespace
}  // namespace arca::cli
