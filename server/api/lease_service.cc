#include "server/api/lease_service.h"

#include "absl/time/clock.h"
#include "kms/status_macros.h"
#include "server/api/handle.h"

namespace arca::api {
namespace {

using core::Capability;

void FillInfo(const lease::LeaseEntry& e, v1::LeaseInfo* out) {
  out->set_lease_id(e.id());
  out->set_kind(e.kind());
  out->set_issue_time_unix_ms(e.issue_unix_ms());
  out->set_expire_time_unix_ms(e.expire_unix_ms());
  const int64_t left = e.expire_unix_ms() - absl::ToUnixMillis(absl::Now());
  out->set_ttl_seconds(left > 0 ? left / 1000 : 0);
  out->set_renewable(e.renewable() && !e.irrevocable());
  out->set_failed_revocations(e.failed_revocations());
  out->set_irrevocable(e.irrevocable());
  out->set_last_error(e.last_error());
}

}  // namespace

grpc::ServerUnaryReactor* LeaseService::LookupLease(
    grpc::CallbackServerContext* ctx, const v1::LookupLeaseRequest* req,
    v1::LeaseInfo* resp) {
  return Handle(core_, ctx, "lease.lookup", "sys/leases/lookup",
                Capability::kUpdate, *req, resp,
                [&](core::Caller&) -> absl::Status {
    ASSIGN_OR_RETURN(lease::LeaseEntry e, core_->leases().Lookup(req->lease_id()));
    FillInfo(e, resp);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* LeaseService::RenewLease(
    grpc::CallbackServerContext* ctx, const v1::RenewLeaseRequest* req,
    v1::LeaseInfo* resp) {
  // Blocking: a renew hook may wait on a remote system (PostgreSQL).
  core::Core* core = core_;
  return HandleBlocking(core, ctx, "lease.renew", "sys/leases/renew",
                        Capability::kUpdate, *req, resp,
                        [core, req, resp](core::Caller&) -> absl::Status {
    if (req->increment_seconds() < 0) {
      return absl::InvalidArgumentError("increment must not be negative");
    }
    ASSIGN_OR_RETURN(lease::LeaseEntry e,
                     core->leases().Renew(
                         req->lease_id(), absl::Seconds(req->increment_seconds())));
    FillInfo(e, resp);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* LeaseService::RevokeLease(
    grpc::CallbackServerContext* ctx, const v1::RevokeLeaseRequest* req,
    v1::RevokeLeaseResponse* resp) {
  // Blocking: a revoker may wait on a remote system (PostgreSQL).
  core::Core* core = core_;
  return HandleBlocking(core, ctx, "lease.revoke", "sys/leases/revoke",
                        Capability::kUpdate, *req, resp,
                        [core, req](core::Caller&) -> absl::Status {
    return core->leases().Revoke(req->lease_id());
  });
}

}  // namespace arca::api
