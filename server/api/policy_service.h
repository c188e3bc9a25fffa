#ifndef ARCA_SERVER_API_POLICY_SERVICE_H_
#define ARCA_SERVER_API_POLICY_SERVICE_H_

#include "arca/v1/policy.grpc.pb.h"
#include "server/core/core.h"

namespace arca::api {

// gRPC adapter for arca.v1.PolicyService (write, read, list, delete,
// explain) over the core pipeline. Non-owning Core pointer. Thread-safe.
class PolicyService final : public arca::v1::PolicyService::CallbackService {
 public:
  explicit PolicyService(core::Core* core) : core_(core) {}

  grpc::ServerUnaryReactor* WritePolicy(
      grpc::CallbackServerContext* ctx, const v1::WritePolicyRequest* req,
      v1::WritePolicyResponse* resp) override;
  grpc::ServerUnaryReactor* ReadPolicy(grpc::CallbackServerContext* ctx,
                                       const v1::ReadPolicyRequest* req,
                                       v1::ReadPolicyResponse* resp) override;
  grpc::ServerUnaryReactor* ListPolicies(
      grpc::CallbackServerContext* ctx, const v1::ListPoliciesRequest* req,
      v1::ListPoliciesResponse* resp) override;
  grpc::ServerUnaryReactor* DeletePolicy(
      grpc::CallbackServerContext* ctx, const v1::DeletePolicyRequest* req,
      v1::DeletePolicyResponse* resp) override;
  grpc::ServerUnaryReactor* ExplainPolicy(
      grpc::CallbackServerContext* ctx, const v1::ExplainPolicyRequest* req,
      v1::ExplainPolicyResponse* resp) override;

 private:
  core::Core* core_;
};

}  // namespace arca::api

#endif  // ARCA_SERVER_API_POLICY_SERVICE_H_
