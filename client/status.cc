#include "client/status.h"

namespace arca {

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  const int code = static_cast<int>(status.error_code());
  // grpc::StatusCode and absl::StatusCode share the canonical numbering.
  // OK (0) with a non-ok grpc::Status cannot happen, but never turn an
  // error into success: map it to UNKNOWN like any out-of-range value.
  absl::StatusCode mapped = absl::StatusCode::kUnknown;
  if (code > 0 &&
      code <= static_cast<int>(absl::StatusCode::kUnauthenticated)) {
    mapped = static_cast<absl::StatusCode>(code);
  }
  return absl::Status(mapped, status.error_message());
}

}  // namespace arca
