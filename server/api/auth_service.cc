#include "server/api/auth_service.h"

#include <string>

#include "absl/time/clock.h"
#include "kms/status_macros.h"
#include "server/api/handle.h"
#include "server/api/status.h"

namespace arca::api {
namespace {

using core::Capability;

// Which token an RPC targets and the resource path that decides it.
enum class Target { kSelf, kToken, kAccessor, kNone };

template <typename Req>
Target TargetOf(const Req& req) {
  switch (req.target_case()) {
    case Req::kSelf: return req.self() ? Target::kSelf : Target::kNone;
    case Req::kToken: return Target::kToken;
    case Req::kAccessor: return Target::kAccessor;
    default: return Target::kNone;
  }
}

std::string PathFor(std::string_view verb, Target t) {
  std::string p = "auth/token/";
  p.append(verb);
  if (t == Target::kSelf) p.append("-self");
  if (t == Target::kAccessor) p.append("-accessor");
  return p;
}

grpc::ServerUnaryReactor* Reject(grpc::CallbackServerContext* ctx,
                                 std::string_view what) {
  return Unary(ctx, [&] {
    return absl::InvalidArgumentError(
        std::string(what) + ": set exactly one of self, token or accessor");
  });
}

// The entry the request targets; NOT_FOUND for an unknown token/accessor.
template <typename Req>
absl::StatusOr<core::TokenEntry> Resolve(core::Core* core,
                                         const core::Caller& caller,
                                         const Req& req) {
  switch (TargetOf(req)) {
    case Target::kSelf:
      return caller.token();
    case Target::kToken: {
      absl::StatusOr<core::TokenEntry> e = core->tokens().Lookup(req.token());
      if (absl::IsUnauthenticated(e.status())) {
        return absl::NotFoundError("no such token");
      }
      return e;
    }
    case Target::kAccessor:
      return core->tokens().LookupAccessor(req.accessor());
    case Target::kNone:
      break;
  }
  return absl::InvalidArgumentError("no target");
}

absl::Status FillInfo(core::Core* core, const core::TokenEntry& e,
                      v1::TokenInfo* out) {
  out->set_accessor(e.accessor());
  for (const auto& p : e.policies()) out->add_policies(p);
  out->set_creation_time_unix(e.created_unix());
  out->set_expire_time_unix_ms(e.expire_unix_ms());
  if (e.expire_unix_ms() != 0) {
    const int64_t left = e.expire_unix_ms() - absl::ToUnixMillis(absl::Now());
    out->set_ttl_seconds(left > 0 ? left / 1000 : 0);
  }
  out->set_explicit_max_ttl_seconds(e.explicit_max_ttl_seconds());
  out->set_renewable(e.renewable() && e.expire_unix_ms() != 0);
  out->set_num_uses(e.num_uses() < 0 ? 0 : e.num_uses());
  out->set_orphan(e.parent_hash().empty());
  out->set_display_name(e.display_name());
  out->mutable_metadata()->insert(e.metadata().begin(), e.metadata().end());
  if (!e.parent_hash().empty()) {
    // The parent may be gone already (a revocation in progress).
    ASSIGN_OR_RETURN(auto parent, core->tokens().LookupHash(e.parent_hash()));
    if (parent.has_value()) out->set_parent_accessor(parent->accessor());
  }
  return absl::OkStatus();
}

}  // namespace

grpc::ServerUnaryReactor* AuthService::CreateToken(
    grpc::CallbackServerContext* ctx, const v1::CreateTokenRequest* req,
    v1::CreateTokenResponse* resp) {
  return Handle(core_, ctx, "auth.token.create", "auth/token/create",
                Capability::kUpdate, *req, resp,
                [&](core::Caller& caller) -> absl::Status {
    if (req->ttl_seconds() < 0 || req->explicit_max_ttl_seconds() < 0 ||
        req->num_uses() < 0) {
      return absl::InvalidArgumentError(
          "ttl, max ttl and num_uses must not be negative");
    }
    core::TokenParams params;
    params.policies.assign(req->policies().begin(), req->policies().end());
    params.ttl = absl::Seconds(req->ttl_seconds());
    params.explicit_max_ttl = absl::Seconds(req->explicit_max_ttl_seconds());
    params.renewable = !req->no_renew();
    params.num_uses = req->num_uses();
    params.orphan = req->orphan();
    params.display_name = req->display_name();
    ASSIGN_OR_RETURN(core::IssuedToken issued,
                     core_->CreateToken(caller, std::move(params)));
    resp->set_token(std::move(issued.token));
    return FillInfo(core_, issued.entry, resp->mutable_info());
  });
}

grpc::ServerUnaryReactor* AuthService::LookupToken(
    grpc::CallbackServerContext* ctx, const v1::LookupTokenRequest* req,
    v1::TokenInfo* resp) {
  const Target t = TargetOf(*req);
  if (t == Target::kNone) return Reject(ctx, "lookup");
  return Handle(core_, ctx, "auth.token.lookup", PathFor("lookup", t),
                t == Target::kSelf ? Capability::kRead : Capability::kUpdate,
                *req, resp, [&](core::Caller& caller) -> absl::Status {
    ASSIGN_OR_RETURN(core::TokenEntry e, Resolve(core_, caller, *req));
    return FillInfo(core_, e, resp);
  });
}

grpc::ServerUnaryReactor* AuthService::RenewToken(
    grpc::CallbackServerContext* ctx, const v1::RenewTokenRequest* req,
    v1::TokenInfo* resp) {
  const Target t = TargetOf(*req);
  if (t == Target::kNone) return Reject(ctx, "renew");
  return Handle(core_, ctx, "auth.token.renew", PathFor("renew", t),
                Capability::kUpdate, *req, resp,
                [&](core::Caller& caller) -> absl::Status {
    if (req->increment_seconds() < 0) {
      return absl::InvalidArgumentError("increment must not be negative");
    }
    ASSIGN_OR_RETURN(core::TokenEntry e, Resolve(core_, caller, *req));
    if (e.expire_unix_ms() == 0) {
      return absl::FailedPreconditionError(
          "the token never expires; there is nothing to renew");
    }
    ASSIGN_OR_RETURN(core::TokenEntry renewed,
                     core_->tokens().Renew(
                         e, absl::Seconds(req->increment_seconds())));
    return FillInfo(core_, renewed, resp);
  });
}

grpc::ServerUnaryReactor* AuthService::RevokeToken(
    grpc::CallbackServerContext* ctx, const v1::RevokeTokenRequest* req,
    v1::RevokeTokenResponse* resp) {
  const Target t = TargetOf(*req);
  if (t == Target::kNone) return Reject(ctx, "revoke");
  // Blocking: revoking a token revokes its leases, which may wait on a
  // remote system (PostgreSQL).
  core::Core* core = core_;
  return HandleBlocking(core, ctx, "auth.token.revoke", PathFor("revoke", t),
                        Capability::kUpdate, *req, resp,
                        [core, req](core::Caller& caller) -> absl::Status {
    ASSIGN_OR_RETURN(core::TokenEntry e, Resolve(core, caller, *req));
    return core->tokens().Revoke(e.id_hash());
  });
}

}  // namespace arca::api
