#include "server/api/server.h"

#include <chrono>

#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/api/kv_service.h"
#include "server/api/sys_service.h"
#include "server/api/transit_service.h"

namespace arca::api {

struct ApiServer::Services {
  explicit Services(core::Core* core) : sys(core), kv(core), transit(core) {}
  SysService sys;
  KvService kv;
  TransitService transit;
};

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(
    core::Core* core, const ServerOptions& options) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  std::unique_ptr<ApiServer> server(new ApiServer());
  server->services_ = std::make_unique<Services>(core);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen_address,
                           grpc::InsecureServerCredentials(), &server->port_);
  // Without this a second arcad on the same port would share it silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  builder.RegisterService(&server->services_->sys);
  builder.RegisterService(&server->services_->kv);
  builder.RegisterService(&server->services_->transit);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError("cannot listen on " + options.listen_address);
  }
  return server;
}

ApiServer::~ApiServer() { Shutdown(); }

void ApiServer::Wait() {
  if (server_) server_->Wait();
}

void ApiServer::Shutdown() {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(5));
  }
}

}  // namespace arca::api
