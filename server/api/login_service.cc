#include "server/api/login_service.h"

#include <string>
#include <utility>

#include "kms/status_macros.h"
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

absl::Status LoginService::Authorize(grpc::CallbackServerContext* ctx,
                                     std::string_view path,
                                     Capability capability) {
  if (!m_.authorize) return absl::InternalError("login service not wired");
  return m_.authorize(BearerToken(ctx), path, capability);
}

absl::Status LoginService::Limit(grpc::CallbackServerContext* ctx) {
  if (m_.limiter == nullptr) return absl::OkStatus();
  return m_.limiter->Acquire(PeerHost(ctx->peer()));
}

absl::Status LoginService::Issue(const auth::LoginGrant& grant,
                                 v1::LoginResponse* resp) {
  if (m_.issuer == nullptr) {
    return absl::FailedPreconditionError("no token issuer is configured");
  }
  ASSIGN_OR_RETURN(auth::IssuedToken token, m_.issuer->IssueLoginToken(grant));
  resp->set_token(std::string(token.token.Reveal()));
  resp->set_accessor(token.accessor);
  for (const std::string& p : grant.policies) resp->add_policies(p);
  resp->set_ttl_seconds(absl::ToInt64Seconds(token.ttl));
  resp->mutable_metadata()->insert(grant.metadata.begin(),
                                   grant.metadata.end());
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* LoginService::AppRoleLogin(
    grpc::CallbackServerContext* ctx, const v1::AppRoleLoginRequest* req,
    v1::LoginResponse* resp) {
  return Unary(ctx, [&]() -> absl::Status {
    RETURN_IF_ERROR(Limit(ctx));
    kms::SecretBytes secret_id = kms::SecretBytes::CopyFrom(req->secret_id());
    ASSIGN_OR_RETURN(auth::LoginGrant grant,
                     m_.approle->Login(req->role_id(), secret_id,
                                       PeerIp(ctx->peer())));
    return Issue(grant, resp);
  });
}

grpc::ServerUnaryReactor* LoginService::KubernetesLogin(
    grpc::CallbackServerContext* ctx, const v1::KubernetesLoginRequest* req,
    v1::LoginResponse* resp) {
  return Unary(ctx, [&]() -> absl::Status {
    RETURN_IF_ERROR(Limit(ctx));
    ASSIGN_OR_RETURN(auth::LoginGrant grant,
                     m_.kubernetes->Login(req->role(), req->jwt()));
    return Issue(grant, resp);
  });
}

grpc::ServerUnaryReactor* LoginService::AppRoleWriteRole(
    grpc::CallbackServerContext* ctx, const v1::AppRoleWriteRoleRequest* req,
    v1::AppRoleRole* resp) {
  return Unary(ctx, [&]() -> absl::Status {
    const v1::AppRoleRole& in = req->role();
    RETURN_IF_ERROR(CheckName(in.name()));
    RETURN_IF_ERROR(
        Authorize(ctx, RolePath("approle", in.name()), Capability::kUpdate));
    auth::AppRoleRole role;
    role.mutable_policies()->CopyFrom(in.policies());
    role.set_token_ttl_seconds(in.token_ttl_seconds());
    role.set_token_max_ttl_seconds(in.token_max_ttl_seconds());
    role.set_secret_id_ttl_seconds(in.secret_id_ttl_seconds());
    role.set_secret_id_num_uses(in.secret_id_num_uses());
    role.mutable_secret_id_bound_cidrs()->CopyFrom(in.secret_id_bound_cidrs());
    RETURN_IF_ERROR(m_.approle->WriteRole(in.name(), role));
    ASSIGN_OR_RETURN(auth::AppRoleRole stored, m_.approle->ReadRole(in.name()));
    ToProto(in.name(), stored, resp);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* LoginService::AppRoleReadRole(
    grpc::CallbackServerContext* ctx, const v1::AppRoleRoleRequest* req,
    v1::AppRoleRole* resp) {
  return Unary(ctx, [&]() -> absl::Status {
    RETURN_IF_ERROR(CheckName(req->name()));
    RETURN_IF_ERROR(
        Authorize(ctx, RolePath("approle", req->name()), Capability::kRead));
    ASSIGN_OR_RETURN(auth::AppRoleRole role, m_.approle->ReadRole(req->name()));
    ToProto(req->name(), role, resp);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* LoginService::AppRoleListRoles(
    grpc::CallbackServerContext* ctx, const v1::AppRoleListRolesRequest*,
    v1::NameList* resp) {
  return Unary(ctx, [&]() -> absl::Status {
    RETURN_IF_ERROR(Authorize(ctx, "auth/approle/role", Capability::kList));
    ASSIGN_OR_RETURN(std::vector<std::string> names, m_.approle->ListRoles());
    for (auto& n : names) resp->add_names(std::move(n));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* LoginService::AppRoleDeleteRole(
    grpc::CallbackServerContext* ctx, const v1::AppRoleRoleRequest* req,
    v1::LoginEmpty*) {
  return Unary(ctx, [&]() -> absl::Status {
    RETURN_IF_ERROR(CheckName(req->name()));
    RETURN_IF_ERROR(
        Authorize(ctx, RolePath("approle", req->name()), Capability::kDelete));
    return m_.approle->DeleteRole(req->name());
  });
}

grpc::ServerUnaryReactor* LoginService::AppRoleGenerateSecretId(
    grpc::CallbackServerContext* ctx,
    const v1::AppRoleGenerateSecretIdRequest* req,
    v1::AppRoleSecretIdResponse* resp) {
  return Unary(ctx, [&]() -> absl::Status {
    RETURN_IF_ERROR(CheckName(req->name()));
    RETURN_IF_ERROR(Authorize(ctx, RolePath("approle", req->name(), "/secret-id"),
                              Capability::kUpdate));
    auth::SecretIdOptions options;
    options.ttl = absl::Seconds(req->ttl_seconds());
    options.num_uses = req->num_uses();
    options.cidrs.assign(req->cidrs().begin(), req->cidrs().end());
    options.metadata.insert(req->metadata().begin(), req->metadata().end());
    ASSIGN_OR_RETURN(auth::GeneratedSecretId sid,
                     m_.approle->GenerateSecretId(req->name(), options));
    resp->set_secret_id(std::string(sid.secret_id.Reveal()));
    resp->set_accessor(sid.accessor);
    resp->set_expires_unix(UnixOrZero(sid.expiry));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* LoginService::AppRoleListSecretIds(
    grpc::CallbackServerContext* ctx, const v1::AppRoleRoleRequest* req,
    v1::NameList* resp) {
  return Unary(ctx, [&]() -> absl::Status {
    RETURN_IF_ERROR(CheckName(req->name()));
    RETURN_IF_ERROR(Authorize(ctx, RolePath("approle", req->name(), "/secret-id"),
                              Capability::kList));
    ASSIGN_OR_RETURN(std::vector<std::string> accessors,
                     m_.approle->ListSecretIdAccessors(req->name()));
    for (auto& a : accessors) resp->add_names(std::move(a));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* LoginService::AppRoleLookupSecretId(
    grpc::CallbackServerContext* ctx, const v1::AppRoleAccessorRequest* req,
    v1::AppRoleSecretIdInfo* resp) {
  return Unary(ctx, [&]() -> absl::Status {
    RETURN_IF_ERROR(CheckName(req->name()));
    RETURN_IF_ERROR(Authorize(
        ctx, RolePath("approle", req->name(), "/secret-id-accessor"),
        Capability::kRead));
    ASSIGN_OR_RETURN(auth::SecretIdInfo info,
                     m_.approle->LookupSecretIdByAccessor(req->name(),
                                                          req->accessor()));
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
    v1::LoginEmpty*) {
  return Unary(ctx, [&]() -> absl::Status {
    RETURN_IF_ERROR(CheckName(req->name()));
    RETURN_IF_ERROR(Authorize(
        ctx, RolePath("approle", req->name(), "/secret-id-accessor"),
        Capability::kDelete));
    return m_.approle->DestroySecretIdByAccessor(req->name(), req->accessor());
  });
}

grpc::ServerUnaryReactor* LoginService::KubernetesWriteConfig(
    grpc::CallbackServerContext* ctx, const v1::KubernetesConfig* req,
    v1::LoginEmpty*) {
  return Unary(ctx, [&]() -> absl::Status {
    RETURN_IF_ERROR(
        Authorize(ctx, "auth/kubernetes/config", Capability::kUpdate));
    auth::KubernetesConfig config;
    config.set_issuer(req->issuer());
    config.mutable_pem_keys()->CopyFrom(req->pem_keys());
    config.set_jwks(req->jwks());
    config.set_audience(req->audience());
    return m_.kubernetes->WriteConfig(config);
  });
}

grpc::ServerUnaryReactor* LoginService::KubernetesReadConfig(
    grpc::CallbackServerContext* ctx, const v1::KubernetesReadConfigRequest*,
    v1::KubernetesConfig* resp) {
  return Unary(ctx, [&]() -> absl::Status {
    RETURN_IF_ERROR(Authorize(ctx, "auth/kubernetes/config", Capability::kRead));
    ASSIGN_OR_RETURN(auth::KubernetesConfig config,
                     m_.kubernetes->ReadConfig());
    resp->set_issuer(config.issuer());
    resp->mutable_pem_keys()->CopyFrom(config.pem_keys());
    resp->set_jwks(config.jwks());
    resp->set_audience(config.audience());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* LoginService::KubernetesWriteRole(
    grpc::CallbackServerContext* ctx, const v1::KubernetesRole* req,
    v1::LoginEmpty*) {
  return Unary(ctx, [&]() -> absl::Status {
    RETURN_IF_ERROR(CheckName(req->name()));
    RETURN_IF_ERROR(Authorize(ctx, RolePath("kubernetes", req->name()),
                              Capability::kUpdate));
    auth::KubernetesRole role;
    role.mutable_bound_service_account_names()->CopyFrom(
        req->bound_service_account_names());
    role.mutable_bound_service_account_namespaces()->CopyFrom(
        req->bound_service_account_namespaces());
    role.mutable_policies()->CopyFrom(req->policies());
    role.set_token_ttl_seconds(req->token_ttl_seconds());
    role.set_token_max_ttl_seconds(req->token_max_ttl_seconds());
    return m_.kubernetes->WriteRole(req->name(), role);
  });
}

grpc::ServerUnaryReactor* LoginService::KubernetesReadRole(
    grpc::CallbackServerContext* ctx, const v1::KubernetesRoleRequest* req,
    v1::KubernetesRole* resp) {
  return Unary(ctx, [&]() -> absl::Status {
    RETURN_IF_ERROR(CheckName(req->name()));
    RETURN_IF_ERROR(Authorize(ctx, RolePath("kubernetes", req->name()),
                              Capability::kRead));
    ASSIGN_OR_RETURN(auth::KubernetesRole role,
                     m_.kubernetes->ReadRole(req->name()));
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
    grpc::CallbackServerContext* ctx, const v1::KubernetesListRolesRequest*,
    v1::NameList* resp) {
  return Unary(ctx, [&]() -> absl::Status {
    RETURN_IF_ERROR(Authorize(ctx, "auth/kubernetes/role", Capability::kList));
    ASSIGN_OR_RETURN(std::vector<std::string> names,
                     m_.kubernetes->ListRoles());
    for (auto& n : names) resp->add_names(std::move(n));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* LoginService::KubernetesDeleteRole(
    grpc::CallbackServerContext* ctx, const v1::KubernetesRoleRequest* req,
    v1::LoginEmpty*) {
  return Unary(ctx, [&]() -> absl::Status {
    RETURN_IF_ERROR(CheckName(req->name()));
    RETURN_IF_ERROR(Authorize(ctx, RolePath("kubernetes", req->name()),
                              Capability::kDelete));
    return m_.kubernetes->DeleteRole(req->name());
  });
}

}  // namespace arca::api
