#include "server/barrier/barrier.h"

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kms/random.h"
#include "kms/secret_bytes.h"
#include "server/storage/in_memory_backend.h"
#include "server/storage/rocksdb_backend.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"
#include "tests/unit/storage/temp_dir.h"

namespace arca::barrier {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Optional;

constexpr char kRootKeyPath[] = "barrier/root-key";
constexpr char kKeyringPath[] = "barrier/keyring";

uint32_t TermOfRecord(const std::string& record) {
  uint32_t term = 0;
  for (int i = 0; i < 4; ++i) term = (term << 8) | uint8_t(record[i]);
  return term;
}

// A backend that forwards to an InMemoryBackend and can be told to fail
// writes to one key, to prove what the barrier persists before it acts.
class FailingBackend : public storage::Backend {
 public:
  absl::StatusOr<std::optional<std::string>> Get(
      std::string_view key) override {
    return inner.Get(key);
  }
  absl::Status Put(std::string_view key, std::string_view value) override {
    if (key == fail_key) return absl::UnavailableError("injected failure");
    return inner.Put(key, value);
  }
  absl::Status Delete(std::string_view key) override {
    return inner.Delete(key);
  }
  absl::StatusOr<std::vector<std::string>> List(
      std::string_view prefix) override {
    return inner.List(prefix);
  }
  absl::Status Batch(const std::vector<storage::Mutation>& mutations) override {
    return inner.Batch(mutations);
  }

  storage::InMemoryBackend inner;
  std::string fail_key;
};

class BarrierTest : public ::testing::Test {
 protected:
  BarrierTest() : unseal_key_(kms::RandomSecret(32)) {}

  // A fresh barrier on `backend_`, initialized and unsealed.
  std::unique_ptr<Barrier> NewUnsealed(Options options = {}) {
    auto barrier = std::make_unique<Barrier>(&backend_, options);
    EXPECT_TRUE(barrier->Initialize(unseal_key_).ok());
    EXPECT_TRUE(barrier->Unseal(unseal_key_).ok());
    return barrier;
  }

  // Another barrier over the same storage, as after a restart.
  std::unique_ptr<Barrier> Reopen(Options options = {}) {
    auto barrier = std::make_unique<Barrier>(&backend_, options);
    EXPECT_TRUE(barrier->Unseal(unseal_key_).ok());
    return barrier;
  }

  std::string Raw(const std::string& key) {
    return backend_.Snapshot().at(key);
  }

  storage::InMemoryBackend backend_;
  kms::SecretBytes unseal_key_;
};

TEST_F(BarrierTest, PutGetDeleteRoundTrip) {
  auto barrier = NewUnsealed();
  ASSERT_TRUE(barrier->Put("a/b", "hello").ok());
  EXPECT_THAT(*barrier->Get("a/b"), Optional(std::string("hello")));
  ASSERT_TRUE(barrier->Put("a/b", "").ok());
  EXPECT_THAT(*barrier->Get("a/b"), Optional(std::string()));
  ASSERT_TRUE(barrier->Delete("a/b").ok());
  EXPECT_EQ(*barrier->Get("a/b"), std::nullopt);
  EXPECT_EQ(*barrier->Get("never"), std::nullopt);
}

TEST_F(BarrierTest, InitializeLeavesSealedAndRefusesSecondInitialize) {
  Barrier barrier(&backend_);
  EXPECT_THAT(barrier.Initialized(), absl::StatusOr<bool>(false));
  ASSERT_TRUE(barrier.Initialize(unseal_key_).ok());
  EXPECT_THAT(barrier.Initialized(), absl::StatusOr<bool>(true));
  EXPECT_TRUE(barrier.Sealed());
  EXPECT_EQ(barrier.Initialize(unseal_key_).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(BarrierTest, UnsealBeforeInitializeFailsPrecondition) {
  Barrier barrier(&backend_);
  EXPECT_EQ(barrier.Unseal(unseal_key_).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(barrier.Sealed());
}

TEST_F(BarrierTest, IntegrityFailureIsLoggedAtErrorWithPathNotValue) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_st>(log)));
  auto barrier = NewUnsealed();
  const std::string plaintext = "logged-never-plaintext";
  ASSERT_TRUE(barrier->Put("tampered/path", plaintext).ok());
  std::string record = Raw("tampered/path");
  record[record.size() - 1] ^= 1;
  ASSERT_TRUE(backend_.Put("tampered/path", record).ok());
  EXPECT_EQ(barrier->Get("tampered/path").status().code(),
            absl::StatusCode::kDataLoss);
  ASSERT_TRUE(backend_.Put("short/path", "abc").ok());
  EXPECT_EQ(barrier->Get("short/path").status().code(),
            absl::StatusCode::kDataLoss);
  spdlog::set_default_logger(previous);
  EXPECT_THAT(log.str(), HasSubstr("[error]"));
  EXPECT_THAT(log.str(), HasSubstr("\"tampered/path\" failed authentication"));
  EXPECT_THAT(log.str(), HasSubstr("\"short/path\" is truncated"));
  EXPECT_THAT(log.str(), Not(HasSubstr(plaintext)));
}

TEST_F(BarrierTest, RecordHasDocumentedHeader) {
  auto barrier = NewUnsealed();
  ASSERT_TRUE(barrier->Put("p", "12345").ok());
  const std::string record = Raw("p");
  EXPECT_EQ(TermOfRecord(record), 1u);
  EXPECT_EQ(uint8_t(record[4]), 0x01);
  // term ‖ version ‖ nonce ‖ ciphertext ‖ tag
  EXPECT_EQ(record.size(), 4u + 1 + 12 + 5 + 16);
}

TEST_F(BarrierTest, FlippingAnyStoredByteFailsWithDataLossNamingPath) {
  auto barrier = NewUnsealed();
  const std::string plaintext = "top-secret-plaintext";
  ASSERT_TRUE(barrier->Put("secret/path", plaintext).ok());
  const std::string original = Raw("secret/path");
  for (size_t i = 0; i < original.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80}) {
      std::string tampered = original;
      tampered[i] = char(uint8_t(tampered[i]) ^ mask);
      ASSERT_TRUE(backend_.Put("secret/path", tampered).ok());
      auto got = barrier->Get("secret/path");
      ASSERT_EQ(got.status().code(), absl::StatusCode::kDataLoss)
          << "byte " << i << " mask " << int(mask);
      EXPECT_THAT(got.status().message(), HasSubstr("secret/path"));
      EXPECT_THAT(got.status().message(), Not(HasSubstr(plaintext)));
    }
  }
  ASSERT_TRUE(backend_.Put("secret/path", original).ok());
  EXPECT_THAT(*barrier->Get("secret/path"), Optional(plaintext));
}

TEST_F(BarrierTest, TruncatedRecordFailsWithDataLoss) {
  auto barrier = NewUnsealed();
  ASSERT_TRUE(barrier->Put("t", "value").ok());
  const std::string original = Raw("t");
  for (size_t len = 0; len < original.size(); ++len) {
    ASSERT_TRUE(backend_.Put("t", original.substr(0, len)).ok());
    EXPECT_EQ(barrier->Get("t").status().code(), absl::StatusCode::kDataLoss)
        << "length " << len;
  }
}

TEST_F(BarrierTest, UnknownTermFailsWithDataLoss) {
  auto barrier = NewUnsealed();
  ASSERT_TRUE(barrier->Put("t", "value").ok());
  std::string record = Raw("t");
  record[3] = 7;  // term 7 was never created
  ASSERT_TRUE(backend_.Put("t", record).ok());
  auto got = barrier->Get("t");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(got.status().message(), HasSubstr("term"));
}

TEST_F(BarrierTest, ValueMovedToAnotherPathFailsToDecrypt) {
  auto barrier = NewUnsealed();
  ASSERT_TRUE(barrier->Put("users/alice", "alice-secret").ok());
  ASSERT_TRUE(barrier->Put("users/bob", "bob-secret").ok());
  ASSERT_TRUE(backend_.Put("users/mallory", Raw("users/alice")).ok());
  ASSERT_TRUE(backend_.Put("users/bob", Raw("users/alice")).ok());
  EXPECT_EQ(barrier->Get("users/mallory").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(barrier->Get("users/bob").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_THAT(*barrier->Get("users/alice"),
              Optional(std::string("alice-secret")));
}

TEST_F(BarrierTest, EveryOperationFailsWhileSealed) {
  auto barrier = NewUnsealed();
  ASSERT_TRUE(barrier->Put("x", "v").ok());
  barrier->Seal();
  EXPECT_TRUE(barrier->Sealed());
  EXPECT_TRUE(IsSealedError(barrier->Get("x").status()));
  EXPECT_TRUE(IsSealedError(barrier->Put("x", "w")));
  EXPECT_TRUE(IsSealedError(barrier->Delete("x")));
  EXPECT_TRUE(IsSealedError(barrier->List("").status()));
  EXPECT_TRUE(
      IsSealedError(barrier->Batch({storage::Mutation::Put("y", "1")})));
  EXPECT_TRUE(IsSealedError(barrier->Rotate().status()));
  EXPECT_TRUE(IsSealedError(barrier->ActiveTerm().status()));
  EXPECT_TRUE(IsSealedError(barrier->Rekey(kms::RandomSecret(32))));
  View view(barrier.get(), "v/");
  EXPECT_TRUE(IsSealedError(view.Get("x").status()));
  EXPECT_TRUE(IsSealedError(view.Put("x", "w")));
  // Nothing was written or deleted while sealed.
  EXPECT_FALSE(backend_.Snapshot().contains("y"));
  ASSERT_TRUE(barrier->Unseal(unseal_key_).ok());
  EXPECT_THAT(*barrier->Get("x"), Optional(std::string("v")));
}

TEST_F(BarrierTest, SealedErrorIsUnavailableWithFixedMessage) {
  absl::Status s = SealedError();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "arca is sealed");
  EXPECT_TRUE(IsSealedError(s));
  EXPECT_FALSE(IsSealedError(absl::UnavailableError("disk full")));
  EXPECT_FALSE(IsSealedError(absl::OkStatus()));
}

TEST_F(BarrierTest, NewBarrierStartsSealed) {
  Barrier barrier(&backend_);
  EXPECT_TRUE(barrier.Sealed());
  EXPECT_TRUE(IsSealedError(barrier.Get("x").status()));
}

TEST_F(BarrierTest, SealIsIdempotentAndUnsealWhenUnsealedIsOk) {
  auto barrier = NewUnsealed();
  EXPECT_TRUE(barrier->Unseal(unseal_key_).ok());
  barrier->Seal();
  barrier->Seal();
  EXPECT_TRUE(barrier->Sealed());
}

TEST_F(BarrierTest, OldTermsStillDecryptAfterRotate) {
  auto barrier = NewUnsealed();
  ASSERT_TRUE(barrier->Put("old", "from-term-1").ok());
  auto rotated = barrier->Rotate();
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_EQ(rotated->term, 2u);
  EXPECT_GT(rotated->install_time_unix, 0);
  EXPECT_EQ(barrier->ActiveTerm()->term, 2u);
  ASSERT_TRUE(barrier->Put("new", "from-term-2").ok());
  EXPECT_EQ(TermOfRecord(Raw("old")), 1u);
  EXPECT_EQ(TermOfRecord(Raw("new")), 2u);
  EXPECT_THAT(*barrier->Get("old"), Optional(std::string("from-term-1")));
  EXPECT_THAT(*barrier->Get("new"), Optional(std::string("from-term-2")));
  // And after a restart the keyring still holds both terms.
  auto reopened = Reopen();
  EXPECT_EQ(reopened->ActiveTerm()->term, 2u);
  EXPECT_THAT(*reopened->Get("old"), Optional(std::string("from-term-1")));
  EXPECT_THAT(*reopened->Get("new"), Optional(std::string("from-term-2")));
}

TEST_F(BarrierTest, CounterSurvivesRestartAndNeverGoesBackwards) {
  Options options;
  options.counter_reservation = 4;
  auto barrier = NewUnsealed(options);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(barrier->Put(absl::StrCat("k", i), "v").ok());
  }
  EXPECT_EQ(barrier->ActiveTerm()->encryptions, 3u);
  uint64_t last = 3;
  // Each reopen simulates a crash: the old barrier never persists its count.
  for (int restart = 0; restart < 4; ++restart) {
    auto reopened = Reopen(options);
    const uint64_t resumed = reopened->ActiveTerm()->encryptions;
    EXPECT_GE(resumed, last) << "restart " << restart;
    ASSERT_TRUE(reopened->Put(absl::StrCat("r", restart), "v").ok());
    EXPECT_EQ(reopened->ActiveTerm()->encryptions, resumed + 1);
    last = resumed + 1;
  }
  // Reservations: 4, then 4+4=8 after the first restart's write, and so on.
  auto final_barrier = Reopen(options);
  EXPECT_EQ(final_barrier->ActiveTerm()->encryptions, 20u);
}

TEST(BarrierCounterTest, EncryptionFailsIfReservationCannotBePersisted) {
  FailingBackend backend;
  kms::SecretBytes key = kms::RandomSecret(32);
  Options options;
  options.counter_reservation = 2;
  Barrier barrier(&backend, options);
  ASSERT_TRUE(barrier.Initialize(key).ok());
  ASSERT_TRUE(barrier.Unseal(key).ok());
  ASSERT_TRUE(barrier.Put("a", "1").ok());  // reserves up to 2
  backend.fail_key = kKeyringPath;
  ASSERT_TRUE(barrier.Put("b", "2").ok());  // within the reservation
  // The third encryption needs a new reservation, which cannot be stored.
  EXPECT_EQ(barrier.Put("c", "3").code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(backend.inner.Snapshot().contains("c"));
  EXPECT_EQ(barrier.ActiveTerm()->encryptions, 2u);
  backend.fail_key.clear();
  ASSERT_TRUE(barrier.Put("c", "3").ok());
  EXPECT_EQ(barrier.ActiveTerm()->encryptions, 3u);
}

TEST_F(BarrierTest, RotatesAutomaticallyWhenTermReachesLimit) {
  Options options;
  options.max_encryptions_per_term = 3;
  options.counter_reservation = 2;
  auto barrier = NewUnsealed(options);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(barrier->Put(absl::StrCat("k", i), absl::StrCat("v", i)).ok());
    EXPECT_EQ(TermOfRecord(Raw(absl::StrCat("k", i))), 1u);
  }
  EXPECT_EQ(barrier->ActiveTerm()->term, 1u);
  EXPECT_EQ(barrier->ActiveTerm()->encryptions, 3u);
  ASSERT_TRUE(barrier->Put("k3", "v3").ok());
  EXPECT_EQ(TermOfRecord(Raw("k3")), 2u);
  EXPECT_EQ(barrier->ActiveTerm()->term, 2u);
  EXPECT_EQ(barrier->ActiveTerm()->encryptions, 1u);
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(barrier->Put(absl::StrCat("more", i), "x").ok());
  }
  // 1 + 7 = 8 encryptions after term 1: terms 2, 3 full, term 4 has 2.
  EXPECT_EQ(barrier->ActiveTerm()->term, 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_THAT(*barrier->Get(absl::StrCat("k", i)),
                Optional(absl::StrCat("v", i)));
  }
}

TEST_F(BarrierTest, TermAtLimitBeforeRestartRotatesOnFirstWriteAfter) {
  Options options;
  options.max_encryptions_per_term = 3;
  options.counter_reservation = 2;
  auto barrier = NewUnsealed(options);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(barrier->Put(absl::StrCat("k", i), "v").ok());
  }
  auto reopened = Reopen(options);
  EXPECT_EQ(reopened->ActiveTerm()->term, 1u);
  EXPECT_EQ(reopened->ActiveTerm()->encryptions, 3u);
  ASSERT_TRUE(reopened->Put("after", "v").ok());
  EXPECT_EQ(TermOfRecord(Raw("after")), 2u);
}

TEST_F(BarrierTest, BatchCountsEveryEncryptionAndRotatesMidBatch) {
  Options options;
  options.max_encryptions_per_term = 2;
  options.counter_reservation = 1;
  auto barrier = NewUnsealed(options);
  ASSERT_TRUE(barrier
                  ->Batch({storage::Mutation::Put("b1", "1"),
                           storage::Mutation::Put("b2", "2"),
                           storage::Mutation::Put("b3", "3"),
                           storage::Mutation::Delete("b2")})
                  .ok());
  EXPECT_EQ(TermOfRecord(Raw("b1")), 1u);
  EXPECT_EQ(TermOfRecord(Raw("b3")), 2u);
  EXPECT_EQ(*barrier->Get("b2"), std::nullopt);
  EXPECT_THAT(*barrier->Get("b3"), Optional(std::string("3")));
}

TEST_F(BarrierTest, WrongUnsealKeyIsRejectedAndRightOneStillWorks) {
  Barrier barrier(&backend_);
  ASSERT_TRUE(barrier.Initialize(unseal_key_).ok());
  kms::SecretBytes wrong = kms::RandomSecret(32);
  EXPECT_EQ(barrier.Unseal(wrong).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(barrier.Sealed());
  EXPECT_EQ(barrier.VerifyUnsealKey(wrong).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(barrier.Unseal(kms::RandomSecret(16)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(barrier.VerifyUnsealKey(unseal_key_).ok());
  ASSERT_TRUE(barrier.Unseal(unseal_key_).ok());
  EXPECT_FALSE(barrier.Sealed());
  EXPECT_TRUE(barrier.Put("x", "y").ok());
}

TEST_F(BarrierTest, RekeyMakesOldUnsealKeyFailAndNewOneWork) {
  auto barrier = NewUnsealed();
  ASSERT_TRUE(barrier->Put("data", "survives rekey").ok());
  kms::SecretBytes new_key = kms::RandomSecret(32);
  ASSERT_TRUE(barrier->Rekey(new_key).ok());
  EXPECT_FALSE(barrier->Sealed());
  EXPECT_EQ(barrier->VerifyUnsealKey(unseal_key_).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(barrier->VerifyUnsealKey(new_key).ok());
  barrier->Seal();
  EXPECT_EQ(barrier->Unseal(unseal_key_).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(barrier->Unseal(new_key).ok());
  EXPECT_THAT(*barrier->Get("data"), Optional(std::string("survives rekey")));
}

TEST_F(BarrierTest, RekeyReplacesRootKeySoOldRootRecordCannotOpenKeyring) {
  auto barrier = NewUnsealed();
  ASSERT_TRUE(barrier->Put("before", "old data").ok());
  const std::string old_root_record = Raw(kRootKeyPath);
  const std::string old_keyring_record = Raw(kKeyringPath);
  ASSERT_TRUE(barrier->Rekey(kms::RandomSecret(32)).ok());
  EXPECT_NE(Raw(kKeyringPath), old_keyring_record);
  ASSERT_TRUE(barrier->Rotate().ok());
  ASSERT_TRUE(barrier->Put("after", "new data").ok());
  barrier->Seal();
  // An attacker restores the pre-rekey root-key record and holds the old
  // unseal key: the old root key must not open the current keyring.
  ASSERT_TRUE(backend_.Put(kRootKeyPath, old_root_record).ok());
  absl::Status s = barrier->Unseal(unseal_key_);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_TRUE(barrier->Sealed());
}

TEST_F(BarrierTest, StoredBytesNeverContainPlaintextOrKeys) {
  const std::string canary = "CANARY-3f9a1c7e-do-not-store-in-clear";
  Options options;
  options.max_encryptions_per_term = 2;
  auto barrier = NewUnsealed(options);
  ASSERT_TRUE(barrier->Put("c/1", canary).ok());
  ASSERT_TRUE(
      barrier->Put("c/2", absl::StrCat("prefix ", canary, " suffix")).ok());
  ASSERT_TRUE(barrier->Batch({storage::Mutation::Put("c/3", canary)}).ok());
  ASSERT_TRUE(barrier->Rotate().ok());
  ASSERT_TRUE(barrier->Rekey(kms::RandomSecret(32)).ok());
  const std::string unseal_bytes(unseal_key_.Reveal());
  for (const auto& [key, value] : backend_.Snapshot()) {
    EXPECT_THAT(value, Not(HasSubstr(canary))) << key;
    EXPECT_THAT(key, Not(HasSubstr(canary)));
    EXPECT_THAT(value, Not(HasSubstr(unseal_bytes))) << key;
  }
  EXPECT_TRUE(backend_.Snapshot().contains(kRootKeyPath));
  EXPECT_TRUE(backend_.Snapshot().contains(kKeyringPath));
}

TEST_F(BarrierTest, ReservedBarrierPathsAreRefused) {
  auto barrier = NewUnsealed();
  const std::string keyring_before = Raw(kKeyringPath);
  EXPECT_EQ(barrier->Put(kKeyringPath, "x").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(barrier->Put("barrier/other", "x").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(barrier->Get(kRootKeyPath).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(barrier->Delete(kRootKeyPath).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(barrier->List("barrier/").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(barrier
                ->Batch({storage::Mutation::Put("fine", "1"),
                         storage::Mutation::Delete(kKeyringPath)})
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*barrier->Get("fine"), std::nullopt);
  EXPECT_EQ(Raw(kKeyringPath), keyring_before);
  EXPECT_TRUE(backend_.Snapshot().contains(kRootKeyPath));
}

TEST_F(BarrierTest, ListHidesReservedPrefixAndFollowsBackendContract) {
  auto barrier = NewUnsealed();
  ASSERT_TRUE(barrier->Put("a/b", "1").ok());
  ASSERT_TRUE(barrier->Put("a/c/d", "2").ok());
  ASSERT_TRUE(barrier->Put("a/c", "3").ok());
  ASSERT_TRUE(barrier->Put("barrier", "not reserved without the slash").ok());
  ASSERT_TRUE(barrier->Put("z", "4").ok());
  EXPECT_THAT(*barrier->List(""), ElementsAre("a/", "barrier", "z"));
  EXPECT_THAT(*barrier->List("a/"), ElementsAre("b", "c", "c/"));
  EXPECT_THAT(*barrier->List("bar"), ElementsAre("rier"));
}

TEST_F(BarrierTest, TamperedKeyringFailsUnsealWithDataLoss) {
  auto barrier = NewUnsealed();
  barrier->Seal();
  std::string keyring = Raw(kKeyringPath);
  keyring[keyring.size() / 2] ^= 0x04;
  ASSERT_TRUE(backend_.Put(kKeyringPath, keyring).ok());
  absl::Status s = barrier->Unseal(unseal_key_);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr(kKeyringPath));
  EXPECT_TRUE(barrier->Sealed());
}

TEST_F(BarrierTest, KeyringMovedToRootKeyPathDoesNotUnseal) {
  Barrier barrier(&backend_);
  ASSERT_TRUE(barrier.Initialize(unseal_key_).ok());
  ASSERT_TRUE(backend_.Put(kRootKeyPath, Raw(kKeyringPath)).ok());
  EXPECT_FALSE(barrier.Unseal(unseal_key_).ok());
  EXPECT_TRUE(barrier.Sealed());
}

TEST_F(BarrierTest, ConcurrentWritersReadersAndRotationsStayConsistent) {
  Options options;
  options.max_encryptions_per_term = 50;
  options.counter_reservation = 7;
  auto barrier = NewUnsealed(options);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 60;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string path = absl::StrCat("c/", t, "/", i);
        const std::string value = absl::StrCat("value-", t, "-", i);
        if (!barrier->Put(path, value).ok()) failures.fetch_add(1);
        auto got = barrier->Get(path);
        if (!got.ok() || *got != std::optional<std::string>(value)) {
          failures.fetch_add(1);
        }
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 5; ++i) {
      if (!barrier->Rotate().ok()) failures.fetch_add(1);
    }
  });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  // 240 encryptions at 50 per term plus 5 manual rotations: at least 6 terms.
  EXPECT_GE(barrier->ActiveTerm()->term, 6u);
  auto reopened = Reopen(options);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      EXPECT_THAT(*reopened->Get(absl::StrCat("c/", t, "/", i)),
                  Optional(absl::StrCat("value-", t, "-", i)));
    }
  }
}

TEST_F(BarrierTest, SealDuringConcurrentReadsLeavesOnlySealedErrors) {
  auto barrier = NewUnsealed();
  ASSERT_TRUE(barrier->Put("k", "v").ok());
  std::atomic<bool> stop{false};
  std::atomic<int> unexpected{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto got = barrier->Get("k");
        if (got.ok() ? *got != std::optional<std::string>("v")
                     : !IsSealedError(got.status())) {
          unexpected.fetch_add(1);
        }
      }
    });
  }
  barrier->Seal();
  EXPECT_TRUE(IsSealedError(barrier->Get("k").status()));
  stop.store(true);
  for (auto& th : readers) th.join();
  EXPECT_EQ(unexpected.load(), 0);
}

TEST(BarrierRocksDbTest, DataAndCounterSurviveReopeningTheDatabase) {
  storage::testing::TempDir dir;
  kms::SecretBytes key = kms::RandomSecret(32);
  Options options;
  options.counter_reservation = 3;
  std::string raw_record;
  {
    auto db = storage::RocksDbBackend::Open(dir.path());
    ASSERT_TRUE(db.ok()) << db.status();
    Barrier barrier(db->get(), options);
    ASSERT_TRUE(barrier.Initialize(key).ok());
    ASSERT_TRUE(barrier.Unseal(key).ok());
    ASSERT_TRUE(barrier.Put("kv/a", "alpha").ok());
    ASSERT_TRUE(barrier.Rotate().ok());
    ASSERT_TRUE(barrier.Put("kv/b", "beta").ok());
    ASSERT_TRUE(barrier.Put("kv/c", "gamma").ok());
    EXPECT_EQ(barrier.ActiveTerm()->encryptions, 2u);
    auto raw = (*db)->Get("kv/a");
    ASSERT_TRUE(raw.ok() && raw->has_value());
    raw_record = **raw;
    EXPECT_THAT(raw_record, Not(HasSubstr("alpha")));
  }
  auto db = storage::RocksDbBackend::Open(dir.path());
  ASSERT_TRUE(db.ok()) << db.status();
  Barrier barrier(db->get(), options);
  EXPECT_THAT(barrier.Initialized(), absl::StatusOr<bool>(true));
  EXPECT_EQ(barrier.Unseal(kms::RandomSecret(32)).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(barrier.Unseal(key).ok());
  EXPECT_EQ(barrier.ActiveTerm()->term, 2u);
  EXPECT_GE(barrier.ActiveTerm()->encryptions, 2u);
  EXPECT_THAT(*barrier.Get("kv/a"), Optional(std::string("alpha")));
  EXPECT_THAT(*barrier.Get("kv/b"), Optional(std::string("beta")));
  EXPECT_THAT(*barrier.List("kv/"), ElementsAre("a", "b", "c"));
  // Tampering on disk is caught too.
  raw_record[raw_record.size() - 1] ^= 0x01;
  ASSERT_TRUE((*db)->Put("kv/a", raw_record).ok());
  EXPECT_EQ(barrier.Get("kv/a").status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace arca::barrier
