#ifndef ARCA_SERVER_API_SYS_SERVICE_H_
#define ARCA_SERVER_API_SYS_SERVICE_H_

#include "arca/v1/sys.grpc.pb.h"
#include "server/api/rate_limiter.h"
#include "server/api/rate_limiter.h"
#include "server/core/core.h"

namespace arca::api {

// gRPC adapter for arca.v1.SysService: proto -> core call -> proto.
// RPCs that take no token (init, seal-status, unseal, rekey) first pass the
// per-peer rate limiter, if one is given. Holds non-owning Core and limiter
// pointers, which must outlive the service. Thread-safe as Core is.
class SysService final : public arca::v1::SysService::CallbackService {
 public:
  SysService(core::Core* core, PeerRateLimiter* limiter)
      : core_(core), limiter_(limiter) {}

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
  // RESOURCE_EXHAUSTED when the caller's peer is over its rate.
  absl::Status Limit(const grpc::CallbackServerContext* ctx);

  core::Core* core_;
  PeerRateLimiter* limiter_;  // may be null: no limit
};

}  // namespace arca::api

#endif  // ARCA_SERVER_API_SYS_SERVICE_H_
