#ifndef ARCA_SERVER_API_AUTH_SERVICE_H_
#define ARCA_SERVER_API_AUTH_SERVICE_H_

#include "arca/v1/auth.grpc.pb.h"
#include "server/core/core.h"

namespace arca::api {

// gRPC adapter for arca.v1.AuthService (token create, lookup, renew,
// revoke) over the core pipeline. Non-owning Core pointer. Thread-safe.
class AuthService final : public arca::v1::AuthService::CallbackService {
 public:
  explicit AuthService(core::Core* core) : core_(core) {}

  grpc::ServerUnaryReactor* CreateToken(
      grpc::CallbackServerContext* ctx, const v1::CreateTokenRequest* req,
      v1::CreateTokenResponse* resp) override;
  grpc::ServerUnaryReactor* LookupToken(grpc::CallbackServerContext* ctx,
                                        const v1::LookupTokenRequest* req,
                                        v1::TokenInfo* resp) override;
  grpc::ServerUnaryReactor* RenewToken(grpc::CallbackServerContext* ctx,
                                       const v1::RenewTokenRequest* req,
                                       v1::TokenInfo* resp) override;
  grpc::ServerUnaryReactor* RevokeToken(
      grpc::CallbackServerContext* ctx, const v1::RevokeTokenRequest* req,
      v1::RevokeTokenResponse* resp) override;

 private:
  core::Core* core_;
};

}  // namespace arca::api

#endif  // ARCA_SERVER_API_AUTH_SERVICE_H_
