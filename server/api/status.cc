#include "server/api/status.h"

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace arca::api {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

std::string BearerToken(const grpc::CallbackServerContext* context) {
  const auto& md = context->client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) return "";
  absl::string_view value(it->second.data(), it->second.size());
  constexpr absl::string_view kBearer = "Bearer ";
  // The auth scheme is case-insensitive (RFC 9110 §11.1).
  if (!absl::StartsWithIgnoreCase(value, kBearer)) return "";
  value.remove_prefix(kBearer.size());
  return std::string(value);
}

}  // namespace arca::api
