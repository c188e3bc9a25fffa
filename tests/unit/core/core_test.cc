#include "server/core/core.h"

#include <memory>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/barrier/barrier.h"
#include "server/storage/in_memory_backend.h"

namespace arca::core {
namespace {

using ::testing::HasSubstr;

class CoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto backend = std::make_unique<storage::InMemoryBackend>();
    backend_ = backend.get();
    auto core = Core::Open(std::move(backend));
    ASSERT_TRUE(core.ok());
    core_ = std::move(*core);
  }

  // Submits shares in order; returns the last status.
  absl::StatusOr<SealStatus> Submit(const std::vector<std::string>& shares) {
    absl::StatusOr<SealStatus> last = absl::UnknownError("no shares");
    for (const auto& s : shares) {
      last = core_->Unseal(s, false);
      if (!last.ok()) return last;
    }
    return last;
  }

  storage::InMemoryBackend* backend_ = nullptr;
  std::unique_ptr<Core> core_;
};

TEST_F(CoreTest, InitLeavesServerSealedAndRefusesSecondInit) {
  auto init = core_->Init(5, 3);
  ASSERT_TRUE(init.ok()) << init.status();
  EXPECT_EQ(init->shares_base64.size(), 5u);
  auto status = core_->GetSealStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(status->initialized);
  EXPECT_TRUE(status->sealed);
  EXPECT_EQ(status->secret_threshold, 3u);
  EXPECT_TRUE(absl::IsFailedPrecondition(core_->Init(5, 3).status()));
}

TEST_F(CoreTest, InvalidShareConfigsAreRejected) {
  for (auto [n, t] : std::vector<std::pair<int, int>>{
           {0, 0}, {2, 1}, {5, 6}, {256, 3}, {1, 2}, {3, 0}}) {
    EXPECT_TRUE(absl::IsInvalidArgument(core_->Init(n, t).status()))
        << n << "/" << t;
  }
}

TEST_F(CoreTest, ThresholdOfSharesUnsealsAndFewerDoNot) {
  auto init = core_->Init(5, 3);
  ASSERT_TRUE(init.ok());
  auto st = core_->Unseal(init->shares_base64[4], false);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->sealed);
  EXPECT_EQ(st->progress, 1u);
  // The same share again counts once.
  st = core_->Unseal(init->shares_base64[4], false);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->progress, 1u);
  st = Submit({init->shares_base64[0], init->shares_base64[2]});
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_FALSE(st->sealed);
  EXPECT_EQ(st->progress, 0u);
}

TEST_F(CoreTest, WrongShareCombinationIsInvalidArgumentAndResetsProgress) {
  auto init = core_->Init(3, 2);
  ASSERT_TRUE(init.ok());
  std::string raw;
  ASSERT_TRUE(absl::Base64Unescape(init->shares_base64[1], &raw));
  raw[0] ^= 0x5a;  // a share with a wrong y byte, same x
  auto st = Submit({init->shares_base64[0], absl::Base64Escape(raw)});
  ASSERT_TRUE(absl::IsInvalidArgument(st.status())) << st.status();
  EXPECT_THAT(st.status().message(), HasSubstr("progress was reset"));
  auto status = core_->GetSealStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->progress, 0u);
  EXPECT_TRUE(status->sealed);
  // The right shares still work afterwards.
  st = Submit({init->shares_base64[0], init->shares_base64[1]});
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_FALSE(st->sealed);
}

TEST_F(CoreTest, GarbageShareIsInvalidArgumentWithoutEcho) {
  ASSERT_TRUE(core_->Init(3, 2).ok());
  for (const std::string bad : {"", "zzzz-not-base64", "AAAA", "abcd1234"}) {
    auto st = core_->Unseal(bad, false);
    ASSERT_TRUE(absl::IsInvalidArgument(st.status())) << bad;
    if (!bad.empty()) {
      EXPECT_THAT(std::string(st.status().message()),
                  ::testing::Not(HasSubstr(bad)));
    }
  }
}

TEST_F(CoreTest, HexSharesAreAccepted) {
  auto init = core_->Init(3, 2);
  ASSERT_TRUE(init.ok());
  std::vector<std::string> hex;
  for (int i = 0; i < 2; ++i) {
    std::string raw;
    ASSERT_TRUE(absl::Base64Unescape(init->shares_base64[i], &raw));
    hex.push_back(absl::BytesToHexString(raw));
  }
  auto st = Submit(hex);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_FALSE(st->sealed);
}

TEST_F(CoreTest, SingleShareIsTheUnsealKey) {
  auto init = core_->Init(1, 1);
  ASSERT_TRUE(init.ok());
  std::string raw;
  ASSERT_TRUE(absl::Base64Unescape(init->shares_base64[0], &raw));
  EXPECT_EQ(raw.size(), kUnsealKeySize);
  auto st = core_->Unseal(init->shares_base64[0], false);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_FALSE(st->sealed);
}

TEST_F(CoreTest, RootTokenIsNeverStoredInClear) {
  auto init = core_->Init(1, 1);
  ASSERT_TRUE(init.ok());
  for (const auto& [k, v] : backend_->Snapshot()) {
    EXPECT_EQ(k.find(init->root_token), std::string::npos);
    EXPECT_EQ(v.find(init->root_token), std::string::npos);
    const std::string suffix = init->root_token.substr(7);
    EXPECT_EQ(v.find(suffix), std::string::npos);
  }
}

TEST_F(CoreTest, RekeyNeedsItsNonceAndReplacesShares) {
  auto init = core_->Init(3, 2);
  ASSERT_TRUE(init.ok());
  ASSERT_TRUE(Submit({init->shares_base64[0], init->shares_base64[1]}).ok());
  auto rekey = core_->RekeyInit(4, 3);
  ASSERT_TRUE(rekey.ok()) << rekey.status();
  EXPECT_TRUE(absl::IsFailedPrecondition(core_->RekeyInit(4, 3).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(core_->RekeyCancel("wrong-nonce")));
  EXPECT_TRUE(absl::IsInvalidArgument(
      core_->RekeyUpdate("wrong-nonce", init->shares_base64[0]).status()));
  auto r = core_->RekeyUpdate(rekey->nonce, init->shares_base64[0]);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->complete);
  r = core_->RekeyUpdate(rekey->nonce, init->shares_base64[2]);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->complete);
  ASSERT_EQ(r->shares_base64.size(), 4u);

  ASSERT_TRUE(core_->Seal().ok());
  // The new threshold is 3; three old shares combine to a wrong key.
  auto old = Submit({init->shares_base64[0], init->shares_base64[1],
                     init->shares_base64[2]});
  EXPECT_TRUE(absl::IsInvalidArgument(old.status())) << old.status();
  auto fresh = Submit(
      {r->shares_base64[3], r->shares_base64[1], r->shares_base64[0]});
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_FALSE(fresh->sealed);
  EXPECT_EQ(fresh->secret_shares, 4u);
}

TEST_F(CoreTest, RekeyCancelWithNonceStopsIt) {
  auto init = core_->Init(1, 1);
  ASSERT_TRUE(init.ok());
  ASSERT_TRUE(core_->Unseal(init->shares_base64[0], false).ok());
  auto rekey = core_->RekeyInit(3, 2);
  ASSERT_TRUE(rekey.ok());
  EXPECT_TRUE(core_->GetRekeyStatus().started);
  ASSERT_TRUE(core_->RekeyCancel(rekey->nonce).ok());
  EXPECT_FALSE(core_->GetRekeyStatus().started);
}

TEST_F(CoreTest, KvMountSurvivesSealUnseal) {
  auto init = core_->Init(1, 1);
  ASSERT_TRUE(init.ok());
  ASSERT_TRUE(core_->Unseal(init->shares_base64[0], false).ok());
  auto kv = core_->KvEngine("kv");
  ASSERT_TRUE(kv.ok());
  ASSERT_TRUE((*kv)->Put("a/b", {{"k", "v"}}, std::nullopt).ok());
  EXPECT_TRUE(absl::IsNotFound(core_->KvEngine("nope").status()));
  ASSERT_TRUE(core_->Seal().ok());
  EXPECT_TRUE(absl::IsUnavailable(core_->KvEngine("kv").status()));
  ASSERT_TRUE(core_->Unseal(init->shares_base64[0], false).ok());
  kv = core_->KvEngine("kv");
  ASSERT_TRUE(kv.ok());
  auto secret = (*kv)->Get("a/b");
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(secret->data.at("k"), "v");
}

TEST_F(CoreTest, TransitKeysSurviveSealUnsealAndCacheIsDropped) {
  auto init = core_->Init(1, 1);
  ASSERT_TRUE(init.ok());
  ASSERT_TRUE(core_->Unseal(init->shares_base64[0], false).ok());
  auto transit = core_->TransitEngine("transit");
  ASSERT_TRUE(transit.ok()) << transit.status();
  EXPECT_TRUE(transit->create_on_encrypt);
  ASSERT_TRUE(transit->engine->CreateKey("k", {}).ok());
  auto ct = transit->engine->Encrypt("k", "secret", {});
  ASSERT_TRUE(ct.ok());
  ASSERT_TRUE(transit->engine->Decrypt("k", ct->ciphertext, {}).ok());
  ASSERT_TRUE(core_->Seal().ok());
  EXPECT_TRUE(absl::IsUnavailable(core_->TransitEngine("transit").status()));
  // A handle kept across the seal has no key material left to use.
  EXPECT_FALSE(transit->engine->Decrypt("k", ct->ciphertext, {}).ok());
  ASSERT_TRUE(core_->Unseal(init->shares_base64[0], false).ok());
  auto again = core_->TransitEngine("transit");
  ASSERT_TRUE(again.ok());
  auto pt = again->engine->Decrypt("k", ct->ciphertext, {});
  ASSERT_TRUE(pt.ok()) << pt.status();
  EXPECT_EQ(*pt, "secret");
  // The decrypt before the seal was flushed on seal.
  auto info = again->engine->ReadKey("k");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->versions[0].decryptions, 2u);
}

TEST_F(CoreTest, DataDirWithoutTransitMountGetsOneAtUnseal) {
  auto init = core_->Init(1, 1);
  ASSERT_TRUE(init.ok());
  {
    // Rewrite the mount table as an init from before transit left it.
    barrier::Barrier barrier(backend_);
    auto key = DecodeShare(init->shares_base64[0]);
    ASSERT_TRUE(key.ok());
    ASSERT_TRUE(barrier.Unseal(*key).ok());
    auto raw = barrier.Get("core/mounts");
    ASSERT_TRUE(raw.ok() && raw->has_value());
    MountTable table;
    ASSERT_TRUE(table.ParseFromString(**raw));
    MountTable old;
    for (const Mount& m : table.mounts()) {
      if (m.type() == "kv") *old.add_mounts() = m;
    }
    ASSERT_EQ(old.mounts_size(), 1);
    ASSERT_TRUE(barrier.Put("core/mounts", old.SerializeAsString()).ok());
    barrier.Seal();
  }
  ASSERT_TRUE(core_->Unseal(init->shares_base64[0], false).ok());
  auto transit = core_->TransitEngine("transit");
  ASSERT_TRUE(transit.ok()) << transit.status();
  ASSERT_TRUE(transit->engine->CreateKey("k", {}).ok());
  // The added mount was stored: same storage after the next unseal.
  ASSERT_TRUE(core_->Seal().ok());
  ASSERT_TRUE(core_->Unseal(init->shares_base64[0], false).ok());
  auto again = core_->TransitEngine("transit");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->engine->ReadKey("k").ok());
  EXPECT_TRUE(core_->KvEngine("kv").ok());
}

TEST_F(CoreTest, TransitMountOptionIsStoredInMountTable) {
  auto init = core_->Init(1, 1);
  ASSERT_TRUE(init.ok());
  ASSERT_TRUE(core_->Unseal(init->shares_base64[0], false).ok());
  ASSERT_TRUE(core_->TuneTransitMount("transit", false).ok());
  EXPECT_FALSE(core_->TransitEngine("transit")->create_on_encrypt);
  EXPECT_TRUE(absl::IsNotFound(core_->TuneTransitMount("kv", false)));
  ASSERT_TRUE(core_->Seal().ok());
  ASSERT_TRUE(core_->Unseal(init->shares_base64[0], false).ok());
  EXPECT_FALSE(core_->TransitEngine("transit")->create_on_encrypt);
}

TEST_F(CoreTest, MalformedShareResetsUnsealProgress) {
  auto init = core_->Init(3, 2);
  ASSERT_TRUE(init.ok());
  auto st = core_->Unseal(init->shares_base64[0], false);
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(st->progress, 1u);
  auto bad = core_->Unseal("not-a-share", false);
  ASSERT_TRUE(absl::IsInvalidArgument(bad.status()));
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("progress was reset"));
  auto now = core_->GetSealStatus();
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->progress, 0u);
  // The quorum starts over: one more good share alone does not unseal.
  st = core_->Unseal(init->shares_base64[1], false);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->sealed);
  EXPECT_EQ(st->progress, 1u);
}

TEST_F(CoreTest, MalformedShareResetsRekeyProgress) {
  auto init = core_->Init(3, 2);
  ASSERT_TRUE(init.ok());
  ASSERT_TRUE(Submit({init->shares_base64[0], init->shares_base64[1]}).ok());
  auto rekey = core_->RekeyInit(3, 2);
  ASSERT_TRUE(rekey.ok());
  ASSERT_EQ(core_->RekeyUpdate(rekey->nonce, init->shares_base64[0])->progress,
            1u);
  EXPECT_TRUE(absl::IsInvalidArgument(
      core_->RekeyUpdate(rekey->nonce, "AAAA").status()));
  EXPECT_EQ(core_->GetRekeyStatus().progress, 0u);
}

TEST_F(CoreTest, InitCutShortByACrashCanBeRedone) {
  // What a crash between the barrier's records and the seal configuration
  // leaves behind: a root key no one holds shares for.
  {
    barrier::Barrier orphan(backend_);
    kms::SecretBytes lost = kms::SecretBytes::CopyFrom(std::string(32, 'k'));
    ASSERT_TRUE(orphan.Initialize(lost).ok());
  }
  auto status = core_->GetSealStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_FALSE(status->initialized);
  auto init = core_->Init(1, 1);
  ASSERT_TRUE(init.ok()) << init.status();
  auto st = core_->Unseal(init->shares_base64[0], false);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_FALSE(st->sealed);
}

TEST_F(CoreTest, MissingSealConfigBesideSecretsIsNotReinitialized) {
  auto init = core_->Init(1, 1);
  ASSERT_TRUE(init.ok());
  ASSERT_TRUE(core_->Unseal(init->shares_base64[0], false).ok());
  ASSERT_TRUE((*core_->KvEngine("kv"))->Put("a", {{"k", "v"}}, std::nullopt)
                  .ok());
  ASSERT_TRUE(core_->Seal().ok());
  ASSERT_TRUE(backend_->Delete("core/seal-config").ok());
  EXPECT_TRUE(absl::IsDataLoss(core_->Init(1, 1).status()));
  // Nothing was deleted: the stored secret records are still there.
  auto logical = backend_->List("logical/");
  ASSERT_TRUE(logical.ok());
  EXPECT_FALSE(logical->empty());
}

// A backend whose batches fail, as a crash or full disk would make them.
class FailingBatchBackend : public storage::InMemoryBackend {
 public:
  absl::Status Batch(const std::vector<storage::Mutation>& m) override {
    if (fail) return absl::UnavailableError("disk full");
    return InMemoryBackend::Batch(m);
  }
  bool fail = false;
};

TEST(CoreRekeyTest, FailedRekeyWriteKeepsOldSharesWorking) {
  auto owned = std::make_unique<FailingBatchBackend>();
  FailingBatchBackend* backend = owned.get();
  auto core = Core::Open(std::move(owned));
  ASSERT_TRUE(core.ok());
  auto init = (*core)->Init(3, 2);
  ASSERT_TRUE(init.ok());
  ASSERT_TRUE((*core)->Unseal(init->shares_base64[0], false).ok());
  ASSERT_TRUE((*core)->Unseal(init->shares_base64[1], false).ok());
  auto rekey = (*core)->RekeyInit(5, 3);
  ASSERT_TRUE(rekey.ok());
  ASSERT_TRUE((*core)->RekeyUpdate(rekey->nonce, init->shares_base64[0]).ok());
  backend->fail = true;
  EXPECT_FALSE(
      (*core)->RekeyUpdate(rekey->nonce, init->shares_base64[1]).ok());
  backend->fail = false;
  ASSERT_TRUE((*core)->Seal().ok());
  auto status = (*core)->GetSealStatus();
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->secret_shares, 3u);
  EXPECT_EQ(status->secret_threshold, 2u);
  ASSERT_TRUE((*core)->Unseal(init->shares_base64[2], false).ok());
  auto st = (*core)->Unseal(init->shares_base64[1], false);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_FALSE(st->sealed);
}

TEST_F(CoreTest, TokenizeIsMountedAtInitAndKeepsTokensAcrossSeal) {
  auto init = core_->Init(1, 1);
  ASSERT_TRUE(init.ok());
  ASSERT_TRUE(core_->Unseal(init->shares_base64[0], false).ok());
  auto tk = core_->TokenizeEngine("tokenize");
  ASSERT_TRUE(tk.ok()) << tk.status();
  engines::tokenize::TransformationOptions o;
  o.type = engines::tokenize::TransformationType::kTokenization;
  o.template_name = "ssn";
  ASSERT_TRUE((*tk)->CreateTransformation("t", o).ok());
  ASSERT_TRUE((*tk)->WriteRole("r", {"t"}).ok());
  engines::tokenize::EncodeItem item;
  item.value = "123-45-6789";
  auto token = (*tk)->Encode("r", "t", item);
  ASSERT_TRUE(token.ok());
  ASSERT_TRUE(core_->Seal().ok());
  EXPECT_TRUE(absl::IsUnavailable(core_->TokenizeEngine("tokenize").status()));
  ASSERT_TRUE(core_->Unseal(init->shares_base64[0], false).ok());
  tk = core_->TokenizeEngine("tokenize");
  ASSERT_TRUE(tk.ok());
  engines::tokenize::DecodeItem d;
  d.value = token->token;
  auto value = (*tk)->Decode("r", "t", d);
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(value->value, "123-45-6789");
}

TEST_F(CoreTest, TokenizeIsAddedAtUnsealToADataDirThatPredatesIt) {
  auto init = core_->Init(1, 1);
  ASSERT_TRUE(init.ok());
  // Rewrite the mount table as an older server left it: kv only.
  std::string key;
  ASSERT_TRUE(absl::Base64Unescape(init->shares_base64[0], &key));
  {
    barrier::Barrier barrier(backend_);
    ASSERT_TRUE(barrier.Unseal(kms::SecretBytes::CopyFrom(key)).ok());
    auto raw = barrier.Get("core/mounts");
    ASSERT_TRUE(raw.ok() && raw->has_value());
    MountTable table;
    ASSERT_TRUE(table.ParseFromString(**raw));
    MountTable old;
    for (const Mount& m : table.mounts()) {
      if (m.type() == "kv") *old.add_mounts() = m;
    }
    ASSERT_EQ(old.mounts_size(), 1);
    ASSERT_TRUE(barrier.Put("core/mounts", old.SerializeAsString()).ok());
    barrier.Seal();
  }
  ASSERT_TRUE(core_->Unseal(init->shares_base64[0], false).ok());
  EXPECT_TRUE(core_->KvEngine("kv").ok());
  EXPECT_TRUE(core_->TokenizeEngine("tokenize").ok());
  // The added mount is persisted: its View stays the same after a reseal.
  auto tk = core_->TokenizeEngine("tokenize");
  engines::tokenize::TransformationOptions o;
  o.template_name = "pan";
  ASSERT_TRUE((*tk)->CreateTransformation("f", o).ok());
  ASSERT_TRUE(core_->Seal().ok());
  ASSERT_TRUE(core_->Unseal(init->shares_base64[0], false).ok());
  EXPECT_TRUE(
      (*core_->TokenizeEngine("tokenize"))->ReadTransformation("f").ok());
}

}  // namespace
}  // namespace arca::core
