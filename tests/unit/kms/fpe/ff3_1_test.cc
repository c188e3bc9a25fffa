// Property and domain tests for Ff3_1 (seeded random radixes, lengths and
// tweaks), cross-checked against the plain reference in fpe_test_util.h.

#include "kms/fpe/ff3_1.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "kms/secret_bytes.h"
#include "tests/unit/kms/fpe/fpe_test_util.h"

namespace arca::kms::fpe {
namespace {

using testing::ReferenceFf3_1;

constexpr uint32_t kSeed = 0x5eed0f31;

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

std::unique_ptr<Ff3_1> MustNew(const std::string& key, uint32_t radix) {
  auto f = Ff3_1::New(SecretBytes::CopyFrom(key), radix);
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? std::move(*f) : nullptr;
}

// 2 * floor(log_radix(2^96)) computed with bignums, independently of the
// library's 128-bit loop.
size_t ExpectedMaxLength(uint32_t radix) {
  testing::Bn limit(1);
  BN_lshift(limit.get(), limit.get(), 96);
  size_t k = 0;
  while (true) {
    testing::Bn p = testing::Pow(radix, k + 1);
    if (BN_cmp(p.get(), limit.get()) > 0) break;
    ++k;
  }
  return 2 * k;
}

TEST(Ff3_1Test, RandomInputsRoundTripPreserveLengthAndMatchReference) {
  std::mt19937_64 rng(kSeed);
  const size_t key_sizes[] = {16, 24, 32};
  int cases = 0;
  for (uint32_t radix : TestRadixes(rng)) {
    SCOPED_TRACE("radix " + std::to_string(radix));
    const std::string key = RandomBytes(rng, key_sizes[rng() % 3]);
    auto ff3 = MustNew(key, radix);
    ASSERT_NE(ff3, nullptr);
    const size_t min = ff3->min_length(), max = ff3->max_length();
    for (int iter = 0; iter < 30; ++iter) {
      const size_t n = (iter == 0)   ? min
                       : (iter == 1) ? max
                                     : min + rng() % (max - min + 1);
      const std::string tweak = RandomBytes(rng, Ff3_1::kTweakSize);
      const auto x = RandomNumerals(rng, radix, n);
      auto ct = ff3->Encrypt(x, tweak);
      ASSERT_TRUE(ct.ok()) << ct.status();
      ASSERT_EQ(ct->size(), n);
      for (uint16_t d : *ct) ASSERT_LT(d, radix);
      EXPECT_EQ(*ct, ReferenceFf3_1(key, radix, x, tweak, true));
      auto pt = ff3->Decrypt(*ct, tweak);
      ASSERT_TRUE(pt.ok()) << pt.status();
      EXPECT_EQ(*pt, x);
      ++cases;
    }
  }
  EXPECT_EQ(cases, 24 * 30);
}

TEST(Ff3_1Test, LengthLimitsAreEnforcedExactlyAtTheEdges) {
  std::mt19937_64 rng(kSeed + 1);
  const std::string tweak(Ff3_1::kTweakSize, 't');
  for (uint32_t radix : TestRadixes(rng)) {
    SCOPED_TRACE("radix " + std::to_string(radix));
    auto ff3 = MustNew(RandomBytes(rng, 16), radix);
    ASSERT_NE(ff3, nullptr);
    const size_t min = ff3->min_length(), max = ff3->max_length();
    EXPECT_EQ(max, ExpectedMaxLength(radix));
    ASSERT_LE(min, max);
    for (size_t n : {min, max}) {
      EXPECT_TRUE(ff3->Encrypt(RandomNumerals(rng, radix, n), tweak).ok()) << n;
      EXPECT_TRUE(ff3->Decrypt(RandomNumerals(rng, radix, n), tweak).ok()) << n;
    }
    for (size_t n : {size_t{0}, min - 1, max + 1}) {
      EXPECT_EQ(
          ff3->Encrypt(RandomNumerals(rng, radix, n), tweak).status().code(),
          absl::StatusCode::kInvalidArgument)
          << n;
      EXPECT_EQ(
          ff3->Decrypt(RandomNumerals(rng, radix, n), tweak).status().code(),
          absl::StatusCode::kInvalidArgument)
          << n;
    }
  }
}

TEST(Ff3_1Test, MaximumLengthsMatchTwoFloorLogRadixOf2To96) {
  const std::pair<uint32_t, size_t> expected[] = {
      {2, 192}, {10, 56}, {16, 48}, {36, 36}, {256, 24}, {65536, 12}};
  for (const auto& [radix, max] : expected) {
    auto ff3 = MustNew(std::string(16, 'k'), radix);
    ASSERT_NE(ff3, nullptr);
    EXPECT_EQ(ff3->max_length(), max) << "radix " << radix;
  }
}

TEST(Ff3_1Test, TweakOtherThanSevenBytesIsRejected) {
  auto ff3 = MustNew(std::string(16, 'k'), 10);
  const std::vector<uint16_t> x(16, 3);
  for (size_t t : {0, 1, 6, 8, 16}) {
    EXPECT_EQ(ff3->Encrypt(x, std::string(t, 't')).status().code(),
              absl::StatusCode::kInvalidArgument)
        << t;
    EXPECT_EQ(ff3->Decrypt(x, std::string(t, 't')).status().code(),
              absl::StatusCode::kInvalidArgument)
        << t;
  }
  EXPECT_TRUE(ff3->Encrypt(x, std::string(7, 't')).ok());
}

TEST(Ff3_1Test, DifferentTweaksGiveDifferentCiphertexts) {
  std::mt19937_64 rng(kSeed + 2);
  auto ff3 = MustNew(RandomBytes(rng, 16), 10);
  const auto x = RandomNumerals(rng, 10, 16);
  auto a = ff3->Encrypt(x, "tweak-a");
  auto b = ff3->Encrypt(x, "tweak-b");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_NE(*a, x);
}

TEST(Ff3_1Test, NumeralEqualToRadixIsRejected) {
  for (uint32_t radix : {2u, 10u, 36u, 256u, 65535u}) {
    auto ff3 = MustNew(std::string(16, 'k'), radix);
    ASSERT_NE(ff3, nullptr);
    std::vector<uint16_t> x(ff3->min_length() + 1,
                            static_cast<uint16_t>(radix - 1));
    EXPECT_TRUE(ff3->Encrypt(x, "1234567").ok());
    x[1] = static_cast<uint16_t>(radix);
    EXPECT_EQ(ff3->Encrypt(x, "1234567").status().code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(ff3->Decrypt(x, "1234567").status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

TEST(Ff3_1Test, RadixAndKeySizeOutsideTheSpecAreRejected) {
  const SecretBytes key = SecretBytes::CopyFrom(std::string(16, 'k'));
  for (uint32_t radix : {0u, 1u, 65537u}) {
    EXPECT_EQ(Ff3_1::New(key, radix).status().code(),
              absl::StatusCode::kInvalidArgument)
        << radix;
  }
  for (size_t size : {0, 15, 17, 31, 33}) {
    EXPECT_EQ(Ff3_1::New(SecretBytes::CopyFrom(std::string(size, 'k')), 10)
                  .status()
                  .code(),
              absl::StatusCode::kInvalidArgument)
        << size;
  }
  for (size_t size : {16, 24, 32}) {
    EXPECT_TRUE(
        Ff3_1::New(SecretBytes::CopyFrom(std::string(size, 'k')), 10).ok());
  }
}

}  // namespace
}  // namespace arca::kms::fpe
