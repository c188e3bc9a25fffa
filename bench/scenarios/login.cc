// login-approle: LoginService.AppRoleLogin with a role_id and an
// unlimited-use secret_id made in Prepare; each login issues a token.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arca/v1/login.grpc.pb.h"
#include "bench/arca_bench/scenario.h"
#include "kms/status_macros.h"

namespace arca::bench {
namespace {

constexpr char kRole[] = "arca-bench";

using LoginOp = UnaryOp<v1::AppRoleLoginRequest, v1::LoginResponse>;

class AppRoleLogin : public Scenario {
 public:
  // Writes the role (default policy, no secret_id limits) and one
  // secret_id. An arcad without LoginService answers UNIMPLEMENTED, which
  // the run reports as not run.
  absl::Status Prepare(const ScenarioContext& context) override {
    auto stub = v1::LoginService::NewStub(context.channel);
    v1::AppRoleRole role;
    {
      grpc::ClientContext call;
      call.AddMetadata("authorization", "Bearer " + context.token);
      v1::AppRoleWriteRoleRequest request;
      request.mutable_role()->set_name(kRole);
      request.mutable_role()->add_policies("default");
      RETURN_IF_ERROR(StatusFromGrpc(
          stub->AppRoleWriteRole(&call, request, &role), "AppRoleWriteRole"));
    }
    if (role.role_id().empty()) {
      return absl::InternalError("AppRoleWriteRole returned no role_id");
    }
    role_id_ = role.role_id();
    grpc::ClientContext call;
    call.AddMetadata("authorization", "Bearer " + context.token);
    v1::AppRoleGenerateSecretIdRequest request;
    request.set_name(kRole);
    v1::AppRoleSecretIdResponse secret;
    RETURN_IF_ERROR(
        StatusFromGrpc(stub->AppRoleGenerateSecretId(&call, request, &secret),
                       "AppRoleGenerateSecretId"));
    secret_id_ = secret.secret_id();
    return absl::OkStatus();
  }

  std::unique_ptr<AsyncOp> NewAsyncOp(
      int slot, std::shared_ptr<grpc::Channel> channel) override {
    auto stub = std::shared_ptr<v1::LoginService::Stub>(
        v1::LoginService::NewStub(std::move(channel)));
    // Login takes no token: no authorization metadata.
    auto op = std::make_unique<LoginOp>(
        [stub](grpc::ClientContext* c, const v1::AppRoleLoginRequest* req,
               v1::LoginResponse* resp, DoneCallback done) {
          stub->async()->AppRoleLogin(c, req, resp, std::move(done));
        },
        nullptr, std::vector<std::pair<std::string, std::string>>{},
        [](const v1::LoginResponse& resp) {
          if (!resp.token().empty()) return grpc::Status::OK;
          return grpc::Status(grpc::StatusCode::INTERNAL,
                              "AppRoleLogin returned no token");
        });
    op->request().set_role_id(role_id_);
    op->request().set_secret_id(secret_id_);
    return op;
  }

 private:
  std::string role_id_;
  std::string secret_id_;  // a credential: never logged
};

const ScenarioRegistrar kRegistrar({
    {.name = "login-approle",
     .description = "LoginService.AppRoleLogin (role_id + secret_id -> token)",
     .server = ServerKind::kArcad,
     .payload_sizes = {0},
     .reports_bytes = false,
     .factory = [] { return std::make_unique<AppRoleLogin>(); }},
});

}  // namespace
}  // namespace arca::bench
