#include "server/engines/kv/engine.h"

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kms/mac.h"
#include "kms/random.h"
#include "server/barrier/barrier.h"
#include "server/storage/in_memory_backend.h"

namespace arca::engines::kv {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

#define ASSERT_OK(expr)                                   \
  do {                                                    \
    const auto& kv_test_s_ = (expr);                      \
    ASSERT_TRUE(kv_test_s_.ok()) << StatusOf(kv_test_s_); \
  } while (0)

#define EXPECT_OK(expr)                                   \
  do {                                                    \
    const auto& kv_test_s_ = (expr);                      \
    EXPECT_TRUE(kv_test_s_.ok()) << StatusOf(kv_test_s_); \
  } while (0)

absl::Status StatusOf(const absl::Status& s) { return s; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

constexpr char kViewPrefix[] = "logical/kv/";

// InMemoryBackend that counts writes and can be told to fail batches, to
// check that every engine write is a single atomic batch.
class CountingBackend : public storage::InMemoryBackend {
 public:
  absl::Status Put(std::string_view key, std::string_view value) override {
    ++puts;
    return InMemoryBackend::Put(key, value);
  }
  absl::StatusOr<std::optional<std::string>> Get(
      std::string_view key) override {
    ++gets;
    return InMemoryBackend::Get(key);
  }
  absl::Status Delete(std::string_view key) override {
    ++deletes;
    return InMemoryBackend::Delete(key);
  }
  absl::Status Batch(const std::vector<storage::Mutation>& mutations) override {
    ++batches;
    if (fail_batches) return absl::UnavailableError("injected write failure");
    return InMemoryBackend::Batch(mutations);
  }
  void ResetCounts() { puts = deletes = batches = gets = 0; }

  std::atomic<int> gets{0};
  std::atomic<int> puts{0};
  std::atomic<int> deletes{0};
  std::atomic<int> batches{0};
  std::atomic<bool> fail_batches{false};
};
constexpr int64_t kStartMs = 1'700'000'000'000;

class KvEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kms::SecretBytes key = kms::RandomSecret(32);
    ASSERT_OK(barrier_.Initialize(key));
    ASSERT_OK(barrier_.Unseal(key));
    engine_ = std::make_unique<Engine>(barrier::View(&barrier_, kViewPrefix),
                                       [this] { return now_ms_.load(); });
  }

  // The storage key of a version's data, per the layout in engine.cc.
  static std::string StoredDataKey(std::string_view path, uint64_t version) {
    return absl::StrCat(kViewPrefix, "data/",
                        absl::BytesToHexString(kms::Sha256(path)), "/",
                        absl::StrFormat("%020d", version));
  }

  // Raw storage keys that start with `prefix`.
  std::vector<std::string> StoredKeysUnder(std::string_view prefix) const {
    std::vector<std::string> out;
    for (const auto& [key, value] : backend_.Snapshot()) {
      if (absl::StartsWith(key,
                           absl::string_view(prefix.data(), prefix.size())))
        out.push_back(key);
    }
    return out;
  }

  bool Stored(const std::string& key) const {
    return backend_.Snapshot().count(key) > 0;
  }

  VersionMetadata MustPut(std::string_view path, const Data& data,
                          std::optional<uint64_t> cas = std::nullopt) {
    absl::StatusOr<VersionMetadata> v = engine_->Put(path, data, cas);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : VersionMetadata{};
  }

  CountingBackend backend_;
  barrier::Barrier barrier_{&backend_};
  std::atomic<int64_t> now_ms_{kStartMs};
  std::unique_ptr<Engine> engine_;
};

TEST_F(KvEngineTest, PutThenGetReturnsSameData) {
  Data data = {{"username", "svc-loans"}, {"password", "hunter2"}};
  VersionMetadata v = MustPut("app/db", data);
  EXPECT_EQ(v.version, 1u);
  EXPECT_EQ(v.created_time_unix_ms, kStartMs);

  absl::StatusOr<Secret> got = engine_->Get("app/db");
  ASSERT_OK(got);
  EXPECT_EQ(got->data, data);
  EXPECT_EQ(got->metadata.version, 1u);
  EXPECT_EQ(got->metadata.created_time_unix_ms, kStartMs);
  EXPECT_EQ(got->metadata.deletion_time_unix_ms, 0);
  EXPECT_FALSE(got->metadata.destroyed);
}

TEST_F(KvEngineTest, WriterDoesNotReadBackTheMetadataItWroteButSeesOthers) {
  MustPut("app/db", {{"k", "1"}});
  backend_.ResetCounts();
  EXPECT_EQ(MustPut("app/db", {{"k", "2"}}).version, 2u);
  EXPECT_EQ(backend_.gets.load(), 0);  // metadata kept from the last write
  ASSERT_OK(engine_->Delete("app/db", {}));
  MetadataUpdate one_version;
  one_version.max_versions = 1;
  ASSERT_OK(engine_->PutMetadata("app/db", one_version));
  EXPECT_EQ(backend_.gets.load(), 0);
  EXPECT_EQ(MustPut("app/db", {{"k", "3"}}).version, 3u);
  Metadata m = *engine_->GetMetadata("app/db");
  EXPECT_EQ(m.max_versions, 1u);
  ASSERT_EQ(m.versions.size(), 1u);  // pruned by the cached max_versions
  // After the secret's metadata is deleted, a put starts again at 1.
  ASSERT_OK(engine_->DeleteMetadata("app/db"));
  EXPECT_EQ(MustPut("app/db", {{"k", "4"}}).version, 1u);
}

TEST_F(KvEngineTest, BinaryKeysAndValuesRoundTrip) {
  Data data = {{std::string("k\0ey", 4), std::string("\xff\x00\xfe\x80", 4)},
               {"empty", ""}};
  MustPut("bin", data);
  absl::StatusOr<Secret> got = engine_->Get("bin");
  ASSERT_OK(got);
  EXPECT_EQ(got->data, data);
}

TEST_F(KvEngineTest, EmptyDataIsAValidVersion) {
  MustPut("empty", {});
  absl::StatusOr<Secret> got = engine_->Get("empty");
  ASSERT_OK(got);
  EXPECT_THAT(got->data, IsEmpty());
  EXPECT_EQ(got->metadata.version, 1u);
}

TEST_F(KvEngineTest, SecretValueIsNotStoredInClear) {
  const std::string value = "plaintext-marker-9f3a1c";
  MustPut("app/db", {{"password", value}});
  for (const auto& [key, stored] : backend_.Snapshot()) {
    EXPECT_THAT(stored, Not(HasSubstr(value))) << key;
    EXPECT_THAT(key, Not(HasSubstr(value)));
  }
}

TEST_F(KvEngineTest, EachPutCreatesTheNextVersion) {
  for (uint64_t i = 1; i <= 3; ++i) {
    now_ms_ = kStartMs + static_cast<int64_t>(i);
    EXPECT_EQ(MustPut("p", {{"n", std::to_string(i)}}).version, i);
  }
  absl::StatusOr<Secret> latest = engine_->Get("p");
  ASSERT_OK(latest);
  EXPECT_EQ(latest->metadata.version, 3u);
  EXPECT_EQ(latest->data.at("n"), "3");

  absl::StatusOr<Metadata> meta = engine_->GetMetadata("p");
  ASSERT_OK(meta);
  EXPECT_EQ(meta->path, "p");
  EXPECT_EQ(meta->current_version, 3u);
  EXPECT_EQ(meta->oldest_version, 1u);
  EXPECT_EQ(meta->created_time_unix_ms, kStartMs + 1);
  EXPECT_EQ(meta->updated_time_unix_ms, kStartMs + 3);
  ASSERT_EQ(meta->versions.size(), 3u);
  for (uint64_t i = 0; i < 3; ++i) {
    EXPECT_EQ(meta->versions[i].version, i + 1);
    EXPECT_EQ(meta->versions[i].created_time_unix_ms,
              kStartMs + static_cast<int64_t>(i) + 1);
  }
}

TEST_F(KvEngineTest, GetOfSpecificVersionReturnsThatVersionsData) {
  MustPut("p", {{"v", "one"}});
  MustPut("p", {{"v", "two"}});
  MustPut("p", {{"v", "three"}});
  absl::StatusOr<Secret> v2 = engine_->Get("p", 2);
  ASSERT_OK(v2);
  EXPECT_EQ(v2->data.at("v"), "two");
  EXPECT_EQ(v2->metadata.version, 2u);
  absl::StatusOr<Secret> v1 = engine_->Get("p", 1);
  ASSERT_OK(v1);
  EXPECT_EQ(v1->data.at("v"), "one");
}

TEST_F(KvEngineTest, GetOfMissingPathOrVersionIsNotFound) {
  EXPECT_EQ(engine_->Get("nothing/here").status().code(),
            absl::StatusCode::kNotFound);
  MustPut("p", {{"v", "one"}});
  EXPECT_EQ(engine_->Get("p", 2).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(engine_->GetMetadata("nothing").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(KvEngineTest, MaxVersionsPrunesOldVersionsAndTheirStoredData) {
  MetadataUpdate update;
  update.max_versions = 3;
  ASSERT_OK(engine_->PutMetadata("p", update));
  for (int i = 1; i <= 5; ++i) MustPut("p", {{"n", std::to_string(i)}});

  absl::StatusOr<Metadata> meta = engine_->GetMetadata("p");
  ASSERT_OK(meta);
  EXPECT_EQ(meta->max_versions, 3u);
  EXPECT_EQ(meta->current_version, 5u);
  EXPECT_EQ(meta->oldest_version, 3u);
  ASSERT_EQ(meta->versions.size(), 3u);
  EXPECT_EQ(meta->versions.front().version, 3u);

  EXPECT_EQ(engine_->Get("p", 1).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(engine_->Get("p", 2).status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<Secret> v3 = engine_->Get("p", 3);
  ASSERT_OK(v3);
  EXPECT_EQ(v3->data.at("n"), "3");

  EXPECT_FALSE(Stored(StoredDataKey("p", 1)));
  EXPECT_FALSE(Stored(StoredDataKey("p", 2)));
  EXPECT_TRUE(Stored(StoredDataKey("p", 3)));
  EXPECT_TRUE(Stored(StoredDataKey("p", 5)));
  EXPECT_EQ(StoredKeysUnder(absl::StrCat(kViewPrefix, "data/")).size(), 3u);
}

TEST_F(KvEngineTest, DefaultMaxVersionsKeepsTen) {
  for (int i = 1; i <= 12; ++i) MustPut("p", {{"n", std::to_string(i)}});
  absl::StatusOr<Metadata> meta = engine_->GetMetadata("p");
  ASSERT_OK(meta);
  EXPECT_EQ(meta->max_versions, 0u);
  EXPECT_EQ(meta->oldest_version, 3u);
  EXPECT_EQ(meta->versions.size(), Engine::kDefaultMaxVersions);
  EXPECT_EQ(StoredKeysUnder(absl::StrCat(kViewPrefix, "data/")).size(),
            Engine::kDefaultMaxVersions);
  EXPECT_EQ(engine_->Get("p", 2).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(KvEngineTest, LoweringMaxVersionsPrunesImmediately) {
  for (int i = 1; i <= 4; ++i) MustPut("p", {{"n", std::to_string(i)}});
  MetadataUpdate update;
  update.max_versions = 1;
  ASSERT_OK(engine_->PutMetadata("p", update));
  absl::StatusOr<Metadata> meta = engine_->GetMetadata("p");
  ASSERT_OK(meta);
  ASSERT_EQ(meta->versions.size(), 1u);
  EXPECT_EQ(meta->versions[0].version, 4u);
  EXPECT_THAT(StoredKeysUnder(absl::StrCat(kViewPrefix, "data/")),
              ElementsAre(StoredDataKey("p", 4)));
}

TEST_F(KvEngineTest, EveryWriteIsOneStorageBatch) {
  MetadataUpdate update;
  update.max_versions = 2;
  ASSERT_OK(engine_->PutMetadata("p", update));
  MustPut("p", {{"n", "1"}});
  MustPut("p", {{"n", "2"}});

  auto expect_one_batch = [&](const absl::Status& s, const char* what) {
    EXPECT_TRUE(s.ok()) << what << ": " << s;
    EXPECT_EQ(backend_.batches.load(), 1) << what;
    EXPECT_EQ(backend_.puts.load(), 0) << what;
    EXPECT_EQ(backend_.deletes.load(), 0) << what;
    backend_.ResetCounts();
  };
  backend_.ResetCounts();
  // Writes version 3, prunes version 1 and rewrites the metadata.
  expect_one_batch(StatusOf(engine_->Put("p", {{"n", "3"}}, std::nullopt)),
                   "put");
  expect_one_batch(engine_->Delete("p", {}), "delete");
  expect_one_batch(engine_->Undelete("p", {3}), "undelete");
  expect_one_batch(engine_->Destroy("p", {2}), "destroy");
  update.max_versions = 1;
  expect_one_batch(engine_->PutMetadata("p", update), "put metadata");
  expect_one_batch(engine_->DeleteMetadata("p"), "delete metadata");
}

TEST_F(KvEngineTest, FailedWriteLeavesStorageAndSecretUnchanged) {
  MetadataUpdate update;
  update.max_versions = 2;
  ASSERT_OK(engine_->PutMetadata("p", update));
  MustPut("p", {{"n", "1"}});
  MustPut("p", {{"n", "2"}});
  const std::map<std::string, std::string> before = backend_.Snapshot();

  backend_.fail_batches = true;
  EXPECT_FALSE(engine_->Put("p", {{"n", "3"}}, std::nullopt).ok());
  EXPECT_FALSE(engine_->Destroy("p", {1, 2}).ok());
  EXPECT_FALSE(engine_->DeleteMetadata("p").ok());
  backend_.fail_batches = false;

  EXPECT_EQ(backend_.Snapshot(), before);
  absl::StatusOr<Secret> got = engine_->Get("p");
  ASSERT_OK(got);
  EXPECT_EQ(got->metadata.version, 2u);
  EXPECT_EQ(got->data.at("n"), "2");
  EXPECT_OK(engine_->Get("p", 1));
  // The failed write did not use up a version number.
  EXPECT_EQ(MustPut("p", {{"n", "3"}}).version, 3u);
}

TEST_F(KvEngineTest, CasZeroCreatesANewSecret) {
  EXPECT_EQ(MustPut("p", {{"a", "1"}}, 0).version, 1u);
}

TEST_F(KvEngineTest, CasZeroOnExistingSecretIsFailedPrecondition) {
  MustPut("p", {{"a", "1"}});
  absl::StatusOr<VersionMetadata> v = engine_->Put("p", {{"a", "2"}}, 0);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<Secret> got = engine_->Get("p");
  ASSERT_OK(got);
  EXPECT_EQ(got->data.at("a"), "1");
}

TEST_F(KvEngineTest, CasMismatchIsFailedPreconditionAndWritesNothing) {
  MustPut("p", {{"a", "1"}});
  MustPut("p", {{"a", "2"}});
  absl::StatusOr<VersionMetadata> v =
      engine_->Put("p", {{"a", "secret-value-7731"}}, 1);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(v.status().message(), Not(HasSubstr("secret-value-7731")));
  absl::StatusOr<Metadata> meta = engine_->GetMetadata("p");
  ASSERT_OK(meta);
  EXPECT_EQ(meta->current_version, 2u);
}

TEST_F(KvEngineTest, CasMatchingCurrentVersionSucceeds) {
  MustPut("p", {{"a", "1"}});
  MustPut("p", {{"a", "2"}});
  EXPECT_EQ(MustPut("p", {{"a", "3"}}, 2).version, 3u);
}

TEST_F(KvEngineTest, CasRequiredRejectsPutWithoutCas) {
  MetadataUpdate update;
  update.cas_required = true;
  ASSERT_OK(engine_->PutMetadata("p", update));
  EXPECT_EQ(engine_->Put("p", {{"a", "1"}}, std::nullopt).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(MustPut("p", {{"a", "1"}}, 0).version, 1u);
  EXPECT_EQ(engine_->Put("p", {{"a", "2"}}, std::nullopt).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(MustPut("p", {{"a", "2"}}, 1).version, 2u);

  update.cas_required = false;
  ASSERT_OK(engine_->PutMetadata("p", update));
  EXPECT_EQ(MustPut("p", {{"a", "3"}}).version, 3u);
}

TEST_F(KvEngineTest, PutMetadataOnNewPathCreatesEmptySecret) {
  MetadataUpdate update;
  update.custom_metadata =
      std::map<std::string, std::string>{{"owner", "loans"}};
  ASSERT_OK(engine_->PutMetadata("p", update));
  absl::StatusOr<Metadata> meta = engine_->GetMetadata("p");
  ASSERT_OK(meta);
  EXPECT_EQ(meta->current_version, 0u);
  EXPECT_EQ(meta->oldest_version, 0u);
  EXPECT_THAT(meta->versions, IsEmpty());
  EXPECT_EQ(meta->custom_metadata.at("owner"), "loans");
  EXPECT_EQ(engine_->Get("p").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(MustPut("p", {{"a", "1"}}, 0).version, 1u);
}

TEST_F(KvEngineTest, CustomMetadataIsReplacedAndSurvivesPuts) {
  MetadataUpdate update;
  update.custom_metadata =
      std::map<std::string, std::string>{{"owner", "loans"}, {"tier", "1"}};
  ASSERT_OK(engine_->PutMetadata("p", update));
  MustPut("p", {{"a", "1"}});
  update.custom_metadata = std::map<std::string, std::string>{{"owner", "ops"}};
  ASSERT_OK(engine_->PutMetadata("p", update));
  MustPut("p", {{"a", "2"}});
  absl::StatusOr<Metadata> meta = engine_->GetMetadata("p");
  ASSERT_OK(meta);
  EXPECT_EQ(meta->custom_metadata,
            (std::map<std::string, std::string>{{"owner", "ops"}}));

  // A metadata update that leaves custom_metadata unset keeps it.
  MetadataUpdate other;
  other.max_versions = 5;
  ASSERT_OK(engine_->PutMetadata("p", other));
  meta = engine_->GetMetadata("p");
  ASSERT_OK(meta);
  EXPECT_EQ(meta->custom_metadata.size(), 1u);
  EXPECT_EQ(meta->max_versions, 5u);
}

TEST_F(KvEngineTest, OversizedCustomMetadataIsInvalidArgument) {
  std::map<std::string, std::string> many;
  for (int i = 0; i < 65; ++i) many[absl::StrCat("k", i)] = "v";
  MetadataUpdate update;
  update.custom_metadata = many;
  EXPECT_EQ(engine_->PutMetadata("p", update).code(),
            absl::StatusCode::kInvalidArgument);
  update.custom_metadata =
      std::map<std::string, std::string>{{"k", std::string(513, 'v')}};
  EXPECT_EQ(engine_->PutMetadata("p", update).code(),
            absl::StatusCode::kInvalidArgument);
  update.custom_metadata =
      std::map<std::string, std::string>{{std::string(129, 'k'), "v"}};
  EXPECT_EQ(engine_->PutMetadata("p", update).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->GetMetadata("p").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(KvEngineTest, SoftDeleteHidesVersionUntilUndeleted) {
  MustPut("p", {{"a", "1"}});
  now_ms_ = kStartMs + 500;
  ASSERT_OK(engine_->Delete("p", {}));
  EXPECT_EQ(engine_->Get("p").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(engine_->Get("p", 1).status().code(), absl::StatusCode::kNotFound);

  absl::StatusOr<Metadata> meta = engine_->GetMetadata("p");
  ASSERT_OK(meta);
  EXPECT_EQ(meta->versions[0].deletion_time_unix_ms, kStartMs + 500);
  EXPECT_FALSE(meta->versions[0].destroyed);
  // Soft delete keeps the data so that undelete can restore it.
  EXPECT_TRUE(Stored(StoredDataKey("p", 1)));

  ASSERT_OK(engine_->Undelete("p", {1}));
  absl::StatusOr<Secret> got = engine_->Get("p");
  ASSERT_OK(got);
  EXPECT_EQ(got->data.at("a"), "1");
  EXPECT_EQ(got->metadata.deletion_time_unix_ms, 0);
}

TEST_F(KvEngineTest, DeleteWithoutVersionsDeletesOnlyTheLatest) {
  MustPut("p", {{"a", "1"}});
  MustPut("p", {{"a", "2"}});
  ASSERT_OK(engine_->Delete("p", {}));
  EXPECT_EQ(engine_->Get("p", 2).status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<Secret> v1 = engine_->Get("p", 1);
  ASSERT_OK(v1);
  EXPECT_EQ(v1->data.at("a"), "1");
}

TEST_F(KvEngineTest, DeleteOfGivenVersionsDeletesExactlyThose) {
  for (int i = 1; i <= 4; ++i) MustPut("p", {{"n", std::to_string(i)}});
  ASSERT_OK(engine_->Delete("p", {1, 3, 99}));
  EXPECT_EQ(engine_->Get("p", 1).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(engine_->Get("p", 3).status().code(), absl::StatusCode::kNotFound);
  EXPECT_OK(engine_->Get("p", 2));
  EXPECT_OK(engine_->Get("p", 4));
  absl::StatusOr<Metadata> meta = engine_->GetMetadata("p");
  ASSERT_OK(meta);
  EXPECT_NE(meta->versions[0].deletion_time_unix_ms, 0);
  EXPECT_EQ(meta->versions[1].deletion_time_unix_ms, 0);
  EXPECT_NE(meta->versions[2].deletion_time_unix_ms, 0);
  EXPECT_EQ(meta->versions[3].deletion_time_unix_ms, 0);
}

TEST_F(KvEngineTest, WritesToMissingSecretAreNotFound) {
  EXPECT_EQ(engine_->Delete("nope", {}).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(engine_->Undelete("nope", {1}).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(engine_->Destroy("nope", {1}).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(engine_->DeleteMetadata("nope").code(),
            absl::StatusCode::kNotFound);
}

TEST_F(KvEngineTest, UndeleteAndDestroyNeedVersions) {
  MustPut("p", {{"a", "1"}});
  EXPECT_EQ(engine_->Undelete("p", {}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->Destroy("p", {}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->Destroy("p", {0}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_OK(engine_->Get("p"));
}

TEST_F(KvEngineTest, DestroyIsPermanent) {
  MustPut("p", {{"a", "1"}});
  MustPut("p", {{"a", "2"}});
  ASSERT_TRUE(Stored(StoredDataKey("p", 1)));
  ASSERT_OK(engine_->Destroy("p", {1}));

  EXPECT_FALSE(Stored(StoredDataKey("p", 1)));
  EXPECT_TRUE(Stored(StoredDataKey("p", 2)));
  EXPECT_EQ(engine_->Get("p", 1).status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<Metadata> meta = engine_->GetMetadata("p");
  ASSERT_OK(meta);
  EXPECT_TRUE(meta->versions[0].destroyed);
  EXPECT_FALSE(meta->versions[1].destroyed);

  // Neither undelete nor deleting and undeleting brings it back.
  ASSERT_OK(engine_->Undelete("p", {1}));
  EXPECT_EQ(engine_->Get("p", 1).status().code(), absl::StatusCode::kNotFound);
  ASSERT_OK(engine_->Delete("p", {1}));
  ASSERT_OK(engine_->Undelete("p", {1}));
  EXPECT_EQ(engine_->Get("p", 1).status().code(), absl::StatusCode::kNotFound);
  meta = engine_->GetMetadata("p");
  ASSERT_OK(meta);
  EXPECT_TRUE(meta->versions[0].destroyed);
  EXPECT_EQ(meta->current_version, 2u);
}

TEST_F(KvEngineTest, DestroyOfDeletedVersionRemovesItsData) {
  MustPut("p", {{"a", "1"}});
  ASSERT_OK(engine_->Delete("p", {}));
  ASSERT_OK(engine_->Destroy("p", {1}));
  EXPECT_FALSE(Stored(StoredDataKey("p", 1)));
}

TEST_F(KvEngineTest, DeleteMetadataRemovesEverything) {
  for (int i = 1; i <= 3; ++i) MustPut("app/p", {{"n", std::to_string(i)}});
  ASSERT_OK(engine_->Delete("app/p", {2}));
  ASSERT_OK(engine_->Destroy("app/p", {1}));
  MustPut("app/other", {{"keep", "me"}});

  ASSERT_OK(engine_->DeleteMetadata("app/p"));
  EXPECT_EQ(engine_->GetMetadata("app/p").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(engine_->Get("app/p").status().code(), absl::StatusCode::kNotFound);
  for (uint64_t v = 1; v <= 3; ++v)
    EXPECT_FALSE(Stored(StoredDataKey("app/p", v)));
  EXPECT_FALSE(Stored(absl::StrCat(kViewPrefix, "metadata/app/p")));
  // Only the other secret's metadata and one data record remain.
  EXPECT_EQ(StoredKeysUnder(kViewPrefix).size(), 2u);
  EXPECT_OK(engine_->Get("app/other"));

  // The path can be written again, from version 1.
  EXPECT_EQ(MustPut("app/p", {{"n", "new"}}, 0).version, 1u);
}

TEST_F(KvEngineTest, PathThatLooksLikeAVersionKeyDoesNotCollide) {
  MustPut("x", {{"a", "parent"}});
  MustPut("x/00000000000000000001", {{"a", "child"}});
  ASSERT_OK(engine_->DeleteMetadata("x"));
  absl::StatusOr<Secret> child = engine_->Get("x/00000000000000000001");
  ASSERT_OK(child);
  EXPECT_EQ(child->data.at("a"), "child");
}

TEST_F(KvEngineTest, ListReturnsDirectChildrenWithFoldersSuffixed) {
  MustPut("app/db", {{"a", "1"}});
  MustPut("app/api/key", {{"a", "1"}});
  MustPut("app/api/cert", {{"a", "1"}});
  MustPut("top", {{"a", "1"}});

  absl::StatusOr<std::vector<std::string>> root = engine_->List("");
  ASSERT_OK(root);
  EXPECT_THAT(*root, ElementsAre("app/", "top"));

  absl::StatusOr<std::vector<std::string>> app = engine_->List("app");
  ASSERT_OK(app);
  EXPECT_THAT(*app, ElementsAre("api/", "db"));
  absl::StatusOr<std::vector<std::string>> app_slash = engine_->List("app/");
  ASSERT_OK(app_slash);
  EXPECT_EQ(*app_slash, *app);

  absl::StatusOr<std::vector<std::string>> api = engine_->List("app/api");
  ASSERT_OK(api);
  EXPECT_THAT(*api, ElementsAre("cert", "key"));
}

TEST_F(KvEngineTest, SecretAndFolderOfTheSameNameAreBothListed) {
  MustPut("a", {{"k", "1"}});
  MustPut("a/b", {{"k", "2"}});
  absl::StatusOr<std::vector<std::string>> root = engine_->List("");
  ASSERT_OK(root);
  EXPECT_THAT(*root, ElementsAre("a", "a/"));
}

TEST_F(KvEngineTest, ListOfMissingPrefixIsNotFound) {
  EXPECT_EQ(engine_->List("").status().code(), absl::StatusCode::kNotFound);
  MustPut("app/db", {{"a", "1"}});
  EXPECT_EQ(engine_->List("nope").status().code(), absl::StatusCode::kNotFound);
  // A secret is not a folder.
  EXPECT_EQ(engine_->List("app/db").status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_OK(engine_->DeleteMetadata("app/db"));
  EXPECT_EQ(engine_->List("app").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(KvEngineTest, SecretOfExactlyMaxBytesIsAccepted) {
  // One key byte plus the value makes exactly 512 KiB.
  Data data = {{"k", std::string(Engine::kMaxSecretBytes - 1, 'x')}};
  MustPut("big", data);
  absl::StatusOr<Secret> got = engine_->Get("big");
  ASSERT_OK(got);
  EXPECT_EQ(got->data, data);
}

TEST_F(KvEngineTest, SecretOneByteOverMaxIsResourceExhausted) {
  // One key byte plus the value makes 512 KiB + 1.
  std::string value(Engine::kMaxSecretBytes, 'y');
  value.replace(0, 12, "valuemarker!");
  Data data = {{"k", value}};
  absl::StatusOr<VersionMetadata> v = engine_->Put("big", data, std::nullopt);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(v.status().message(), "secret data exceeds 524288 bytes");
  EXPECT_EQ(engine_->GetMetadata("big").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(KvEngineTest, OddDataIsInvalidArgument) {
  EXPECT_EQ(engine_->Put("p", {{"", "v"}}, std::nullopt).status().code(),
            absl::StatusCode::kInvalidArgument);
  Data many;
  for (int i = 0; i < 4097; ++i) many[absl::StrCat(i)] = "";
  EXPECT_EQ(engine_->Put("p", many, std::nullopt).status().code(),
            absl::StatusCode::kInvalidArgument);
  MetadataUpdate update;
  update.max_versions = 1'000'000;
  EXPECT_EQ(engine_->PutMetadata("p", update).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->GetMetadata("p").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(KvEngineTest, ValidPathsAreAccepted) {
  for (std::string_view path :
       {"a", "A-z_0.9", "a/b/c", "team.loans/db-primary/v1", "..a", "a..",
        "...", ".hidden"}) {
    EXPECT_TRUE(Engine::ValidatePath(path).ok()) << path;
  }
  EXPECT_OK(Engine::ValidatePath(std::string(Engine::kMaxPathBytes, 'a')));
}

TEST_F(KvEngineTest, BadPathsAreInvalidArgumentWithoutEcho) {
  const std::vector<std::string> bad = {
      "",
      ".",
      "..",
      "marker-one/../etc",
      "marker-two/./x",
      "marker//three",
      "/marker-four",
      "marker-five/",
      std::string("marker\0six", 10),
      std::string(Engine::kMaxPathBytes + 1, 'm'),
      "'; DROP TABLE x;--",
      "marker seven",
      "marker\nNEWLINE",
      "m\xc3\xa9-unicode",
  };
  for (const std::string& path : bad) {
    SCOPED_TRACE(absl::CEscape(path));
    std::vector<absl::Status> statuses = {
        Engine::ValidatePath(path),
        StatusOf(engine_->Get(path)),
        StatusOf(engine_->Put(path, {{"a", "b"}}, std::nullopt)),
        engine_->Delete(path, {}),
        engine_->Undelete(path, {1}),
        engine_->Destroy(path, {1}),
        StatusOf(engine_->GetMetadata(path)),
        engine_->PutMetadata(path, {}),
        engine_->DeleteMetadata(path),
    };
    // List accepts one trailing '/' on a prefix, so "marker-five/" is fine.
    if (!path.empty() && path.back() != '/') {
      statuses.push_back(StatusOf(engine_->List(path)));
    }
    for (const absl::Status& s : statuses) {
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
      if (path.size() > 2) {
        EXPECT_THAT(std::string(s.message()), Not(HasSubstr(path)));
      }
    }
  }
  EXPECT_THAT(StoredKeysUnder(kViewPrefix), IsEmpty());
}

TEST_F(KvEngineTest, ListOfSlashAloneIsInvalidArgument) {
  MustPut("a", {{"k", "v"}});
  EXPECT_EQ(engine_->List("/").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->List("a//").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(KvEngineTest, SealedBarrierIsUnavailable) {
  MustPut("p", {{"a", "1"}});
  barrier_.Seal();
  std::vector<absl::Status> statuses = {
      StatusOf(engine_->Get("p")),
      StatusOf(engine_->Put("p", {{"a", "2"}}, std::nullopt)),
      StatusOf(engine_->List("")),
      engine_->Delete("p", {}),
      engine_->Undelete("p", {1}),
      engine_->Destroy("p", {1}),
      StatusOf(engine_->GetMetadata("p")),
      engine_->PutMetadata("p", {}),
      engine_->DeleteMetadata("p"),
  };
  for (const absl::Status& s : statuses) {
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
    EXPECT_TRUE(barrier::IsSealedError(s)) << s;
  }
}

TEST_F(KvEngineTest, ConcurrentPutsToOnePathGetDistinctConsecutiveVersions) {
  constexpr int kThreads = 8;
  constexpr int kPutsPerThread = 25;
  constexpr int kTotal = kThreads * kPutsPerThread;
  MetadataUpdate update;
  update.max_versions = kTotal;  // keep all, to check every version's data
  ASSERT_OK(engine_->PutMetadata("shared", update));

  std::mutex mu;
  std::map<uint64_t, std::string> written;  // version -> value
  int failures = 0;
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < kPutsPerThread; ++i) {
        std::string value = absl::StrCat("t", t, "-", i);
        absl::StatusOr<VersionMetadata> v =
            engine_->Put("shared", {{"v", value}}, std::nullopt);
        std::lock_guard<std::mutex> lock(mu);
        if (!v.ok() || !written.emplace(v->version, value).second) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();

  EXPECT_EQ(failures, 0);
  ASSERT_EQ(written.size(), static_cast<size_t>(kTotal));
  EXPECT_EQ(written.begin()->first, 1u);
  EXPECT_EQ(written.rbegin()->first, static_cast<uint64_t>(kTotal));
  absl::StatusOr<Metadata> meta = engine_->GetMetadata("shared");
  ASSERT_OK(meta);
  EXPECT_EQ(meta->current_version, static_cast<uint64_t>(kTotal));
  EXPECT_EQ(meta->versions.size(), static_cast<size_t>(kTotal));
  for (const auto& [version, value] : written) {
    absl::StatusOr<Secret> got = engine_->Get("shared", version);
    ASSERT_OK(got);
    EXPECT_EQ(got->data.at("v"), value) << version;
  }
}

TEST_F(KvEngineTest, ConcurrentCasPutsHaveExactlyOneWinner) {
  constexpr int kThreads = 8;
  MustPut("p", {{"v", "base"}});
  std::atomic<int> winners{0};
  std::atomic<int> conflicts{0};
  std::atomic<int> other{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      absl::StatusOr<VersionMetadata> v =
          engine_->Put("p", {{"v", absl::StrCat("t", t)}}, 1);
      if (v.ok()) {
        ++winners;
      } else if (v.status().code() == absl::StatusCode::kFailedPrecondition) {
        ++conflicts;
      } else {
        ++other;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(winners.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
  EXPECT_EQ(other.load(), 0);
  absl::StatusOr<Metadata> meta = engine_->GetMetadata("p");
  ASSERT_OK(meta);
  EXPECT_EQ(meta->current_version, 2u);
}

TEST_F(KvEngineTest, ConcurrentWritersOnDifferentPathsAllSucceed) {
  constexpr int kThreads = 8;
  std::latch start(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < 10; ++i) {
        if (!engine_
                 ->Put(absl::StrCat("path", t), {{"i", absl::StrCat(i)}},
                       std::nullopt)
                 .ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    absl::StatusOr<Secret> got = engine_->Get(absl::StrCat("path", t));
    ASSERT_OK(got);
    EXPECT_EQ(got->metadata.version, 10u);
    EXPECT_EQ(got->data.at("i"), "9");
  }
}

// InMemoryBackend whose BatchAsync waits until the test releases it, as a
// write waits for the storage committer's sync.
class DeferringBackend : public storage::InMemoryBackend {
 public:
  void BatchAsync(std::vector<storage::Mutation> mutations,
                  std::function<void(absl::Status)> done) override {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.push_back({std::move(mutations), std::move(done)});
  }
  size_t pending() {
    std::lock_guard<std::mutex> lock(mu_);
    return pending_.size();
  }
  // Completes every deferred write, failing them all if `fail`.
  void Release(bool fail = false) {
    std::vector<Pending> now;
    {
      std::lock_guard<std::mutex> lock(mu_);
      now.swap(pending_);
    }
    for (Pending& p : now) {
      p.done(fail ? absl::UnavailableError("injected write failure")
                  : Batch(p.mutations));
    }
  }

 private:
  struct Pending {
    std::vector<storage::Mutation> mutations;
    std::function<void(absl::Status)> done;
  };
  std::mutex mu_;
  std::vector<Pending> pending_;
};

class KvEngineAsyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kms::SecretBytes key = kms::RandomSecret(32);
    ASSERT_OK(barrier_.Initialize(key));
    ASSERT_OK(barrier_.Unseal(key));
    engine_ = std::make_unique<Engine>(barrier::View(&barrier_, kViewPrefix));
  }

  // Starts a put; its result lands in `*out` once the write completes.
  void Start(std::string_view path, const Data& data,
             std::optional<absl::StatusOr<VersionMetadata>>* out,
             Engine::Authorize authorize = nullptr,
             std::optional<uint64_t> cas = std::nullopt) {
    engine_->PutAsync(
        path, data, cas, std::move(authorize),
        [out](absl::StatusOr<VersionMetadata> v) { *out = std::move(v); });
  }

  DeferringBackend backend_;
  barrier::Barrier barrier_{&backend_};
  std::unique_ptr<Engine> engine_;
};

TEST_F(KvEngineAsyncTest, PathStaysLockedAndUnreadableUntilTheWriteIsDurable) {
  std::optional<absl::StatusOr<VersionMetadata>> first, second, third;
  std::vector<bool> seen;
  Start("app/db", {{"k", "v1"}}, &first);
  EXPECT_FALSE(first.has_value());  // not acknowledged before the sync
  EXPECT_EQ(backend_.pending(), 1u);
  EXPECT_TRUE(absl::IsNotFound(engine_->Get("app/db").status()));
  // Later writers of the path queue behind it: nothing more is submitted
  // and nobody decides on the secret's existence before the first is done.
  Start("app/db", {{"k", "v2"}}, &second, [&](bool exists) {
    seen.push_back(exists);
    return absl::OkStatus();
  });
  Start("app/db", {{"k", "v3"}}, &third);
  EXPECT_EQ(backend_.pending(), 1u);
  EXPECT_TRUE(seen.empty());

  // The first one's completion prepares the second, which sees the secret.
  backend_.Release();
  ASSERT_TRUE(first.has_value());
  ASSERT_OK(*first);
  EXPECT_EQ((*first)->version, 1u);
  EXPECT_EQ(engine_->Get("app/db")->data.at("k"), "v1");
  EXPECT_THAT(seen, ElementsAre(true));
  EXPECT_FALSE(second.has_value());
  EXPECT_EQ(backend_.pending(), 1u);

  backend_.Release();
  backend_.Release();
  ASSERT_TRUE(second.has_value() && third.has_value());
  ASSERT_OK(*second);
  ASSERT_OK(*third);
  EXPECT_EQ((*second)->version, 2u);
  EXPECT_EQ((*third)->version, 3u);  // in arrival order
  EXPECT_EQ(engine_->Get("app/db")->data.at("k"), "v3");
}

TEST_F(KvEngineAsyncTest, BlockingWriterWaitsForTheInFlightPutOfItsPath) {
  std::optional<absl::StatusOr<VersionMetadata>> first;
  Start("p", {{"k", "1"}}, &first);
  std::atomic<bool> deleted{false};
  std::thread deleter([&] {
    EXPECT_OK(engine_->Delete("p", {}));
    deleted = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(deleted.load());  // still waiting for the put's lock
  backend_.Release();
  deleter.join();
  EXPECT_TRUE(deleted.load());
  EXPECT_TRUE(absl::IsNotFound(engine_->Get("p").status()));
}

TEST_F(KvEngineAsyncTest, AuthorizeLearnsExistenceAndItsRefusalWritesNothing) {
  std::vector<bool> seen;
  auto record = [&](bool exists) {
    seen.push_back(exists);
    return absl::OkStatus();
  };
  std::optional<absl::StatusOr<VersionMetadata>> a, b, refused, after;
  Start("p", {{"k", "1"}}, &a, record);
  backend_.Release();
  Start("p", {{"k", "2"}}, &b, record);
  backend_.Release();
  EXPECT_THAT(seen, ElementsAre(false, true));

  Start("p", {{"k", "3"}}, &refused, [](bool) {
    return absl::PermissionDeniedError("permission denied: update on p");
  });
  ASSERT_TRUE(refused.has_value());  // answered at once, nothing submitted
  EXPECT_TRUE(absl::IsPermissionDenied(refused->status()));
  EXPECT_EQ(backend_.pending(), 0u);
  EXPECT_EQ(engine_->GetMetadata("p")->current_version, 2u);
  // The refusal released the path.
  Start("p", {{"k", "4"}}, &after);
  backend_.Release();
  ASSERT_OK(*after);
  EXPECT_EQ((*after)->version, 3u);
}

TEST_F(KvEngineAsyncTest, FailedWriteReportsTheErrorKeepsTheOldVersionAndUnlocks) {
  std::optional<absl::StatusOr<VersionMetadata>> a, failed, cas_bad, retry;
  Start("p", {{"k", "1"}}, &a);
  backend_.Release();
  Start("p", {{"k", "2"}}, &failed);
  backend_.Release(/*fail=*/true);
  ASSERT_TRUE(failed.has_value());
  EXPECT_TRUE(absl::IsUnavailable(failed->status()));
  EXPECT_EQ(engine_->Get("p")->data.at("k"), "1");
  EXPECT_EQ(engine_->GetMetadata("p")->current_version, 1u);
  // Check-and-set still sees version 1, and a bad path is refused at once.
  Start("p", {{"k", "x"}}, &cas_bad, nullptr, 2);
  ASSERT_TRUE(cas_bad.has_value());
  EXPECT_TRUE(absl::IsFailedPrecondition(cas_bad->status()));
  std::optional<absl::StatusOr<VersionMetadata>> bad_path;
  Start("a/../b", {{"k", "x"}}, &bad_path);
  ASSERT_TRUE(bad_path.has_value());
  EXPECT_TRUE(absl::IsInvalidArgument(bad_path->status()));
  Start("p", {{"k", "2"}}, &retry, nullptr, 1);
  backend_.Release();
  ASSERT_OK(*retry);
  EXPECT_EQ((*retry)->version, 2u);
}

TEST_F(KvEngineAsyncTest, SealedBarrierAnswersAtOnceWithUnavailable) {
  barrier_.Seal();
  std::optional<absl::StatusOr<VersionMetadata>> r;
  Start("p", {{"k", "1"}}, &r);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(absl::IsUnavailable(r->status())) << r->status();
  EXPECT_EQ(backend_.pending(), 0u);
}

TEST_F(KvEngineAsyncTest, CloseWaitsForSubmittedWritesAndRefusesTheRest) {
  std::optional<absl::StatusOr<VersionMetadata>> submitted, queued, later;
  Start("p", {{"k", "1"}}, &submitted);
  Start("p", {{"k", "2"}}, &queued);  // waits for the path's lock
  std::atomic<bool> closed{false};
  std::thread closer([&] {
    engine_->Close();
    closed = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(closed.load());  // the submitted write is still in flight
  backend_.Release();
  closer.join();
  ASSERT_TRUE(submitted.has_value());
  ASSERT_OK(*submitted);
  // The queued put never writes beside the engine that replaces this one.
  ASSERT_TRUE(queued.has_value());
  EXPECT_TRUE(barrier::IsSealedError(queued->status())) << queued->status();
  Start("q", {{"k", "1"}}, &later);
  ASSERT_TRUE(later.has_value());
  EXPECT_TRUE(barrier::IsSealedError(later->status()));
  EXPECT_TRUE(barrier::IsSealedError(engine_->Put("r", {{"k", "1"}}, {}).status()));
  EXPECT_EQ(backend_.pending(), 0u);
}

TEST_F(KvEngineAsyncTest, ThousandsOfQueuedFailingPutsDoNotNestOnTheStack) {
  std::optional<absl::StatusOr<VersionMetadata>> first;
  Start("p", {{"k", "1"}}, &first);
  constexpr int kQueued = 100000;
  std::vector<std::optional<absl::StatusOr<VersionMetadata>>> results(kQueued);
  auto deny = [](bool) { return absl::PermissionDeniedError("denied"); };
  for (int i = 0; i < kQueued; ++i) Start("p", {{"k", "x"}}, &results[i], deny);
  // Released on a thread with a small stack (like the committer's under a
  // tight ulimit): each refusal hands the lock to the next.
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 << 10);
  pthread_t releaser;
  ASSERT_EQ(pthread_create(
                &releaser, &attr,
                +[](void* b) -> void* {
                  static_cast<DeferringBackend*>(b)->Release();
                  return nullptr;
                },
                &backend_),
            0);
  pthread_join(releaser, nullptr);
  pthread_attr_destroy(&attr);
  ASSERT_OK(*first);
  for (const auto& r : results) {
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(absl::IsPermissionDenied(r->status()));
  }
  EXPECT_EQ(engine_->GetMetadata("p")->current_version, 1u);
}

}  // namespace
}  // namespace arca::engines::kv
