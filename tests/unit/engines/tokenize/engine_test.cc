#include "server/engines/tokenize/engine.h"

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kms/random.h"
#include "server/barrier/barrier.h"
#include "server/storage/in_memory_backend.h"

namespace arca::engines::tokenize {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

#define ASSERT_OK(expr)                                   \
  do {                                                    \
    const auto& tk_test_s_ = (expr);                      \
    ASSERT_TRUE(tk_test_s_.ok()) << StatusOf(tk_test_s_); \
  } while (0)

absl::Status StatusOf(const absl::Status& s) { return s; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

constexpr char kViewPrefix[] = "logical/tokenize/";
constexpr int64_t kStartMs = 1'700'000'000'000;

int LuhnSum(std::string_view s) {
  int sum = 0;
  bool dbl = false;
  for (size_t i = s.size(); i > 0; --i) {
    int d = s[i - 1] - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10;
}
bool Luhn(std::string_view s) { return LuhnSum(s) == 0; }

uint32_t RandomBelow(uint32_t n) {
  uint32_t r;
  kms::RandomBytes(reinterpret_cast<uint8_t*>(&r), sizeof(r));
  return r % n;
}

// A random Luhn-valid card number of `len` digits.
std::string RandomPan(size_t len = 16) {
  std::string s;
  for (size_t i = 0; i + 1 < len; ++i) s.push_back('0' + RandomBelow(10));
  for (char d = '0'; d <= '9'; ++d) {
    if (Luhn(s + d)) return s + d;
  }
  return "";
}

// Counts the writes that reach storage (each one a synced write on RocksDB).
class WriteCountingBackend : public storage::InMemoryBackend {
 public:
  absl::Status Put(std::string_view key, std::string_view value) override {
    ++writes;
    return InMemoryBackend::Put(key, value);
  }
  absl::Status Batch(const std::vector<storage::Mutation>& m) override {
    ++writes;
    return InMemoryBackend::Batch(m);
  }
  std::atomic<int> writes{0};
};

class TokenizeEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unseal_key_ = kms::RandomSecret(32);
    ASSERT_OK(barrier_.Initialize(unseal_key_));
    ASSERT_OK(barrier_.Unseal(unseal_key_));
    engine_ = NewEngine();
  }

  std::unique_ptr<Engine> NewEngine() {
    Options o;
    o.now_ms = [this] { return now_ms_.load(); };
    return std::make_unique<Engine>(barrier::View(&barrier_, kViewPrefix),
                                    std::move(o));
  }

  // Creates `name` and a role of the same name binding it.
  void Create(const std::string& name, const TransformationOptions& o) {
    ASSERT_OK(engine_->CreateTransformation(name, o));
    ASSERT_OK(engine_->WriteRole(name, {name}));
  }

  TransformationOptions Fpe(std::string tmpl, LuhnMode luhn = LuhnMode::kNone,
                            TweakSource tweak = TweakSource::kInternal) {
    TransformationOptions o;
    o.type = TransformationType::kFpe;
    o.template_name = std::move(tmpl);
    o.luhn = luhn;
    o.tweak_source = tweak;
    return o;
  }

  TransformationOptions Vault(std::string tmpl, bool convergent = false) {
    TransformationOptions o;
    o.type = TransformationType::kTokenization;
    o.template_name = std::move(tmpl);
    o.convergent = convergent;
    return o;
  }

  EncodeResult MustEncode(const std::string& t, const std::string& value,
                          const std::string& tweak = "") {
    EncodeItem item;
    item.value = value;
    item.tweak = tweak;
    auto r = engine_->Encode(t, t, item);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : EncodeResult{};
  }

  absl::StatusOr<DecodeResult> DecodeToken(const std::string& t,
                                           const std::string& token,
                                           const std::string& tweak = "",
                                           uint32_t version = 0) {
    DecodeItem item;
    item.value = token;
    item.tweak = tweak;
    item.key_version = version;
    return engine_->Decode(t, t, item);
  }

  std::string AllStoredBytes() const {
    std::string all;
    for (const auto& [key, value] : backend_.Snapshot()) {
      absl::StrAppend(&all, key, "\n", value, "\n");
    }
    return all;
  }

  WriteCountingBackend backend_;
  barrier::Barrier barrier_{&backend_};
  kms::SecretBytes unseal_key_;
  std::atomic<int64_t> now_ms_{kStartMs};
  std::unique_ptr<Engine> engine_;
};

// --- fpe ---------------------------------------------------------------------

TEST_F(TokenizeEngineTest, FpePanTokenKeepsFirstSixAndLastFourAndRoundTrips) {
  Create("cards", Fpe("pan"));
  for (size_t len : {16, 17, 19}) {
    const std::string pan = RandomPan(len);
    const EncodeResult r = MustEncode("cards", pan);
    ASSERT_EQ(r.token.size(), pan.size());
    EXPECT_NE(r.token, pan);
    EXPECT_EQ(r.token.substr(0, 6), pan.substr(0, 6));
    EXPECT_EQ(r.token.substr(len - 4), pan.substr(len - 4));
    EXPECT_EQ(r.key_version, 1u);
    auto d = DecodeToken("cards", r.token);
    ASSERT_OK(d);
    EXPECT_EQ(d->value, pan);
  }
}

TEST_F(TokenizeEngineTest, FpeIsDeterministicForOneTweak) {
  Create("cards", Fpe("pan"));
  const std::string pan = RandomPan();
  EXPECT_EQ(MustEncode("cards", pan).token, MustEncode("cards", pan).token);
}

TEST_F(TokenizeEngineTest, LuhnInvalidateTokensNeverPassLuhnAndRoundTrip) {
  Create("cards", Fpe("pan", LuhnMode::kInvalidate));
  for (int i = 0; i < 2000; ++i) {
    const std::string pan = RandomPan(16 + i % 4);
    const EncodeResult r = MustEncode("cards", pan);
    ASSERT_FALSE(Luhn(r.token)) << "token passes Luhn";
    ASSERT_EQ(r.token.substr(0, 6), pan.substr(0, 6));
    ASSERT_EQ(r.token.substr(r.token.size() - 4), pan.substr(pan.size() - 4));
    auto d = DecodeToken("cards", r.token);
    ASSERT_OK(d);
    ASSERT_EQ(d->value, pan);
  }
}

TEST_F(TokenizeEngineTest, LuhnInvalidateRefusesValuesFailingLuhn) {
  Create("cards", Fpe("pan", LuhnMode::kInvalidate));
  std::string pan = RandomPan();
  pan.back() = static_cast<char>('0' + (pan.back() - '0' + 1) % 10);
  EncodeItem item;
  item.value = pan;
  auto r = engine_->Encode("cards", "cards", item);
  ASSERT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_THAT(std::string(r.status().message()), Not(HasSubstr(pan)));
}

TEST_F(TokenizeEngineTest, LuhnPreserveKeepsTheInputsLuhnClass) {
  Create("cards", Fpe("pan", LuhnMode::kPreserve));
  for (int i = 0; i < 1000; ++i) {
    std::string pan = RandomPan();
    if (i % 2 == 1) pan.back() = static_cast<char>('0' + (pan.back() - '0' + 3) % 10);
    const EncodeResult r = MustEncode("cards", pan);
    ASSERT_EQ(Luhn(r.token), Luhn(pan));
    auto d = DecodeToken("cards", r.token);
    ASSERT_OK(d);
    ASSERT_EQ(d->value, pan);
  }
}

TEST_F(TokenizeEngineTest, SsnTokenKeepsDashes) {
  Create("ssn", Fpe("ssn"));
  const EncodeResult r = MustEncode("ssn", "123-45-6789");
  ASSERT_EQ(r.token.size(), 11u);
  EXPECT_EQ(r.token[3], '-');
  EXPECT_EQ(r.token[6], '-');
  EXPECT_NE(r.token, "123-45-6789");
  auto d = DecodeToken("ssn", r.token);
  ASSERT_OK(d);
  EXPECT_EQ(d->value, "123-45-6789");
}

TEST_F(TokenizeEngineTest, IbanTokenKeepsCountryAndCheckDigits) {
  Create("iban", Fpe("iban"));
  const std::string iban = "DE89370400440532013000";
  const EncodeResult r = MustEncode("iban", iban);
  ASSERT_EQ(r.token.size(), iban.size());
  EXPECT_EQ(r.token.substr(0, 4), "DE89");
  EXPECT_NE(r.token, iban);
  for (char c : r.token) EXPECT_TRUE(isdigit(c) || isupper(c));
  auto d = DecodeToken("iban", r.token);
  ASSERT_OK(d);
  EXPECT_EQ(d->value, iban);
}

TEST_F(TokenizeEngineTest, ValueNotMatchingTemplateNamesTemplateNotValue) {
  Create("cards", Fpe("pan"));
  const std::string bad = "4111-1111-1111-1111";
  EncodeItem item;
  item.value = bad;
  auto r = engine_->Encode("cards", "cards", item);
  ASSERT_TRUE(absl::IsInvalidArgument(r.status()));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("template pan"));
  EXPECT_THAT(std::string(r.status().message()), Not(HasSubstr("4111")));
}

TEST_F(TokenizeEngineTest, CustomTemplateWithCustomAlphabetRoundTrips) {
  ASSERT_OK(engine_->CreateTemplate(
      "acct", {R"(ACCT-([A-F0-9]{8}))", "custom:0123456789ABCDEF"}));
  Create("acct", Fpe("acct"));
  const EncodeResult r = MustEncode("acct", "ACCT-00C0FFEE");
  EXPECT_TRUE(absl::StartsWith(r.token, "ACCT-"));
  for (char c : r.token.substr(5)) {
    EXPECT_NE(std::string("0123456789ABCDEF").find(c), std::string::npos);
  }
  EXPECT_EQ(DecodeToken("acct", r.token)->value, "ACCT-00C0FFEE");
}

TEST_F(TokenizeEngineTest, TransformationAlphabetOverridesTheTemplates) {
  ASSERT_OK(engine_->CreateTemplate(
      "acct", {R"(ACCT-(\w{8}))", "alphanumeric"}));
  TransformationOptions o = Fpe("acct");
  o.alphabet = "numeric";
  Create("digits", o);
  const EncodeResult r = MustEncode("digits", "ACCT-12345678");
  for (char c : r.token.substr(5)) EXPECT_TRUE(isdigit(c)) << r.token;
  EXPECT_EQ(DecodeToken("digits", r.token)->value, "ACCT-12345678");
  EncodeItem item;
  item.value = "ACCT-1234567X";
  EXPECT_TRUE(absl::IsInvalidArgument(
      engine_->Encode("digits", "digits", item).status()));
  EXPECT_EQ(engine_->ReadTransformation("digits")->options.alphabet, "numeric");
}

TEST_F(TokenizeEngineTest, BadTemplatesAreRefused) {
  EXPECT_TRUE(absl::IsInvalidArgument(
      engine_->CreateTemplate("t", {"(\\d{6}", "numeric"}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      engine_->CreateTemplate("t", {"\\d{6}", "numeric"}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      engine_->CreateTemplate("t", {"(\\w+)", "custom:ABCA"}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      engine_->CreateTemplate("t", {"(\\w+)", "letters"}).status()));
  // Backreferences (which need backtracking) are not RE2 syntax.
  EXPECT_TRUE(absl::IsInvalidArgument(
      engine_->CreateTemplate("t", {"(\\d+)\\1", "numeric"}).status()));
  EXPECT_TRUE(absl::IsAlreadyExists(
      engine_->CreateTemplate("pan", {"(\\d{6})", "numeric"}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(engine_->DeleteTemplate("pan")));
}

TEST_F(TokenizeEngineTest, PathologicalPatternMatchesInLinearTime) {
  // (a+)+$ backtracks exponentially in a backtracking engine.
  ASSERT_OK(engine_->CreateTemplate("evil", {"((a+)+)b", "custom:ab"}));
  TransformationOptions o;
  o.type = TransformationType::kMasking;
  o.template_name = "evil";
  o.mask_character = '#';
  Create("evil", o);
  EncodeItem item;
  item.value = std::string(1000, 'a');
  auto r = engine_->Encode("evil", "evil", item);
  EXPECT_TRUE(absl::IsInvalidArgument(r.status()));
}

TEST_F(TokenizeEngineTest, NestedCaptureGroupsAreRefusedAtEncode) {
  ASSERT_OK(engine_->CreateTemplate("nested", {"((\\d{3})\\d{6})", "numeric"}));
  Create("nested", Fpe("nested"));
  EncodeItem item;
  item.value = "123456789";
  EXPECT_TRUE(absl::IsInvalidArgument(
      engine_->Encode("nested", "nested", item).status()));
}

TEST_F(TokenizeEngineTest, TemplateInUseCannotBeDeleted) {
  ASSERT_OK(engine_->CreateTemplate("six", {"(\\d{6})", "numeric"}));
  Create("six", Fpe("six"));
  EXPECT_TRUE(absl::IsFailedPrecondition(engine_->DeleteTemplate("six")));
  ASSERT_OK(engine_->DeleteRole("six"));
  ASSERT_OK(engine_->DeleteTransformation("six"));
  ASSERT_OK(engine_->DeleteTemplate("six"));
}

TEST_F(TokenizeEngineTest, TooShortForFpeIsInvalidArgument) {
  ASSERT_OK(engine_->CreateTemplate("five", {"(\\d{5})", "numeric"}));
  Create("five", Fpe("five"));
  EncodeItem item;
  item.value = "12345";
  auto r = engine_->Encode("five", "five", item);
  ASSERT_TRUE(absl::IsInvalidArgument(r.status()));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("too short"));
}

TEST_F(TokenizeEngineTest, SuppliedTweakIsRequiredAndSeparatesDomains) {
  Create("cards", Fpe("pan", LuhnMode::kNone, TweakSource::kSupplied));
  const std::string pan = RandomPan();
  EncodeItem item;
  item.value = pan;
  EXPECT_TRUE(absl::IsInvalidArgument(
      engine_->Encode("cards", "cards", item).status()));
  const EncodeResult a = MustEncode("cards", pan, "tenant-a");
  const EncodeResult b = MustEncode("cards", pan, "tenant-b");
  EXPECT_NE(a.token, b.token);
  EXPECT_EQ(DecodeToken("cards", a.token, "tenant-a")->value, pan);
  EXPECT_NE(DecodeToken("cards", a.token, "tenant-b")->value, pan);
}

TEST_F(TokenizeEngineTest, GeneratedTweakCarriesVersionAcrossRotation) {
  Create("cards", Fpe("pan", LuhnMode::kNone, TweakSource::kGenerated));
  const std::string pan = RandomPan();
  const EncodeResult old = MustEncode("cards", pan);
  ASSERT_EQ(old.tweak.size(), 16u);
  ASSERT_OK(engine_->RotateTransformation("cards"));
  const EncodeResult fresh = MustEncode("cards", pan);
  EXPECT_EQ(fresh.key_version, 2u);
  EXPECT_NE(fresh.tweak, old.tweak);
  EXPECT_EQ(DecodeToken("cards", old.token, old.tweak)->value, pan);
  EXPECT_EQ(DecodeToken("cards", fresh.token, fresh.tweak)->value, pan);
  EXPECT_TRUE(absl::IsInvalidArgument(DecodeToken("cards", old.token).status()));
}

TEST_F(TokenizeEngineTest, InternalTweakTokensDecodeWithTheirKeyVersion) {
  Create("cards", Fpe("pan"));
  const std::string pan = RandomPan();
  const EncodeResult v1 = MustEncode("cards", pan);
  ASSERT_OK(engine_->RotateTransformation("cards"));
  const EncodeResult v2 = MustEncode("cards", pan);
  EXPECT_NE(v1.token, v2.token);
  EXPECT_EQ(v2.key_version, 2u);
  EXPECT_EQ(DecodeToken("cards", v1.token, "", 1)->value, pan);
  EXPECT_EQ(DecodeToken("cards", v2.token)->value, pan);
  EXPECT_TRUE(
      absl::IsInvalidArgument(DecodeToken("cards", v1.token, "", 9).status()));
}

TEST_F(TokenizeEngineTest, Ff3_1IsUsedOnlyWithTheOptInAndNeedsASevenByteTweak) {
  TransformationOptions o = Fpe("pan", LuhnMode::kNone, TweakSource::kSupplied);
  o.allow_ff3_1 = true;
  Create("legacy", o);
  Create("modern", Fpe("pan", LuhnMode::kNone, TweakSource::kSupplied));
  const std::string pan = RandomPan();
  EncodeItem item;
  item.value = pan;
  item.tweak = "8bytes!!";
  EXPECT_TRUE(absl::IsInvalidArgument(
      engine_->Encode("legacy", "legacy", item).status()));
  const EncodeResult r = MustEncode("legacy", pan, "7bytes!");
  EXPECT_EQ(DecodeToken("legacy", r.token, "7bytes!")->value, pan);
  EXPECT_TRUE(engine_->ReadTransformation("legacy")->options.allow_ff3_1);
  EXPECT_NE(MustEncode("modern", pan, "7bytes!").token, r.token);
}

// --- tokenization ------------------------------------------------------------

TEST_F(TokenizeEngineTest, VaultedTokenKeepsFormatAndValueIsNeverStoredInClear) {
  Create("vault", Vault("pan"));
  const std::string canary = "4000123456789010";
  const EncodeResult r = MustEncode("vault", canary);
  ASSERT_EQ(r.token.size(), canary.size());
  EXPECT_EQ(r.token.substr(0, 6), canary.substr(0, 6));
  EXPECT_EQ(r.token.substr(12), canary.substr(12));
  EXPECT_NE(r.token, canary);
  EXPECT_EQ(DecodeToken("vault", r.token)->value, canary);
  EXPECT_THAT(AllStoredBytes(), Not(HasSubstr(canary)));
  EXPECT_THAT(AllStoredBytes(), Not(HasSubstr(canary.substr(6, 6))));
}

TEST_F(TokenizeEngineTest, EachRandomDigitOfAVaultedTokenIsUniform) {
  // Tokens of one card: positions 6..11 are drawn. 2,000 tokens give each
  // digit 200 expected hits per position; a draw that reused or skipped
  // random bytes (equal digits, a constant position) lands far outside
  // 120..280 (more than 6 standard deviations).
  Create("vault", Vault("pan"));
  const std::string pan = "4000123456789010";
  std::vector<EncodeItem> items(2000);
  for (auto& item : items) item.value = pan;
  auto r = engine_->BatchEncode("vault", "vault", items);
  ASSERT_OK(r.status());
  int counts[6][10] = {};
  int equal_neighbours = 0;
  for (const auto& result : *r) {
    ASSERT_OK(result.status);
    for (int pos = 0; pos < 6; ++pos) {
      const char d = result.token[6 + pos];
      ASSERT_TRUE(d >= '0' && d <= '9');
      ++counts[pos][d - '0'];
      if (pos > 0 && d == result.token[5 + pos]) ++equal_neighbours;
    }
  }
  for (int pos = 0; pos < 6; ++pos) {
    for (int digit = 0; digit < 10; ++digit) {
      EXPECT_GT(counts[pos][digit], 120) << pos << " " << digit;
      EXPECT_LT(counts[pos][digit], 280) << pos << " " << digit;
    }
  }
  // Neighbouring digits are independent: equal one time in ten.
  EXPECT_NEAR(equal_neighbours, 2000 * 5 / 10, 300);
}

TEST_F(TokenizeEngineTest, NonConvergentTokensDifferAndLookupIsRefused) {
  Create("vault", Vault("pan"));
  const std::string pan = RandomPan();
  EXPECT_NE(MustEncode("vault", pan).token, MustEncode("vault", pan).token);
  EXPECT_TRUE(absl::IsFailedPrecondition(
      engine_->Lookup("vault", "vault", pan).status()));
}

TEST_F(TokenizeEngineTest, ConvergentGivesEqualTokensAndLookupFindsThem) {
  Create("vault", Vault("pan", /*convergent=*/true));
  const std::string pan = RandomPan();
  const EncodeResult a = MustEncode("vault", pan);
  const EncodeResult b = MustEncode("vault", pan);
  EXPECT_EQ(a.token, b.token);
  EXPECT_NE(MustEncode("vault", RandomPan()).token, a.token);
  auto found = engine_->Lookup("vault", "vault", pan);
  ASSERT_OK(found);
  EXPECT_EQ(*found, a.token);
  EXPECT_TRUE(absl::IsNotFound(
      engine_->Lookup("vault", "vault", RandomPan()).status()));
}

TEST_F(TokenizeEngineTest, ExpiredAndUnknownTokensAreTheSameNotFound) {
  TransformationOptions o = Vault("pan");
  o.ttl_ms = 60'000;
  Create("vault", o);
  const EncodeResult r = MustEncode("vault", RandomPan());
  ASSERT_OK(DecodeToken("vault", r.token));
  now_ms_ += 60'001;
  auto expired = DecodeToken("vault", r.token);
  auto unknown = DecodeToken("vault", RandomPan());
  ASSERT_TRUE(absl::IsNotFound(expired.status()));
  EXPECT_EQ(expired.status(), unknown.status());
  DecodeItem item;
  item.value = r.token;
  EXPECT_FALSE(engine_->Validate("vault", "vault", item)->valid);
}

TEST_F(TokenizeEngineTest, PurgeDeletesExpiredValuesAndNeverReissuesTokens) {
  // A one-digit space: 10 tokens (minus the value itself) for 9 values.
  ASSERT_OK(engine_->CreateTemplate("one", {"(\\d)", "numeric"}));
  TransformationOptions o = Vault("one");
  o.ttl_ms = 60'000;
  Create("vault", o);
  std::set<std::string> first;
  for (int i = 1; i <= 4; ++i) {
    first.insert(MustEncode("vault", std::to_string(i)).token);
  }
  EncodeItem keep;
  keep.value = "5";
  keep.ttl_ms = 3'600'000;
  auto kept = engine_->Encode("vault", "vault", keep);
  ASSERT_OK(kept.status());
  EXPECT_EQ(*engine_->PurgeExpired(now_ms_), 0);  // nothing due yet
  const std::string before = AllStoredBytes();

  now_ms_ += 60'001;
  EXPECT_EQ(*engine_->PurgeExpired(now_ms_), 4);
  EXPECT_EQ(*engine_->PurgeExpired(now_ms_), 0);  // already purged
  EXPECT_LT(AllStoredBytes().size(), before.size());
  ASSERT_OK(DecodeToken("vault", kept->token).status());
  for (const auto& t : first) {
    EXPECT_TRUE(absl::IsNotFound(DecodeToken("vault", t).status()));
  }
  // New values never get a purged token.
  for (int i = 6; i <= 9; ++i) {
    auto r = engine_->Encode("vault", "vault", [&] {
      EncodeItem item;
      item.value = std::to_string(i);
      return item;
    }());
    if (!r.ok()) {
      EXPECT_TRUE(absl::IsResourceExhausted(r.status())) << r.status();
      continue;
    }
    EXPECT_FALSE(first.contains(r->token));
    EXPECT_NE(r->token, kept->token);
  }
}

TEST_F(TokenizeEngineTest, VaultedMetadataAndPerItemTtlRoundTrip) {
  Create("vault", Vault("pan"));
  EncodeItem item;
  item.value = RandomPan();
  item.metadata = {{"merchant", "m-17"}};
  item.ttl_ms = 1000;
  auto r = engine_->Encode("vault", "vault", item);
  ASSERT_OK(r);
  auto d = DecodeToken("vault", r->token);
  ASSERT_OK(d);
  EXPECT_EQ(d->metadata.at("merchant"), "m-17");
  EXPECT_EQ(d->expire_time_unix_ms, kStartMs + 1000);
}

TEST_F(TokenizeEngineTest, VaultedTokensDecodeAfterRotation) {
  Create("vault", Vault("pan"));
  const std::string pan = RandomPan();
  const EncodeResult old = MustEncode("vault", pan);
  ASSERT_OK(engine_->RotateTransformation("vault"));
  const EncodeResult fresh = MustEncode("vault", RandomPan());
  EXPECT_EQ(old.key_version, 1u);
  EXPECT_EQ(fresh.key_version, 2u);
  EXPECT_EQ(DecodeToken("vault", old.token)->value, pan);
}

TEST_F(TokenizeEngineTest, VaultedTokensSurviveANewEngine) {
  Create("vault", Vault("pan", true));
  const std::string pan = RandomPan();
  const EncodeResult r = MustEncode("vault", pan);
  engine_ = NewEngine();
  EXPECT_EQ(DecodeToken("vault", r.token)->value, pan);
  EXPECT_EQ(MustEncode("vault", pan).token, r.token);
}

TEST_F(TokenizeEngineTest, LuhnInvalidateVaultedTokensNeverPassLuhn) {
  TransformationOptions o = Vault("pan");
  o.luhn = LuhnMode::kInvalidate;
  Create("vault", o);
  for (int i = 0; i < 200; ++i) {
    const std::string pan = RandomPan();
    const EncodeResult r = MustEncode("vault", pan);
    ASSERT_FALSE(Luhn(r.token));
    ASSERT_EQ(DecodeToken("vault", r.token)->value, pan);
  }
}

TEST_F(TokenizeEngineTest, ConcurrentEncodesInASmallSpaceNeverCollide) {
  // 10^6 possible tokens and 4,000 values: random draws collide often, so
  // only the uniqueness check keeps the tokens distinct.
  ASSERT_OK(engine_->CreateTemplate("six", {"(\\d{6})", "numeric"}));
  Create("vault", Vault("six"));
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  absl::Mutex mu;
  std::vector<std::pair<std::string, std::string>> pairs;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        char buf[8];
        snprintf(buf, sizeof(buf), "%06d", t * kPerThread + i);
        EncodeItem item;
        item.value = buf;
        auto r = engine_->Encode("vault", "vault", item);
        ASSERT_TRUE(r.ok()) << r.status();
        absl::MutexLock lock(&mu);
        pairs.emplace_back(buf, r->token);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> tokens;
  for (const auto& [value, token] : pairs) tokens.insert(token);
  EXPECT_EQ(tokens.size(), pairs.size());
  for (const auto& [value, token] : pairs) {
    ASSERT_EQ(DecodeToken("vault", token)->value, value);
  }
}

TEST_F(TokenizeEngineTest, ConcurrentConvergentEncodesOfOneValueAgree) {
  Create("vault", Vault("pan", true));
  const std::string pan = RandomPan();
  absl::Mutex mu;
  std::set<std::string> tokens;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        EncodeItem item;
        item.value = pan;
        auto r = engine_->Encode("vault", "vault", item);
        ASSERT_TRUE(r.ok());
        absl::MutexLock lock(&mu);
        tokens.insert(r->token);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(tokens.size(), 1u);
}

TEST_F(TokenizeEngineTest, VaultedBatchIsCommittedInOneWrite) {
  Create("vault", Vault("pan", true));
  std::vector<EncodeItem> items(1000);
  for (auto& item : items) item.value = RandomPan();
  items[500].value = "not a pan";
  items[501].value = items[10].value;  // a repeat within the batch
  const int before = backend_.writes.load();
  auto r = engine_->BatchEncode("vault", "vault", items);
  ASSERT_OK(r.status());
  EXPECT_LE(backend_.writes.load() - before, 2);  // + a barrier counter
  ASSERT_EQ(r->size(), items.size());
  EXPECT_TRUE(absl::IsInvalidArgument((*r)[500].status));
  EXPECT_EQ((*r)[501].token, (*r)[10].token);
  for (size_t i = 0; i < items.size(); ++i) {
    if (i == 500) continue;
    ASSERT_OK((*r)[i].status);
    ASSERT_EQ(DecodeToken("vault", (*r)[i].token)->value, items[i].value);
  }
}

TEST_F(TokenizeEngineTest, ConcurrentConvergentBatchesOfSharedValuesAgree) {
  // Each thread tokenizes the same values in another order: the batches
  // wait on each other's uncommitted values and must neither deadlock nor
  // give one value two tokens.
  Create("vault", Vault("pan", true));
  std::vector<std::string> values(200);
  for (auto& v : values) v = RandomPan();
  absl::Mutex mu;
  std::map<std::string, std::set<std::string>> tokens;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<EncodeItem> items(values.size());
      for (size_t i = 0; i < values.size(); ++i) {
        items[i].value = values[(i * (2 * t + 1) + t * 37) % values.size()];
      }
      auto r = engine_->BatchEncode("vault", "vault", items);
      ASSERT_OK(r.status());
      absl::MutexLock lock(&mu);
      for (size_t i = 0; i < items.size(); ++i) {
        ASSERT_OK((*r)[i].status);
        tokens[items[i].value].insert((*r)[i].token);
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(tokens.size(), values.size());
  for (const auto& [value, set] : tokens) EXPECT_EQ(set.size(), 1u);
}

TEST_F(TokenizeEngineTest, ConcurrentBatchesInASmallSpaceNeverCollide) {
  ASSERT_OK(engine_->CreateTemplate("six", {"(\\d{6})", "numeric"}));
  Create("vault", Vault("six"));
  absl::Mutex mu;
  std::vector<std::pair<std::string, std::string>> pairs;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<EncodeItem> items(1000);
      for (int i = 0; i < 1000; ++i) {
        char buf[8];
        snprintf(buf, sizeof(buf), "%06d", t * 1000 + i);
        items[i].value = buf;
      }
      auto r = engine_->BatchEncode("vault", "vault", items);
      ASSERT_OK(r.status());
      absl::MutexLock lock(&mu);
      for (int i = 0; i < 1000; ++i) {
        ASSERT_OK((*r)[i].status);
        pairs.emplace_back(items[i].value, (*r)[i].token);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> distinct;
  for (const auto& [value, token] : pairs) distinct.insert(token);
  EXPECT_EQ(distinct.size(), pairs.size());
  for (const auto& [value, token] : pairs) {
    ASSERT_EQ(DecodeToken("vault", token)->value, value);
  }
}

TEST_F(TokenizeEngineTest, TransformationBoundToARoleCannotBeDeleted) {
  Create("vault", Vault("pan"));
  const std::string token = MustEncode("vault", RandomPan()).token;
  auto s = engine_->DeleteTransformation("vault");
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("role vault"));
  ASSERT_OK(DecodeToken("vault", token).status());  // nothing was deleted
}

TEST_F(TokenizeEngineTest, DeletingATransformationDeletesItsTokens) {
  Create("vault", Vault("pan", true));
  MustEncode("vault", RandomPan());
  ASSERT_OK(engine_->DeleteRole("vault"));
  ASSERT_OK(engine_->DeleteTransformation("vault"));
  for (const auto& [key, value] : backend_.Snapshot()) {
    EXPECT_THAT(key, Not(HasSubstr("vault/vault/")));
  }
}

// --- masking, roles, batches -------------------------------------------------

TEST_F(TokenizeEngineTest, MaskingReplacesCapturedCharactersAndCannotDecode) {
  ASSERT_OK(engine_->CreateTemplate("last4", {"(\\d{8,15})\\d{4}", "numeric"}));
  TransformationOptions o;
  o.type = TransformationType::kMasking;
  o.template_name = "last4";
  Create("mask", o);
  EXPECT_EQ(MustEncode("mask", "4111111111111234").token, "************1234");
  EXPECT_TRUE(
      absl::IsInvalidArgument(DecodeToken("mask", "************1234").status()));
}

TEST_F(TokenizeEngineTest, TransformationOutsideTheRoleIsRefused) {
  ASSERT_OK(engine_->CreateTransformation("a", Fpe("pan")));
  ASSERT_OK(engine_->CreateTransformation("b", Fpe("ssn")));
  ASSERT_OK(engine_->WriteRole("r", {"a"}));
  EncodeItem item;
  item.value = "123-45-6789";
  EXPECT_TRUE(absl::IsInvalidArgument(engine_->Encode("r", "b", item).status()));
  EXPECT_TRUE(absl::IsNotFound(engine_->Encode("nope", "a", item).status()));
  EXPECT_TRUE(absl::IsNotFound(engine_->WriteRole("r2", {"missing"}).status()));
  ASSERT_OK(engine_->WriteRole("r", {"a", "b"}));
  EXPECT_TRUE(engine_->Encode("r", "b", item).ok());
}

TEST_F(TokenizeEngineTest, BatchReportsItemErrorsInOrderWithoutValues) {
  Create("cards", Fpe("pan", LuhnMode::kInvalidate));
  const std::string good1 = RandomPan(), good2 = RandomPan();
  std::vector<EncodeItem> items(3);
  items[0].value = good1;
  items[0].reference = "0";
  items[1].value = "12345";
  items[1].reference = "1";
  items[2].value = good2;
  items[2].reference = "2";
  auto r = engine_->BatchEncode("cards", "cards", items);
  ASSERT_OK(r);
  ASSERT_EQ(r->size(), 3u);
  EXPECT_TRUE((*r)[0].status.ok());
  EXPECT_TRUE(absl::IsInvalidArgument((*r)[1].status));
  EXPECT_THAT(std::string((*r)[1].status.message()), Not(HasSubstr("12345")));
  EXPECT_TRUE((*r)[2].status.ok());
  EXPECT_EQ((*r)[1].reference, "1");

  std::vector<DecodeItem> tokens(3);
  tokens[0].value = (*r)[0].token;
  tokens[1].value = "nonsense";
  tokens[2].value = (*r)[2].token;
  auto d = engine_->BatchDecode("cards", "cards", tokens);
  ASSERT_OK(d);
  EXPECT_EQ((*d)[0].value, good1);
  EXPECT_TRUE(absl::IsInvalidArgument((*d)[1].status));
  EXPECT_EQ((*d)[2].value, good2);

  auto v = engine_->BatchValidate("cards", "cards", tokens);
  ASSERT_OK(v);
  EXPECT_TRUE((*v)[0].valid);
  EXPECT_FALSE((*v)[1].valid);
  EXPECT_TRUE((*v)[2].valid);

  std::vector<EncodeItem> too_many(Engine::kMaxBatchItems + 1);
  EXPECT_TRUE(absl::IsResourceExhausted(
      engine_->BatchEncode("cards", "cards", too_many).status()));
}

TEST_F(TokenizeEngineTest, OptionsThatDoNotFitTheTypeAreRefused) {
  TransformationOptions o = Fpe("pan");
  o.convergent = true;
  EXPECT_TRUE(absl::IsInvalidArgument(
      engine_->CreateTransformation("x", o).status()));
  ASSERT_OK(engine_->CreateTemplate("alnum", {"(\\w{8})", "alphanumeric"}));
  EXPECT_TRUE(absl::IsInvalidArgument(
      engine_->CreateTransformation("x", Fpe("alnum", LuhnMode::kPreserve))
          .status()));
  EXPECT_TRUE(absl::IsNotFound(
      engine_->CreateTransformation("x", Fpe("nope")).status()));
  ASSERT_OK(engine_->CreateTransformation("x", Fpe("pan")));
  EXPECT_TRUE(absl::IsAlreadyExists(
      engine_->CreateTransformation("x", Fpe("pan")).status()));
}

TEST_F(TokenizeEngineTest, ListsAreSortedAndIncludeBuiltins) {
  ASSERT_OK(engine_->CreateTemplate("zz", {"(\\d{6})", "numeric"}));
  auto t = engine_->ListTemplates();
  ASSERT_OK(t);
  EXPECT_EQ(*t, (std::vector<std::string>{"iban", "pan", "ssn", "zz"}));
  ASSERT_OK(engine_->CreateTransformation("b", Fpe("pan")));
  ASSERT_OK(engine_->CreateTransformation("a", Fpe("pan")));
  EXPECT_EQ(*engine_->ListTransformations(),
            (std::vector<std::string>{"a", "b"}));
}

TEST_F(TokenizeEngineTest, SealedBarrierIsUnavailable) {
  Create("cards", Fpe("pan"));
  engine_->DropCache();
  barrier_.Seal();
  EncodeItem item;
  item.value = RandomPan();
  EXPECT_TRUE(barrier::IsSealedError(
      engine_->Encode("cards", "cards", item).status()));
}

}  // namespace
}  // namespace arca::engines::tokenize
