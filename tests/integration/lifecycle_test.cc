// End-to-end lifecycle of a real arcad with RocksDB on disk, driven through
// the real `arca` CLI (and raw gRPC stubs for bulk traffic).

#include <signal.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "arca/v1/kv.grpc.pb.h"
#include "arca/v1/sys.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/harness.h"

namespace arca::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct InitOutput {
  std::vector<std::string> shares;
  std::string root_token;
};

class LifecycleTest : public ::testing::Test {
 protected:
  LifecycleTest() : arcad_(dir_.path() / "data", dir_.path()) {}

  void StartServer() { ASSERT_TRUE(arcad_.Start()); }

  CliResult Cli(std::vector<std::string> args, const std::string& in = "",
                std::string token = "") {
    std::map<std::string, std::string> env = {{"ARCA_ADDR", arcad_.address()}};
    if (token.empty()) token = root_token_;
    if (!token.empty()) env["ARCA_TOKEN"] = token;
    return RunCli(args, in, env);
  }

  InitOutput Init(int shares, int threshold) {
    CliResult r = Cli({"operator", "init", "--key-shares",
                       std::to_string(shares), "--key-threshold",
                       std::to_string(threshold), "--format", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    InitOutput out;
    for (const auto& s : j["keys_base64"]) out.shares.push_back(s);
    out.root_token = j["root_token"];
    root_token_ = out.root_token;
    return out;
  }

  std::unique_ptr<v1::KvService::Stub> KvStub() {
    return v1::KvService::NewStub(grpc::CreateChannel(
        arcad_.address(), grpc::InsecureChannelCredentials()));
  }
  std::unique_ptr<v1::SysService::Stub> SysStub() {
    return v1::SysService::NewStub(grpc::CreateChannel(
        arcad_.address(), grpc::InsecureChannelCredentials()));
  }
  void Authorize(grpc::ClientContext& ctx) {
    ctx.AddMetadata("authorization", "Bearer " + root_token_);
  }

  TempDir dir_;
  Arcad arcad_;
  std::string root_token_;
};

std::string Lines(const std::vector<std::string>& shares, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += shares[i] + "\n";
  return s;
}

TEST_F(LifecycleTest, ThousandSecretsSurviveKillNineAndReseal) {
  StartServer();
  InitOutput init = Init(5, 3);
  ASSERT_EQ(init.shares.size(), 5u);
  EXPECT_EQ(Cli({"operator", "status"}).exit_code, 2);  // sealed after init

  CliResult unseal = Cli({"operator", "unseal"}, Lines(init.shares, 3));
  ASSERT_EQ(unseal.exit_code, 0) << unseal.err;
  ASSERT_EQ(Cli({"operator", "status"}).exit_code, 0);

  auto start = std::chrono::steady_clock::now();
  auto kv = KvStub();
  for (int i = 0; i < 1000; ++i) {
    grpc::ClientContext ctx;
    Authorize(ctx);
    v1::KvPutRequest req;
    req.set_path(absl::StrCat("apps/app", i % 10, "/secret", i));
    (*req.mutable_data())["value"] = absl::StrCat("value-", i, "-", i * 7919);
    (*req.mutable_data())["user"] = absl::StrCat("user", i);
    v1::KvPutResponse resp;
    grpc::Status st = kv->Put(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  auto written = std::chrono::steady_clock::now();

  arcad_.Kill(SIGKILL);
  StartServer();
  EXPECT_EQ(Cli({"operator", "status"}).exit_code, 2) << "restart must be sealed";
  CliResult sealed_get = Cli({"kv", "get", "apps/app1/secret1"});
  EXPECT_NE(sealed_get.exit_code, 0);
  EXPECT_THAT(sealed_get.err, HasSubstr("UNAVAILABLE"));

  // Shares 3..5 this time: any threshold subset unseals.
  std::vector<std::string> other(init.shares.begin() + 2, init.shares.end());
  ASSERT_EQ(Cli({"operator", "unseal"}, Lines(other, 3)).exit_code, 0);

  auto reread = std::chrono::steady_clock::now();
  kv = KvStub();
  for (int i = 0; i < 1000; ++i) {
    grpc::ClientContext ctx;
    Authorize(ctx);
    v1::KvGetRequest req;
    req.set_path(absl::StrCat("apps/app", i % 10, "/secret", i));
    v1::KvGetResponse resp;
    grpc::Status st = kv->Get(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_EQ(resp.data().at("value"), absl::StrCat("value-", i, "-", i * 7919));
    EXPECT_EQ(resp.data().at("user"), absl::StrCat("user", i));
    EXPECT_EQ(resp.metadata().version(), 1u);
  }
  auto done = std::chrono::steady_clock::now();
  auto ms = [](auto a, auto b) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(b - a).count();
  };
  std::cout << "1000 secrets: write " << ms(start, written) << " ms, read back "
            << ms(reread, done) << " ms\n";
  RecordProperty("write_ms", std::to_string(ms(start, written)));
  RecordProperty("read_ms", std::to_string(ms(reread, done)));

  CliResult one = Cli({"kv", "get", "apps/app7/secret997", "--field", "value"});
  EXPECT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(absl::StripSuffix(one.out, "\n"),
            absl::StrCat("value-997-", 997 * 7919));
  CliResult list = Cli({"kv", "list", "apps/"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("app9/"));
}

// 64 writers in flight share RocksDB's group commits; a kill -9 in the
// middle of them must lose no put that was acknowledged.
TEST_F(LifecycleTest, EveryAcknowledgedPutOf64ConcurrentWritersSurvivesKillNine) {
  StartServer();
  InitOutput init = Init(1, 1);
  ASSERT_EQ(Cli({"operator", "unseal"}, Lines(init.shares, 1)).exit_code, 0);

  constexpr int kWriters = 64;
  constexpr int kPathsPerWriter = 3;
  struct Acked {
    uint64_t version = 0;
    std::string value;
  };
  // acked[w][p]: the newest acknowledged put of writer w to its path p.
  std::vector<std::vector<Acked>> acked(kWriters,
                                        std::vector<Acked>(kPathsPerWriter));
  std::atomic<int> total{0};
  auto channel = grpc::CreateChannel(arcad_.address(),
                                     grpc::InsecureChannelCredentials());
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto kv = v1::KvService::NewStub(channel);
      for (int i = 0;; ++i) {
        const int p = i % kPathsPerWriter;
        grpc::ClientContext ctx;
        Authorize(ctx);
        ctx.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
        v1::KvPutRequest req;
        req.set_path(absl::StrCat("concurrent/w", w, "/p", p));
        const std::string value = absl::StrCat("w", w, "-i", i);
        (*req.mutable_data())["value"] = value;
        v1::KvPutResponse resp;
        if (!kv->Put(&ctx, req, &resp).ok()) return;  // the server is gone
        acked[w][p] = {resp.metadata().version(), value};
        ++total;
      }
    });
  }
  // Let the writers get going, then kill the server under them.
  while (total.load() < 2000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  arcad_.Kill(SIGKILL);
  for (std::thread& t : writers) t.join();

  StartServer();
  ASSERT_EQ(Cli({"operator", "unseal"}, Lines(init.shares, 1)).exit_code, 0);
  auto kv = KvStub();
  int checked = 0;
  for (int w = 0; w < kWriters; ++w) {
    for (int p = 0; p < kPathsPerWriter; ++p) {
      const Acked& a = acked[w][p];
      if (a.version == 0) continue;
      grpc::ClientContext ctx;
      Authorize(ctx);
      v1::KvGetRequest req;
      req.set_path(absl::StrCat("concurrent/w", w, "/p", p));
      req.set_version(a.version);
      v1::KvGetResponse resp;
      grpc::Status st = kv->Get(&ctx, req, &resp);
      ASSERT_TRUE(st.ok()) << "acknowledged put lost: w" << w << " p" << p
                           << " v" << a.version << ": " << st.error_message();
      EXPECT_EQ(resp.data().at("value"), a.value);
      ++checked;
    }
  }
  EXPECT_GT(checked, kWriters);
}

TEST_F(LifecycleTest, WrongGarbageAndForeignSharesAreInvalidArgument) {
  // A second cluster provides the foreign shares.
  TempDir other_dir;
  Arcad other(other_dir.path() / "data", other_dir.path());
  ASSERT_TRUE(other.Start());
  CliResult other_init = RunCli(
      {"operator", "init", "--key-shares", "5", "--key-threshold", "3",
       "--format", "json"},
      "", {{"ARCA_ADDR", other.address()}});
  ASSERT_EQ(other_init.exit_code, 0) << other_init.err;
  std::vector<std::string> foreign =
      nlohmann::json::parse(other_init.out)["keys_base64"];

  StartServer();
  InitOutput init = Init(5, 3);

  // Garbage: rejected at once, nothing echoed.
  CliResult garbage = Cli({"operator", "unseal"}, "not-a-share-%%%\n");
  EXPECT_EQ(garbage.exit_code, 1);
  EXPECT_THAT(garbage.err, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(garbage.err, Not(HasSubstr("not-a-share")));

  // Two right shares plus a foreign one: the combination is wrong.
  CliResult mixed = Cli({"operator", "unseal"},
                        init.shares[0] + "\n" + init.shares[1] + "\n" +
                            foreign[2] + "\n");
  EXPECT_EQ(mixed.exit_code, 1);
  EXPECT_THAT(mixed.err, HasSubstr("INVALID_ARGUMENT"));

  // A right share with one flipped bit.
  std::string wrong = init.shares[2];
  wrong[5] = wrong[5] == 'A' ? 'B' : 'A';
  CliResult bad = Cli({"operator", "unseal"},
                      init.shares[0] + "\n" + init.shares[1] + "\n" + wrong +
                          "\n");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("INVALID_ARGUMENT"));

  // Progress was reset and the server is healthy: it reports sealed with
  // progress 0, then unseals with the right shares.
  auto sys = SysStub();
  grpc::ClientContext ctx;
  v1::SealStatusResponse status;
  ASSERT_TRUE(sys->SealStatus(&ctx, {}, &status).ok());
  EXPECT_TRUE(status.sealed());
  EXPECT_EQ(status.progress(), 0u);

  // Direct gRPC: the error code itself.
  // Invalid UTF-8 (a stray paste) is bad input too, not a parser failure.
  for (const std::string& share : {std::string("%%%"),
                                   init.shares[0].substr(0, 10),
                                   std::string("\xff\xfe\x80")}) {
    grpc::ClientContext c;
    v1::UnsealRequest req;
    req.set_key(share);
    v1::SealStatusResponse resp;
    EXPECT_EQ(sys->Unseal(&c, req, &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }

  CliResult good = Cli({"operator", "unseal"}, Lines(init.shares, 3));
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_EQ(Cli({"operator", "status"}).exit_code, 0);
}

TEST_F(LifecycleTest, TamperedRecordOnDiskGivesIntegrityErrorNotPlaintext) {
  StartServer();
  InitOutput init = Init(1, 1);
  ASSERT_EQ(Cli({"operator", "unseal"}, init.shares[0] + "\n").exit_code, 0);
  const std::string plaintext = "tamper-canary-8d1f0a";
  CliResult put = Cli({"kv", "put", "app/db", "password=" + plaintext});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  arcad_.Kill(SIGTERM);

  // Flip one byte in every kv version record (only one secret exists).
  int flipped = TamperKvDataRecords(dir_.path() / "data" / "db");
  ASSERT_EQ(flipped, 1);

  StartServer();
  ASSERT_EQ(Cli({"operator", "unseal"}, init.shares[0] + "\n").exit_code, 0);
  CliResult get = Cli({"kv", "get", "app/db"});
  EXPECT_NE(get.exit_code, 0);
  EXPECT_THAT(get.err, HasSubstr("DATA_LOSS"));
  EXPECT_THAT(get.err, HasSubstr("integrity"));
  EXPECT_THAT(get.out + get.err, Not(HasSubstr(plaintext)));
  // The server stays healthy: other operations still work.
  EXPECT_EQ(Cli({"kv", "put", "app/other", "a=b"}).exit_code, 0);
  EXPECT_EQ(Cli({"kv", "get", "app/other"}).exit_code, 0);
}

TEST_F(LifecycleTest, CanaryNeverInLogOrDataDirInClear) {
  StartServer();
  InitOutput init = Init(3, 2);
  ASSERT_EQ(Cli({"operator", "unseal"}, Lines(init.shares, 2)).exit_code, 0);
  const std::string canary = "CANARY-7f3e9a1c-do-not-leak";
  CliResult put = Cli({"kv", "put", "team/canary", "secret=-"}, canary);
  ASSERT_EQ(put.exit_code, 0) << put.err;
  CliResult get = Cli({"kv", "get", "team/canary", "--field", "secret"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.out.substr(0, canary.size()), canary);
  // Errors with the canary around must not echo it either.
  CliResult bad = Cli({"kv", "put", "team/../x", "secret=-"}, canary);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.err, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(bad.err, Not(HasSubstr(canary)));
  ASSERT_EQ(Cli({"operator", "rotate"}).exit_code, 0);
  ASSERT_EQ(Cli({"operator", "seal"}).exit_code, 0);
  arcad_.Kill(SIGTERM);

  const std::string log = arcad_.Log();
  EXPECT_THAT(log, Not(HasSubstr(canary)));
  EXPECT_THAT(log, Not(HasSubstr(root_token_)));
  for (const auto& s : init.shares) EXPECT_THAT(log, Not(HasSubstr(s)));
  EXPECT_FALSE(TreeContains(dir_.path() / "data", canary));
  EXPECT_FALSE(TreeContains(dir_.path() / "data", root_token_));
}

TEST_F(LifecycleTest, ErrorsUseTheRightStatusCodes) {
  StartServer();
  InitOutput init = Init(1, 1);
  ASSERT_EQ(Cli({"operator", "unseal"}, init.shares[0] + "\n").exit_code, 0);
  auto kv = KvStub();

  auto put = [&](const std::string& path, size_t bytes,
                 std::optional<uint64_t> cas = std::nullopt) {
    grpc::ClientContext ctx;
    Authorize(ctx);
    v1::KvPutRequest req;
    req.set_path(path);
    (*req.mutable_data())["v"] = std::string(bytes, 'x');
    if (cas) req.set_cas(*cas);
    v1::KvPutResponse resp;
    return kv->Put(&ctx, req, &resp).error_code();
  };
  EXPECT_EQ(put("ok/path", 10), grpc::StatusCode::OK);
  EXPECT_EQ(put("a/../b", 10), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(put("x'; DROP TABLE secrets;--", 10),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(put("big/value", 600 * 1024), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(put("ok/path", 10, 0), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(put("ok/path", 10, 1), grpc::StatusCode::OK);
  EXPECT_EQ(put("ok/path", 10, 1), grpc::StatusCode::FAILED_PRECONDITION);

  {
    grpc::ClientContext ctx;  // no token
    v1::KvGetRequest req;
    req.set_path("ok/path");
    v1::KvGetResponse resp;
    EXPECT_EQ(kv->Get(&ctx, req, &resp).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer arca.s.not-a-real-token");
    v1::KvGetRequest req;
    req.set_path("ok/path");
    v1::KvGetResponse resp;
    EXPECT_EQ(kv->Get(&ctx, req, &resp).error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
  }
  EXPECT_EQ(Cli({"kv", "get", "missing/secret"}).exit_code, 2);

  // Init twice is refused.
  CliResult again = Cli({"operator", "init", "--key-shares", "1",
                         "--key-threshold", "1"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_THAT(again.err, HasSubstr("FAILED_PRECONDITION"));

  // Sealed: UNAVAILABLE everywhere but the unauthenticated sys RPCs.
  ASSERT_EQ(Cli({"operator", "seal"}).exit_code, 0);
  EXPECT_EQ(put("ok/path", 10), grpc::StatusCode::UNAVAILABLE);
  CliResult rotate = Cli({"operator", "rotate"});
  EXPECT_THAT(rotate.err, HasSubstr("UNAVAILABLE"));
  EXPECT_EQ(Cli({"operator", "status"}).exit_code, 2);
}

TEST_F(LifecycleTest, RotateAndRekeyKeepDataAndRetireOldShares) {
  StartServer();
  InitOutput init = Init(3, 2);
  ASSERT_EQ(Cli({"operator", "unseal"}, Lines(init.shares, 2)).exit_code, 0);
  ASSERT_EQ(Cli({"kv", "put", "before/rotate", "k=v1"}).exit_code, 0);
  CliResult rotate = Cli({"operator", "rotate", "--format", "json"});
  ASSERT_EQ(rotate.exit_code, 0) << rotate.err;
  EXPECT_EQ(nlohmann::json::parse(rotate.out)["term"], 2);
  ASSERT_EQ(Cli({"kv", "put", "after/rotate", "k=v2"}).exit_code, 0);

  CliResult rekey = Cli({"operator", "rekey", "--key-shares", "5",
                         "--key-threshold", "3", "--format", "json"},
                        Lines(init.shares, 2));
  ASSERT_EQ(rekey.exit_code, 0) << rekey.err;
  std::vector<std::string> fresh =
      nlohmann::json::parse(rekey.out)["keys_base64"];
  ASSERT_EQ(fresh.size(), 5u);

  arcad_.Kill(SIGKILL);
  StartServer();
  // Old shares no longer unseal (three of them, the new threshold).
  CliResult old = Cli({"operator", "unseal"}, Lines(init.shares, 3));
  EXPECT_NE(old.exit_code, 0);
  Cli({"operator", "unseal", "--reset"});
  CliResult ok = Cli({"operator", "unseal"}, Lines(fresh, 3));
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  CliResult v1 = Cli({"kv", "get", "before/rotate", "--field", "k"});
  CliResult v2 = Cli({"kv", "get", "after/rotate", "--field", "k"});
  EXPECT_EQ(absl::StripSuffix(v1.out, "\n"), "v1");
  EXPECT_EQ(absl::StripSuffix(v2.out, "\n"), "v2");
}

}  // namespace
}  // namespace arca::testing
