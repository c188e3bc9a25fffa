#include "server/api/policy_service.h"

#include <string>

#include "kms/status_macros.h"
#include "server/api/handle.h"
#include "server/api/status.h"
#include "server/auth/policy.h"

namespace arca::api {
namespace {

using core::Capability;

std::string PolicyPath(const std::string& name) {
  return "sys/policies/" + name;
}

}  // namespace

grpc::ServerUnaryReactor* PolicyService::WritePolicy(
    grpc::CallbackServerContext* ctx, const v1::WritePolicyRequest* req,
    v1::WritePolicyResponse* resp) {
  return Handle(core_, ctx, "policy.write", PolicyPath(req->name()),
                Capability::kUpdate, *req, resp,
                [&](core::Caller&) -> absl::Status {
    return core_->policies().Write(req->name(), req->policy());
  });
}

grpc::ServerUnaryReactor* PolicyService::ReadPolicy(
    grpc::CallbackServerContext* ctx, const v1::ReadPolicyRequest* req,
    v1::ReadPolicyResponse* resp) {
  return Handle(core_, ctx, "policy.read", PolicyPath(req->name()),
                Capability::kRead, *req, resp,
                [&](core::Caller&) -> absl::Status {
    ASSIGN_OR_RETURN(std::string json, core_->policies().Read(req->name()));
    resp->set_name(req->name());
    resp->set_policy(std::move(json));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PolicyService::ListPolicies(
    grpc::CallbackServerContext* ctx, const v1::ListPoliciesRequest* req,
    v1::ListPoliciesResponse* resp) {
  return Handle(core_, ctx, "policy.list", "sys/policies", Capability::kList,
                *req, resp, [&](core::Caller&) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<std::string> names, core_->policies().List());
    for (auto& n : names) resp->add_names(std::move(n));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* PolicyService::DeletePolicy(
    grpc::CallbackServerContext* ctx, const v1::DeletePolicyRequest* req,
    v1::DeletePolicyResponse* resp) {
  return Handle(core_, ctx, "policy.delete", PolicyPath(req->name()),
                Capability::kDelete, *req, resp,
                [&](core::Caller&) -> absl::Status {
    return core_->policies().Delete(req->name());
  });
}

grpc::ServerUnaryReactor* PolicyService::ExplainPolicy(
    grpc::CallbackServerContext* ctx, const v1::ExplainPolicyRequest* req,
    v1::ExplainPolicyResponse* resp) {
  return Handle(core_, ctx, "policy.explain", "sys/policies/explain",
                Capability::kRead, *req, resp,
                [&](core::Caller&) -> absl::Status {
    ASSIGN_OR_RETURN(auth::Capability cap,
                     auth::ParseCapability(req->capability()));
    if (cap == auth::Capability::kDeny) {
      return absl::InvalidArgumentError(
          "deny is not a capability a request asks for");
    }
    std::vector<std::string> names;
    switch (req->subject_case()) {
      case v1::ExplainPolicyRequest::kTokenAccessor: {
        ASSIGN_OR_RETURN(core::TokenEntry e,
                         core_->tokens().LookupAccessor(req->token_accessor()));
        names.assign(e.policies().begin(), e.policies().end());
        break;
      }
      case v1::ExplainPolicyRequest::kPolicy:
        // NOT_FOUND for a policy that does not exist.
        RETURN_IF_ERROR(core_->policies().Read(req->policy()).status());
        names.push_back(req->policy());
        break;
      default:
        return absl::InvalidArgumentError(
            "set exactly one of token_accessor or policy");
    }
    ASSIGN_OR_RETURN(auto acl, core_->policies().AclFor(names));
    const auth::Decision d = acl->Check(req->path(), cap);
    resp->set_allowed(d.allowed);
    resp->set_policy(d.policy);
    resp->set_pattern(d.pattern);
    resp->set_reason(d.reason);
    for (auto& n : names) resp->add_policies(std::move(n));
    return absl::OkStatus();
  });
}

}  // namespace arca::api
