// Tests for the shared FPE helpers: multiply-based division must equal the
// hardware divide, and the numeral <-> integer conversions must invert.

#include "kms/fpe/numerals.h"

#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace arca::kms::fpe::internal {
namespace {

TEST(NumeralsTest, FastMod64EqualsRemainderForRandomAndEdgeOperands) {
  std::mt19937_64 rng(77);
  std::vector<uint64_t> divisors = {
      2, 3, 10, 1000000, 4294967295u, 4294967296u, ~uint64_t{0}};
  for (int i = 0; i < 200; ++i) divisors.push_back(2 + rng() % 0xFFFFFFFFu);
  for (uint64_t d : divisors) {
    const FastMod64 fm(d);
    for (uint64_t a : {uint64_t{0}, uint64_t{1}, d - 1, d, d + 1, ~uint64_t{0},
                       ~uint64_t{0} - 1}) {
      ASSERT_EQ(fm.Mod(a), a % d) << a << " mod " << d;
    }
    for (int j = 0; j < 500; ++j) {
      const uint64_t a = rng();
      ASSERT_EQ(fm.Mod(a), a % d) << a << " mod " << d;
    }
  }
}

TEST(NumeralsTest, FastDiv32EqualsQuotientForEveryRadix) {
  std::mt19937_64 rng(78);
  for (uint32_t radix = 2; radix <= 65536; radix += (radix < 300 ? 1 : 97)) {
    const FastDiv32 fd(radix);
    for (uint32_t a : {0u, 1u, radix - 1, radix, 0xFFFFFFFFu}) {
      ASSERT_EQ(fd.Div(a), a / radix) << a << " / " << radix;
    }
    for (int j = 0; j < 200; ++j) {
      const uint32_t a = static_cast<uint32_t>(rng());
      ASSERT_EQ(fd.Div(a), a / radix) << a << " / " << radix;
    }
  }
  const FastDiv32 fd(65536);
  EXPECT_EQ(fd.Div(0xFFFFFFFFu), 0xFFFFu);
}

TEST(NumeralsTest, WordAndBignumConversionsInvertAndAgree) {
  std::mt19937_64 rng(79);
  for (uint32_t radix : {2u, 10u, 36u, 256u, 65536u, 12345u}) {
    const auto powers = PowersBelow2To128(radix, 1024);
    for (size_t n = 1; n < powers.size(); n += 3) {
      std::vector<uint16_t> x(n);
      for (auto& d : x) d = static_cast<uint16_t>(rng() % radix);
      const uint128 v = NumMsbFirst<uint128>(x.data(), n, radix);
      ASSERT_LT(v, powers[n]);
      std::vector<uint16_t> back(n);
      StrMsbFirst(v, radix, back.data(), n);
      ASSERT_EQ(back, x);
      if (v <= 0xFFFFFFFFu) {
        StrMsbFirst32(static_cast<uint32_t>(v), FastDiv32(radix), back.data(),
                      n);
        ASSERT_EQ(back, x);
      }
      BnPtr bn(BN_new());
      ASSERT_TRUE(BnFromNumerals(x.data(), n, radix, bn.get()));
      std::vector<uint16_t> bn_back(n);
      ASSERT_TRUE(BnToNumerals(bn.get(), radix, bn_back.data(), n));
      ASSERT_EQ(bn_back, x);
      // Same value as the word form.
      uint8_t buf[16];
      ASSERT_EQ(BN_bn2binpad(bn.get(), buf, 16), 16);
      uint128 from_bn = 0;
      for (uint8_t byte : buf) from_bn = (from_bn << 8) | byte;
      ASSERT_TRUE(from_bn == v);
      // Little-endian forms are the reversal.
      std::vector<uint16_t> rev(x.rbegin(), x.rend());
      ASSERT_TRUE(NumLsbFirst<uint128>(rev.data(), n, radix) == v);
      StrLsbFirst(v, radix, back.data(), n);
      ASSERT_EQ(back, rev);
    }
  }
}

TEST(NumeralsTest, BignumConversionRoundTripsAtTheLengthCap) {
  std::mt19937_64 rng(80);
  for (uint32_t radix : {2u, 10u, 65536u, 65535u}) {
    std::vector<uint16_t> x(1024);
    for (auto& d : x) d = static_cast<uint16_t>(rng() % radix);
    x[0] = static_cast<uint16_t>(radix - 1);
    BnPtr bn(BN_new());
    ASSERT_TRUE(BnFromNumerals(x.data(), x.size(), radix, bn.get()));
    std::vector<uint16_t> back(x.size());
    ASSERT_TRUE(BnToNumerals(bn.get(), radix, back.data(), back.size()));
    EXPECT_EQ(back, x);
    // One numeral too few cannot hold the value.
    EXPECT_FALSE(BnToNumerals(bn.get(), radix, back.data(), back.size() - 1));
  }
}

}  // namespace
}  // namespace arca::kms::fpe::internal
