// Property and domain tests for Ff1: random radixes, lengths and tweaks
// (seeded, so failures reproduce), cross-checked against the plain
// reference in fpe_test_util.h on every internal arithmetic path.

#include "kms/fpe/ff1.h"

#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "kms/secret_bytes.h"
#include "tests/unit/kms/fpe/fpe_test_util.h"

namespace arca::kms::fpe {
namespace {

using testing::ReferenceFf1;

constexpr uint32_t kSeed = 0x5eed0f01;

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::vector<uint16_t> RandomNumerals(std::mt19937_64& rng, uint32_t radix,
                                     size_t n) {
  std::vector<uint16_t> x(n);
  for (auto& d : x) d = static_cast<uint16_t>(rng() % radix);
  return x;
}

std::vector<uint32_t> TestRadixes(std::mt19937_64& rng) {
  std::vector<uint32_t> radixes = {2,  3,   10,  16,   26,    36,
                                   62, 256, 999, 1000, 65535, 65536};
  for (int i = 0; i < 12; ++i) radixes.push_back(2 + rng() % 65535);
  return radixes;
}

std::unique_ptr<Ff1> MustNew(const std::string& key, uint32_t radix) {
  auto f = Ff1::New(SecretBytes::CopyFrom(key), radix);
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? std::move(*f) : nullptr;
}

size_t ExpectedMinLength(uint32_t radix) {
  size_t n = 2;
  long double domain = static_cast<long double>(radix) * radix;
  while (domain < 1e6L) {
    domain *= radix;
    ++n;
  }
  return n;
}

TEST(Ff1Test, RandomInputsRoundTripPreserveLengthStayBelowRadixMatchReference) {
  std::mt19937_64 rng(kSeed);
  const size_t key_sizes[] = {16, 24, 32};
  int cases = 0;
  for (uint32_t radix : TestRadixes(rng)) {
    SCOPED_TRACE("radix " + std::to_string(radix));
    const std::string key = RandomBytes(rng, key_sizes[rng() % 3]);
    auto ff1 = MustNew(key, radix);
    ASSERT_NE(ff1, nullptr);
    for (int iter = 0; iter < 40; ++iter) {
      // Mostly short inputs, some up to the cap (bignum path).
      const size_t min = ff1->min_length();
      const size_t span = (iter % 4 == 0) ? Ff1::kMaxLength - min : 40;
      const size_t n = min + rng() % (span + 1);
      const size_t t = (iter % 5 == 0) ? 0 : rng() % (Ff1::kMaxTweakSize + 1);
      const std::string tweak = RandomBytes(rng, t);
      const auto x = RandomNumerals(rng, radix, n);
      auto ct = ff1->Encrypt(x, tweak);
      ASSERT_TRUE(ct.ok()) << ct.status();
      ASSERT_EQ(ct->size(), n);
      for (uint16_t d : *ct) ASSERT_LT(d, radix);
      if (n <= 64) {  // the reference is slow on long inputs
        EXPECT_EQ(*ct, ReferenceFf1(key, radix, x, tweak, true));
      }
      auto pt = ff1->Decrypt(*ct, tweak);
      ASSERT_TRUE(pt.ok()) << pt.status();
      EXPECT_EQ(*pt, x);
      ++cases;
    }
  }
  EXPECT_EQ(cases, 24 * 40);
}

TEST(Ff1Test, MatchesPlainReferenceOnEveryArithmeticPath) {
  std::mt19937_64 rng(kSeed + 1);
  // (radix, length) pairs chosen to hit: 64-bit words (d = 8), 128-bit words
  // (d = 12 and 16), the bignum path (b > 12, so d > 16 and S spans several
  // blocks), radix^v >= 2^128, and with the tweaks below, Q with several
  // tweak-only blocks.
  const std::vector<std::pair<uint32_t, size_t>> shapes = {
      {10, 6},     {10, 16},    {10, 19},     {10, 38},      {10, 40},
      {10, 57},    {10, 58},    {10, 77},     {10, 78},      {10, 200},
      {2, 20},     {2, 64},     {2, 65},      {2, 96},       {2, 97},
      {2, 256},    {2, 257},    {36, 19},     {36, 50},      {62, 40},
      {256, 24},   {256, 25},   {256, 33},    {65536, 2},    {65536, 3},
      {65536, 16}, {65536, 17}, {65536, 100}, {65536, 1024}, {7, 200},
      {1000, 2},   {999, 3}};
  for (const auto& [radix, n] : shapes) {
    SCOPED_TRACE("radix " + std::to_string(radix) + " n " + std::to_string(n));
    const std::string key = RandomBytes(rng, 16 + 8 * (rng() % 3));
    auto ff1 = MustNew(key, radix);
    ASSERT_NE(ff1, nullptr);
    for (size_t t :
         {size_t{0}, size_t{8}, size_t{13}, size_t{47}, Ff1::kMaxTweakSize}) {
      const std::string tweak = RandomBytes(rng, t);
      const auto x = RandomNumerals(rng, radix, n);
      auto ct = ff1->Encrypt(x, tweak);
      ASSERT_TRUE(ct.ok()) << ct.status();
      EXPECT_EQ(*ct, ReferenceFf1(key, radix, x, tweak, true));
      auto pt = ff1->Decrypt(x, tweak);
      ASSERT_TRUE(pt.ok()) << pt.status();
      EXPECT_EQ(*pt, ReferenceFf1(key, radix, x, tweak, false));
    }
  }
}

TEST(Ff1Test, CachedPrefixDoesNotLeakAcrossLengthsOrTweakSizes) {
  // Alternating shapes on one object reuse pooled contexts whose CIPH(P)
  // memo was filled for another (n, t); results must still be exact.
  std::mt19937_64 rng(kSeed + 2);
  const std::string key = RandomBytes(rng, 32);
  auto ff1 = MustNew(key, 10);
  ASSERT_NE(ff1, nullptr);
  for (int i = 0; i < 60; ++i) {
    const size_t n = 6 + rng() % 4;
    const std::string tweak = RandomBytes(rng, rng() % 3);
    const auto x = RandomNumerals(rng, 10, n);
    auto ct = ff1->Encrypt(x, tweak);
    ASSERT_TRUE(ct.ok());
    EXPECT_EQ(*ct, ReferenceFf1(key, 10, x, tweak, true));
  }
}

TEST(Ff1Test, DifferentTweaksGiveDifferentCiphertexts) {
  std::mt19937_64 rng(kSeed + 3);
  auto ff1 = MustNew(RandomBytes(rng, 16), 10);
  ASSERT_NE(ff1, nullptr);
  const auto x = RandomNumerals(rng, 10, 16);
  auto a = ff1->Encrypt(x, "tenant-a");
  auto b = ff1->Encrypt(x, "tenant-b");
  auto a2 = ff1->Encrypt(x, "tenant-a");
  ASSERT_TRUE(a.ok() && b.ok() && a2.ok());
  EXPECT_NE(*a, *b);
  EXPECT_EQ(*a, *a2);  // deterministic
  EXPECT_NE(*a, x);
}

TEST(Ff1Test, InPlaceEncryptToMatchesEncrypt) {
  std::mt19937_64 rng(kSeed + 4);
  auto ff1 = MustNew(RandomBytes(rng, 16), 36);
  ASSERT_NE(ff1, nullptr);
  for (size_t n : {size_t{4}, size_t{30}, size_t{300}}) {
    const auto x = RandomNumerals(rng, 36, n);
    auto expected = ff1->Encrypt(x, "tw");
    ASSERT_TRUE(expected.ok());
    std::vector<uint16_t> buf = x;
    ASSERT_TRUE(ff1->EncryptTo(buf, "tw", buf).ok());
    EXPECT_EQ(buf, *expected);
    ASSERT_TRUE(ff1->DecryptTo(buf, "tw", buf).ok());
    EXPECT_EQ(buf, x);
  }
  std::vector<uint16_t> wrong(5);
  EXPECT_EQ(ff1->EncryptTo(RandomNumerals(rng, 36, 6), "", wrong).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Ff1Test, LengthLimitsAreEnforcedExactlyAtTheEdges) {
  std::mt19937_64 rng(kSeed + 5);
  for (uint32_t radix : TestRadixes(rng)) {
    SCOPED_TRACE("radix " + std::to_string(radix));
    auto ff1 = MustNew(RandomBytes(rng, 16), radix);
    ASSERT_NE(ff1, nullptr);
    const size_t min = ff1->min_length();
    EXPECT_EQ(min, ExpectedMinLength(radix));
    EXPECT_EQ(ff1->max_length(), Ff1::kMaxLength);
    for (size_t n : {min, Ff1::kMaxLength}) {
      auto ct = ff1->Encrypt(RandomNumerals(rng, radix, n), "");
      EXPECT_TRUE(ct.ok()) << "length " << n << ": " << ct.status();
      auto pt = ff1->Decrypt(RandomNumerals(rng, radix, n), "");
      EXPECT_TRUE(pt.ok()) << "length " << n << ": " << pt.status();
    }
    for (size_t n : {size_t{0}, min - 1, Ff1::kMaxLength + 1}) {
      EXPECT_EQ(ff1->Encrypt(RandomNumerals(rng, radix, n), "").status().code(),
                absl::StatusCode::kInvalidArgument)
          << "length " << n;
      EXPECT_EQ(ff1->Decrypt(RandomNumerals(rng, radix, n), "").status().code(),
                absl::StatusCode::kInvalidArgument)
          << "length " << n;
    }
  }
}

TEST(Ff1Test, MinimumLengthsMatchTheMillionDomainRule) {
  const std::pair<uint32_t, size_t> expected[] = {
      {2, 20}, {10, 6},  {16, 5},  {26, 5},   {36, 4},
      {62, 4}, {256, 3}, {999, 3}, {1000, 2}, {65536, 2}};
  for (const auto& [radix, min] : expected) {
    auto ff1 = MustNew(std::string(16, 'k'), radix);
    ASSERT_NE(ff1, nullptr);
    EXPECT_EQ(ff1->min_length(), min) << "radix " << radix;
  }
}

TEST(Ff1Test, NumeralEqualToRadixIsRejectedWithoutEchoingInput) {
  for (uint32_t radix : {2u, 10u, 36u, 256u, 65535u}) {
    auto ff1 = MustNew(std::string(16, 'k'), radix);
    ASSERT_NE(ff1, nullptr);
    std::vector<uint16_t> x(20, static_cast<uint16_t>(radix - 1));
    EXPECT_TRUE(ff1->Encrypt(x, "").ok());
    x[7] = static_cast<uint16_t>(radix);
    for (const auto& r : {ff1->Encrypt(x, ""), ff1->Decrypt(x, "")}) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
  auto ff1 = MustNew(std::string(16, 'k'), 10);
  const std::vector<uint16_t> x = {4, 9, 1, 7, 3, 8, 2, 6, 5, 11};
  auto r = ff1->Encrypt(x, "");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string msg(r.status().message());
  EXPECT_EQ(msg.find("4917"), std::string::npos);
  EXPECT_EQ(msg.find("4, 9"), std::string::npos);
  EXPECT_EQ(msg.find("11"), std::string::npos);
}

TEST(Ff1Test, RadixOutsideTwoTo65536IsRejected) {
  const SecretBytes key = SecretBytes::CopyFrom(std::string(16, 'k'));
  for (uint32_t radix : {0u, 1u, 65537u, 1u << 20}) {
    EXPECT_EQ(Ff1::New(key, radix).status().code(),
              absl::StatusCode::kInvalidArgument)
        << radix;
  }
  EXPECT_TRUE(Ff1::New(key, 2).ok());
  EXPECT_TRUE(Ff1::New(key, 65536).ok());
}

TEST(Ff1Test, KeySizesOtherThan16_24_32AreRejected) {
  for (size_t size : {0, 1, 8, 15, 17, 23, 25, 31, 33, 64}) {
    EXPECT_EQ(Ff1::New(SecretBytes::CopyFrom(std::string(size, 'k')), 10)
                  .status()
                  .code(),
              absl::StatusCode::kInvalidArgument)
        << size;
  }
  for (size_t size : {16, 24, 32}) {
    EXPECT_TRUE(
        Ff1::New(SecretBytes::CopyFrom(std::string(size, 'k')), 10).ok());
  }
}

TEST(Ff1Test, TweakLongerThanMaxIsRejected) {
  auto ff1 = MustNew(std::string(16, 'k'), 10);
  const std::vector<uint16_t> x(16, 3);
  EXPECT_TRUE(ff1->Encrypt(x, std::string(Ff1::kMaxTweakSize, 't')).ok());
  EXPECT_EQ(
      ff1->Encrypt(x, std::string(Ff1::kMaxTweakSize + 1, 't')).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      ff1->Decrypt(x, std::string(Ff1::kMaxTweakSize + 1, 't')).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(Ff1Test, ConcurrentCallersGetTheSameResults) {
  std::mt19937_64 rng(kSeed + 6);
  auto ff1 = MustNew(RandomBytes(rng, 32), 10);
  ASSERT_NE(ff1, nullptr);
  std::vector<std::vector<uint16_t>> inputs, expected;
  for (int i = 0; i < 64; ++i) {
    inputs.push_back(RandomNumerals(rng, 10, 6 + i % 20));
    expected.push_back(*ff1->Encrypt(inputs.back(), "t"));
  }
  std::vector<std::thread> threads;
  std::vector<int> mismatches(8, 0);
  for (int th = 0; th < 8; ++th) {
    threads.emplace_back([&, th] {
      for (int rep = 0; rep < 200; ++rep) {
        const size_t i = (rep * 7 + th) % inputs.size();
        auto ct = ff1->Encrypt(inputs[i], "t");
        if (!ct.ok() || *ct != expected[i]) ++mismatches[th];
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace arca::kms::fpe
