#ifndef ARCA_CLIENT_STATUS_H_
#define ARCA_CLIENT_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace arca {

// The one place where a gRPC status becomes an absl::Status. The code keeps
// its numeric value (the two enums agree for 0..16; anything else becomes
// UNKNOWN) and the server's message is carried over unchanged.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace arca

#endif  // ARCA_CLIENT_STATUS_H_
