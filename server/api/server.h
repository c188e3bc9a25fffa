#ifndef ARCA_SERVER_API_SERVER_H_
#define ARCA_SERVER_API_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "server/core/core.h"

namespace arca::api {

struct ServerOptions {
  std::string listen_address = "127.0.0.1:8200";
  // Larger requests get RESOURCE_EXHAUSTED from gRPC before any handler runs.
  int max_message_bytes = 4 * 1024 * 1024;
};

// ApiServer binds every arca.v1 service, the gRPC health service and server
// reflection to one listener. Non-owning Core pointer; the Core must outlive
// the server. Shutdown() is safe to call from another thread.
class ApiServer {
 public:
  static absl::StatusOr<std::unique_ptr<ApiServer>> Start(
      core::Core* core, const ServerOptions& options);
  ~ApiServer();

  // The port actually bound (useful with port 0).
  int port() const { return port_; }
  void Wait();
  void Shutdown();

 private:
  ApiServer() = default;
  struct Services;
  std::unique_ptr<Services> services_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace arca::api

#endif  // ARCA_SERVER_API_SERVER_H_
