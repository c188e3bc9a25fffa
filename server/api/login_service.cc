#include "server/api/login_service.h"

#include <string>
#include <utility>

#include "kms/status_macros.h"
#include "server/api/handle.h"
#include "server/api/status.h"

namespace arca::api {
namespace {

using core::Capability;

std::string RolePath(std::string_view method, std::string_view name,
                     std::string_view suffix = "") {
  std::string path = "auth/";
  path.append(method).append("/role/").append(name).append(suffix);
  return path;
}

// Names go into resource paths; refuse anything a role name cannot be
// before authorization sees it.
absl::Status CheckName(std::string_view name) {
  return auth::ValidateRoleName(name);
}

// Finishes a call refused before it reached the pipeline (bad role name).
grpc::ServerUnaryReactor* Refuse(grpc::CallbackServerContext* ctx,
                                 absl::Status status) {
  return Unary(ctx, [&] { return status; });
}

void ToProto(const std::string& name, const auth::AppRoleRole& in,
             v1::AppRoleRole* out) {
  out->set_name(name);
  out->set_role_id(in.role_id());
  out->mutable_policies()->CopyFrom(in.policies());
  out->set_token_ttl_seconds(in.token_ttl_seconds());
  out->set_token_max_ttl_seconds(in.token_max_ttl_seconds());
  out->set_secret_id_ttl_seconds(in.secret_id_ttl_seconds());
  out->set_secret_id_num_uses(in.secret_id_num_uses());
  out->mutable_secret_id_bound_cidrs()->CopyFrom(in.secret_id_bound_cidrs());
}

int64_t UnixOrZero(absl::Time t) {
  return t == absl::InfiniteFuture() ? 0 : absl::ToUnixSeconds(t);
}

}  // namespace

std::string PeerIp(std::string_view peer) {
  if (peer.starts_with("ipv4:")) {
    peer.remove_prefix(5);
    return std::string(peer.substr(0, peer.rfind(':')));
  }
  if (peer.starts_with("ipv6:[")) {
    peer.remove_prefix(6);
    return std::string(peer.substr(0, peer.find(']')));
  }
  return "";
}

absl::Status LoginService::Limit(grpc::CallbackServerContext* ctx) {
  if (limiter_ == nullptr) return absl::OkStatus();
  return limiter_->Acquire(PeerHost(ctx->peer()));
}

absl::Status LoginService::Issue(const auth::LoginGrant& grant,
                                 v1::LoginResponse* resp) {
  ASSIGN_OR_RETURN(auth::IssuedToken token,
                   core_->tokens().IssueLoginToken(grant));
  resp->set_token(std::string(token.token.Reveal()));
  resp->set_accessor(token.accessor);
  for (const std::string& p : token.policies) resp->add_policies(p);
  resp->set_ttl_seconds(absl::ToInt64Seconds(token.ttl));
  resp->mutable_metadata()->insert(grant.metadata.begin(),
                                   grant.metadata.end());
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* LoginService::AppRoleLogin(
    grpc::CallbackServerContext* ctx, const v1::AppRoleLoginRequest* req,
    v1::LoginResponse* resp) {
  // Limited before the pipeline: a flood is refused without audit writes.
  if (absl::Status st = Limit(ctx); !st.ok()) return Refuse(ctx, st);
  return HandleLogin(core_, ctx, "login.approle.login", "auth/approle/login",
                     *req, resp, [&](core::Caller&) -> absl::Status {
                       kms::SecretBytes secret_id =
                           kms::SecretBytes::CopyFrom(req->secret_id());
                       ASSIGN_OR_RETURN(
                           auth::LoginGrant grant,
                           core_->approle().Login(req->role_id(), secret_id,
                                                  PeerIp(ctx->peer())));
                       return Issue(grant, resp);
                     });
}

grpc::ServerUnaryReactor* LoginService::KubernetesLogin(
    grpc::CallbackServerContext* ctx, const v1::KubernetesLoginRequest* req,
    v1::LoginResponse* resp) {
  if (absl::Status st = Limit(ctx); !st.ok()) return Refuse(ctx, st);
  return HandleLogin(
      core_, ctx, "login.kubernetes.login", "auth/kubernetes/login", *req, resp,
      [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auth::LoginGrant grant,
                         core_->kubernetes().Login(req->role(), req->jwt()));
        return Issue(grant, resp);
      });
}

grpc::ServerUnaryReactor* LoginService::AppRoleWriteRole(
    grpc::CallbackServerContext* ctx, const v1::AppRoleWriteRoleRequest* req,
    v1::AppRoleRole* resp) {
  const v1::AppRoleRole& in = req->role();
  if (absl::Status st = CheckName(in.name()); !st.ok()) return Refuse(ctx, st);
  return Handle(core_, ctx, "login.approle.write_role",
                RolePath("approle", in.name()), Capability::kUpdate, *req, resp,
                [&](core::Caller&) -> absl::Status {
                  auth::AppRoleRole role;
                  role.mutable_policies()->CopyFrom(in.policies());
                  role.set_token_ttl_seconds(in.token_ttl_seconds());
                  role.set_token_max_ttl_seconds(in.token_max_ttl_seconds());
                  role.set_secret_id_ttl_seconds(in.secret_id_ttl_seconds());
                  role.set_secret_id_num_uses(in.secret_id_num_uses());
                  role.mutable_secret_id_bound_cidrs()->CopyFrom(
                      in.secret_id_bound_cidrs());
                  RETURN_IF_ERROR(core_->approle().WriteRole(in.name(), role));
                  ASSIGN_OR_RETURN(auth::AppRoleRole stored,
                                   core_->approle().ReadRole(in.name()));
                  ToProto(in.name(), stored, resp);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* LoginService::AppRoleReadRole(
    grpc::CallbackServerContext* ctx, const v1::AppRoleRoleRequest* req,
    v1::AppRoleRole* resp) {
  if (absl::Status st = CheckName(req->name()); !st.ok())
    return Refuse(ctx, st);
  return Handle(core_, ctx, "login.approle.read_role",
                RolePath("approle", req->name()), Capability::kRead, *req, resp,
                [&](core::Caller&) -> absl::Status {
                  ASSIGN_OR_RETURN(auth::AppRoleRole role,
                                   core_->approle().ReadRole(req->name()));
                  ToProto(req->name(), role, resp);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* LoginService::AppRoleListRoles(
    grpc::CallbackServerContext* ctx, const v1::AppRoleListRolesRequest* req,
    v1::NameList* resp) {
  return Handle(core_, ctx, "login.approle.list_roles", "auth/approle/role",
                Capability::kList, *req, resp,
                [&](core::Caller&) -> absl::Status {
                  ASSIGN_OR_RETURN(std::vector<std::string> names,
                                   core_->approle().ListRoles());
                  for (auto& n : names) resp->add_names(std::move(n));
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* LoginService::AppRoleDeleteRole(
    grpc::CallbackServerContext* ctx, const v1::AppRoleRoleRequest* req,
    v1::LoginEmpty* resp) {
  if (absl::Status st = CheckName(req->name()); !st.ok())
    return Refuse(ctx, st);
  return Handle(core_, ctx, "login.approle.delete_role",
                RolePath("approle", req->name()), Capability::kDelete, *req,
                resp, [&](core::Caller&) -> absl::Status {
                  return core_->approle().DeleteRole(req->name());
                });
}

grpc::ServerUnaryReactor* LoginService::AppRoleGenerateSecretId(
    grpc::CallbackServerContext* ctx,
    const v1::AppRoleGenerateSecretIdRequest* req,
    v1::AppRoleSecretIdResponse* resp) {
  if (absl::Status st = CheckName(req->name()); !st.ok())
    return Refuse(ctx, st);
  return Handle(
      core_, ctx, "login.approle.generate_secret_id",
      RolePath("approle", req->name(), "/secret-id"), Capability::kUpdate, *req,
      resp, [&](core::Caller&) -> absl::Status {
        auth::SecretIdOptions options;
        options.ttl = absl::Seconds(req->ttl_seconds());
        options.num_uses = req->num_uses();
        options.cidrs.assign(req->cidrs().begin(), req->cidrs().end());
        options.metadata.insert(req->metadata().begin(), req->metadata().end());
        ASSIGN_OR_RETURN(
            auth::GeneratedSecretId sid,
            core_->approle().GenerateSecretId(req->name(), options));
        resp->set_secret_id(std::string(sid.secret_id.Reveal()));
        resp->set_accessor(sid.accessor);
        resp->set_expires_unix(UnixOrZero(sid.expiry));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* LoginService::AppRoleListSecretIds(
    grpc::CallbackServerContext* ctx, const v1::AppRoleRoleRequest* req,
    v1::NameList* resp) {
  if (absl::Status st = CheckName(req->name()); !st.ok())
    return Refuse(ctx, st);
  return Handle(
      core_, ctx, "login.approle.list_secret_ids",
      RolePath("approle", req->name(), "/secret-id"), Capability::kList, *req,
      resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(std::vector<std::string> accessors,
                         core_->approle().ListSecretIdAccessors(req->name()));
        for (auto& a : accessors) resp->add_names(std::move(a));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* LoginService::AppRoleLookupSecretId(
    grpc::CallbackServerContext* ctx, const v1::AppRoleAccessorRequest* req,
    v1::AppRoleSecretIdInfo* resp) {
  if (absl::Status st = CheckName(req->name()); !st.ok())
    return Refuse(ctx, st);
  return Handle(core_, ctx, "login.approle.lookup_secret_id",
                RolePath("approle", req->name(), "/secret-id-accessor"),
                Capability::kRead, *req, resp,
                [&](core::Caller&) -> absl::Status {
                  ASSIGN_OR_RETURN(auth::SecretIdInfo info,
                                   core_->approle().LookupSecretIdByAccessor(
                                       req->name(), req->accessor()));
                  resp->set_accessor(info.accessor);
                  resp->set_created_unix(absl::ToUnixSeconds(info.created));
                  resp->set_expires_unix(UnixOrZero(info.expiry));
                  resp->set_uses_left(info.uses_left);
                  for (auto& c : info.cidrs) resp->add_cidrs(c);
                  resp->mutable_metadata()->insert(info.metadata.begin(),
                                                   info.metadata.end());
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* LoginService::AppRoleDestroySecretId(
    grpc::CallbackServerContext* ctx, const v1::AppRoleAccessorRequest* req,
    v1::LoginEmpty* resp) {
  if (absl::Status st = CheckName(req->name()); !st.ok())
    return Refuse(ctx, st);
  return Handle(core_, ctx, "login.approle.destroy_secret_id",
                RolePath("approle", req->name(), "/secret-id-accessor"),
                Capability::kDelete, *req, resp,
                [&](core::Caller&) -> absl::Status {
                  return core_->approle().DestroySecretIdByAccessor(
                      req->name(), req->accessor());
                });
}

grpc::ServerUnaryReactor* LoginService::KubernetesWriteConfig(
    grpc::CallbackServerContext* ctx, const v1::KubernetesConfig* req,
    v1::LoginEmpty* resp) {
  return Handle(core_, ctx, "login.kubernetes.write_config",
                "auth/kubernetes/config", Capability::kUpdate, *req, resp,
                [&](core::Caller&) -> absl::Status {
                  auth::KubernetesConfig config;
                  config.set_issuer(req->issuer());
                  config.mutable_pem_keys()->CopyFrom(req->pem_keys());
                  config.set_jwks(req->jwks());
                  config.set_audience(req->audience());
                  return core_->kubernetes().WriteConfig(config);
                });
}

grpc::ServerUnaryReactor* LoginService::KubernetesReadConfig(
    grpc::CallbackServerContext* ctx,
    const v1::KubernetesReadConfigRequest* req, v1::KubernetesConfig* resp) {
  return Handle(core_, ctx, "login.kubernetes.read_config",
                "auth/kubernetes/config", Capability::kRead, *req, resp,
                [&](core::Caller&) -> absl::Status {
                  ASSIGN_OR_RETURN(auth::KubernetesConfig config,
                                   core_->kubernetes().ReadConfig());
                  resp->set_issuer(config.issuer());
                  resp->mutable_pem_keys()->CopyFrom(config.pem_keys());
                  resp->set_jwks(config.jwks());
                  resp->set_audience(config.audience());
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* LoginService::KubernetesWriteRole(
    grpc::CallbackServerContext* ctx, const v1::KubernetesRole* req,
    v1::LoginEmpty* resp) {
  if (absl::Status st = CheckName(req->name()); !st.ok())
    return Refuse(ctx, st);
  return Handle(core_, ctx, "login.kubernetes.write_role",
                RolePath("kubernetes", req->name()), Capability::kUpdate, *req,
                resp, [&](core::Caller&) -> absl::Status {
                  auth::KubernetesRole role;
                  role.mutable_bound_service_account_names()->CopyFrom(
                      req->bound_service_account_names());
                  role.mutable_bound_service_account_namespaces()->CopyFrom(
                      req->bound_service_account_namespaces());
                  role.mutable_policies()->CopyFrom(req->policies());
                  role.set_token_ttl_seconds(req->token_ttl_seconds());
                  role.set_token_max_ttl_seconds(req->token_max_ttl_seconds());
                  return core_->kubernetes().WriteRole(req->name(), role);
                });
}

grpc::ServerUnaryReactor* LoginService::KubernetesReadRole(
    grpc::CallbackServerContext* ctx, const v1::KubernetesRoleRequest* req,
    v1::KubernetesRole* resp) {
  if (absl::Status st = CheckName(req->name()); !st.ok())
    return Refuse(ctx, st);
  return Handle(core_, ctx, "login.kubernetes.read_role",
                RolePath("kubernetes", req->name()), Capability::kRead, *req,
                resp, [&](core::Caller&) -> absl::Status {
                  ASSIGN_OR_RETURN(auth::KubernetesRole role,
                                   core_->kubernetes().ReadRole(req->name()));
                  resp->set_name(req->name());
                  resp->mutable_bound_service_account_names()->CopyFrom(
                      role.bound_service_account_names());
                  resp->mutable_bound_service_account_namespaces()->CopyFrom(
                      role.bound_service_account_namespaces());
                  resp->mutable_policies()->CopyFrom(role.policies());
                  resp->set_token_ttl_seconds(role.token_ttl_seconds());
                  resp->set_token_max_ttl_seconds(role.token_max_ttl_seconds());
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* LoginService::KubernetesListRoles(
    grpc::CallbackServerContext* ctx, const v1::KubernetesListRolesRequest* req,
    v1::NameList* resp) {
  return Handle(core_, ctx, "login.kubernetes.list_roles",
                "auth/kubernetes/role", Capability::kList, *req, resp,
                [&](core::Caller&) -> absl::Status {
                  ASSIGN_OR_RETURN(std::vector<std::string> names,
                                   core_->kubernetes().ListRoles());
                  for (auto& n : names) resp->add_names(std::move(n));
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* LoginService::KubernetesDeleteRole(
    grpc::CallbackServerContext* ctx, const v1::KubernetesRoleRequest* req,
    v1::LoginEmpty* resp) {
  if (absl::Status st = CheckName(req->name()); !st.ok())
    return Refuse(ctx, st);
  return Handle(core_, ctx, "login.kubernetes.delete_role",
                RolePath("kubernetes", req->name()), Capability::kDelete, *req,
                resp, [&](core::Caller&) -> absl::Status {
                  return core_->kubernetes().DeleteRole(req->name());
                });
}

}  // namespace arca::api
