#ifndef ARCA_SERVER_API_AUDIT_SERVICE_H_
#define ARCA_SERVER_API_AUDIT_SERVICE_H_

#include "arca/v1/audit.grpc.pb.h"
#include "server/core/core.h"

namespace arca::api {

// gRPC adapter for arca.v1.AuditService: device management, audit hashes
// and chain verification of a streamed log file with the device's salt
// (which never leaves the server). Non-owning Core pointer. Thread-safe.
class AuditService final : public arca::v1::AuditService::CallbackService {
 public:
  explicit AuditService(core::Core* core) : core_(core) {}

  grpc::ServerUnaryReactor* EnableDevice(
      grpc::CallbackServerContext* ctx, const v1::EnableDeviceRequest* req,
      v1::EnableDeviceResponse* resp) override;
  grpc::ServerUnaryReactor* DisableDevice(
      grpc::CallbackServerContext* ctx, const v1::DisableDeviceRequest* req,
      v1::DisableDeviceResponse* resp) override;
  grpc::ServerUnaryReactor* ListDevices(
      grpc::CallbackServerContext* ctx, const v1::ListDevicesRequest* req,
      v1::ListDevicesResponse* resp) override;
  grpc::ServerUnaryReactor* Hash(grpc::CallbackServerContext* ctx,
                                 const v1::HashRequest* req,
                                 v1::HashResponse* resp) override;
  grpc::ServerUnaryReactor* VerifyDevice(grpc::CallbackServerContext* ctx,
                                         const v1::VerifyDeviceRequest* req,
                                         v1::VerifyLogResponse* resp) override;
  grpc::ServerReadReactor<v1::VerifyLogRequest>* VerifyLog(
      grpc::CallbackServerContext* ctx, v1::VerifyLogResponse* resp) override;

 private:
  core::Core* core_;
};

}  // namespace arca::api

#endif  // ARCA_SERVER_API_AUDIT_SERVICE_H_
