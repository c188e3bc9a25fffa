// LoginService end to end in one process: the real `arca` command line and
// client library against ApiServer serving LoginService over real AppRole
// and Kubernetes login methods (in-memory barrier). Only the token issuer
// and the authorizer are fakes: the core wires the real ones.

#include "server/api/login_service.h"

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cli/app.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kms/random.h"
#include "nlohmann/json.hpp"
#include "server/api/server.h"
#include "server/storage/in_memory_backend.h"
#include "tests/unit/auth/jwt_signer.h"

namespace arca::api {
namespace {

using ::arca::testing::JwtSigner;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

constexpr char kAdminToken[] = "arca.s.admin-token-for-tests";

class FakeIssuer : public auth::LoginIssuer {
 public:
  absl::StatusOr<auth::IssuedToken> IssueLoginToken(
      const auth::LoginGrant& grant) override {
    absl::MutexLock lock(&mu_);
    grants_.push_back(grant);
    auth::IssuedToken token;
    token.token = kms::SecretBytes::CopyFrom(
        absl::StrCat("arca.s.login-", grants_.size()));
    token.accessor = absl::StrCat("accessor-", grants_.size());
    token.ttl = grant.ttl;
    return token;
  }
  std::vector<auth::LoginGrant> grants() {
    absl::MutexLock lock(&mu_);
    return grants_;
  }

 private:
  absl::Mutex mu_;
  std::vector<auth::LoginGrant> grants_;
};

struct Result {
  int code;
  std::string out, err;
};

class LoginServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kms::SecretBytes key = kms::RandomSecret(32);
    ASSERT_TRUE(barrier_.Initialize(key).ok());
    ASSERT_TRUE(barrier_.Unseal(key).ok());
    LoginMethods methods;
    methods.authorize = [this](std::string_view token, std::string_view path,
                               core::Capability cap) -> absl::Status {
      absl::MutexLock lock(&mu_);
      checks_.push_back(std::string(path) + " " +
                        std::string(core::CapabilityName(cap)));
      if (token != kAdminToken) {
        return absl::PermissionDeniedError("permission denied on " +
                                           std::string(path));
      }
      return absl::OkStatus();
    };
    methods.approle = &approle_;
    methods.kubernetes = &kubernetes_;
    methods.issuer = &issuer_;
    ServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.allow_plaintext = true;
    options.unauthenticated_rate.burst = 1000;
    auto server = ApiServer::Start(nullptr, options, methods);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    address_ = absl::StrCat("127.0.0.1:", server_->port());
  }

  Result Arca(std::vector<std::string> args, const std::string& in = "",
              const std::string& token = kAdminToken) {
    setenv("ARCA_TOKEN", token.c_str(), 1);
    args.insert(args.begin(), {"--address", address_});
    std::istringstream input(in);
    std::ostringstream out, err;
    cli::Io io{&input, &out, &err};
    Result r;
    r.code = cli::RunArca(args, io);
    r.out = out.str();
    r.err = err.str();
    unsetenv("ARCA_TOKEN");
    return r;
  }

  std::string WriteTemp(const std::string& name, const std::string& data) {
    const std::string path = ::testing::TempDir() + "/" + name + "-" +
                             std::to_string(getpid());
    std::ofstream(path, std::ios::binary) << data;
    return path;
  }

  std::vector<std::string> checks() {
    absl::MutexLock lock(&mu_);
    return checks_;
  }

  storage::InMemoryBackend backend_;
  barrier::Barrier barrier_{&backend_};
  auth::AppRoleAuth approle_{barrier::View(&barrier_, "auth/approle/")};
  auth::KubernetesAuth kubernetes_{barrier::View(&barrier_, "auth/kubernetes/")};
  FakeIssuer issuer_;
  absl::Mutex mu_;
  std::vector<std::string> checks_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<ApiServer> server_;
  std::string address_;
};

TEST_F(LoginServiceTest, AppRoleFromRoleWriteToSingleUseLoginThroughTheCli) {
  Result write = Arca({"auth", "approle", "role", "write", "ci", "--policy",
                       "deploy", "--token-ttl", "10m", "--secret-id-num-uses",
                       "1"});
  ASSERT_EQ(write.code, 0) << write.err;
  Result role_id = Arca({"auth", "approle", "role-id", "ci"});
  ASSERT_EQ(role_id.code, 0) << role_id.err;
  const std::string rid(role_id.out.substr(0, role_id.out.size() - 1));

  Result gen = Arca(
      {"auth", "approle", "secret-id", "generate", "ci", "--format", "json"});
  ASSERT_EQ(gen.code, 0) << gen.err;
  auto j = nlohmann::json::parse(gen.out);
  const std::string secret_id = j["secret_id"];
  const std::string accessor = j["accessor"];
  EXPECT_EQ(Arca({"auth", "approle", "secret-id", "list", "ci"}).out,
            accessor + "\n");

  Result login = Arca({"login", "approle", "--role-id", rid, "--format", "json"},
                      secret_id + "\n", "");
  ASSERT_EQ(login.code, 0) << login.err;
  auto token = nlohmann::json::parse(login.out);
  EXPECT_EQ(token["token"], "arca.s.login-1");
  EXPECT_EQ(token["policies"], nlohmann::json::array({"deploy"}));
  EXPECT_EQ(token["ttl_seconds"], "600");  // int64 as a JSON string
  ASSERT_EQ(issuer_.grants().size(), 1u);
  EXPECT_EQ(issuer_.grants()[0].ttl, absl::Minutes(10));
  EXPECT_EQ(issuer_.grants()[0].metadata.at("secret_id_accessor"), accessor);

  Result again =
      Arca({"login", "approle", "--role-id", rid}, secret_id + "\n", "");
  EXPECT_EQ(again.code, 1);
  EXPECT_THAT(again.err, HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(again.err, HasSubstr("invalid role_id or secret_id"));
  EXPECT_THAT(again.err, Not(HasSubstr(secret_id)));
}

TEST_F(LoginServiceTest, RoleReadPrintsAKeyValueTable) {
  ASSERT_EQ(Arca({"auth", "approle", "role", "write", "ci", "--policy", "a",
                  "--policy", "b", "--secret-id-bound-cidr", "10.0.0.0/8"})
                .code,
            0);
  Result read = Arca({"auth", "approle", "role", "read", "ci"});
  ASSERT_EQ(read.code, 0) << read.err;
  EXPECT_THAT(read.out, MatchesRegex("(.|\n)*policies +a,b\n(.|\n)*"));
  EXPECT_THAT(read.out,
              MatchesRegex("(.|\n)*secret_id_bound_cidrs +10.0.0.0/8\n(.|\n)*"));
  // An empty response prints nothing.
  Result del = Arca({"auth", "approle", "role", "delete", "ci"});
  EXPECT_EQ(del.code, 0);
  EXPECT_EQ(del.out, "");
}

TEST_F(LoginServiceTest, SecretIdIsNeverTakenFromTheCommandLine) {
  Result r = Arca({"login", "approle", "--role-id", "x"}, "", "");
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("no secret_id on standard input"));
}

TEST_F(LoginServiceTest, ManagementRpcsAreAuthorizedOnTheirDocumentedPaths) {
  Result denied = Arca({"auth", "approle", "role", "write", "ci"}, "",
                       "arca.s.someone-else");
  EXPECT_EQ(denied.code, 1);
  EXPECT_THAT(denied.err, HasSubstr("PERMISSION_DENIED"));
  ASSERT_EQ(Arca({"auth", "approle", "role", "write", "ci"}).code, 0);
  ASSERT_EQ(Arca({"auth", "approle", "secret-id", "generate", "ci"}).code, 0);
  ASSERT_EQ(Arca({"auth", "approle", "role", "list"}).code, 0);
  ASSERT_EQ(Arca({"auth", "kubernetes", "role", "list"}).code, 0);
  EXPECT_THAT(checks(),
              ::testing::IsSupersetOf(
                  {"auth/approle/role/ci update",
                   "auth/approle/role/ci/secret-id update",
                   "auth/approle/role list", "auth/kubernetes/role list"}));
}

TEST_F(LoginServiceTest, DestroyingAnotherRolesSecretIdIsNotFound) {
  ASSERT_EQ(Arca({"auth", "approle", "role", "write", "a"}).code, 0);
  ASSERT_EQ(Arca({"auth", "approle", "role", "write", "b"}).code, 0);
  auto gen = nlohmann::json::parse(
      Arca({"auth", "approle", "secret-id", "generate", "a", "--format",
            "json"})
          .out);
  const std::string accessor = gen["accessor"];
  Result wrong = Arca({"auth", "approle", "secret-id", "destroy", "b",
                       "--accessor", accessor});
  EXPECT_EQ(wrong.code, 2);
  EXPECT_THAT(wrong.err, HasSubstr("NOT_FOUND"));
  EXPECT_EQ(Arca({"auth", "approle", "secret-id", "destroy", "a",
                  "--accessor", accessor})
                .code,
            0);
  EXPECT_EQ(Arca({"auth", "approle", "secret-id", "list", "a"}).out, "");
}

TEST_F(LoginServiceTest, KubernetesLoginWithARealSignatureThroughTheCli) {
  JwtSigner signer(JwtSigner::Type::kEc);
  const std::string pem = WriteTemp("sa.pem", signer.PublicPem());
  ASSERT_EQ(Arca({"auth", "kubernetes", "config", "write", "--issuer",
                  "https://k8s.test", "--audience", "arca", "--pem-file", pem})
                .code,
            0);
  ASSERT_EQ(Arca({"auth", "kubernetes", "role", "write", "web",
                  "--bound-service-account-name", "web", "--bound-namespace",
                  "shop", "--policy", "shop-read"})
                .code,
            0);
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  nlohmann::json claims = {
      {"iss", "https://k8s.test"},
      {"aud", {"arca"}},
      {"sub", "system:serviceaccount:shop:web"},
      {"exp", now + 600},
      {"kubernetes.io",
       {{"namespace", "shop"}, {"serviceaccount", {{"name", "web"}}}}}};
  const std::string jwt = signer.Sign(claims);
  Result ok = Arca({"login", "kubernetes", "--role", "web", "--jwt-file",
                    WriteTemp("jwt", jwt + "\n")},
                   "", "");
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("arca.s.login-1"));
  EXPECT_THAT(ok.out, HasSubstr("shop-read"));

  claims["aud"] = {"someone-else"};
  const std::string wrong_aud = signer.Sign(claims);
  Result refused = Arca({"login", "kubernetes", "--role", "web", "--jwt-file",
                         WriteTemp("jwt2", wrong_aud)},
                        "", "");
  EXPECT_EQ(refused.code, 1);
  EXPECT_THAT(refused.err, HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(refused.err, HasSubstr("jwt audience mismatch"));
  EXPECT_THAT(refused.err, Not(HasSubstr(wrong_aud.substr(0, 30))));
}

TEST_F(LoginServiceTest, PeerIpDropsThePortAndBrackets) {
  EXPECT_EQ(PeerIp("ipv4:10.0.0.7:5123"), "10.0.0.7");
  EXPECT_EQ(PeerIp("ipv6:[2001:db8::2]:443"), "2001:db8::2");
  EXPECT_EQ(PeerIp("unix:/run/arca.sock"), "");
}

}  // namespace
}  // namespace arca::api
