#include "server/engines/transit/engine.h"

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kms/aes_gcm.h"
#include "kms/ed25519.h"
#include "kms/random.h"
#include "server/barrier/barrier.h"
#include "server/engines/transit/batch_pool.h"
#include "server/storage/in_memory_backend.h"

namespace arca::engines::transit {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

#define ASSERT_OK(expr)                                   \
  do {                                                    \
    const auto& tr_test_s_ = (expr);                      \
    ASSERT_TRUE(tr_test_s_.ok()) << StatusOf(tr_test_s_); \
  } while (0)

#define EXPECT_OK(expr)                                   \
  do {                                                    \
    const auto& tr_test_s_ = (expr);                      \
    EXPECT_TRUE(tr_test_s_.ok()) << StatusOf(tr_test_s_); \
  } while (0)

absl::Status StatusOf(const absl::Status& s) { return s; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

constexpr char kViewPrefix[] = "logical/transit/";
constexpr int64_t kStartMs = 1'700'000'000'000;
constexpr int64_t kHourMs = 3600 * 1000;

// InMemoryBackend whose writes can be counted.
class CountingBackend : public storage::InMemoryBackend {
 public:
  absl::Status Batch(const std::vector<storage::Mutation>& mutations) override {
    ++batches;
    return InMemoryBackend::Batch(mutations);
  }
  absl::Status Put(std::string_view key, std::string_view value) override {
    ++puts;
    return InMemoryBackend::Put(key, value);
  }
  std::atomic<int> batches{0};
  std::atomic<int> puts{0};
};

class TransitEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unseal_key_ = kms::RandomSecret(32);
    ASSERT_OK(barrier_.Initialize(unseal_key_));
    ASSERT_OK(barrier_.Unseal(unseal_key_));
    engine_ = NewEngine();
  }

  std::unique_ptr<Engine> NewEngine(Options options = {}) {
    if (!options.now_ms) options.now_ms = [this] { return now_ms_.load(); };
    return std::make_unique<Engine>(barrier::View(&barrier_, kViewPrefix),
                                    std::move(options));
  }

  // Every raw stored value concatenated, for "never in clear" checks.
  std::string AllStoredBytes() const {
    std::string all;
    for (const auto& [key, value] : backend_.Snapshot()) {
      absl::StrAppend(&all, key, "\n", value, "\n");
    }
    return all;
  }

  std::string MustEncrypt(std::string_view name, std::string_view plaintext,
                          const CryptoOptions& o = {}) {
    auto r = engine_->Encrypt(name, plaintext, o);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->ciphertext : "";
  }

  // Replaces the version in an "arca:v<N>:..." string.
  static std::string WithVersion(const std::string& wire, uint32_t version) {
    const size_t colon = wire.find(':', 6);
    return absl::StrCat("arca:v", version, wire.substr(colon));
  }

  CountingBackend backend_;
  barrier::Barrier barrier_{&backend_};
  kms::SecretBytes unseal_key_;
  std::atomic<int64_t> now_ms_{kStartMs};
  std::unique_ptr<Engine> engine_;
};

// --- Round trips and wire format ---

TEST_F(TransitEngineTest, EncryptThenDecryptRoundTripsWithDocumentedPrefix) {
  ASSERT_OK(engine_->CreateKey("payments", {}));
  auto enc = engine_->Encrypt("payments", "card 4111", {});
  ASSERT_OK(enc);
  EXPECT_THAT(enc->ciphertext, StartsWith("arca:v1:"));
  EXPECT_EQ(enc->key_version, 1u);
  std::string body;
  ASSERT_TRUE(absl::Base64Unescape(enc->ciphertext.substr(8), &body));
  EXPECT_EQ(body.size(), 12 + 9 + 16);  // nonce ‖ ciphertext ‖ tag
  auto dec = engine_->Decrypt("payments", enc->ciphertext, {});
  ASSERT_OK(dec);
  EXPECT_EQ(*dec, "card 4111");
}

TEST_F(TransitEngineTest, XChaChaKeyRoundTripsWith24ByteNonce) {
  KeyOptions o;
  o.type = KeyType::kXChaCha20Poly1305;
  ASSERT_OK(engine_->CreateKey("x", o));
  const std::string ct = MustEncrypt("x", "hello");
  std::string body;
  ASSERT_TRUE(absl::Base64Unescape(ct.substr(8), &body));
  EXPECT_EQ(body.size(), 24 + 5 + 16);
  auto dec = engine_->Decrypt("x", ct, {});
  ASSERT_OK(dec);
  EXPECT_EQ(*dec, "hello");
}

TEST_F(TransitEngineTest, EmptyPlaintextRoundTrips) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  const std::string ct = MustEncrypt("k", "");
  auto dec = engine_->Decrypt("k", ct, {});
  ASSERT_OK(dec);
  EXPECT_EQ(*dec, "");
}

TEST_F(TransitEngineTest, EmptyPlaintextRoundTripsInBatch) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  auto enc = engine_->BatchEncrypt("k", {{"", "", "", "a"}, {"", "", "", "b"}});
  ASSERT_OK(enc);
  ASSERT_EQ(enc->size(), 2u);
  std::vector<BatchItem> items;
  for (const auto& r : *enc) {
    ASSERT_OK(r.status);
    items.push_back({r.output, "", "", r.reference});
  }
  auto dec = engine_->BatchDecrypt("k", items);
  ASSERT_OK(dec);
  for (const auto& r : *dec) {
    ASSERT_OK(r.status);
    EXPECT_EQ(r.output, "");
  }
  EXPECT_EQ((*dec)[0].reference, "a");
  EXPECT_EQ((*dec)[1].reference, "b");
}

TEST_F(TransitEngineTest, EncryptingTwiceGivesDifferentCiphertexts) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  EXPECT_NE(MustEncrypt("k", "same"), MustEncrypt("k", "same"));
}

// --- Error rows ---

TEST_F(TransitEngineTest, MalformedCiphertextIsInvalidArgument) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  const std::string good = MustEncrypt("k", "secret-plaintext");
  const std::string b64 = good.substr(8);
  for (const std::string& bad :
       {std::string("vault:v1:") + b64, std::string("arca:v1") + b64,
        std::string("arca:1:") + b64, std::string("arca:v:") + b64,
        std::string("arca:v0:") + b64, std::string("arca:v01:") + b64,
        std::string("arca:vx:") + b64, std::string("arca:v99999999999:") + b64,
        std::string("arca:v1:") + b64 + "!", std::string("arca:v1:%%%%"),
        std::string("arca:v1:"), std::string("arca:v1:AAAA"), std::string()}) {
    auto r = engine_->Decrypt("k", bad, {});
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(Msg(r.status()), "ciphertext is malformed") << bad;
  }
}

TEST_F(TransitEngineTest, CiphertextVersionAboveLatestIsTooNew) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  const std::string ct = WithVersion(MustEncrypt("k", "x"), 2);
  auto r = engine_->Decrypt("k", ct, {});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Msg(r.status()), "ciphertext version is too new");
}

TEST_F(TransitEngineTest, RotateThenOldCiphertextsStillDecrypt) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  const std::string v1 = MustEncrypt("k", "one");
  auto info = engine_->RotateKey("k");
  ASSERT_OK(info);
  EXPECT_EQ(info->latest_version, 2u);
  const std::string v2 = MustEncrypt("k", "two");
  EXPECT_THAT(v2, StartsWith("arca:v2:"));
  EXPECT_EQ(*engine_->Decrypt("k", v1, {}), "one");
  EXPECT_EQ(*engine_->Decrypt("k", v2, {}), "two");
}

TEST_F(TransitEngineTest, RaisingMinDecryptionVersionDisallowsOldCiphertexts) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  const std::string v1 = MustEncrypt("k", "one");
  ASSERT_OK(engine_->RotateKey("k"));
  KeyConfigUpdate u;
  u.min_decryption_version = 2;
  ASSERT_OK(engine_->ConfigureKey("k", u));
  auto r = engine_->Decrypt("k", v1, {});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Msg(r.status()), "ciphertext version is disallowed by policy");
  // Lowering it again re-enables the old version (not trimmed).
  u.min_decryption_version = 1;
  ASSERT_OK(engine_->ConfigureKey("k", u));
  EXPECT_OK(engine_->Decrypt("k", v1, {}));
}

TEST_F(TransitEngineTest, WrongAssociatedDataFailsAuthentication) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  CryptoOptions o;
  o.associated_data = "tenant=1";
  const std::string ct = MustEncrypt("k", "top-secret-value", o);
  EXPECT_OK(engine_->Decrypt("k", ct, o));
  for (const std::string& aad : {std::string("tenant=2"), std::string()}) {
    CryptoOptions wrong;
    wrong.associated_data = aad;
    auto r = engine_->Decrypt("k", ct, wrong);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(Msg(r.status()), "ciphertext authentication failed");
    EXPECT_THAT(Msg(r.status()), Not(HasSubstr("top-secret")));
  }
}

TEST_F(TransitEngineTest, WrongContextFailsAuthentication) {
  KeyOptions ko;
  ko.derived = true;
  ASSERT_OK(engine_->CreateKey("d", ko));
  CryptoOptions a;
  a.context = "customer-1";
  const std::string ct = MustEncrypt("d", "x", a);
  CryptoOptions b;
  b.context = "customer-2";
  auto r = engine_->Decrypt("d", ct, b);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Msg(r.status()), "ciphertext authentication failed");
  EXPECT_EQ(*engine_->Decrypt("d", ct, a), "x");
}

TEST_F(TransitEngineTest, TamperedCiphertextFailsAuthentication) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  const std::string ct = MustEncrypt("k", "abc");
  std::string body;
  ASSERT_TRUE(absl::Base64Unescape(ct.substr(8), &body));
  body[13] ^= 1;
  auto r = engine_->Decrypt("k", "arca:v1:" + absl::Base64Escape(body), {});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Msg(r.status()), "ciphertext authentication failed");
}

TEST_F(TransitEngineTest, CiphertextOfAnotherKeyFailsAuthentication) {
  ASSERT_OK(engine_->CreateKey("a", {}));
  ASSERT_OK(engine_->CreateKey("b", {}));
  auto r = engine_->Decrypt("b", MustEncrypt("a", "x"), {});
  EXPECT_EQ(Msg(r.status()), "ciphertext authentication failed");
}

TEST_F(TransitEngineTest, MissingContextOnDerivedKeyIsInvalidArgument) {
  KeyOptions ko;
  ko.derived = true;
  ASSERT_OK(engine_->CreateKey("d", ko));
  auto e = engine_->Encrypt("d", "x", {});
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Msg(e.status()), "context is required for derived keys");
  CryptoOptions a;
  a.context = "c";
  const std::string ct = MustEncrypt("d", "x", a);
  auto d = engine_->Decrypt("d", ct, {});
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Msg(d.status()), "context is required for derived keys");
}

TEST_F(TransitEngineTest, ContextOnNonDerivedKeyIsInvalidArgument) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  CryptoOptions a;
  a.context = "c";
  EXPECT_EQ(engine_->Encrypt("k", "x", a).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TransitEngineTest, ConvergentWithoutDerivedIsRefusedAtCreate) {
  KeyOptions ko;
  ko.convergent = true;
  auto r = engine_->CreateKey("c", ko);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(r.status()), HasSubstr("convergent"));
  EXPECT_EQ(engine_->ReadKey("c").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(TransitEngineTest, DerivedOrConvergentNonAeadKeysAreRefused) {
  KeyOptions ko;
  ko.type = KeyType::kEd25519;
  ko.derived = true;
  EXPECT_EQ(engine_->CreateKey("s", ko).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TransitEngineTest, MissingKeyIsNotFound) {
  EXPECT_EQ(engine_->Encrypt("nope", "x", {}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(engine_->Decrypt("nope", "arca:v1:AAAA", {}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(engine_->ReadKey("nope").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(engine_->RotateKey("nope").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(engine_->Hmac("nope", "x", {}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(
      engine_->BatchDecrypt("nope", std::vector<BatchItem>{}).status().code(),
      absl::StatusCode::kNotFound);
  EXPECT_EQ(engine_->DeleteKey("nope").code(), absl::StatusCode::kNotFound);
}

TEST_F(TransitEngineTest, EncryptCreatesMissingKeyOnlyWhenAsked) {
  auto r = engine_->Encrypt("auto", "x", {}, /*create_if_missing=*/true);
  ASSERT_OK(r);
  auto info = engine_->ReadKey("auto");
  ASSERT_OK(info);
  EXPECT_EQ(info->type, KeyType::kAes256Gcm96);
  EXPECT_FALSE(info->derived);
  EXPECT_EQ(*engine_->Decrypt("auto", r->ciphertext, {}), "x");

  CryptoOptions c;
  c.context = "ctx";
  ASSERT_OK(engine_->Encrypt("auto-derived", "x", c, true));
  EXPECT_TRUE(engine_->ReadKey("auto-derived")->derived);
}

TEST_F(TransitEngineTest, CreatingAnExistingKeyIsAlreadyExists) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  EXPECT_EQ(engine_->CreateKey("k", {}).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(TransitEngineTest, BadKeyNamesAreInvalidArgument) {
  for (const std::string& name :
       {std::string(), std::string("a/b"), std::string(".."),
        std::string(200, 'a'), std::string("sp ace")}) {
    EXPECT_EQ(engine_->CreateKey(name, {}).status().code(),
              absl::StatusCode::kInvalidArgument)
        << name;
    EXPECT_EQ(engine_->Encrypt(name, "x", {}).status().code(),
              absl::StatusCode::kInvalidArgument)
        << name;
  }
}

TEST_F(TransitEngineTest, ErrorMessagesNeverEchoPlaintextOrInput) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  KeyOptions d;
  d.derived = true;
  ASSERT_OK(engine_->CreateKey("d", d));
  const std::string secret = "PLAINTEXT-SENTINEL-123";
  std::vector<absl::Status> errors = {
      engine_->Encrypt("d", secret, {}).status(),
      engine_->Decrypt("k", "arca:v1:" + secret, {}).status(),
      engine_->Decrypt("k", secret, {}).status(),
      engine_->VerifyHmac("k", secret, secret).status(),
  };
  for (const auto& s : errors) {
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.code(), absl::StatusCode::kInternal) << s;
    EXPECT_THAT(Msg(s), Not(HasSubstr("SENTINEL"))) << s;
  }
}

TEST_F(TransitEngineTest, EncryptOnSigningOrHmacKeyIsInvalidArgument) {
  KeyOptions s;
  s.type = KeyType::kEd25519;
  ASSERT_OK(engine_->CreateKey("sig", s));
  KeyOptions h;
  h.type = KeyType::kHmac;
  ASSERT_OK(engine_->CreateKey("mac", h));
  EXPECT_EQ(engine_->Encrypt("sig", "x", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->Encrypt("mac", "x", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_->Sign("mac", "x", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// --- Rewrap ---

TEST_F(TransitEngineTest, RewrapMovesToLatestVersion) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  const std::string v1 = MustEncrypt("k", "data");
  ASSERT_OK(engine_->RotateKey("k"));
  ASSERT_OK(engine_->RotateKey("k"));
  auto r = engine_->Rewrap("k", v1, {});
  ASSERT_OK(r);
  EXPECT_EQ(r->key_version, 3u);
  EXPECT_THAT(r->ciphertext, StartsWith("arca:v3:"));
  EXPECT_EQ(*engine_->Decrypt("k", r->ciphertext, {}), "data");
}

TEST_F(TransitEngineTest, RewrapKeepsAssociatedDataBinding) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  CryptoOptions o;
  o.associated_data = "row=7";
  const std::string v1 = MustEncrypt("k", "data", o);
  ASSERT_OK(engine_->RotateKey("k"));
  EXPECT_EQ(engine_->Rewrap("k", v1, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto r = engine_->Rewrap("k", v1, o);
  ASSERT_OK(r);
  EXPECT_THAT(r->ciphertext, StartsWith("arca:v2:"));
  EXPECT_EQ(*engine_->Decrypt("k", r->ciphertext, o), "data");
  EXPECT_FALSE(engine_->Decrypt("k", r->ciphertext, {}).ok());
}

// --- Batches ---

TEST_F(TransitEngineTest, BatchOfThousandWithThreeBadItemsKeepsOrder) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  std::vector<BatchItem> plain;
  for (int i = 0; i < 1000; ++i) {
    plain.push_back(
        {absl::StrCat("value-", i), "", "", absl::StrCat("ref-", i)});
  }
  auto enc = engine_->BatchEncrypt("k", plain);
  ASSERT_OK(enc);
  ASSERT_EQ(enc->size(), 1000u);
  std::vector<BatchItem> items;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_OK((*enc)[i].status);
    EXPECT_EQ((*enc)[i].reference, absl::StrCat("ref-", i));
    items.push_back({(*enc)[i].output, "", "", absl::StrCat("ref-", i)});
  }
  const std::set<int> bad = {3, 500, 999};
  items[3].input = "garbage";                           // malformed
  items[500].input = WithVersion(items[500].input, 9);  // too new
  items[999].associated_data = "wrong";                 // authentication
  auto dec = engine_->BatchDecrypt("k", items);
  ASSERT_OK(dec);
  ASSERT_EQ(dec->size(), 1000u);
  int ok = 0;
  for (int i = 0; i < 1000; ++i) {
    const BatchResult& r = (*dec)[i];
    EXPECT_EQ(r.reference, absl::StrCat("ref-", i));
    if (bad.count(i)) {
      EXPECT_EQ(r.status.code(), absl::StatusCode::kInvalidArgument) << i;
      EXPECT_TRUE(r.output.empty());
    } else {
      ASSERT_OK(r.status);
      EXPECT_EQ(r.output, absl::StrCat("value-", i));
      EXPECT_EQ(r.key_version, 1u);
      ++ok;
    }
  }
  EXPECT_EQ(ok, 997);
  EXPECT_EQ(Msg((*dec)[3].status), "ciphertext is malformed");
  EXPECT_EQ(Msg((*dec)[500].status), "ciphertext version is too new");
  EXPECT_EQ(Msg((*dec)[999].status), "ciphertext authentication failed");
}

TEST_F(TransitEngineTest, BatchEncryptOneBadItemDoesNotFailOthers) {
  KeyOptions d;
  d.derived = true;
  ASSERT_OK(engine_->CreateKey("d", d));
  auto enc = engine_->BatchEncrypt(
      "d", {{"a", "c1", "", "r0"}, {"b", "", "", "r1"}, {"c", "c3", "", "r2"}});
  ASSERT_OK(enc);
  EXPECT_OK((*enc)[0].status);
  EXPECT_EQ(Msg((*enc)[1].status), "context is required for derived keys");
  EXPECT_EQ((*enc)[1].reference, "r1");
  EXPECT_OK((*enc)[2].status);
  CryptoOptions c3;
  c3.context = "c3";
  EXPECT_EQ(*engine_->Decrypt("d", (*enc)[2].output, c3), "c");
}

TEST_F(TransitEngineTest, BatchRewrapMovesEveryGoodItemToLatest) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  std::vector<BatchItem> items = {{MustEncrypt("k", "a"), "", "", "x"},
                                  {"bad", "", "", "y"}};
  ASSERT_OK(engine_->RotateKey("k"));
  auto r = engine_->BatchRewrap("k", items);
  ASSERT_OK(r);
  ASSERT_OK((*r)[0].status);
  EXPECT_EQ((*r)[0].key_version, 2u);
  EXPECT_EQ((*r)[0].reference, "x");
  EXPECT_EQ((*r)[1].status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*r)[1].reference, "y");
  EXPECT_EQ(*engine_->Decrypt("k", (*r)[0].output, {}), "a");
}

TEST_F(TransitEngineTest, OversizedBatchIsInvalidArgument) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  std::vector<BatchItem> items(Engine::kMaxBatchItems + 1);
  EXPECT_EQ(engine_->BatchEncrypt("k", items).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A batch split into chunks on several threads must still answer in input
// order, with each item's error in its own slot.
TEST_F(TransitEngineTest, BatchSplitOverThreadsKeepsOrderAndPerItemErrors) {
  BatchPool pool(3);
  Options o;
  o.batch_chunk_items = 7;
  o.batch_pool = &pool;
  engine_ = NewEngine(o);
  ASSERT_OK(engine_->CreateKey("k", {}));
  KeyOptions d;
  d.derived = true;
  ASSERT_OK(engine_->CreateKey("d", d));

  constexpr int kItems = 500;
  std::vector<std::string> plaintexts, contexts;
  for (int i = 0; i < kItems; ++i) {
    plaintexts.push_back(absl::StrCat("value-", i));
    // Every 13th item carries a context: refused by "k", needed by "d".
    contexts.push_back(i % 13 == 0 ? absl::StrCat("ctx-", i) : "");
  }
  std::vector<BatchInput> items;
  for (int i = 0; i < kItems; ++i) {
    items.push_back({plaintexts[i], contexts[i], ""});
  }

  auto plain = engine_->BatchEncrypt("k", items);
  ASSERT_OK(plain);
  ASSERT_EQ(plain->size(), static_cast<size_t>(kItems));
  std::set<std::string> distinct;
  for (int i = 0; i < kItems; ++i) {
    const BatchResult& r = (*plain)[i];
    if (i % 13 == 0) {
      EXPECT_EQ(Msg(r.status), "context is only accepted by derived keys") << i;
      EXPECT_TRUE(r.output.empty()) << i;
      continue;
    }
    ASSERT_OK(r.status);
    EXPECT_EQ(r.key_version, 1u);
    EXPECT_EQ(*engine_->Decrypt("k", r.output, {}), plaintexts[i]) << i;
    distinct.insert(r.output);
  }
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kItems - (kItems + 12) / 13));

  auto derived = engine_->BatchEncrypt("d", items);
  ASSERT_OK(derived);
  for (int i = 0; i < kItems; ++i) {
    const BatchResult& r = (*derived)[i];
    if (i % 13 != 0) {
      EXPECT_EQ(Msg(r.status), "context is required for derived keys") << i;
      continue;
    }
    ASSERT_OK(r.status);
    CryptoOptions c;
    c.context = contexts[i];
    EXPECT_EQ(*engine_->Decrypt("d", r.output, c), plaintexts[i]) << i;
  }
  EXPECT_GE(pool.helpers(), 1u);
}

// Concurrent batches take disjoint ranges of the version's counter: the
// count is exact, no ciphertext (and so no nonce) repeats, and a restart
// resumes at or above every count handed out.
TEST_F(TransitEngineTest, ConcurrentBatchesAreCountedExactlyAndNeverRepeat) {
  BatchPool pool(2);
  Options o;
  o.counter_reservation = 7;
  o.batch_chunk_items = 16;
  o.batch_pool = &pool;
  engine_ = NewEngine(o);
  ASSERT_OK(engine_->CreateKey("k", {}));
  constexpr int kThreads = 4, kBatches = 10, kItems = 50;
  std::vector<BatchInput> items(kItems, BatchInput{"same plaintext", "", ""});
  std::vector<std::vector<std::string>> out(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        auto r = engine_->BatchEncrypt("k", items);
        if (!r.ok()) continue;
        for (const auto& item : *r) {
          if (item.status.ok()) out[t].push_back(item.output);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (const auto& v : out) all.insert(v.begin(), v.end());
  constexpr size_t kTotal = kThreads * kBatches * kItems;
  EXPECT_EQ(all.size(), kTotal);
  EXPECT_EQ(engine_->ReadKey("k")->versions[0].encryptions, kTotal);
  engine_ = NewEngine(o);
  EXPECT_GE(engine_->ReadKey("k")->versions[0].encryptions, kTotal);
}

// XChaCha20-Poly1305 keys go through the same batch path with Aead's
// default EncryptEach.
TEST_F(TransitEngineTest, XChaChaBatchRoundTripsInOrder) {
  BatchPool pool(2);
  Options o;
  o.batch_chunk_items = 5;
  o.batch_pool = &pool;
  engine_ = NewEngine(o);
  KeyOptions x;
  x.type = KeyType::kXChaCha20Poly1305;
  ASSERT_OK(engine_->CreateKey("x", x));
  std::vector<std::string> plaintexts;
  for (int i = 0; i < 40; ++i) plaintexts.push_back(absl::StrCat("x-", i));
  std::vector<BatchInput> items;
  for (const auto& p : plaintexts) items.push_back({p, "", "ad"});
  auto r = engine_->BatchEncrypt("x", items);
  ASSERT_OK(r);
  CryptoOptions ad;
  ad.associated_data = "ad";
  for (int i = 0; i < 40; ++i) {
    ASSERT_OK((*r)[i].status);
    EXPECT_EQ(*engine_->Decrypt("x", (*r)[i].output, ad), plaintexts[i]);
  }
}

TEST_F(TransitEngineTest, BatchReservesItsCountersInOneWrite) {
  Options o;
  o.counter_reservation = 100;
  engine_ = NewEngine(o);
  ASSERT_OK(engine_->CreateKey("k", {}));
  const int before = backend_.batches + backend_.puts;
  // One reservation covers all 1,000 (plus 100 ahead); per-item
  // reservations would have written ten times.
  auto r = engine_->BatchEncrypt("k", std::vector<BatchInput>(1000));
  ASSERT_OK(r);
  EXPECT_EQ(backend_.batches + backend_.puts, before + 1);
  EXPECT_EQ(engine_->ReadKey("k")->versions[0].encryptions, 1000u);
  engine_ = NewEngine(o);
  EXPECT_GE(engine_->ReadKey("k")->versions[0].encryptions, 1000u);
}

TEST_F(TransitEngineTest, BatchCrossingTheLimitEncryptsItsTailAfterRotation) {
  Options o;
  o.max_encryptions_per_version = 5;
  o.counter_reservation = 2;
  engine_ = NewEngine(o);
  ASSERT_OK(engine_->CreateKey("k", {}));
  std::vector<std::string> plaintexts;
  std::vector<BatchInput> items;
  for (int i = 0; i < 12; ++i) plaintexts.push_back(absl::StrCat(i));
  for (const auto& p : plaintexts) items.push_back({p, "", ""});
  auto r = engine_->BatchEncrypt("k", items);
  ASSERT_OK(r);
  for (int i = 0; i < 12; ++i) {
    ASSERT_OK((*r)[i].status);
    EXPECT_EQ((*r)[i].key_version, static_cast<uint32_t>(1 + i / 5)) << i;
    EXPECT_EQ(*engine_->Decrypt("k", (*r)[i].output, {}), plaintexts[i]);
  }
  auto info = engine_->ReadKey("k");
  ASSERT_OK(info);
  EXPECT_EQ(info->latest_version, 3u);
}

// --- Derived and convergent ---

TEST_F(TransitEngineTest,
       ConvergentEqualPlaintextAndContextGiveEqualCiphertext) {
  KeyOptions ko;
  ko.derived = true;
  ko.convergent = true;
  ASSERT_OK(engine_->CreateKey("c", ko));
  CryptoOptions a;
  a.context = "ctx-a";
  const std::string c1 = MustEncrypt("c", "same", a);
  EXPECT_EQ(c1, MustEncrypt("c", "same", a));
  EXPECT_NE(c1, MustEncrypt("c", "different", a));
  CryptoOptions b;
  b.context = "ctx-b";
  EXPECT_NE(c1, MustEncrypt("c", "same", b));
  // Associated data feeds the nonce too: no nonce reuse across AAD.
  CryptoOptions a_aad = a;
  a_aad.associated_data = "aad-1";
  const std::string c2 = MustEncrypt("c", "same", a_aad);
  CryptoOptions a_aad2 = a;
  a_aad2.associated_data = "aad-2";  // same length, different bytes
  const std::string c3 = MustEncrypt("c", "same", a_aad2);
  // The first 16 base64 characters encode the first 12 bytes: the nonce.
  EXPECT_NE(c1.substr(8, 16), c2.substr(8, 16));
  EXPECT_NE(c2.substr(8, 16), c3.substr(8, 16));
  EXPECT_EQ(*engine_->Decrypt("c", c1, a), "same");
  EXPECT_EQ(*engine_->Decrypt("c", c2, a_aad), "same");
}

TEST_F(TransitEngineTest, ConvergentXChaChaIsDeterministic) {
  KeyOptions ko;
  ko.type = KeyType::kXChaCha20Poly1305;
  ko.derived = true;
  ko.convergent = true;
  ASSERT_OK(engine_->CreateKey("c", ko));
  CryptoOptions a;
  a.context = "ctx";
  const std::string c1 = MustEncrypt("c", "same", a);
  EXPECT_EQ(c1, MustEncrypt("c", "same", a));
  EXPECT_EQ(*engine_->Decrypt("c", c1, a), "same");
}

TEST_F(TransitEngineTest, DerivedKeysDifferPerContext) {
  KeyOptions ko;
  ko.derived = true;
  ASSERT_OK(engine_->CreateKey("d", ko));
  CryptoOptions a;
  a.context = "tenant-a";
  CryptoOptions b;
  b.context = "tenant-b";
  const std::string ca = MustEncrypt("d", "x", a);
  const std::string cb = MustEncrypt("d", "x", b);
  EXPECT_EQ(*engine_->Decrypt("d", ca, a), "x");
  EXPECT_EQ(*engine_->Decrypt("d", cb, b), "x");
  EXPECT_FALSE(engine_->Decrypt("d", ca, b).ok());
  EXPECT_FALSE(engine_->Decrypt("d", cb, a).ok());
}

// --- Data keys ---

TEST_F(TransitEngineTest, DataKeyWrappedDecryptsToPlaintextKey) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  for (int bits : {128, 256, 512}) {
    auto dk = engine_->GenerateDataKey("k", bits, true, {});
    ASSERT_OK(dk);
    EXPECT_EQ(dk->plaintext.size(), static_cast<size_t>(bits / 8));
    EXPECT_THAT(dk->ciphertext, StartsWith("arca:v1:"));
    auto unwrapped = engine_->Decrypt("k", dk->ciphertext, {});
    ASSERT_OK(unwrapped);
    EXPECT_EQ(*unwrapped, dk->plaintext.Reveal());
  }
}

TEST_F(TransitEngineTest, WrappedOnlyDataKeyHasNoPlaintext) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  auto dk = engine_->GenerateDataKey("k", 256, false, {});
  ASSERT_OK(dk);
  EXPECT_TRUE(dk->plaintext.empty());
  auto unwrapped = engine_->Decrypt("k", dk->ciphertext, {});
  ASSERT_OK(unwrapped);
  EXPECT_EQ(unwrapped->size(), 32u);
}

TEST_F(TransitEngineTest, DataKeyWithUnsupportedSizeIsInvalidArgument) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  EXPECT_EQ(engine_->GenerateDataKey("k", 192, true, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// --- HMAC ---

TEST_F(TransitEngineTest, HmacVerifiesAndRejectsOtherInput) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  auto tag = engine_->Hmac("k", "message", {});
  ASSERT_OK(tag);
  EXPECT_THAT(*tag, StartsWith("arca:v1:"));
  EXPECT_EQ(*tag, *engine_->Hmac("k", "message", {}));
  EXPECT_TRUE(*engine_->VerifyHmac("k", "message", *tag));
  EXPECT_FALSE(*engine_->VerifyHmac("k", "messagf", *tag));
}

TEST_F(TransitEngineTest, HmacUnderWrongVersionFailsToVerify) {
  KeyOptions h;
  h.type = KeyType::kHmac;
  ASSERT_OK(engine_->CreateKey("h", h));
  const std::string v1 = *engine_->Hmac("h", "m", {});
  ASSERT_OK(engine_->RotateKey("h"));
  const std::string v2 = *engine_->Hmac("h", "m", {});
  EXPECT_THAT(v2, StartsWith("arca:v2:"));
  EXPECT_NE(v1.substr(8), v2.substr(8));  // a separate key per version
  EXPECT_TRUE(*engine_->VerifyHmac("h", "m", v1));
  EXPECT_FALSE(*engine_->VerifyHmac("h", "m", WithVersion(v1, 2)));
  auto too_new = engine_->VerifyHmac("h", "m", WithVersion(v1, 3));
  EXPECT_EQ(too_new.status().code(), absl::StatusCode::kInvalidArgument);
  KeyConfigUpdate u;
  u.min_decryption_version = 2;
  ASSERT_OK(engine_->ConfigureKey("h", u));
  auto old = engine_->VerifyHmac("h", "m", v1);
  EXPECT_EQ(old.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Msg(old.status()), "hmac version is disallowed by policy");
}

TEST_F(TransitEngineTest, HmacKeyIsSeparateFromEncryptionKey) {
  KeyOptions ko;
  ko.exportable = true;
  ASSERT_OK(engine_->CreateKey("k", ko));
  auto enc = engine_->ExportKey("k", Engine::ExportKind::kEncryptionKey, 1);
  auto mac = engine_->ExportKey("k", Engine::ExportKind::kHmacKey, 1);
  ASSERT_OK(enc);
  ASSERT_OK(mac);
  EXPECT_FALSE(enc->at(1).Equals(mac->at(1)));
}

// --- Ed25519 ---

TEST_F(TransitEngineTest, Ed25519SignThenVerify) {
  KeyOptions s;
  s.type = KeyType::kEd25519;
  ASSERT_OK(engine_->CreateKey("sig", s));
  auto sig = engine_->Sign("sig", "release-1.2.3", {});
  ASSERT_OK(sig);
  EXPECT_THAT(*sig, StartsWith("arca:v1:"));
  EXPECT_TRUE(*engine_->VerifySignature("sig", "release-1.2.3", *sig));
  EXPECT_FALSE(*engine_->VerifySignature("sig", "release-1.2.4", *sig));
  // The public key in the key read verifies it independently.
  auto info = engine_->ReadKey("sig");
  ASSERT_OK(info);
  std::string raw;
  ASSERT_TRUE(absl::Base64Unescape(sig->substr(8), &raw));
  EXPECT_OK(
      kms::Ed25519Verify(info->versions[0].public_key, "release-1.2.3", raw));
}

TEST_F(TransitEngineTest, TamperedSignatureFailsToVerify) {
  KeyOptions s;
  s.type = KeyType::kEd25519;
  ASSERT_OK(engine_->CreateKey("sig", s));
  std::string raw;
  ASSERT_TRUE(
      absl::Base64Unescape(engine_->Sign("sig", "m", {})->substr(8), &raw));
  raw[0] ^= 0x40;
  EXPECT_FALSE(*engine_->VerifySignature("sig", "m",
                                         "arca:v1:" + absl::Base64Escape(raw)));
  // A signature by version 1 does not verify as version 2.
  ASSERT_OK(engine_->RotateKey("sig"));
  CryptoOptions first;
  first.key_version = 1;
  const std::string v1 = *engine_->Sign("sig", "m", first);
  EXPECT_TRUE(*engine_->VerifySignature("sig", "m", v1));
  EXPECT_FALSE(*engine_->VerifySignature("sig", "m", WithVersion(v1, 2)));
}

// --- Nonce counters and rotation ---

TEST_F(TransitEngineTest, EncryptionCountersSurviveRestartAndNeverGoBackwards) {
  Options o;
  o.counter_reservation = 10;
  engine_ = NewEngine(o);
  ASSERT_OK(engine_->CreateKey("k", {}));
  for (int i = 0; i < 25; ++i) MustEncrypt("k", "x");
  EXPECT_EQ(engine_->ReadKey("k")->versions[0].encryptions, 25u);

  uint64_t last = 25;
  for (int restart = 0; restart < 3; ++restart) {
    engine_.reset();  // as after kill -9: nothing is flushed on the way out
    engine_ = NewEngine(o);
    const uint64_t resumed = engine_->ReadKey("k")->versions[0].encryptions;
    EXPECT_GE(resumed, last) << "restart " << restart;
    for (int i = 0; i < 7; ++i) MustEncrypt("k", "x");
    const uint64_t now = engine_->ReadKey("k")->versions[0].encryptions;
    EXPECT_EQ(now, resumed + 7);
    last = now;
  }
}

TEST_F(TransitEngineTest, EncryptsWriteStorageOnlyForReservations) {
  Options o;
  o.counter_reservation = 100;
  engine_ = NewEngine(o);
  ASSERT_OK(engine_->CreateKey("k", {}));
  MustEncrypt("k", "x");  // takes the first reservation
  const int before = backend_.batches + backend_.puts;
  for (int i = 0; i < 50; ++i) MustEncrypt("k", "x");
  EXPECT_EQ(backend_.batches + backend_.puts, before);
  for (int i = 0; i < 100; ++i) MustEncrypt("k", "x");
  EXPECT_EQ(backend_.batches + backend_.puts, before + 1);
}

TEST_F(TransitEngineTest, AutoRotatesBeforeEncryptionLimit) {
  Options o;
  o.max_encryptions_per_version = 5;
  o.counter_reservation = 2;
  engine_ = NewEngine(o);
  ASSERT_OK(engine_->CreateKey("k", {}));
  std::vector<std::string> cts;
  for (int i = 0; i < 12; ++i) cts.push_back(MustEncrypt("k", absl::StrCat(i)));
  auto info = engine_->ReadKey("k");
  ASSERT_OK(info);
  EXPECT_EQ(info->latest_version, 3u);
  for (const auto& v : info->versions) EXPECT_LE(v.encryptions, 6u);
  EXPECT_THAT(cts[4], StartsWith("arca:v1:"));
  EXPECT_THAT(cts[5], StartsWith("arca:v2:"));
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(*engine_->Decrypt("k", cts[i], {}), absl::StrCat(i));
  }
}

TEST_F(TransitEngineTest, OldVersionAtLimitIsResourceExhausted) {
  Options o;
  o.max_encryptions_per_version = 3;
  engine_ = NewEngine(o);
  ASSERT_OK(engine_->CreateKey("k", {}));
  ASSERT_OK(engine_->RotateKey("k"));
  CryptoOptions v1;
  v1.key_version = 1;
  for (int i = 0; i < 3; ++i) EXPECT_OK(engine_->Encrypt("k", "x", v1));
  EXPECT_EQ(engine_->Encrypt("k", "x", v1).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST_F(TransitEngineTest, ConcurrentEncryptsAreCountedExactly) {
  Options o;
  o.counter_reservation = 7;
  engine_ = NewEngine(o);
  ASSERT_OK(engine_->CreateKey("k", {}));
  std::vector<std::thread> threads;
  std::vector<std::vector<std::string>> out(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto r = engine_->Encrypt("k", "x", {});
        if (r.ok()) out[t].push_back(r->ciphertext);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> all;
  for (const auto& v : out) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), 800u);
  EXPECT_EQ(engine_->ReadKey("k")->versions[0].encryptions, 800u);
  engine_ = NewEngine(o);
  EXPECT_GE(engine_->ReadKey("k")->versions[0].encryptions, 800u);
}

TEST_F(TransitEngineTest, EncryptAndDecryptStayCorrectDuringRotations) {
  Options o;
  o.counter_reservation = 3;
  engine_ = NewEngine(o);
  ASSERT_OK(engine_->CreateKey("k", {}));
  std::atomic<int> failures{0};
  std::atomic<int> rotations{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 3; ++t) {
    workers.emplace_back([&, t] {
      // Start once the key has rotated, so encryption always overlaps
      // rotation even when the scheduler runs the rotator late.
      while (rotations.load() == 0) std::this_thread::yield();
      for (int i = 0; i < 300; ++i) {
        const std::string pt = absl::StrCat(t, "-", i);
        auto enc = engine_->Encrypt("k", pt, {});
        if (!enc.ok()) {
          ++failures;
          continue;
        }
        auto dec = engine_->Decrypt("k", enc->ciphertext, {});
        if (!dec.ok() || *dec != pt) ++failures;
      }
    });
  }
  std::thread rotator([&] {
    for (int i = 0; i < 20; ++i) {
      if (!engine_->RotateKey("k").ok()) ++failures;
      ++rotations;
    }
  });
  for (auto& w : workers) w.join();
  rotator.join();
  EXPECT_EQ(failures.load(), 0);
  auto info = engine_->ReadKey("k");
  ASSERT_OK(info);
  uint64_t total = 0;
  for (const auto& v : info->versions) total += v.encryptions;
  EXPECT_EQ(total, 900u);
  EXPECT_GE(info->latest_version, 2u);
  // Every count is covered by a durable reservation.
  engine_ = NewEngine(o);
  auto reloaded = engine_->ReadKey("k");
  ASSERT_OK(reloaded);
  for (size_t i = 0; i < reloaded->versions.size(); ++i) {
    EXPECT_GE(reloaded->versions[i].encryptions, info->versions[i].encryptions);
  }
}

TEST_F(TransitEngineTest, AutoRotatePeriodRotatesOnEncrypt) {
  KeyOptions ko;
  ko.auto_rotate_period_ms = 24 * kHourMs;
  ASSERT_OK(engine_->CreateKey("k", ko));
  EXPECT_THAT(MustEncrypt("k", "x"), StartsWith("arca:v1:"));
  now_ms_ += 24 * kHourMs;
  EXPECT_THAT(MustEncrypt("k", "x"), StartsWith("arca:v2:"));
  EXPECT_THAT(MustEncrypt("k", "x"), StartsWith("arca:v2:"));
}

TEST_F(TransitEngineTest, MaybeAutoRotateRotatesOnlyDueKeys) {
  KeyOptions ko;
  ko.auto_rotate_period_ms = kHourMs;
  ASSERT_OK(engine_->CreateKey("due", ko));
  ASSERT_OK(engine_->CreateKey("manual", {}));
  auto n = engine_->MaybeAutoRotate(kStartMs + kHourMs / 2);
  ASSERT_OK(n);
  EXPECT_EQ(*n, 0);
  n = engine_->MaybeAutoRotate(kStartMs + kHourMs);
  ASSERT_OK(n);
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(engine_->ReadKey("due")->latest_version, 2u);
  EXPECT_EQ(engine_->ReadKey("manual")->latest_version, 1u);
  // Rotated "now": not due again until another period passes.
  EXPECT_EQ(*engine_->MaybeAutoRotate(kStartMs + kHourMs + 1), 0);
}

TEST_F(TransitEngineTest, AutoRotatePeriodBelowOneHourIsRefused) {
  KeyOptions ko;
  ko.auto_rotate_period_ms = 1000;
  EXPECT_EQ(engine_->CreateKey("k", ko).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// --- Usage statistics ---

TEST_F(TransitEngineTest, UsageStatsRecordDecryptsAndPersist) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  const std::string ct = MustEncrypt("k", "x");
  now_ms_ += 5000;
  for (int i = 0; i < 3; ++i) ASSERT_OK(engine_->Decrypt("k", ct, {}));
  auto info = engine_->ReadKey("k");
  ASSERT_OK(info);
  EXPECT_EQ(info->versions[0].decryptions, 3u);
  EXPECT_EQ(info->versions[0].last_used_unix_ms, kStartMs + 5000);
  ASSERT_OK(engine_->FlushUsage());
  engine_ = NewEngine();
  info = engine_->ReadKey("k");
  EXPECT_EQ(info->versions[0].decryptions, 3u);
  EXPECT_EQ(info->versions[0].last_used_unix_ms, kStartMs + 5000);
}

TEST_F(TransitEngineTest, UsageStatsFlushOnDecryptAfterInterval) {
  Options o;
  o.usage_flush_interval_ms = 1000;
  engine_ = NewEngine(o);
  ASSERT_OK(engine_->CreateKey("k", {}));
  const std::string ct = MustEncrypt("k", "x");
  ASSERT_OK(engine_->Decrypt("k", ct, {}));
  now_ms_ += 1000;
  ASSERT_OK(engine_->Decrypt("k", ct, {}));  // writes both
  engine_ = NewEngine(o);                    // no explicit flush
  EXPECT_EQ(engine_->ReadKey("k")->versions[0].decryptions, 2u);
}

// --- Trim, delete, config, export ---

TEST_F(TransitEngineTest, TrimRemovesVersionsBelowMinDecryption) {
  KeyOptions ko;
  ko.exportable = true;
  ASSERT_OK(engine_->CreateKey("k", ko));
  const std::string v1 = MustEncrypt("k", "old");
  ASSERT_OK(engine_->RotateKey("k"));
  ASSERT_OK(engine_->RotateKey("k"));
  // Trimming above min_decryption_version is refused.
  EXPECT_EQ(engine_->TrimKey("k", 2).status().code(),
            absl::StatusCode::kInvalidArgument);
  KeyConfigUpdate u;
  u.min_decryption_version = 3;
  ASSERT_OK(engine_->ConfigureKey("k", u));
  auto info = engine_->TrimKey("k");
  ASSERT_OK(info);
  EXPECT_EQ(info->min_available_version, 3u);
  ASSERT_EQ(info->versions.size(), 1u);
  EXPECT_EQ(info->versions[0].version, 3u);
  // Gone from storage too, and cannot be re-enabled.
  engine_ = NewEngine();
  EXPECT_EQ(engine_->ReadKey("k")->versions.size(), 1u);
  EXPECT_EQ(engine_->ExportKey("k", Engine::ExportKind::kEncryptionKey)->size(),
            1u);
  u.min_decryption_version = 1;
  EXPECT_EQ(engine_->ConfigureKey("k", u).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Msg(engine_->Decrypt("k", v1, {}).status()),
            "ciphertext version is disallowed by policy");
}

TEST_F(TransitEngineTest, DeleteRefusedUnlessAllowed) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  EXPECT_EQ(engine_->DeleteKey("k").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_OK(engine_->ReadKey("k"));
  KeyConfigUpdate u;
  u.deletion_allowed = true;
  ASSERT_OK(engine_->ConfigureKey("k", u));
  ASSERT_OK(engine_->DeleteKey("k"));
  EXPECT_EQ(engine_->ReadKey("k").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(engine_->Encrypt("k", "x", {}).status().code(),
            absl::StatusCode::kNotFound);
  for (const auto& [key, value] : backend_.Snapshot()) {
    EXPECT_FALSE(absl::StartsWith(key, "logical/transit/keys/")) << key;
    EXPECT_FALSE(absl::StartsWith(key, "logical/transit/usage/")) << key;
  }
}

TEST_F(TransitEngineTest, ConfigRejectsInconsistentMinVersions) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  KeyConfigUpdate u;
  u.min_decryption_version = 2;  // above latest
  EXPECT_EQ(engine_->ConfigureKey("k", u).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_OK(engine_->RotateKey("k"));
  ASSERT_OK(engine_->ConfigureKey("k", u));
  KeyConfigUpdate e;
  e.min_encryption_version = 1;  // below min_decryption_version
  EXPECT_EQ(engine_->ConfigureKey("k", e).status().code(),
            absl::StatusCode::kInvalidArgument);
  e.min_encryption_version = 2;
  ASSERT_OK(engine_->ConfigureKey("k", e));
  CryptoOptions v1;
  v1.key_version = 1;
  EXPECT_EQ(engine_->Encrypt("k", "x", v1).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto info = engine_->ReadKey("k");
  EXPECT_EQ(info->min_decryption_version, 2u);
  EXPECT_EQ(info->min_encryption_version, 2u);
}

TEST_F(TransitEngineTest, ConfigSurvivesRestart) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  ASSERT_OK(engine_->RotateKey("k"));
  KeyConfigUpdate u;
  u.min_decryption_version = 2;
  u.deletion_allowed = true;
  u.auto_rotate_period_ms = 2 * kHourMs;
  ASSERT_OK(engine_->ConfigureKey("k", u));
  engine_ = NewEngine();
  auto info = engine_->ReadKey("k");
  ASSERT_OK(info);
  EXPECT_EQ(info->latest_version, 2u);
  EXPECT_EQ(info->min_decryption_version, 2u);
  EXPECT_TRUE(info->deletion_allowed);
  EXPECT_EQ(info->auto_rotate_period_ms, 2 * kHourMs);
}

TEST_F(TransitEngineTest, ExportableRefusedByDefault) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  auto r = engine_->ExportKey("k", Engine::ExportKind::kEncryptionKey);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      engine_->ExportKey("k", Engine::ExportKind::kHmacKey).status().code(),
      absl::StatusCode::kFailedPrecondition);
}

TEST_F(TransitEngineTest, ExportedKeyDecryptsTransitCiphertext) {
  KeyOptions ko;
  ko.exportable = true;
  ASSERT_OK(engine_->CreateKey("k", ko));
  const std::string ct = MustEncrypt("k", "portable");
  auto keys = engine_->ExportKey("k", Engine::ExportKind::kEncryptionKey);
  ASSERT_OK(keys);
  ASSERT_EQ(keys->size(), 1u);
  auto aead = kms::AesGcm::New(keys->at(1));
  ASSERT_OK(aead);
  std::string body;
  ASSERT_TRUE(absl::Base64Unescape(ct.substr(8), &body));
  EXPECT_EQ(*(*aead)->Decrypt(body, ""), "portable");
  // A signing key cannot be exported from an AEAD key.
  EXPECT_EQ(
      engine_->ExportKey("k", Engine::ExportKind::kSigningKey).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST_F(TransitEngineTest, ExportableCannotBeTurnedOff) {
  KeyOptions ko;
  ko.exportable = true;
  ASSERT_OK(engine_->CreateKey("k", ko));
  KeyConfigUpdate u;
  u.exportable = false;
  EXPECT_EQ(engine_->ConfigureKey("k", u).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TransitEngineTest, KeyMaterialNeverAppearsInClearInStorage) {
  KeyOptions aes;
  aes.exportable = true;
  ASSERT_OK(engine_->CreateKey("aes", aes));
  ASSERT_OK(engine_->RotateKey("aes"));
  KeyOptions sig;
  sig.type = KeyType::kEd25519;
  sig.exportable = true;
  ASSERT_OK(engine_->CreateKey("sig", sig));
  const std::string plaintext = "PLAINTEXT-IN-STORAGE-CHECK";
  const std::string ct = MustEncrypt("aes", plaintext);
  ASSERT_OK(engine_->Decrypt("aes", ct, {}));
  ASSERT_OK(engine_->FlushUsage());

  const std::string stored = AllStoredBytes();
  EXPECT_THAT(stored, HasSubstr("logical/transit/keys/aes"));
  EXPECT_THAT(stored, Not(HasSubstr(plaintext)));
  std::vector<kms::SecretBytes> secrets;
  for (const char* name : {"aes", "sig"}) {
    for (auto kind :
         {Engine::ExportKind::kEncryptionKey, Engine::ExportKind::kSigningKey,
          Engine::ExportKind::kHmacKey}) {
      auto keys = engine_->ExportKey(name, kind);
      if (!keys.ok()) continue;
      for (auto& [v, k] : *keys) secrets.push_back(std::move(k));
    }
  }
  ASSERT_EQ(secrets.size(), 6u);  // aes: 2 enc + 2 hmac; sig: seed + hmac
  for (const auto& s : secrets) {
    const std::string raw(s.Reveal());
    EXPECT_EQ(stored.find(raw), std::string::npos);
    EXPECT_EQ(stored.find(absl::BytesToHexString(raw)), std::string::npos);
    EXPECT_EQ(stored.find(absl::Base64Escape(raw)), std::string::npos);
  }
}

TEST_F(TransitEngineTest, ListKeysReturnsSortedNames) {
  ASSERT_OK(engine_->CreateKey("b", {}));
  ASSERT_OK(engine_->CreateKey("a", {}));
  auto names = engine_->ListKeys();
  ASSERT_OK(names);
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b"}));
}

TEST_F(TransitEngineTest, SealedBarrierIsUnavailableAfterCacheDrop) {
  ASSERT_OK(engine_->CreateKey("k", {}));
  const std::string ct = MustEncrypt("k", "x");
  barrier_.Seal();
  engine_->DropCache();
  EXPECT_EQ(engine_->Decrypt("k", ct, {}).status().code(),
            absl::StatusCode::kUnavailable);
  ASSERT_OK(barrier_.Unseal(unseal_key_));
  EXPECT_EQ(*engine_->Decrypt("k", ct, {}), "x");
}

TEST_F(TransitEngineTest, KeyTypeNamesRoundTrip) {
  for (KeyType t : {KeyType::kAes256Gcm96, KeyType::kXChaCha20Poly1305,
                    KeyType::kEd25519, KeyType::kHmac}) {
    EXPECT_EQ(*ParseKeyType(KeyTypeName(t)), t);
  }
  EXPECT_EQ(*ParseKeyType(""), KeyType::kAes256Gcm96);
  EXPECT_EQ(ParseKeyType("rsa-2048").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace arca::engines::transit
