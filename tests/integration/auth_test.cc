// Tokens, policies and the audit log against a real arcad, driven through
// the real `arca` CLI (and raw gRPC stubs for the sys RPCs).

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "arca/v1/audit.grpc.pb.h"
#include "arca/v1/auth.grpc.pb.h"
#include "arca/v1/policy.grpc.pb.h"
#include "arca/v1/sys.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/harness.h"
#include "tests/integration/test_certs.h"

namespace arca::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAppPolicy[] =
    R"({"path": {"kv/data/app/*": {"capabilities": ["read", "list"]},
                 "kv/data/app/admin": {"capabilities": ["deny"]}}})";

struct Token {
  std::string token;
  std::string accessor;
};

class AuthTest : public ::testing::Test {
 protected:
  // Every test talks to arcad over TLS, as a deployment would.
  AuthTest()
      : arcad_(dir_.path() / "data", dir_.path()),
        pki_(MakeTestPki(dir_.path() / "pki")) {
    arcad_.UseTls({pki_.server_cert, pki_.server_key, {}});
  }

  void SetUp() override {
    ASSERT_TRUE(arcad_.Start());
    CliResult init = Cli({"operator", "init", "--key-shares", "1",
                          "--key-threshold", "1", "--format", "json"});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    auto j = nlohmann::json::parse(init.out);
    share_ = j["keys_base64"][0];
    root_ = j["root_token"];
    ASSERT_EQ(Cli({"operator", "unseal"}, share_ + "\n").exit_code, 0);
  }

  CliResult Cli(std::vector<std::string> args, const std::string& in = "",
                const std::string& token = "") {
    std::map<std::string, std::string> env = {
        {"ARCA_ADDR", arcad_.address()},
        {"ARCA_CACERT", pki_.ca_cert.string()}};
    const std::string& t = token.empty() ? root_ : token;
    if (!t.empty()) env["ARCA_TOKEN"] = t;
    return RunCli(args, in, env);
  }

  Token CreateToken(std::vector<std::string> extra,
                    const std::string& as = "") {
    std::vector<std::string> args = {"token", "create", "--format", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    CliResult r = Cli(args, "", as);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) return {};
    auto j = nlohmann::json::parse(r.out);
    return {j["token"], j["info"]["accessor"]};
  }

  void WriteAppPolicyAndSecrets() {
    ASSERT_EQ(Cli({"policy", "write", "app-read", "-"}, kAppPolicy).exit_code,
              0);
    ASSERT_EQ(Cli({"kv", "put", "app/db", "password=app-secret"}).exit_code, 0);
    ASSERT_EQ(Cli({"kv", "put", "ops/x", "password=ops-secret"}).exit_code, 0);
  }

  std::shared_ptr<grpc::Channel> Channel() {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFile(pki_.ca_cert);
    return grpc::CreateChannel(arcad_.address(), grpc::SslCredentials(ssl));
  }

  TempDir dir_;
  Arcad arcad_;
  TestPki pki_;
  std::string share_;
  std::string root_;
};

TEST_F(AuthTest, PolicyTokenReadsItsPathsButNothingElseAndNoSysRpc) {
  WriteAppPolicyAndSecrets();
  Token app = CreateToken({"--policy", "app-read"});

  CliResult ok = Cli({"kv", "get", "app/db", "--field", "password"}, "",
                     app.token);
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "app-secret");

  CliResult ops = Cli({"kv", "get", "ops/x"}, "", app.token);
  EXPECT_EQ(ops.exit_code, 1);
  EXPECT_THAT(ops.err, HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(ops.out, Not(HasSubstr("ops-secret")));

  CliResult admin = Cli({"kv", "get", "app/admin"}, "", app.token);
  EXPECT_THAT(admin.err, HasSubstr("PERMISSION_DENIED"));

  // Every RPC that needs a token outside kv/data/app/* is refused.
  auto sys = v1::SysService::NewStub(Channel());
  auto policy = v1::PolicyService::NewStub(Channel());
  auto audit = v1::AuditService::NewStub(Channel());
  auto auth = v1::AuthService::NewStub(Channel());
  auto call = [&](auto&& rpc) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + app.token);
    return rpc(&ctx).error_code();
  };
  const auto kDenied = grpc::StatusCode::PERMISSION_DENIED;
  v1::SealResponse seal_resp;
  EXPECT_EQ(call([&](auto* c) { return sys->Seal(c, {}, &seal_resp); }), kDenied);
  v1::KeyStatusResponse key_resp;
  EXPECT_EQ(call([&](auto* c) { return sys->Rotate(c, {}, &key_resp); }), kDenied);
  EXPECT_EQ(call([&](auto* c) { return sys->KeyStatus(c, {}, &key_resp); }),
            kDenied);
  v1::ListPoliciesResponse list_resp;
  EXPECT_EQ(call([&](auto* c) { return policy->ListPolicies(c, {}, &list_resp); }),
            kDenied);
  v1::WritePolicyRequest write;
  write.set_name("evil");
  write.set_policy(R"({"path": {"*": {"capabilities": ["sudo"]}}})");
  v1::WritePolicyResponse write_resp;
  EXPECT_EQ(call([&](auto* c) { return policy->WritePolicy(c, write, &write_resp); }),
            kDenied);
  v1::ListDevicesResponse devices;
  EXPECT_EQ(call([&](auto* c) { return audit->ListDevices(c, {}, &devices); }),
            kDenied);
  v1::EnableDeviceRequest enable;
  enable.set_name("x");
  enable.set_type("file");
  enable.set_path((dir_.path() / "evil.log").string());
  v1::EnableDeviceResponse enable_resp;
  EXPECT_EQ(call([&](auto* c) { return audit->EnableDevice(c, enable, &enable_resp); }),
            kDenied);
  v1::CreateTokenRequest create;
  create.set_orphan(true);
  v1::CreateTokenResponse create_resp;
  EXPECT_EQ(call([&](auto* c) { return auth->CreateToken(c, create, &create_resp); }),
            kDenied);
  // ...and it cannot mint itself more policies than it has.
  v1::CreateTokenRequest escalate;
  escalate.add_policies("root");
  EXPECT_EQ(call([&](auto* c) { return auth->CreateToken(c, escalate, &create_resp); }),
            kDenied);

  // The default policy still lets it look itself up.
  CliResult self = Cli({"token", "lookup", "--self", "--format", "json"}, "",
                       app.token);
  ASSERT_EQ(self.exit_code, 0) << self.err;
  EXPECT_EQ(nlohmann::json::parse(self.out)["accessor"], app.accessor);
}

TEST_F(AuthTest, CreateCapabilityWritesNewSecretsButDoesNotOverwrite) {
  ASSERT_EQ(Cli({"policy", "write", "drop-box", "-"},
                R"({"path": {"kv/data/inbox/*": {"capabilities": ["create"]}}})")
                .exit_code,
            0);
  ASSERT_EQ(Cli({"kv", "put", "inbox/old", "k=v"}).exit_code, 0);
  Token t = CreateToken({"--policy", "drop-box"});
  EXPECT_EQ(Cli({"kv", "put", "inbox/new", "k=v"}, "", t.token).exit_code, 0);
  CliResult overwrite = Cli({"kv", "put", "inbox/old", "k=x"}, "", t.token);
  EXPECT_EQ(overwrite.exit_code, 1);
  EXPECT_THAT(overwrite.err, HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(overwrite.err, HasSubstr("update on kv/data/inbox/old"));
}

TEST_F(AuthTest, UpdateCapabilityOverwritesButDoesNotCreateAndNeitherIsDenied) {
  ASSERT_EQ(Cli({"policy", "write", "editor", "-"},
                R"({"path": {"kv/data/shared/*": {"capabilities": ["update"]}}})")
                .exit_code,
            0);
  ASSERT_EQ(Cli({"kv", "put", "shared/old", "k=v"}).exit_code, 0);
  Token t = CreateToken({"--policy", "editor"});
  EXPECT_EQ(Cli({"kv", "put", "shared/old", "k=x"}, "", t.token).exit_code, 0);
  CliResult create = Cli({"kv", "put", "shared/new", "k=v"}, "", t.token);
  EXPECT_EQ(create.exit_code, 1);
  EXPECT_THAT(create.err, HasSubstr("PERMISSION_DENIED"));
  EXPECT_THAT(create.err, HasSubstr("create on kv/data/shared/new"));
  EXPECT_THAT(Cli({"kv", "get", "shared/new"}).err, HasSubstr("NOT_FOUND"));
  // Neither create nor update: refused before the engine is reached.
  CliResult outside = Cli({"kv", "put", "other/x", "k=v"}, "", t.token);
  EXPECT_EQ(outside.exit_code, 1);
  EXPECT_THAT(outside.err, HasSubstr("update or create on kv/data/other/x"));
}

TEST_F(AuthTest, OversizedOrTooDeepPolicyIsInvalidArgument) {
  std::string big = R"({"path": {"kv/data/x": {"capabilities": ["read"]}}, )";
  big.resize(big.size() - 2);
  big += std::string((1 << 20) + 16 - big.size() - 1, ' ') + "}";
  ASSERT_GT(big.size(), size_t{1} << 20);
  CliResult r = Cli({"policy", "write", "big", "-"}, big);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT"));

  std::string deep = R"({"path": {"kv/*": {"capabilities": ["read"]}}, "x": )";
  for (int i = 0; i < 70; ++i) deep += "[";
  for (int i = 0; i < 70; ++i) deep += "]";
  deep += "}";
  CliResult d = Cli({"policy", "write", "deep", "-"}, deep);
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_THAT(d.err, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_EQ(Cli({"policy", "read", "big"}).exit_code, 2);
  EXPECT_EQ(Cli({"policy", "read", "deep"}).exit_code, 2);
}

TEST_F(AuthTest, PolicyExplainNamesTheDecidingRule) {
  WriteAppPolicyAndSecrets();
  Token app = CreateToken({"--policy", "app-read"});

  CliResult allowed = Cli({"policy", "explain", "--token-accessor",
                           app.accessor, "kv/data/app/db", "read", "--format",
                           "json"});
  ASSERT_EQ(allowed.exit_code, 0) << allowed.err;
  auto a = nlohmann::json::parse(allowed.out);
  EXPECT_EQ(a["allowed"], true);
  EXPECT_EQ(a["policy"], "app-read");
  EXPECT_EQ(a["pattern"], "kv/data/app/*");

  CliResult denied = Cli({"policy", "explain", "--token-accessor",
                          app.accessor, "kv/data/ops/x", "read"});
  ASSERT_EQ(denied.exit_code, 0) << denied.err;
  EXPECT_THAT(denied.out, HasSubstr("denied"));
  EXPECT_THAT(denied.out, HasSubstr("no rule matches"));

  CliResult deny_rule = Cli({"policy", "explain", "--policy", "app-read",
                             "kv/data/app/admin", "read", "--format", "json"});
  ASSERT_EQ(deny_rule.exit_code, 0) << deny_rule.err;
  auto d = nlohmann::json::parse(deny_rule.out);
  EXPECT_EQ(d["allowed"], false);
  EXPECT_EQ(d["policy"], "app-read");
  EXPECT_EQ(d["pattern"], "kv/data/app/admin");
  EXPECT_THAT(std::string(d["reason"]), HasSubstr("deny"));

  CliResult unknown = Cli({"policy", "explain", "--token-accessor",
                           "00112233445566778899aabbccddeeff", "kv/data/x",
                           "read"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("NOT_FOUND"));
}

TEST_F(AuthTest, RevokingAParentRevokesItsChildrenButNotOrphans) {
  WriteAppPolicyAndSecrets();
  ASSERT_EQ(Cli({"policy", "write", "token-maker", "-"},
                R"({"path": {"auth/token/create": {"capabilities": ["update"]}}})")
                .exit_code,
            0);
  Token parent = CreateToken({"--policy", "app-read", "--policy", "token-maker"});
  Token child = CreateToken({}, parent.token);
  Token grandchild = CreateToken({}, child.token);
  Token orphan = CreateToken({"--policy", "app-read", "--orphan"});
  for (const Token* t : {&child, &grandchild, &orphan}) {
    EXPECT_EQ(Cli({"kv", "get", "app/db"}, "", t->token).exit_code, 0);
  }

  // By token on stdin, never on argv.
  CliResult argv = Cli({"token", "revoke", parent.token});
  EXPECT_EQ(argv.exit_code, 1);
  EXPECT_THAT(argv.err, Not(HasSubstr(parent.token)));
  CliResult revoke = Cli({"token", "revoke", "-"}, parent.token + "\n");
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;

  for (const Token* t : {&parent, &child, &grandchild}) {
    CliResult r = Cli({"kv", "get", "app/db"}, "", t->token);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err, HasSubstr("UNAUTHENTICATED"));
  }
  EXPECT_EQ(Cli({"kv", "get", "app/db"}, "", orphan.token).exit_code, 0);
  CliResult gone = Cli({"token", "lookup", "--accessor", child.accessor});
  EXPECT_EQ(gone.exit_code, 2);

  // By accessor: the operator never sees the token.
  ASSERT_EQ(Cli({"token", "revoke", "--accessor", orphan.accessor}).exit_code, 0);
  EXPECT_THAT(Cli({"kv", "get", "app/db"}, "", orphan.token).err,
              HasSubstr("UNAUTHENTICATED"));
}

TEST_F(AuthTest, ExpiredTokenIsUnauthenticatedAndRenewExtendsIt) {
  WriteAppPolicyAndSecrets();
  Token short_lived = CreateToken({"--policy", "app-read", "--ttl", "2"});
  Token renewed = CreateToken({"--policy", "app-read", "--ttl", "2"});
  EXPECT_EQ(Cli({"kv", "get", "app/db"}, "", short_lived.token).exit_code, 0);
  CliResult renew = Cli({"token", "renew", "--self", "--increment", "1h"}, "",
                        renewed.token);
  ASSERT_EQ(renew.exit_code, 0) << renew.err;
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  CliResult r = Cli({"kv", "get", "app/db"}, "", short_lived.token);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("UNAUTHENTICATED"));
  EXPECT_EQ(Cli({"kv", "get", "app/db"}, "", renewed.token).exit_code, 0);
}

TEST_F(AuthTest, TokenWithNumUsesStopsAfterItsLastUse) {
  WriteAppPolicyAndSecrets();
  Token two = CreateToken({"--policy", "app-read", "--num-uses", "2"});
  EXPECT_EQ(Cli({"kv", "get", "app/db"}, "", two.token).exit_code, 0);
  EXPECT_EQ(Cli({"kv", "get", "app/db"}, "", two.token).exit_code, 0);
  CliResult third = Cli({"kv", "get", "app/db"}, "", two.token);
  EXPECT_EQ(third.exit_code, 1);
  EXPECT_THAT(third.err, HasSubstr("UNAUTHENTICATED"));
}

TEST_F(AuthTest, LeaseCommandsNeedTheirSysPathAndReportUnknownLeases) {
  WriteAppPolicyAndSecrets();
  Token app = CreateToken({"--policy", "app-read"});
  CliResult denied = Cli({"lease", "lookup", "00ff00ff"}, "", app.token);
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_THAT(denied.err, HasSubstr("PERMISSION_DENIED"));
  for (const char* verb : {"lookup", "renew", "revoke"}) {
    CliResult r = Cli({"lease", verb, "00ff00ff"});
    EXPECT_EQ(r.exit_code, 2) << verb << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("NOT_FOUND"));
  }
}

class AuditLogTest : public AuthTest {
 protected:
  fs::path log_ = dir_.path() / "audit" / "arca.log";

  void SetUp() override {
    AuthTest::SetUp();
    fs::create_directories(log_.parent_path());
    CliResult r = Cli({"audit", "enable", "file", "--path", log_.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  std::vector<std::string> LogLines() {
    std::vector<std::string> lines =
        absl::StrSplit(ReadFile(log_), '\n', absl::SkipEmpty());
    return lines;
  }

  void WriteLines(const fs::path& path, const std::vector<std::string>& lines) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    for (const auto& l : lines) out << l << "\n";
  }
};

TEST_F(AuditLogTest, CanaryAndTokensAppearOnlyAsHmacsAndHashFindsThem) {
  const std::string canary = "canary-7f3a9c41-do-not-log";
  ASSERT_EQ(Cli({"policy", "write", "app-read", "-"}, kAppPolicy).exit_code, 0);
  ASSERT_EQ(Cli({"kv", "put", "app/db", "password=-"}, canary).exit_code, 0);
  Token app = CreateToken({"--policy", "app-read"});
  CliResult get = Cli({"kv", "get", "app/db", "--field", "password"}, "",
                      app.token);
  ASSERT_EQ(get.exit_code, 0) << get.err;
  ASSERT_EQ(get.out, canary);
  ASSERT_EQ(Cli({"token", "lookup", "-"}, app.token).exit_code, 0);

  const std::string log = ReadFile(log_);
  EXPECT_THAT(log, Not(HasSubstr(canary)));
  EXPECT_THAT(log, Not(HasSubstr(root_)));
  EXPECT_THAT(log, Not(HasSubstr(app.token)));
  EXPECT_THAT(log, Not(HasSubstr(share_)));
  EXPECT_THAT(log, HasSubstr(app.accessor));  // accessors are in clear

  CliResult hash = Cli({"audit", "hash"}, canary + "\n");
  ASSERT_EQ(hash.exit_code, 0) << hash.err;
  const std::string h(absl::StripTrailingAsciiWhitespace(hash.out));
  ASSERT_TRUE(h.starts_with("hmac-sha256:")) << h;
  int put_lines = 0, get_lines = 0;
  for (const std::string& line : LogLines()) {
    if (line.find(h) == std::string::npos) continue;
    auto j = nlohmann::json::parse(line);
    if (j["operation"] == "kv.put" && j["type"] == "request") ++put_lines;
    if (j["operation"] == "kv.get" && j["type"] == "response") ++get_lines;
  }
  EXPECT_EQ(put_lines, 1);
  EXPECT_EQ(get_lines, 1);
  // The token looked up through stdin is hashed the same way.
  CliResult token_hash = Cli({"audit", "hash"}, app.token);
  EXPECT_THAT(log, HasSubstr(std::string(
                       absl::StripTrailingAsciiWhitespace(token_hash.out))));

  CliResult verify = Cli({"audit", "verify", log_.string()});
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
}

TEST_F(AuditLogTest, VerifyFailsAtADeletedOrEditedLine) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Cli({"kv", "put", "a/b", "k=v"}).exit_code, 0);
  }
  std::vector<std::string> lines = LogLines();
  ASSERT_GE(lines.size(), 8u);
  const fs::path copy = dir_.path() / "copy.log";

  WriteLines(copy, lines);
  EXPECT_EQ(Cli({"audit", "verify", copy.string()}).exit_code, 0);

  std::vector<std::string> deleted = lines;
  deleted.erase(deleted.begin() + 4);  // line 5
  WriteLines(copy, deleted);
  CliResult d = Cli({"audit", "verify", copy.string()});
  EXPECT_EQ(d.exit_code, 1);
  EXPECT_THAT(d.err, HasSubstr("line 5"));

  // The live file verifies on the server, head included...
  EXPECT_EQ(Cli({"audit", "verify", "--device", "file"}).exit_code, 0);

  std::vector<std::string> edited = lines;
  const size_t at = edited[5].find("kv.put");
  ASSERT_NE(at, std::string::npos);
  edited[5].replace(at, 6, "kv.get");  // line 6
  WriteLines(copy, edited);
  CliResult e = Cli({"audit", "verify", copy.string()});
  EXPECT_EQ(e.exit_code, 1);
  EXPECT_THAT(e.err, HasSubstr("line 6"));

  // ...and cutting whole lines off its end is caught against the device's
  // head, which a chain alone cannot see.
  ASSERT_EQ(Cli({"kv", "put", "a/b", "k=v"}).exit_code, 0);
  std::vector<std::string> live = LogLines();
  const size_t keep = live.size() - 2;
  live.resize(keep);
  WriteLines(log_, live);  // in place: same inode, the device keeps its head
  CliResult cut = Cli({"audit", "verify", "--device", "file"});
  EXPECT_EQ(cut.exit_code, 1);
  EXPECT_THAT(cut.err, HasSubstr("line " + std::to_string(keep + 1)));
}

TEST_F(AuditLogTest, UnwritableAuditFileMakesKvGetUnavailableAndReturnsNothing) {
  ASSERT_EQ(Cli({"kv", "put", "app/db", "password=still-secret"}).exit_code, 0);
  // Root ignores file modes, so a chmod alone would not stop arcad: replace
  // the log with a read-only copy, as a botched rotation would.
  const fs::path ro = dir_.path() / "audit" / "ro.log";
  fs::copy_file(log_, ro);
  chmod(ro.c_str(), 0400);
  fs::rename(ro, log_);

  CliResult r = Cli({"kv", "get", "app/db"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(r.out, Not(HasSubstr("still-secret")));

  // After a restart the device cannot be opened for writing by a non-root
  // server either; as root it reopens and requests work again.
  arcad_.Kill(SIGTERM);
  ASSERT_TRUE(arcad_.Start());
  ASSERT_EQ(Cli({"operator", "unseal"}, share_ + "\n").exit_code, 0);
  if (geteuid() != 0) {
    EXPECT_THAT(Cli({"kv", "get", "app/db"}).err, HasSubstr("UNAVAILABLE"));
  } else {
    EXPECT_EQ(Cli({"kv", "get", "app/db"}).exit_code, 0);
    CliResult list = Cli({"audit", "list"});
    EXPECT_THAT(list.out, HasSubstr(log_.string()));
  }
}

}  // namespace
}  // namespace arca::testing
