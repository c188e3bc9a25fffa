#ifndef ARCA_SERVER_API_SYS_SERVICE_H_
#define ARCA_SERVER_API_SYS_SERVICE_H_

#include "arca/v1/sys.grpc.pb.h"
#include "server/core/core.h"

namespace arca::api {

// gRPC adapter for arca.v1.SysService: proto -> core call -> proto.
// Holds a non-owning Core pointer. Thread-safe as Core is.
class SysService final : public arca::v1::SysService::CallbackService {
 public:
  explicit SysService(core::Core* core) : core_(core) {}

  grpc::ServerUnaryReactor* Init(grpc::CallbackServerContext* ctx,
                                 const v1::InitRequest* req,
                                 v1::InitResponse* resp) override;
  grpc::ServerUnaryReactor* SealStatus(grpc::CallbackServerContext* ctx,
                                       const v1::SealStatusRequest* req,
                                       v1::SealStatusResponse* resp) override;
  grpc::ServerUnaryReactor* Unseal(grpc::CallbackServerContext* ctx,
                                   const v1::UnsealRequest* req,
                                   v1::SealStatusResponse* resp) override;
  grpc::ServerUnaryReactor* Seal(grpc::CallbackServerContext* ctx,
                                 const v1::SealRequest* req,
                                 v1::SealResponse* resp) override;
  grpc::ServerUnaryReactor* Rotate(grpc::CallbackServerContext* ctx,
                                   const v1::RotateRequest* req,
                                   v1::KeyStatusResponse* resp) override;
  grpc::ServerUnaryReactor* KeyStatus(grpc::CallbackServerContext* ctx,
                                      const v1::KeyStatusRequest* req,
                                      v1::KeyStatusResponse* resp) override;
  grpc::ServerUnaryReactor* RekeyInit(grpc::CallbackServerContext* ctx,
                                      const v1::RekeyInitRequest* req,
                                      v1::RekeyStatusResponse* resp) override;
  grpc::ServerUnaryReactor* RekeyStatus(
      grpc::CallbackServerContext* ctx, const v1::RekeyStatusRequest* req,
      v1::RekeyStatusResponse* resp) override;
  grpc::ServerUnaryReactor* RekeyUpdate(
      grpc::CallbackServerContext* ctx, const v1::RekeyUpdateRequest* req,
      v1::RekeyUpdateResponse* resp) override;
  grpc::ServerUnaryReactor* RekeyCancel(
      grpc::CallbackServerContext* ctx, const v1::RekeyCancelRequest* req,
      v1::RekeyCancelResponse* resp) override;
  grpc::ServerUnaryReactor* TuneMount(grpc::CallbackServerContext* ctx,
                                      const v1::TuneMountRequest* req,
                                      v1::TuneMountResponse* resp) override;

 private:
  core::Core* core_;
};

}  // namespace arca::api

#endif  // ARCA_SERVER_API_SYS_SERVICE_H_
