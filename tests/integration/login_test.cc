// AppRole and Kubernetes logins against a real arcad, driven through the
// real `arca` CLI: logins issue real tokens that the ACL, the audit log and
// revocation treat like any other token.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/harness.h"
#include "tests/integration/test_certs.h"
#include "tests/unit/auth/jwt_signer.h"

namespace arca::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAppPolicy[] =
    R"({"path": {"kv/data/app/*": {"capabilities": ["read", "list"]}}})";

class LoginTest : public ::testing::Test {
 protected:
  LoginTest()
      : pki_(MakeTestPki(dir_.path())),
        arcad_(dir_.path() / "data", dir_.path()) {}

  // Starts arcad (TLS when `tls`), initializes, unseals, enables a file
  // audit device and writes the app-read policy and two secrets.
  void StartServer(bool tls) {
    if (tls) {
      arcad_.UseTls({pki_.server_cert, pki_.server_key, {}});
      env_["ARCA_CACERT"] = pki_.ca_cert.string();
    }
    ASSERT_TRUE(arcad_.Start());
    env_["ARCA_ADDR"] = arcad_.address();
    CliResult init = Cli({"operator", "init", "--key-shares", "1",
                          "--key-threshold", "1", "--format", "json"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    auto j = nlohmann::json::parse(init.out);
    root_ = j["root_token"];
    const std::string share = j["keys_base64"][0];
    ASSERT_EQ(Cli({"operator", "unseal"}, share + "\n").exit_code, 0);
    fs::create_directories(audit_log_.parent_path());
    ASSERT_EQ(Cli({"audit", "enable", "file", "--path", audit_log_.string()})
                  .exit_code,
              0);
    ASSERT_EQ(Cli({"policy", "write", "app-read", "-"}, kAppPolicy).exit_code,
              0);
    ASSERT_EQ(Cli({"kv", "put", "app/db", "password=app-secret"}).exit_code, 0);
    ASSERT_EQ(Cli({"kv", "put", "ops/x", "k=ops-secret"}).exit_code, 0);
  }

  // Runs the CLI as `token` (root when empty, none when "-").
  CliResult Cli(std::vector<std::string> args, const std::string& in = "",
                const std::string& token = "") {
    std::map<std::string, std::string> env = env_;
    if (token != "-") env["ARCA_TOKEN"] = token.empty() ? root_ : token;
    return RunCli(args, in, env);
  }

  std::string Write(const std::string& name, const std::string& data) {
    const fs::path path = dir_.path() / name;
    std::ofstream(path, std::ios::binary) << data;
    return path.string();
  }

  // `arca login approle` with the secret_id on stdin.
  CliResult AppRoleLogin(const std::string& role_id,
                         const std::string& secret_id) {
    return Cli({"login", "approle", "--role-id", role_id, "--format", "json"},
               secret_id + "\n", "-");
  }

  struct SecretId {
    std::string secret_id;
    std::string accessor;
  };
  SecretId Generate(std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "auth", "approle", "secret-id", "generate", "ci", "--format", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    CliResult r = Cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) return {};
    auto j = nlohmann::json::parse(r.out);
    return {j["secret_id"], j["accessor"]};
  }

  std::string RoleId(const std::string& role) {
    CliResult r = Cli({"auth", "approle", "role-id", role});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return std::string(absl::StripTrailingAsciiWhitespace(r.out));
  }

  // The token can read what app-read allows and nothing else.
  void ExpectAppReadOnly(const std::string& token) {
    CliResult ok =
        Cli({"kv", "get", "app/db", "--field", "password"}, "", token);
    EXPECT_EQ(ok.exit_code, 0) << ok.err;
    EXPECT_EQ(ok.out, "app-secret");
    CliResult ops = Cli({"kv", "get", "ops/x"}, "", token);
    EXPECT_EQ(ops.exit_code, 1);
    EXPECT_THAT(ops.err, HasSubstr("PERMISSION_DENIED"));
    CliResult roles = Cli({"auth", "approle", "role", "list"}, "", token);
    EXPECT_EQ(roles.exit_code, 1);
    EXPECT_THAT(roles.err, HasSubstr("PERMISSION_DENIED"));
  }

  // Revokes `token` (read from stdin) and checks it no longer works.
  void ExpectRevokeWorks(const std::string& token) {
    CliResult revoke = Cli({"token", "revoke", "-"}, token + "\n");
    ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
    CliResult after = Cli({"kv", "get", "app/db"}, "", token);
    EXPECT_EQ(after.exit_code, 1);
    EXPECT_THAT(after.err, HasSubstr("UNAUTHENTICATED"));
  }

  TempDir dir_;
  TestPki pki_;
  Arcad arcad_;
  fs::path audit_log_ = dir_.path() / "audit" / "arca.log";
  std::map<std::string, std::string> env_;
  std::string root_;
};

TEST_F(LoginTest, AppRoleLoginOverTlsYieldsATokenLimitedToTheRolesPolicy) {
  ASSERT_NO_FATAL_FAILURE(StartServer(/*tls=*/true));
  ASSERT_EQ(Cli({"auth", "approle", "role", "write", "ci", "--policy",
                 "app-read", "--token-ttl", "10m"})
                .exit_code,
            0);
  const std::string role_id = RoleId("ci");
  const SecretId sid = Generate({"--num-uses", "1"});

  CliResult login = AppRoleLogin(role_id, sid.secret_id);
  ASSERT_EQ(login.exit_code, 0) << login.err;
  auto j = nlohmann::json::parse(login.out);
  const std::string token = j["token"];
  EXPECT_TRUE(token.starts_with("arca.s.")) << token;
  EXPECT_EQ(j["policies"], nlohmann::json::array({"app-read", "default"}));
  EXPECT_EQ(j["ttl_seconds"], "600");
  EXPECT_EQ(j["metadata"]["secret_id_accessor"], sid.accessor);
  ExpectAppReadOnly(token);

  // The token store has it as an orphan with the role's TTL.
  CliResult lookup =
      Cli({"token", "lookup", "--self", "--format", "json"}, "", token);
  ASSERT_EQ(lookup.exit_code, 0) << lookup.err;
  auto info = nlohmann::json::parse(lookup.out);
  EXPECT_EQ(info["accessor"], j["accessor"]);
  EXPECT_EQ(info["orphan"], true);
  EXPECT_EQ(info["metadata"]["secret_id_accessor"], sid.accessor);

  // Single use: the second login with the same secret_id is refused.
  CliResult again = AppRoleLogin(role_id, sid.secret_id);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(again.err, HasSubstr("invalid role_id or secret_id"));
  EXPECT_THAT(again.err, Not(HasSubstr(sid.secret_id)));

  // Audited, but the secret_id and the token only as HMACs.
  const std::string audit = ReadFile(audit_log_);
  EXPECT_THAT(audit, HasSubstr("\"auth/approle/login\""));
  EXPECT_THAT(audit, Not(HasSubstr(sid.secret_id)));
  EXPECT_THAT(audit, Not(HasSubstr(token)));
  CliResult sid_hash = Cli({"audit", "hash"}, sid.secret_id + "\n");
  ASSERT_EQ(sid_hash.exit_code, 0) << sid_hash.err;
  EXPECT_THAT(
      audit,
      HasSubstr(std::string(absl::StripTrailingAsciiWhitespace(sid_hash.out))));
  CliResult token_hash = Cli({"audit", "hash"}, token + "\n");
  EXPECT_THAT(audit, HasSubstr(std::string(
                         absl::StripTrailingAsciiWhitespace(token_hash.out))));
  EXPECT_FALSE(TreeContains(dir_.path() / "data", sid.secret_id));
  EXPECT_FALSE(TreeContains(dir_.path() / "data", token));

  ExpectRevokeWorks(token);
  EXPECT_EQ(Cli({"audit", "verify", audit_log_.string()}).exit_code, 0);
}

TEST_F(LoginTest, AppRoleRefusalsArePermissionDeniedWithTheirOwnReason) {
  ASSERT_NO_FATAL_FAILURE(StartServer(/*tls=*/false));
  ASSERT_EQ(
      Cli({"auth", "approle", "role", "write", "ci", "--policy", "app-read"})
          .exit_code,
      0);
  const std::string role_id = RoleId("ci");

  const SecretId destroyed = Generate({});
  ASSERT_EQ(Cli({"auth", "approle", "secret-id", "destroy", "ci", "--accessor",
                 destroyed.accessor})
                .exit_code,
            0);
  const SecretId expiring = Generate({"--ttl", "1s"});
  const SecretId elsewhere = Generate({"--cidr", "10.0.0.0/8"});
  const SecretId here = Generate({"--cidr", "127.0.0.0/8"});
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));

  struct Case {
    const SecretId* sid;
    const char* reason;
  };
  for (const Case& c :
       {Case{&destroyed, "invalid role_id or secret_id"},
        Case{&expiring, "the secret_id has expired"},
        Case{&elsewhere, "the source address is outside the CIDR blocks"}}) {
    CliResult r = AppRoleLogin(role_id, c.sid->secret_id);
    EXPECT_EQ(r.exit_code, 1) << c.reason;
    EXPECT_THAT(r.err, HasSubstr("PERMISSION_DENIED"));
    EXPECT_THAT(r.err, HasSubstr(c.reason));
    EXPECT_THAT(r.err, Not(HasSubstr(c.sid->secret_id)));
  }
  // An unknown role_id reads like an unknown secret_id.
  CliResult unknown = AppRoleLogin("not-a-role-id", here.secret_id);
  EXPECT_THAT(unknown.err, HasSubstr("invalid role_id or secret_id"));
  // The loopback CIDR admits this client, and is not used up by a refusal.
  CliResult ok = AppRoleLogin(role_id, here.secret_id);
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  ExpectAppReadOnly(nlohmann::json::parse(ok.out)["token"]);
}

TEST_F(LoginTest, KubernetesLoginVerifiesRealRsaAndEcSignatures) {
  ASSERT_NO_FATAL_FAILURE(StartServer(/*tls=*/true));
  JwtSigner rsa(JwtSigner::Type::kRsa, "rsa-1");
  JwtSigner ec(JwtSigner::Type::kEc, "ec-1");
  JwtSigner rogue(JwtSigner::Type::kEc, "ec-1");  // same kid, other key
  const nlohmann::json jwks = {{"keys", {ec.Jwk()}}};
  CliResult config = Cli({"auth", "kubernetes", "config", "write", "--issuer",
                          "https://k8s.test", "--audience", "arca",
                          "--pem-file", Write("rsa.pem", rsa.PublicPem()),
                          "--jwks-file", Write("jwks.json", jwks.dump())});
  ASSERT_EQ(config.exit_code, 0) << config.err;
  ASSERT_EQ(Cli({"auth", "kubernetes", "role", "write", "web",
                 "--bound-service-account-name", "web", "--bound-namespace",
                 "shop", "--policy", "app-read"})
                .exit_code,
            0);

  const int64_t now = absl::ToUnixSeconds(absl::Now());
  auto claims = [&](const std::string& ns) {
    return nlohmann::json{
        {"iss", "https://k8s.test"},
        {"aud", {"arca"}},
        {"sub", "system:serviceaccount:" + ns + ":web"},
        {"iat", now},
        {"exp", now + 600},
        {"kubernetes.io",
         {{"namespace", ns}, {"serviceaccount", {{"name", "web"}}}}}};
  };
  std::vector<std::string> jwts;
  auto login = [&](const std::string& jwt) {
    jwts.push_back(jwt);
    return Cli({"login", "kubernetes", "--role", "web", "--jwt-file",
                Write("jwt-" + std::to_string(jwts.size()), jwt + "\n"),
                "--format", "json"},
               "", "-");
  };

  std::vector<std::string> tokens;
  for (const JwtSigner* signer : {&rsa, &ec}) {
    CliResult r = login(signer->Sign(claims("shop")));
    ASSERT_EQ(r.exit_code, 0) << signer->alg() << ": " << r.err;
    auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["policies"], nlohmann::json::array({"app-read", "default"}));
    tokens.push_back(j["token"]);
    ExpectAppReadOnly(tokens.back());
    CliResult lookup = Cli({"token", "lookup", "--self"}, "", tokens.back());
    EXPECT_THAT(lookup.out, HasSubstr("metadata.service_account_namespace"));
    EXPECT_THAT(lookup.out, ::testing::MatchesRegex(
                                "(.|\n)*service_account_name +web\n(.|\n)*"));
  }

  nlohmann::json wrong_aud = claims("shop");
  wrong_aud["aud"] = {"someone-else"};
  nlohmann::json expired = claims("shop");
  expired["exp"] = now - 3600;
  expired["iat"] = now - 7200;
  struct Case {
    std::string jwt;
    const char* reason;
  };
  for (const Case& c :
       {Case{rogue.Sign(claims("shop")), "jwt signature invalid"},
        Case{ec.Sign(wrong_aud), "jwt audience mismatch"},
        Case{rsa.Sign(expired), "jwt expired"},
        Case{ec.Sign(claims("other")),
             "namespace \"other\" is not bound to role \"web\""}}) {
    CliResult r = login(c.jwt);
    EXPECT_EQ(r.exit_code, 1) << c.reason;
    EXPECT_THAT(r.err, HasSubstr("PERMISSION_DENIED"));
    EXPECT_THAT(r.err, HasSubstr(c.reason));
    EXPECT_THAT(r.err, Not(HasSubstr(c.jwt.substr(0, 40))));
  }

  // No JWT (nor any of its parts) in the server log or the audit log.
  const std::string audit = ReadFile(audit_log_);
  const std::string server_log = arcad_.Log();
  EXPECT_THAT(audit, HasSubstr("\"auth/kubernetes/login\""));
  for (const std::string& jwt : jwts) {
    const std::string signature = jwt.substr(jwt.rfind('.') + 1);
    EXPECT_THAT(audit, Not(HasSubstr(signature)));
    EXPECT_THAT(server_log, Not(HasSubstr(signature)));
    const std::string payload =
        jwt.substr(jwt.find('.') + 1, jwt.rfind('.') - jwt.find('.') - 1);
    EXPECT_THAT(audit, Not(HasSubstr(payload)));
    EXPECT_THAT(server_log, Not(HasSubstr(payload)));
  }
  for (const std::string& token : tokens) {
    EXPECT_THAT(audit, Not(HasSubstr(token)));
  }

  ExpectRevokeWorks(tokens[0]);
  // Revoking one login token leaves the other alone.
  EXPECT_EQ(Cli({"kv", "get", "app/db"}, "", tokens[1]).exit_code, 0);
}

}  // namespace
}  // namespace arca::testing
