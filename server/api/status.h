#ifndef ARCA_SERVER_API_STATUS_H_
#define ARCA_SERVER_API_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"

namespace arca::api {

// The one mapping from absl::Status to grpc::Status. The codes are the same
// canonical space; the message is passed through (core and engine messages
// never contain secrets).
grpc::Status ToGrpcStatus(const absl::Status& status);

// The token from "authorization: Bearer <token>" metadata, or "" if absent.
std::string BearerToken(const grpc::CallbackServerContext* context);

// Runs `fn` (returning absl::Status) and finishes the call with its status.
template <typename Fn>
grpc::ServerUnaryReactor* Unary(grpc::CallbackServerContext* context, Fn&& fn) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(fn()));
  return reactor;
}

}  // namespace arca::api

#endif  // ARCA_SERVER_API_STATUS_H_
