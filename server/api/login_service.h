#ifndef ARCA_SERVER_API_LOGIN_SERVICE_H_
#define ARCA_SERVER_API_LOGIN_SERVICE_H_

#include <string_view>

#include "absl/status/status.h"
#include "arca/v1/login.grpc.pb.h"
#include "server/api/rate_limiter.h"
#include "server/auth/login.h"
#include "server/core/core.h"

namespace arca::api {

// gRPC adapter for arca.v1.LoginService over the core's login methods
// (Core::approle(), Core::kubernetes()) and token store. Login RPCs go
// through HandleLogin (no token, audited, fail closed) and the per-peer
// limiter; management RPCs through Handle on the resource paths documented
// in proto/arca/v1/login.proto. Non-owning pointers that must outlive the
// service; thread-safe.
class LoginService final : public v1::LoginService::CallbackService {
 public:
  // `limiter` limits logins per client address; may be null.
  LoginService(core::Core* core, PeerRateLimiter* limiter)
      : core_(core), limiter_(limiter) {}

  grpc::ServerUnaryReactor* AppRoleLogin(grpc::CallbackServerContext* ctx,
                                         const v1::AppRoleLoginRequest* req,
                                         v1::LoginResponse* resp) override;
  grpc::ServerUnaryReactor* KubernetesLogin(
      grpc::CallbackServerContext* ctx, const v1::KubernetesLoginRequest* req,
      v1::LoginResponse* resp) override;

  grpc::ServerUnaryReactor* AppRoleWriteRole(
      grpc::CallbackServerContext* ctx, const v1::AppRoleWriteRoleRequest* req,
      v1::AppRoleRole* resp) override;
  grpc::ServerUnaryReactor* AppRoleReadRole(grpc::CallbackServerContext* ctx,
                                            const v1::AppRoleRoleRequest* req,
                                            v1::AppRoleRole* resp) override;
  grpc::ServerUnaryReactor* AppRoleListRoles(
      grpc::CallbackServerContext* ctx, const v1::AppRoleListRolesRequest* req,
      v1::NameList* resp) override;
  grpc::ServerUnaryReactor* AppRoleDeleteRole(grpc::CallbackServerContext* ctx,
                                              const v1::AppRoleRoleRequest* req,
                                              v1::LoginEmpty* resp) override;
  grpc::ServerUnaryReactor* AppRoleGenerateSecretId(
      grpc::CallbackServerContext* ctx,
      const v1::AppRoleGenerateSecretIdRequest* req,
      v1::AppRoleSecretIdResponse* resp) override;
  grpc::ServerUnaryReactor* AppRoleListSecretIds(
      grpc::CallbackServerContext* ctx, const v1::AppRoleRoleRequest* req,
      v1::NameList* resp) override;
  grpc::ServerUnaryReactor* AppRoleLookupSecretId(
      grpc::CallbackServerContext* ctx, const v1::AppRoleAccessorRequest* req,
      v1::AppRoleSecretIdInfo* resp) override;
  grpc::ServerUnaryReactor* AppRoleDestroySecretId(
      grpc::CallbackServerContext* ctx, const v1::AppRoleAccessorRequest* req,
      v1::LoginEmpty* resp) override;

  grpc::ServerUnaryReactor* KubernetesWriteConfig(
      grpc::CallbackServerContext* ctx, const v1::KubernetesConfig* req,
      v1::LoginEmpty* resp) override;
  grpc::ServerUnaryReactor* KubernetesReadConfig(
      grpc::CallbackServerContext* ctx,
      const v1::KubernetesReadConfigRequest* req,
      v1::KubernetesConfig* resp) override;
  grpc::ServerUnaryReactor* KubernetesWriteRole(
      grpc::CallbackServerContext* ctx, const v1::KubernetesRole* req,
      v1::LoginEmpty* resp) override;
  grpc::ServerUnaryReactor* KubernetesReadRole(
      grpc::CallbackServerContext* ctx, const v1::KubernetesRoleRequest* req,
      v1::KubernetesRole* resp) override;
  grpc::ServerUnaryReactor* KubernetesListRoles(
      grpc::CallbackServerContext* ctx,
      const v1::KubernetesListRolesRequest* req, v1::NameList* resp) override;
  grpc::ServerUnaryReactor* KubernetesDeleteRole(
      grpc::CallbackServerContext* ctx, const v1::KubernetesRoleRequest* req,
      v1::LoginEmpty* resp) override;

 private:
  absl::Status Limit(grpc::CallbackServerContext* ctx);
  // Issues the token for `grant` and fills `resp`.
  absl::Status Issue(const auth::LoginGrant& grant, v1::LoginResponse* resp);

  core::Core* core_;
  PeerRateLimiter* limiter_;
};

// The IP address part of a gRPC peer string ("ipv4:10.0.0.1:5000" ->
// "10.0.0.1", "ipv6:[::1]:80" -> "::1"); "" for unix sockets and others.
std::string PeerIp(std::string_view grpc_peer);

}  // namespace arca::api

#endif  // ARCA_SERVER_API_LOGIN_SERVICE_H_
