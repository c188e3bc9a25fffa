// LoginService end to end in one process: the real `arca` command line and
// client library against ApiServer over a real Core (in-memory storage),
// so logins issue real tokens and management RPCs pass the pipeline.

#include "server/api/login_service.h"

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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

struct Result {
  int code;
  std::string out, err;
};

class LoginServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto core = core::Core::Open(std::make_unique<storage::InMemoryBackend>());
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = *std::move(core);
    auto init = core_->Init(1, 1);
    ASSERT_TRUE(init.ok()) << init.status();
    admin_ = init->root_token;
    share_ = init->shares_base64[0];
    ASSERT_TRUE(core_->Unseal(share_, false).ok());
    ServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.allow_plaintext = true;
    options.unauthenticated_rate.burst = 1000;
    auto server = ApiServer::Start(core_.get(), options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    address_ = absl::StrCat("127.0.0.1:", server_->port());
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
    server_.reset();
  }

  // Runs `arca` with `token` (the root token by default) in ARCA_TOKEN.
  Result Arca(std::vector<std::string> args, const std::string& in = "",
              std::optional<std::string> token = std::nullopt) {
    setenv("ARCA_TOKEN", token.value_or(admin_).c_str(), 1);
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
    const std::string path =
        ::testing::TempDir() + "/" + name + "-" + std::to_string(getpid());
    std::ofstream(path, std::ios::binary) << data;
    return path;
  }

  std::unique_ptr<core::Core> core_;
  std::string admin_;
  std::string share_;
  std::unique_ptr<ApiServer> server_;
  std::string address_;
};

TEST_F(LoginServiceTest, AppRoleFromRoleWriteToSingleUseLoginThroughTheCli) {
  Result write =
      Arca({"auth", "approle", "role", "write", "ci", "--policy", "deploy",
            "--token-ttl", "10m", "--secret-id-num-uses", "1"});
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

  Result login =
      Arca({"login", "approle", "--role-id", rid, "--format", "json"},
           secret_id + "\n", "");
  ASSERT_EQ(login.code, 0) << login.err;
  auto token = nlohmann::json::parse(login.out);
  EXPECT_THAT(std::string(token["token"]), MatchesRegex("arca\\.s\\..+"));
  EXPECT_EQ(token["policies"], nlohmann::json::array({"deploy", "default"}));
  EXPECT_EQ(token["ttl_seconds"], "600");  // int64 as a JSON string
  EXPECT_EQ(token["metadata"]["secret_id_accessor"], accessor);
  // The token store knows the token: it is real, an orphan, with the TTL.
  auto entry =
      core_->tokens().LookupAccessor(token["accessor"].get<std::string>());
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_TRUE(entry->orphan());
  EXPECT_EQ(entry->ttl_seconds(), 600);
  EXPECT_EQ(entry->metadata().at("secret_id_accessor"), accessor);

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
  EXPECT_THAT(
      read.out,
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
  Result none = Arca({"auth", "approle", "role", "write", "ci"}, "",
                     "arca.s.someone-else");
  EXPECT_EQ(none.code, 1);
  EXPECT_THAT(none.err, HasSubstr("UNAUTHENTICATED"));
  ASSERT_EQ(
      Arca({"policy", "write", "ci-admin", "-"},
           R"({"path": {"auth/approle/role/ci": {"capabilities": ["update"]},
                     "auth/approle/role/ci/secret-id": {"capabilities": ["update"]}}})")
          .code,
      0);
  Result created =
      Arca({"token", "create", "--policy", "ci-admin", "--format", "json"});
  ASSERT_EQ(created.code, 0) << created.err;
  const std::string limited = nlohmann::json::parse(created.out)["token"];
  EXPECT_EQ(Arca({"auth", "approle", "role", "write", "ci"}, "", limited).code,
            0);
  EXPECT_EQ(
      Arca({"auth", "approle", "secret-id", "generate", "ci"}, "", limited)
          .code,
      0);
  for (std::vector<std::string> args :
       {std::vector<std::string>{"auth", "approle", "role", "write", "other"},
        {"auth", "approle", "role", "read", "ci"},
        {"auth", "approle", "role", "list"},
        {"auth", "approle", "secret-id", "list", "ci"},
        {"auth", "kubernetes", "role", "list"}}) {
    Result r = Arca(args, "", limited);
    EXPECT_EQ(r.code, 1) << args[3];
    EXPECT_THAT(r.err, HasSubstr("PERMISSION_DENIED")) << args[3];
  }
}

TEST_F(LoginServiceTest, DestroyingAnotherRolesSecretIdIsNotFound) {
  ASSERT_EQ(Arca({"auth", "approle", "role", "write", "a"}).code, 0);
  ASSERT_EQ(Arca({"auth", "approle", "role", "write", "b"}).code, 0);
  auto gen = nlohmann::json::parse(Arca({"auth", "approle", "secret-id",
                                         "generate", "a", "--format", "json"})
                                       .out);
  const std::string accessor = gen["accessor"];
  Result wrong = Arca(
      {"auth", "approle", "secret-id", "destroy", "b", "--accessor", accessor});
  EXPECT_EQ(wrong.code, 2);
  EXPECT_THAT(wrong.err, HasSubstr("NOT_FOUND"));
  EXPECT_EQ(Arca({"auth", "approle", "secret-id", "destroy", "a", "--accessor",
                  accessor})
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
  EXPECT_THAT(ok.out, HasSubstr("arca.s."));
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

TEST_F(LoginServiceTest, LoginsArePerAddressRateLimitedButManagementIsNot) {
  server_->Shutdown();
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  options.allow_plaintext = true;
  options.unauthenticated_rate.per_second = 0.001;
  options.unauthenticated_rate.burst = 2;
  auto server = ApiServer::Start(core_.get(), options);
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  address_ = absl::StrCat("127.0.0.1:", server_->port());
  for (int i = 0; i < 2; ++i) {
    Result r = Arca({"login", "approle", "--role-id", "x"}, "y\n", "");
    EXPECT_THAT(r.err, HasSubstr("PERMISSION_DENIED")) << i;
  }
  Result limited = Arca({"login", "kubernetes", "--role", "web", "--jwt-file",
                         WriteTemp("jwt-limited", "a.b.c")},
                        "", "");
  EXPECT_EQ(limited.code, 1);
  EXPECT_THAT(limited.err, HasSubstr("RESOURCE_EXHAUSTED"));
  EXPECT_EQ(Arca({"auth", "approle", "role", "list"}).code, 0);
}

TEST_F(LoginServiceTest, LoginsAreUnavailableWhileSealedAndWorkAfterUnseal) {
  ASSERT_EQ(Arca({"auth", "approle", "role", "write", "ci"}).code, 0);
  Result role_id = Arca({"auth", "approle", "role-id", "ci"});
  const std::string rid(role_id.out.substr(0, role_id.out.size() - 1));
  auto gen = nlohmann::json::parse(Arca({"auth", "approle", "secret-id",
                                         "generate", "ci", "--format", "json"})
                                       .out);
  const std::string secret_id = gen["secret_id"];
  ASSERT_TRUE(core_->Seal().ok());
  Result sealed =
      Arca({"login", "approle", "--role-id", rid}, secret_id + "\n", "");
  EXPECT_EQ(sealed.code, 1);
  EXPECT_THAT(sealed.err, HasSubstr("UNAVAILABLE"));
  ASSERT_TRUE(core_->Unseal(share_, false).ok());
  Result ok =
      Arca({"login", "approle", "--role-id", rid}, secret_id + "\n", "");
  EXPECT_EQ(ok.code, 0) << ok.err;
}

TEST_F(LoginServiceTest, PeerIpDropsThePortAndBrackets) {
  EXPECT_EQ(PeerIp("ipv4:10.0.0.7:5123"), "10.0.0.7");
  EXPECT_EQ(PeerIp("ipv6:[2001:db8::2]:443"), "2001:db8::2");
  EXPECT_EQ(PeerIp("unix:/run/arca.sock"), "");
}

}  // namespace
}  // namespace arca::api
