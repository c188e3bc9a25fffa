// The request pipeline, token trees and their leases, through Core.

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/core/core.h"
#include "server/storage/in_memory_backend.h"

namespace arca::core {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto backend = std::make_unique<storage::InMemoryBackend>();
    backend_ = backend.get();
    core_ = *Core::Open(std::move(backend));
    auto init = core_->Init(1, 1);
    ASSERT_TRUE(init.ok());
    root_ = init->root_token;
    ASSERT_TRUE(core_->Unseal(init->shares_base64[0], false).ok());
    char tmpl[] = "/tmp/arca-pipeline-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override {
    core_.reset();
    fs::remove_all(dir_);
  }

  Request Req(std::string token, std::string path,
              Capability cap = Capability::kRead) {
    Request r;
    r.operation = "test.op";
    r.path = std::move(path);
    r.capability = cap;
    r.token = std::move(token);
    r.remote_address = "ipv4:127.0.0.1:1";
    return r;
  }

  // Runs `handler` as `token` through the whole pipeline.
  absl::Status Run(const std::string& token, const std::string& path,
                   Capability cap,
                   const std::function<absl::Status(Caller&)>& handler) {
    return core_->Handle(Req(token, path, cap), handler,
                         [](AuditPayload*) {});
  }

  IssuedToken Child(const std::string& parent, std::vector<std::string> pols,
                    absl::Duration ttl = absl::ZeroDuration()) {
    IssuedToken out;
    absl::Status st = Run(parent, "auth/token/create", Capability::kUpdate,
                          [&](Caller& c) -> absl::Status {
      TokenParams p;
      p.policies = std::move(pols);
      p.ttl = ttl;
      auto issued = core_->CreateToken(c, std::move(p));
      if (!issued.ok()) return issued.status();
      out = *std::move(issued);
      return absl::OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st;
    return out;
  }

  storage::InMemoryBackend* backend_ = nullptr;
  std::unique_ptr<Core> core_;
  std::string root_;
  fs::path dir_;
};

TEST_F(PipelineTest, HandlerRunsOnlyUnsealedAndWithAKnownToken) {
  int ran = 0;
  auto handler = [&](Caller&) {
    ++ran;
    return absl::OkStatus();
  };
  EXPECT_TRUE(Run(root_, "kv/data/x", Capability::kRead, handler).ok());
  EXPECT_TRUE(absl::IsUnauthenticated(
      Run("", "kv/data/x", Capability::kRead, handler)));
  std::string forged = root_;
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  EXPECT_TRUE(absl::IsUnauthenticated(
      Run(forged, "kv/data/x", Capability::kRead, handler)));
  ASSERT_TRUE(core_->Seal().ok());
  EXPECT_TRUE(absl::IsUnavailable(
      Run(root_, "kv/data/x", Capability::kRead, handler)));
  EXPECT_EQ(ran, 1);
}

TEST_F(PipelineTest, DeniedRequestIsAuditedAndNeverReachesTheHandler) {
  ASSERT_TRUE(core_->EnableAudit("file", "file", (dir_ / "a.log").string()).ok());
  ASSERT_TRUE(core_->policies()
                  .Write("app", R"({"path": {"kv/data/app/*": {"capabilities": ["read"]}}})")
                  .ok());
  IssuedToken app = Child(root_, {"app"});
  bool ran = false;
  absl::Status st = Run(app.token, "kv/data/ops/x", Capability::kRead,
                        [&](Caller&) { ran = true; return absl::OkStatus(); });
  EXPECT_TRUE(absl::IsPermissionDenied(st)) << st;
  EXPECT_FALSE(ran);
  const std::string log = ReadAll(dir_ / "a.log");
  EXPECT_THAT(log, HasSubstr(R"("path":"kv/data/ops/x","accessor":")" +
                             app.entry.accessor() +
                             R"(","auth":{"allowed":false)"));
  EXPECT_THAT(log, Not(HasSubstr(app.token)));
}

TEST_F(PipelineTest, UnwritableAuditFailsClosedBeforeTheHandlerRuns) {
  const fs::path log = dir_ / "a.log";
  ASSERT_TRUE(core_->EnableAudit("file", "file", log.string()).ok());
  fs::rename(log, dir_ / "rotated.log");  // the device's file is gone
  bool ran = false;
  absl::Status st = Run(root_, "kv/data/x", Capability::kRead,
                        [&](Caller&) { ran = true; return absl::OkStatus(); });
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
  EXPECT_FALSE(ran);
}

TEST_F(PipelineTest, AuditFieldsAreBuiltOnlyWhileADeviceIsEnabled) {
  int described = 0;
  int responses = 0;
  auto run = [&](bool* ran) {
    Request r = Req(root_, "kv/data/x");
    r.describe = [&](AuditPayload* out) {
      ++described;
      (*out)["field"] = audit::Field::Clear("request-field");
    };
    return core_->Handle(
        std::move(r),
        [&](Caller&) {
          *ran = true;
          return absl::OkStatus();
        },
        [&](AuditPayload* out) {
          ++responses;
          (*out)["answer"] = audit::Field::Clear("response-field");
        });
  };
  bool ran = false;
  ASSERT_TRUE(run(&ran).ok());
  EXPECT_TRUE(ran);
  // No device: nothing is built for a line no one writes.
  EXPECT_EQ(described, 0);
  EXPECT_EQ(responses, 0);

  const fs::path log = dir_ / "a.log";
  ASSERT_TRUE(core_->EnableAudit("file", "file", log.string()).ok());
  ran = false;
  ASSERT_TRUE(run(&ran).ok());
  EXPECT_EQ(described, 1);
  EXPECT_EQ(responses, 1);
  const std::string text = ReadAll(log);
  EXPECT_THAT(text, HasSubstr("request-field"));
  EXPECT_THAT(text, HasSubstr("response-field"));

  // With a device, an unwritable log still refuses the request.
  fs::rename(log, dir_ / "rotated.log");
  ran = false;
  absl::Status st = run(&ran);
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
  EXPECT_FALSE(ran);
}

TEST_F(PipelineTest, EnablingADeviceThatCannotWriteIsRefused) {
  absl::Status st = core_->EnableAudit("full", "file", "/dev/full");
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
  // Not enabled, so requests keep working.
  EXPECT_TRUE(Run(root_, "kv/data/x", Capability::kRead, [](Caller&) {
                return absl::OkStatus();
              }).ok());
  auto list = core_->ListAudit();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST_F(PipelineTest, EnablingADeviceInAMissingDirectoryIsInvalidArgument) {
  const std::string path = (dir_ / "no-such-dir" / "audit.log").string();
  absl::Status st = core_->EnableAudit("file", "file", path);
  EXPECT_TRUE(absl::IsInvalidArgument(st)) << st;
  EXPECT_THAT(std::string(st.message()),
              HasSubstr("open failed: No such file or directory"));
  auto list = core_->ListAudit();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST_F(PipelineTest, LoginNeedsNoTokenButIsAuditedAndFailsClosed) {
  const fs::path log = dir_ / "a.log";
  ASSERT_TRUE(core_->EnableAudit("file", "file", log.string()).ok());
  Request login = Req("", "auth/approle/login", Capability::kUpdate);
  login.needs_token = false;
  login.payload["secret_id"] = audit::Field::Sensitive("sid-CANARY");
  bool ran = false;
  ASSERT_TRUE(core_->Handle(login, [&](Caller& c) {
                ran = true;
                EXPECT_TRUE(c.token().accessor().empty());
                return absl::OkStatus();
              }, [](AuditPayload*) {}).ok());
  EXPECT_TRUE(ran);
  const std::string text = ReadAll(log);
  EXPECT_THAT(text, HasSubstr("auth/approle/login"));
  EXPECT_THAT(text, Not(HasSubstr("sid-CANARY")));

  fs::rename(log, dir_ / "gone.log");
  ran = false;
  EXPECT_TRUE(absl::IsUnavailable(core_->Handle(login, [&](Caller&) {
    ran = true;
    return absl::OkStatus();
  }, [](AuditPayload*) {})));
  EXPECT_FALSE(ran);
}

TEST_F(PipelineTest, HandlerCanRequireAFurtherCapability) {
  ASSERT_TRUE(core_->policies()
                  .Write("enc", R"({"path": {"transit/encrypt/k": {"capabilities": ["update"]}}})")
                  .ok());
  IssuedToken t = Child(root_, {"enc"});
  absl::Status st = Run(t.token, "transit/encrypt/k", Capability::kUpdate,
                        [&](Caller& c) {
                          return c.Require("transit/keys/k", Capability::kCreate);
                        });
  EXPECT_TRUE(absl::IsPermissionDenied(st)) << st;
  EXPECT_THAT(st.message(), HasSubstr("create on transit/keys/k"));
}

TEST_F(PipelineTest, RevokingAParentRevokesLeasesItsDescendantsCreated) {
  std::vector<std::string> revoked;
  core_->leases().RegisterRevoker(
      "test", [&](const lease::LeaseEntry& e) {
        revoked.push_back(e.data());
        return absl::OkStatus();
      });
  ASSERT_TRUE(core_->policies()
                  .Write("maker", R"({"path": {"auth/token/create": {"capabilities": ["update"]}, "db/creds/*": {"capabilities": ["read"]}}})")
                  .ok());
  IssuedToken parent = Child(root_, {"maker"});
  IssuedToken child = Child(parent.token, {});
  std::string lease_id;
  ASSERT_TRUE(Run(child.token, "db/creds/ro", Capability::kRead, [&](Caller& c) {
                lease::LeaseSpec spec;
                spec.kind = "test";
                spec.data = "user-v-123";
                spec.ttl = absl::Hours(1);
                c.AttachLease(spec, [&](const lease::LeaseEntry& e) {
                  lease_id = e.id();
                });
                return absl::OkStatus();
              }).ok());
  ASSERT_FALSE(lease_id.empty());
  ASSERT_TRUE(core_->tokens().Revoke(parent.entry.id_hash()).ok());
  EXPECT_THAT(revoked, ::testing::ElementsAre("user-v-123"));
  EXPECT_TRUE(absl::IsNotFound(core_->leases().Lookup(lease_id).status()));
  EXPECT_TRUE(absl::IsUnauthenticated(core_->tokens().Lookup(child.token).status()));
}

TEST_F(PipelineTest, TokenExpiryGoesThroughTheLeaseManager) {
  IssuedToken t = Child(root_, {}, absl::Seconds(1));
  ASSERT_FALSE(t.entry.lease_id().empty());
  EXPECT_TRUE(core_->tokens().Lookup(t.token).ok());
  EXPECT_EQ(core_->leases().ExpireDue(absl::Now() + absl::Seconds(2)), 1);
  auto gone = core_->tokens().LookupHash(t.entry.id_hash());
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  EXPECT_TRUE(absl::IsNotFound(
      core_->tokens().LookupAccessor(t.entry.accessor()).status()));
}

TEST_F(PipelineTest, ChildNeverOutlivesItsParent) {
  IssuedToken parent = Child(root_, {}, absl::Minutes(5));
  IssuedToken child = Child(parent.token, {}, absl::Hours(5));
  EXPECT_LE(child.entry.expire_unix_ms(), parent.entry.expire_unix_ms());
}

TEST_F(PipelineTest, TokenTreesAreDepthLimitedSoRevocationStaysBounded) {
  std::string parent = root_;
  for (int depth = 1; depth <= 64; ++depth) parent = Child(parent, {}).token;
  absl::Status st = Run(parent, "auth/token/create", Capability::kUpdate,
                        [&](Caller& c) {
                          return core_->CreateToken(c, TokenParams{}).status();
                        });
  EXPECT_TRUE(absl::IsResourceExhausted(st)) << st;
  // Revoking the top of the tree removes all 64 levels.
  auto top = core_->tokens().Lookup(root_);
  ASSERT_TRUE(top.ok());
  ASSERT_TRUE(core_->tokens().Revoke(top->id_hash()).ok());
  EXPECT_TRUE(absl::IsUnauthenticated(core_->tokens().Lookup(parent).status()));
}

TEST_F(PipelineTest, TokenCacheIsBoundedAndDroppedTokensStillResolve) {
  TokenStore& tokens = core_->tokens();
  std::vector<IssuedToken> issued;
  const size_t n = TokenStore::kMaxCachedEntries + 500;
  for (size_t i = 0; i < n; ++i) {
    TokenParams params;
    params.policies = {"default"};
    params.orphan = true;
    auto t = tokens.Create(nullptr, std::move(params));
    ASSERT_TRUE(t.ok()) << t.status();
    issued.push_back(*std::move(t));
  }
  EXPECT_LE(tokens.CachedEntries(), TokenStore::kMaxCachedEntries);
  // Every token resolves, cached or read back from storage; a revoked one
  // does not, whether or not it was cached.
  for (const IssuedToken& t : issued) {
    ASSERT_TRUE(tokens.Lookup(t.token).ok()) << t.entry.accessor();
  }
  EXPECT_LE(tokens.CachedEntries(), TokenStore::kMaxCachedEntries);
  for (size_t i = 0; i < n; i += n / 8) {
    ASSERT_TRUE(tokens.Revoke(issued[i].entry.id_hash()).ok());
    EXPECT_TRUE(absl::IsUnauthenticated(tokens.Lookup(issued[i].token).status()));
  }
}

TEST_F(PipelineTest, TokensAreStoredOnlyAsKeyedHashes) {
  IssuedToken t = Child(root_, {});
  for (const auto& [key, value] : backend_->Snapshot()) {
    EXPECT_THAT(key, Not(HasSubstr(t.token)));
    EXPECT_THAT(value, Not(HasSubstr(t.token)));
    EXPECT_THAT(value, Not(HasSubstr(root_)));
  }
}

TEST_F(PipelineTest, NonCanonicalResourcePathIsInvalidArgument) {
  for (const char* path : {"", "/kv/data/x", "kv/../sys/seal", "kv//x", "kv/./x"}) {
    EXPECT_TRUE(absl::IsInvalidArgument(
        Run(root_, path, Capability::kRead, [](Caller&) { return absl::OkStatus(); })))
        << path;
  }
}

}  // namespace
}  // namespace arca::core
