// Runs the whole `arca` command line in-process against a fake arcad.

#include "cli/app.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "arca/v1/kv.grpc.pb.h"
#include "arca/v1/sys.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/server_context.h"
#include "gtest/gtest.h"

namespace arca::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kRootToken[] = "arca.root.test";

std::string AuthorizationOf(grpc::ServerContext* context) {
  const auto& md = context->client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

// A small in-memory stand-in for arcad's SysService and KvService. Valid
// unseal shares are "share-<n>"; the rekey nonce is "nonce-1".
class FakeArca final : public v1::SysService::Service,
                       public v1::KvService::Service {
 public:
  absl::Mutex mu;
  bool sealed ABSL_GUARDED_BY(mu) = true;
  uint32_t threshold ABSL_GUARDED_BY(mu) = 3;
  uint32_t progress ABSL_GUARDED_BY(mu) = 0;
  std::vector<std::string> unseal_keys ABSL_GUARDED_BY(mu);
  v1::InitRequest init_request ABSL_GUARDED_BY(mu);
  bool rekey_started ABSL_GUARDED_BY(mu) = false;
  uint32_t rekey_shares ABSL_GUARDED_BY(mu) = 0;
  std::vector<std::string> rekey_nonces ABSL_GUARDED_BY(mu);
  std::vector<std::string> rekey_keys ABSL_GUARDED_BY(mu);
  std::map<std::string, std::map<std::string, std::string>> secrets
      ABSL_GUARDED_BY(mu);
  std::vector<v1::KvPutRequest> puts ABSL_GUARDED_BY(mu);
  std::vector<v1::KvDeleteRequest> deletes ABSL_GUARDED_BY(mu);
  std::vector<v1::KvPutMetadataRequest> metadata_puts ABSL_GUARDED_BY(mu);

  // --- SysService ---
  grpc::Status Init(grpc::ServerContext*, const v1::InitRequest* req,
                    v1::InitResponse* resp) override {
    absl::MutexLock l(&mu);
    init_request = *req;
    for (uint32_t i = 1; i <= req->secret_shares(); ++i) {
      resp->add_keys_base64(absl::StrCat("share-", i));
    }
    resp->set_root_token(kRootToken);
    return grpc::Status::OK;
  }
  grpc::Status SealStatus(grpc::ServerContext*, const v1::SealStatusRequest*,
                          v1::SealStatusResponse* resp) override {
    absl::MutexLock l(&mu);
    FillStatus(resp);
    return grpc::Status::OK;
  }
  grpc::Status Unseal(grpc::ServerContext*, const v1::UnsealRequest* req,
                      v1::SealStatusResponse* resp) override {
    absl::MutexLock l(&mu);
    if (req->reset()) {
      progress = 0;
    } else {
      unseal_keys.push_back(req->key());
      if (req->key().rfind("share-", 0) != 0) {
        progress = 0;
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "invalid unseal share");
      }
      if (++progress >= threshold) {
        sealed = false;
        progress = 0;
      }
    }
    FillStatus(resp);
    return grpc::Status::OK;
  }
  grpc::Status Seal(grpc::ServerContext* ctx, const v1::SealRequest*,
                    v1::SealResponse*) override {
    if (AuthorizationOf(ctx) != absl::StrCat("Bearer ", kRootToken)) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "permission denied on sys/seal");
    }
    absl::MutexLock l(&mu);
    sealed = true;
    return grpc::Status::OK;
  }
  grpc::Status Rotate(grpc::ServerContext*, const v1::RotateRequest*,
                      v1::KeyStatusResponse* resp) override {
    resp->set_term(2);
    resp->set_install_time_unix(1700000000);
    return grpc::Status::OK;
  }
  grpc::Status RekeyInit(grpc::ServerContext*, const v1::RekeyInitRequest* req,
                         v1::RekeyStatusResponse* resp) override {
    absl::MutexLock l(&mu);
    rekey_started = true;
    rekey_shares = req->secret_shares();
    progress = 0;
    FillRekey(resp);
    resp->set_secret_threshold(req->secret_threshold());
    return grpc::Status::OK;
  }
  grpc::Status RekeyStatus(grpc::ServerContext*, const v1::RekeyStatusRequest*,
                           v1::RekeyStatusResponse* resp) override {
    absl::MutexLock l(&mu);
    FillRekey(resp);
    return grpc::Status::OK;
  }
  grpc::Status RekeyUpdate(grpc::ServerContext*,
                           const v1::RekeyUpdateRequest* req,
                           v1::RekeyUpdateResponse* resp) override {
    absl::MutexLock l(&mu);
    rekey_nonces.push_back(req->nonce());
    rekey_keys.push_back(req->key());
    if (!rekey_started || req->nonce() != "nonce-1") {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "no rekey with this nonce");
    }
    ++progress;
    resp->set_progress(progress);
    resp->set_required(threshold);
    if (progress >= threshold) {
      resp->set_complete(true);
      for (uint32_t i = 1; i <= rekey_shares; ++i) {
        resp->add_keys_base64(absl::StrCat("new-share-", i));
      }
      rekey_started = false;
      progress = 0;
    }
    return grpc::Status::OK;
  }
  grpc::Status RekeyCancel(grpc::ServerContext*,
                           const v1::RekeyCancelRequest* req,
                           v1::RekeyCancelResponse*) override {
    absl::MutexLock l(&mu);
    if (req->nonce() != "nonce-1") {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "wrong nonce");
    }
    rekey_started = false;
    return grpc::Status::OK;
  }

  // --- KvService ---
  grpc::Status Get(grpc::ServerContext*, const v1::KvGetRequest* req,
                   v1::KvGetResponse* resp) override {
    absl::MutexLock l(&mu);
    if (sealed) return Sealed();
    auto it = secrets.find(req->mount() + "/" + req->path());
    if (it == secrets.end()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "no secret at " + req->path());
    }
    resp->mutable_data()->insert(it->second.begin(), it->second.end());
    resp->mutable_metadata()->set_version(1);
    return grpc::Status::OK;
  }
  grpc::Status Put(grpc::ServerContext*, const v1::KvPutRequest* req,
                   v1::KvPutResponse* resp) override {
    absl::MutexLock l(&mu);
    if (sealed) return Sealed();
    puts.push_back(*req);
    secrets[req->mount() + "/" + req->path()] = {req->data().begin(),
                                                 req->data().end()};
    resp->mutable_metadata()->set_version(puts.size());
    return grpc::Status::OK;
  }
  grpc::Status List(grpc::ServerContext*, const v1::KvListRequest*,
                    v1::KvListResponse* resp) override {
    absl::MutexLock l(&mu);
    if (sealed) return Sealed();
    resp->add_keys("app/");
    resp->add_keys("top");
    return grpc::Status::OK;
  }
  grpc::Status Delete(grpc::ServerContext*, const v1::KvDeleteRequest* req,
                      v1::KvDeleteResponse*) override {
    absl::MutexLock l(&mu);
    if (sealed) return Sealed();
    deletes.push_back(*req);
    return grpc::Status::OK;
  }
  grpc::Status PutMetadata(grpc::ServerContext*,
                           const v1::KvPutMetadataRequest* req,
                           v1::KvPutMetadataResponse*) override {
    absl::MutexLock l(&mu);
    if (sealed) return Sealed();
    metadata_puts.push_back(*req);
    return grpc::Status::OK;
  }

 private:
  static grpc::Status Sealed() {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "arca is sealed");
  }
  void FillStatus(v1::SealStatusResponse* resp)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    resp->set_initialized(true);
    resp->set_sealed(sealed);
    resp->set_secret_shares(5);
    resp->set_secret_threshold(threshold);
    resp->set_progress(progress);
    resp->set_version("0.1.0-test");
  }
  void FillRekey(v1::RekeyStatusResponse* resp)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    resp->set_started(rekey_started);
    if (rekey_started) resp->set_nonce("nonce-1");
    resp->set_secret_shares(rekey_shares);
    resp->set_progress(progress);
    resp->set_required(threshold);
  }
};

struct Result {
  int rc;
  std::string out;
  std::string err;
};

class ArcaCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(static_cast<v1::SysService::Service*>(&fake_));
    builder.RegisterService(static_cast<v1::KvService::Service*>(&fake_));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    setenv("ARCA_TOKEN", kRootToken, 1);
    unsetenv("ARCA_ADDR");
  }
  void TearDown() override {
    server_->Shutdown();
    unsetenv("ARCA_TOKEN");
    unsetenv("ARCA_ADDR");
  }

  std::string Address() const { return absl::StrCat("127.0.0.1:", port_); }

  Result Run(std::vector<std::string> args, const std::string& stdin_text = "",
             bool with_address = true, bool stdin_is_tty = false) {
    if (with_address) {
      args.insert(args.begin(), {"--address", Address()});
    }
    std::istringstream in(stdin_text);
    std::ostringstream out, err;
    Io io{&in, &out, &err, stdin_is_tty, /*stdout_is_tty=*/false};
    const int rc = RunArca(args, io);
    return Result{rc, out.str(), err.str()};
  }

  void Unseal() {
    absl::MutexLock l(&fake_.mu);
    fake_.sealed = false;
  }

  FakeArca fake_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// --- operator unseal --------------------------------------------------------

TEST_F(ArcaCliTest, UnsealSubmitsStdinLinesOneByOneUntilUnsealed) {
  Result r =
      Run({"operator", "unseal"}, "share-1\n\n  share-2  \nshare-3\nshare-4\n");
  EXPECT_EQ(r.rc, 0) << r.err;
  absl::MutexLock l(&fake_.mu);
  EXPECT_THAT(fake_.unseal_keys, ElementsAre("share-1", "share-2", "share-3"));
  EXPECT_FALSE(fake_.sealed);
  EXPECT_THAT(r.out, HasSubstr("Sealed"));
  EXPECT_THAT(r.out, HasSubstr("false"));
  EXPECT_THAT(r.out, Not(HasSubstr("share-")));
  EXPECT_THAT(r.err, IsEmpty());
}

TEST_F(ArcaCliTest, UnsealWithTooFewSharesReportsProgress) {
  Result r = Run({"operator", "unseal", "--format", "json"}, "share-1\n");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            R"({"initialized":true,"sealed":true,"secret_shares":5,)"
            R"("secret_threshold":3,"progress":1,"version":"0.1.0-test"})"
            "\n");
}

TEST_F(ArcaCliTest, UnsealTableShowsProgressOverThreshold) {
  Result r = Run({"operator", "unseal"}, "share-1\nshare-2\n");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("2/3"));
}

TEST_F(ArcaCliTest, UnsealRefusesAShareOnTheCommandLine) {
  Result r = Run({"operator", "unseal", "share-1"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, Not(HasSubstr("share-1")));
  absl::MutexLock l(&fake_.mu);
  EXPECT_THAT(fake_.unseal_keys, IsEmpty());
}

TEST_F(ArcaCliTest, ParseErrorsDoNotEchoArgumentValues) {
  const std::string canary = "arca.s.CANARYtokenValue42";
  for (const std::vector<std::string>& argv :
       std::vector<std::vector<std::string>>{
           {"operator", "unseal", "--reset=" + canary},
           {"operator", "status", canary},
           {"kv", "get", "a", "--token", canary},
           {"kv", "put", "a", "k=v", "--cas", canary}}) {
    Result r = Run(argv);
    EXPECT_NE(r.rc, 0) << argv.back();
    EXPECT_THAT(r.err, Not(HasSubstr(canary))) << r.err;
    EXPECT_THAT(r.out, Not(HasSubstr(canary))) << r.out;
  }
}

TEST_F(ArcaCliTest, TokenCommandsRefuseATokenOnTheCommandLine) {
  const std::string token = "arca.s.CANARYtokenOnArgv99";
  for (const char* verb : {"lookup", "renew", "revoke"}) {
    Result r = Run({"token", verb, token});
    EXPECT_EQ(r.rc, 1) << verb;
    EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT"));
    EXPECT_THAT(r.err, Not(HasSubstr(token))) << r.err;
    EXPECT_THAT(r.out, Not(HasSubstr(token)));
  }
  // Two targets at once are refused too.
  Result both = Run({"token", "lookup", "--self", "--accessor", "abcd"});
  EXPECT_EQ(both.rc, 1);
  EXPECT_THAT(both.err, HasSubstr("exactly one"));
}

TEST_F(ArcaCliTest, AuditHashRefusesAValueOnTheCommandLine) {
  const std::string value = "CANARYvalueOnArgv";
  Result r = Run({"audit", "hash", value});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, Not(HasSubstr(value)));
}

TEST_F(ArcaCliTest, PolicyExplainNeedsExactlyOneSubject) {
  Result r = Run({"policy", "explain", "kv/data/x", "read"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("exactly one of --token-accessor or --policy"));
}

TEST_F(ArcaCliTest, NegativeCasIsRejectedBeforeAnyRequest) {
  Unseal();
  Result r = Run({"kv", "put", "a", "k=v", "--cas", "-1"});
  EXPECT_NE(r.rc, 0);
  EXPECT_THAT(r.err, HasSubstr("--cas must be a version number"));
  EXPECT_LT(r.err.size(), 200u);  // no 300-digit range in the message
  absl::MutexLock l(&fake_.mu);
  EXPECT_THAT(fake_.puts, IsEmpty());
}

TEST_F(ArcaCliTest, EveryNumericFlagRejectsNegativeAndOutOfRangeValues) {
  Unseal();
  struct Case {
    std::vector<std::string> command;
    std::string flag;
  };
  const std::vector<Case> cases = {
      {{"kv", "get", "a"}, "--version"},
      {{"kv", "metadata", "put", "a"}, "--max-versions"},
      {{"operator", "init"}, "--key-shares"},
      {{"operator", "init"}, "--key-threshold"},
      {{"operator", "rekey"}, "--key-shares"},
      {{"operator", "rekey"}, "--key-threshold"},
      {{"token", "create"}, "--num-uses"},
      {{"transit", "config", "k"}, "--min-decryption-version"},
      {{"transit", "config", "k"}, "--min-encryption-version"},
      {{"tokenize", "decode", "r", "--transformation", "t"}, "--key-version"},
      {{"auth", "approle", "role", "write", "r"}, "--secret-id-num-uses"},
      {{"auth", "approle", "secret-id", "generate", "r"}, "--num-uses"},
  };
  // -18446744073709551613 wraps to 3 in a uint64_t; the others saturate or
  // are not numbers at all.
  const std::vector<std::string> bad = {"-18446744073709551613", "-1",
                                        "99999999999999999999", "1x", "+2"};
  for (const Case& c : cases) {
    for (const std::string& value : bad) {
      std::vector<std::string> args = c.command;
      args.push_back(c.flag + "=" + value);
      Result r = Run(args);
      EXPECT_NE(r.rc, 0) << c.flag << "=" << value;
      EXPECT_THAT(r.err, HasSubstr(c.flag + " must be a whole number"))
          << c.flag << "=" << value;
      EXPECT_LT(r.err.size(), 300u);
    }
  }
  absl::MutexLock l(&fake_.mu);
  EXPECT_FALSE(fake_.rekey_started);
  EXPECT_EQ(fake_.init_request.secret_shares(), 0u);
}

TEST_F(ArcaCliTest, KvPutDashAtATerminalPromptsAndDropsTheNewline) {
  Unseal();
  Result r = Run({"kv", "put", "app/db", "password=-"}, "typed-secret\n",
                 /*with_address=*/true, /*stdin_is_tty=*/true);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("Value (input hidden): "));
  EXPECT_THAT(r.err, Not(HasSubstr("typed-secret")));
  absl::MutexLock l(&fake_.mu);
  ASSERT_EQ(fake_.puts.size(), 1u);
  EXPECT_EQ(fake_.puts[0].data().at("password"), "typed-secret");
}

TEST_F(ArcaCliTest, KvPutDashFromAPipeKeepsEveryByte) {
  Unseal();
  Result r = Run({"kv", "put", "app/db", "password=-"}, "piped\n");
  EXPECT_EQ(r.rc, 0) << r.err;
  absl::MutexLock l(&fake_.mu);
  ASSERT_EQ(fake_.puts.size(), 1u);
  EXPECT_EQ(fake_.puts[0].data().at("password"), "piped\n");
}

TEST_F(ArcaCliTest, UnsealWithNoShareOnStdinIsAnError) {
  Result r = Run({"operator", "unseal"}, "\n\n");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "INVALID_ARGUMENT: no unseal share on standard input\n");
}

TEST_F(ArcaCliTest, WrongShareIsOneErrorLineWithoutTheShare) {
  Result r = Run({"operator", "unseal"}, "not-a-valid-share\nshare-2\n");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "INVALID_ARGUMENT: invalid unseal share\n");
  absl::MutexLock l(&fake_.mu);
  EXPECT_EQ(fake_.unseal_keys.size(), 1u);  // stops at the first failure
}

TEST_F(ArcaCliTest, UnsealResetSubmitsNoShare) {
  Run({"operator", "unseal"}, "share-1\n");
  Result r = Run({"operator", "unseal", "--reset"}, "share-2\n");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("0/3"));
  absl::MutexLock l(&fake_.mu);
  EXPECT_THAT(fake_.unseal_keys, ElementsAre("share-1"));
}

// --- operator status / init / seal / rotate
// -----------------------------------

TEST_F(ArcaCliTest, StatusExitCodeIsTwoWhenSealedZeroWhenUnsealed) {
  Result sealed = Run({"operator", "status"});
  EXPECT_EQ(sealed.rc, 2);
  EXPECT_THAT(sealed.out, HasSubstr("Initialized"));
  EXPECT_THAT(sealed.out, HasSubstr("0.1.0-test"));
  Unseal();
  EXPECT_EQ(Run({"operator", "status"}).rc, 0);
}

TEST_F(ArcaCliTest, StatusExitCodeIsOneWhenServerUnreachable) {
  Result r = Run({"--address", "127.0.0.1:1", "operator", "status"}, "", false);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err.rfind("UNAVAILABLE: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
}

TEST_F(ArcaCliTest, InitJsonHasKeysAndRootToken) {
  Result r = Run({"operator", "init", "--key-shares", "3", "--key-threshold",
                  "2", "--format", "json"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, R"({"keys_base64":["share-1","share-2","share-3"],)"
                   R"("root_token":"arca.root.test"})"
                   "\n");
  absl::MutexLock l(&fake_.mu);
  EXPECT_EQ(fake_.init_request.secret_shares(), 3u);
  EXPECT_EQ(fake_.init_request.secret_threshold(), 2u);
}

TEST_F(ArcaCliTest, InitTablePrintsEveryShareAndTheRootToken) {
  Result r =
      Run({"operator", "init", "--key-shares", "2", "--key-threshold", "2"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Unseal Key 1: share-1\n"));
  EXPECT_THAT(r.out, HasSubstr("Unseal Key 2: share-2\n"));
  EXPECT_THAT(r.out, HasSubstr("Initial Root Token: arca.root.test\n"));
}

TEST_F(ArcaCliTest, SealSendsTheTokenFromTheEnvironment) {
  Unseal();
  EXPECT_EQ(Run({"operator", "seal"}).rc, 0);
  absl::MutexLock l(&fake_.mu);
  EXPECT_TRUE(fake_.sealed);
}

TEST_F(ArcaCliTest, WrongTokenIsPermissionDenied) {
  setenv("ARCA_TOKEN", "arca.service.other", 1);
  Result r = Run({"operator", "seal"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "PERMISSION_DENIED: permission denied on sys/seal\n");
}

TEST_F(ArcaCliTest, RotateJsonPrintsTheTerm) {
  Result r = Run({"operator", "rotate", "--format", "json"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            R"({"term":2,"install_time_unix":"1700000000","encryptions":"0"})"
            "\n");
}

// --- operator rekey ---------------------------------------------------------

TEST_F(ArcaCliTest, RekeyStartsSubmitsSharesWithNonceAndPrintsNewShares) {
  Result r =
      Run({"operator", "rekey", "--key-shares", "2", "--key-threshold", "2"},
          "share-1\nshare-2\nshare-3\nshare-4\n");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("nonce-1"));
  EXPECT_THAT(r.out, HasSubstr("Key 1: new-share-1\n"));
  EXPECT_THAT(r.out, HasSubstr("Key 2: new-share-2\n"));
  absl::MutexLock l(&fake_.mu);
  EXPECT_THAT(fake_.rekey_keys, ElementsAre("share-1", "share-2", "share-3"));
  EXPECT_THAT(fake_.rekey_nonces, ElementsAre("nonce-1", "nonce-1", "nonce-1"));
}

TEST_F(ArcaCliTest, RekeyJsonOutputIsTheFinalUpdate) {
  Result r = Run({"operator", "rekey", "--key-shares", "1", "--key-threshold",
                  "1", "--format", "json"},
                 "share-1\nshare-2\nshare-3\n");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, R"({"complete":true,"progress":3,"required":3,)"
                   R"("keys_base64":["new-share-1"]})"
                   "\n");
}

TEST_F(ArcaCliTest, RekeyWithTooFewSharesFailsNamingTheNonce) {
  Result r =
      Run({"operator", "rekey", "--key-shares", "2", "--key-threshold", "2"},
          "share-1\n");
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("FAILED_PRECONDITION: rekey not complete: 1 "
                               "of 3"));
  EXPECT_THAT(r.err, HasSubstr("--nonce nonce-1"));
  EXPECT_THAT(r.err, Not(HasSubstr("share-1")));
}

TEST_F(ArcaCliTest, RekeyWithNoShareReportsTheServersRequiredCount) {
  Result r = Run(
      {"operator", "rekey", "--key-shares", "2", "--key-threshold", "2"}, "");
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("rekey not complete: 0 of 3"));
}

TEST_F(ArcaCliTest, RekeyContinuesWithNonceWithoutStartingAgain) {
  Run({"operator", "rekey", "--key-shares", "2", "--key-threshold", "2"},
      "share-1\n");
  Result r =
      Run({"operator", "rekey", "--nonce", "nonce-1"}, "share-2\nshare-3\n");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Key 2: new-share-2"));
}

TEST_F(ArcaCliTest, RekeyNeedsShareCountAndThresholdToStart) {
  Result r = Run({"operator", "rekey"}, "share-1\n");
  EXPECT_EQ(r.rc, 1);
  absl::MutexLock l(&fake_.mu);
  EXPECT_FALSE(fake_.rekey_started);
  EXPECT_THAT(fake_.rekey_keys, IsEmpty());
}

TEST_F(ArcaCliTest, RekeyStatusAndCancel) {
  Run({"operator", "rekey", "--key-shares", "2", "--key-threshold", "2"},
      "share-1\n");
  Result status = Run({"operator", "rekey", "--status", "--format", "json"});
  EXPECT_EQ(status.rc, 0) << status.err;
  EXPECT_THAT(status.out, HasSubstr(R"("started":true,"nonce":"nonce-1")"));
  Result cancel = Run({"operator", "rekey", "--cancel", "--nonce", "nonce-1"});
  EXPECT_EQ(cancel.rc, 0) << cancel.err;
  absl::MutexLock l(&fake_.mu);
  EXPECT_FALSE(fake_.rekey_started);
}

TEST_F(ArcaCliTest, RekeyCancelWithoutNonceIsAUsageError) {
  EXPECT_EQ(Run({"operator", "rekey", "--cancel"}).rc, 1);
}

// --- kv ---------------------------------------------------------------------

TEST_F(ArcaCliTest, KvPutSendsLiteralFileAndStdinValuesWithCasAndMount) {
  Unseal();
  char path[] = "/tmp/arca-cli-test-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "file-bytes\n", 11), 11);
  close(fd);
  Result r =
      Run({"kv", "put", "app/db", "user=app", std::string("tls=@") + path,
           "password=-", "--cas", "0", "--mount", "secret"},
          "from-stdin");
  unlink(path);
  EXPECT_EQ(r.rc, 0) << r.err;
  absl::MutexLock l(&fake_.mu);
  ASSERT_EQ(fake_.puts.size(), 1u);
  const v1::KvPutRequest& put = fake_.puts[0];
  EXPECT_EQ(put.mount(), "secret");
  EXPECT_EQ(put.path(), "app/db");
  EXPECT_EQ(put.data().at("user"), "app");
  EXPECT_EQ(put.data().at("tls"), "file-bytes\n");
  EXPECT_EQ(put.data().at("password"), "from-stdin");
  EXPECT_EQ(put.data().size(), 3u);
  ASSERT_TRUE(put.has_cas());
  EXPECT_EQ(put.cas(), 0u);
}

TEST_F(ArcaCliTest, KvPutWithoutCasLeavesItUnsetAndDefaultsMountToKv) {
  Unseal();
  Result r = Run({"kv", "put", "app/db", "k=v", "--format", "json"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(R"({"metadata":{"version":"1",)"));
  absl::MutexLock l(&fake_.mu);
  ASSERT_EQ(fake_.puts.size(), 1u);
  EXPECT_FALSE(fake_.puts[0].has_cas());
  EXPECT_EQ(fake_.puts[0].mount(), "kv");
}

TEST_F(ArcaCliTest, KvPutDuplicateKeyIsRejectedBeforeAnyRpc) {
  Unseal();
  Result r = Run({"kv", "put", "app/db", "k=secret-one", "k=secret-two"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "INVALID_ARGUMENT: key \"k\" is given more than once\n");
  absl::MutexLock l(&fake_.mu);
  EXPECT_THAT(fake_.puts, IsEmpty());
}

TEST_F(ArcaCliTest, KvPutMalformedPairNeverEchoesIt) {
  Unseal();
  Result r = Run({"kv", "put", "app/db", "hunter2"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, Not(HasSubstr("hunter2")));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
}

TEST_F(ArcaCliTest, KvGetFieldPrintsTheRawValueOnly) {
  Unseal();
  ASSERT_EQ(Run({"kv", "put", "app/db", "password=hunter2", "user=app"}).rc, 0);
  Result r = Run({"kv", "get", "app/db", "--field", "password"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "hunter2");
}

TEST_F(ArcaCliTest, KvTableEscapesControlBytesWhileFieldAndJsonStayExact) {
  Unseal();
  const std::string value = "x\x1b]0;owned\x07\x1b[31m";
  ASSERT_EQ(Run({"kv", "put", "app/db", "k\x1b[2J=" + value}).rc, 0);
  Result table = Run({"kv", "get", "app/db"});
  EXPECT_EQ(table.rc, 0) << table.err;
  EXPECT_EQ(table.out.find('\x1b'), std::string::npos) << table.out;
  EXPECT_THAT(table.out,
              HasSubstr("k\\x1b[2J   x\\x1b]0;owned\\x07\\x1b[31m"));
  Result field = Run({"kv", "get", "app/db", "--field", "k\x1b[2J"});
  EXPECT_EQ(field.out, value);
  Result json = Run({"kv", "get", "app/db", "--format", "json"});
  EXPECT_THAT(json.out, HasSubstr(R"(\u001b]0;owned\u0007\u001b[31m)"));
  Result list = Run({"kv", "list"});
  EXPECT_EQ(list.out.find('\x1b'), std::string::npos) << list.out;
}

TEST_F(ArcaCliTest, KvGetJsonHasSortedDataAndMetadata) {
  Unseal();
  ASSERT_EQ(Run({"kv", "put", "app/db", "b=2", "a=1"}).rc, 0);
  Result r = Run({"kv", "get", "app/db", "--format", "json"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(R"({"data":{"a":"1","b":"2"},"metadata":{)"));
}

TEST_F(ArcaCliTest, KvGetMissingSecretIsNotFoundExitTwo) {
  Unseal();
  Result r = Run({"kv", "get", "app/db"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "NOT_FOUND: no secret at app/db\n");
  EXPECT_THAT(r.out, IsEmpty());
}

TEST_F(ArcaCliTest, KvGetMissingFieldIsNotFoundExitTwo) {
  Unseal();
  ASSERT_EQ(Run({"kv", "put", "app/db", "password=hunter2"}).rc, 0);
  Result r = Run({"kv", "get", "app/db", "--field", "nope"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND: "));
  EXPECT_THAT(r.err, Not(HasSubstr("hunter2")));
}

TEST_F(ArcaCliTest, SealedServerIsUnavailableExitOne) {
  Result r = Run({"kv", "get", "app/db"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "UNAVAILABLE: arca is sealed\n");
}

TEST_F(ArcaCliTest, PathNamedLikeASubcommandIsStillAPath) {
  Unseal();
  Result r = Run({"kv", "get", "delete"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "NOT_FOUND: no secret at delete\n");
}

TEST_F(ArcaCliTest, KvDeleteSendsParsedVersions) {
  Unseal();
  Result r = Run({"kv", "delete", "app/db", "--versions", "1,2"});
  EXPECT_EQ(r.rc, 0) << r.err;
  absl::MutexLock l(&fake_.mu);
  ASSERT_EQ(fake_.deletes.size(), 1u);
  EXPECT_THAT(fake_.deletes[0].versions(), ElementsAre(1u, 2u));
  EXPECT_EQ(fake_.deletes[0].mount(), "kv");
}

TEST_F(ArcaCliTest, KvDeleteMalformedVersionsSendsNothing) {
  Unseal();
  Result r = Run({"kv", "delete", "app/db", "--versions", "1,x"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT: "));
  absl::MutexLock l(&fake_.mu);
  EXPECT_THAT(fake_.deletes, IsEmpty());
}

TEST_F(ArcaCliTest, KvListJsonWithGlobalFlagAfterTheVerb) {
  Unseal();
  Result r = Run({"kv", "list", "--format", "json"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "{\"keys\":[\"app/\",\"top\"]}\n");
}

TEST_F(ArcaCliTest, KvMetadataPutSendsOnlyTheGivenFields) {
  Unseal();
  ASSERT_EQ(
      Run({"kv", "metadata", "put", "app/db", "--cas-required", "true"}).rc, 0);
  ASSERT_EQ(Run({"kv", "metadata", "put", "app/db", "--max-versions", "4"}).rc,
            0);
  EXPECT_EQ(
      Run({"kv", "metadata", "put", "app/db", "--cas-required", "maybe"}).rc,
      1);
  absl::MutexLock l(&fake_.mu);
  ASSERT_EQ(fake_.metadata_puts.size(), 2u);
  EXPECT_TRUE(fake_.metadata_puts[0].has_cas_required());
  EXPECT_TRUE(fake_.metadata_puts[0].cas_required());
  EXPECT_FALSE(fake_.metadata_puts[0].has_max_versions());
  EXPECT_FALSE(fake_.metadata_puts[1].has_cas_required());
  EXPECT_EQ(fake_.metadata_puts[1].max_versions(), 4u);
}

TEST_F(ArcaCliTest, UnimplementedRpcIsReportedByName) {
  Unseal();
  Result r = Run({"kv", "undelete", "app/db", "--versions", "1"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err.rfind("UNIMPLEMENTED: ", 0), 0u) << r.err;
}

// --- global flags and usage -------------------------------------------------

TEST_F(ArcaCliTest, AddressComesFromArcaAddr) {
  setenv("ARCA_ADDR", Address().c_str(), 1);
  Result r = Run({"operator", "status"}, "", /*with_address=*/false);
  EXPECT_EQ(r.rc, 2) << r.err;  // sealed, reached the fake
}

TEST_F(ArcaCliTest, UsageErrorsExitOne) {
  EXPECT_EQ(Run({}).rc, 1);
  EXPECT_EQ(Run({"nonsense"}).rc, 1);
  EXPECT_EQ(Run({"kv", "get"}).rc, 1);
  EXPECT_EQ(Run({"kv", "put", "app/db"}).rc, 1);
  EXPECT_EQ(Run({"--format", "yaml", "operator", "status"}).rc, 1);
  EXPECT_EQ(Run({"operator", "init", "--key-shares", "0"}).rc, 1);
}

TEST_F(ArcaCliTest, HelpExitsZero) {
  Result r = Run({"--help"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_THAT(r.out, HasSubstr("operator"));
}

}  // namespace
}  // namespace arca::cli
