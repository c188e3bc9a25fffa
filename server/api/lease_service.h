#ifndef ARCA_SERVER_API_LEASE_SERVICE_H_
#define ARCA_SERVER_API_LEASE_SERVICE_H_

#include "arca/v1/lease.grpc.pb.h"
#include "server/core/core.h"

namespace arca::api {

// gRPC adapter for arca.v1.LeaseService (lookup, renew, revoke) over the
// core pipeline and the lease manager. Non-owning Core pointer. Thread-safe.
class LeaseService final : public arca::v1::LeaseService::CallbackService {
 public:
  explicit LeaseService(core::Core* core) : core_(core) {}

  grpc::ServerUnaryReactor* LookupLease(grpc::CallbackServerContext* ctx,
                                        const v1::LookupLeaseRequest* req,
                                        v1::LeaseInfo* resp) override;
  grpc::ServerUnaryReactor* RenewLease(grpc::CallbackServerContext* ctx,
                                       const v1::RenewLeaseRequest* req,
                                       v1::LeaseInfo* resp) override;
  grpc::ServerUnaryReactor* RevokeLease(
      grpc::CallbackServerContext* ctx, const v1::RevokeLeaseRequest* req,
      v1::RevokeLeaseResponse* resp) override;

 private:
  core::Core* core_;
};

}  // namespace arca::api

#endif  // ARCA_SERVER_API_LEASE_SERVICE_H_
