#include "kms/shamir.h"

#include <bit>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "kms/random.h"

namespace arca::kms {
namespace {

// Independent, deliberately simple GF(2^8) multiply (FIPS-197 section 4.2:
// repeated xtime), used only to build shares the library did not produce.
uint8_t ReferenceMul(uint8_t a, uint8_t b) {
  uint8_t product = 0;
  while (b != 0) {
    if (b & 1) product ^= a;
    a = (a & 0x80) ? static_cast<uint8_t>((a << 1) ^ 0x1b)
                   : static_cast<uint8_t>(a << 1);
    b >>= 1;
  }
  return product;
}

uint8_t XOf(const SecretBytes& share) {
  return static_cast<uint8_t>(share.Reveal().back());
}

std::vector<SecretBytes> Pick(const std::vector<SecretBytes>& shares,
                              unsigned mask) {
  std::vector<SecretBytes> picked;
  for (size_t i = 0; i < shares.size(); ++i) {
    if (mask & (1u << i)) picked.push_back(shares[i].Clone());
  }
  return picked;
}

void ExpectInvalid(const absl::Status& status) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
}

TEST(ShamirTest, ReferenceFieldMatchesFips197Examples) {
  EXPECT_EQ(ReferenceMul(0x57, 0x83), 0xc1);
  EXPECT_EQ(ReferenceMul(0x57, 0x13), 0xfe);
}

TEST(ShamirTest, SharesHaveSecretLengthPlusDistinctNonZeroX) {
  const SecretBytes secret = RandomSecret(32);
  auto shares = ShamirSplit(secret, 10, 4);
  ASSERT_TRUE(shares.ok()) << shares.status();
  ASSERT_EQ(shares->size(), 10u);
  std::set<uint8_t> xs;
  for (const SecretBytes& share : *shares) {
    EXPECT_EQ(share.size(), 33u);
    EXPECT_NE(XOf(share), 0);
    xs.insert(XOf(share));
  }
  EXPECT_EQ(xs.size(), 10u);
}

TEST(ShamirTest, EveryThresholdSubsetOfThreeOfFiveRecoversTheSecret) {
  const SecretBytes secret = RandomSecret(32);
  auto shares = ShamirSplit(secret, 5, 3);
  ASSERT_TRUE(shares.ok()) << shares.status();
  int subsets = 0;
  for (unsigned mask = 0; mask < 32; ++mask) {
    if (std::popcount(mask) < 3) continue;
    auto recovered = ShamirCombine(Pick(*shares, mask));
    ASSERT_TRUE(recovered.ok()) << recovered.status();
    EXPECT_TRUE(recovered->Equals(secret)) << "subset mask " << mask;
    ++subsets;
  }
  EXPECT_EQ(subsets, 16);  // C(5,3) + C(5,4) + C(5,5)
}

TEST(ShamirTest, FewerThanThresholdSharesDoNotRecoverTheSecret) {
  const SecretBytes secret = RandomSecret(32);
  auto shares = ShamirSplit(secret, 5, 3);
  ASSERT_TRUE(shares.ok());
  for (unsigned mask = 0; mask < 32; ++mask) {
    if (std::popcount(mask) != 2) continue;
    auto recovered = ShamirCombine(Pick(*shares, mask));
    ASSERT_TRUE(recovered.ok()) << recovered.status();
    // With k-1 shares the result is uniformly random: a match is 2^-256.
    EXPECT_FALSE(recovered->Equals(secret)) << "subset mask " << mask;
  }
}

TEST(ShamirTest, ModifiedShareGivesWrongSecret) {
  const SecretBytes secret = RandomSecret(16);
  auto shares = *ShamirSplit(secret, 3, 3);
  shares[1].MutableReveal()[5] ^= 0x01;
  auto recovered = ShamirCombine(shares);
  ASSERT_TRUE(recovered.ok());
  EXPECT_FALSE(recovered->Equals(secret));
  EXPECT_EQ(recovered->Reveal().substr(0, 5), secret.Reveal().substr(0, 5));
}

TEST(ShamirTest, SplitIsRandomized) {
  const SecretBytes secret = RandomSecret(32);
  auto a = *ShamirSplit(secret, 3, 2);
  auto b = *ShamirSplit(secret, 3, 2);
  bool any_differ = false;
  for (size_t i = 0; i < a.size(); ++i) any_differ |= !a[i].Equals(b[i]);
  EXPECT_TRUE(any_differ);
}

TEST(ShamirTest, CombineRecoversSharesBuiltWithReferenceArithmetic) {
  // f(x) = s + c1*x + c2*x^2 per byte, evaluated with ReferenceMul.
  const std::string secret = "independent check";
  const std::string c1 = RandomString(secret.size());
  const std::string c2 = RandomString(secret.size());
  std::vector<SecretBytes> shares;
  for (uint8_t x : {0x01, 0x57, 0x83, 0xff}) {
    SecretBytes share(secret.size() + 1);
    for (size_t b = 0; b < secret.size(); ++b) {
      const uint8_t x2 = ReferenceMul(x, x);
      share.MutableReveal()[b] = static_cast<uint8_t>(secret[b]) ^
                                 ReferenceMul(static_cast<uint8_t>(c1[b]), x) ^
                                 ReferenceMul(static_cast<uint8_t>(c2[b]), x2);
    }
    share.MutableReveal()[secret.size()] = x;
    shares.push_back(std::move(share));
  }
  auto all = ShamirCombine(shares);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->Reveal(), secret);
  shares.erase(shares.begin());
  auto three = ShamirCombine(shares);
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(three->Reveal(), secret);
}

TEST(ShamirTest, MaximumOf255SharesWithThreshold255Works) {
  const SecretBytes secret = RandomSecret(4);
  auto shares = ShamirSplit(secret, 255, 255);
  ASSERT_TRUE(shares.ok()) << shares.status();
  std::set<uint8_t> xs;
  for (const SecretBytes& s : *shares) xs.insert(XOf(s));
  EXPECT_EQ(xs.size(), 255u);
  EXPECT_EQ(xs.count(0), 0u);
  auto recovered = ShamirCombine(*shares);
  ASSERT_TRUE(recovered.ok());
  EXPECT_TRUE(recovered->Equals(secret));
}

TEST(ShamirTest, SplitRejectsThresholdBelowTwo) {
  const SecretBytes secret = RandomSecret(8);
  ExpectInvalid(ShamirSplit(secret, 5, 1).status());
  ExpectInvalid(ShamirSplit(secret, 5, 0).status());
  ExpectInvalid(ShamirSplit(secret, 5, -3).status());
}

TEST(ShamirTest, SplitRejectsMoreThan255Shares) {
  ExpectInvalid(ShamirSplit(RandomSecret(8), 256, 3).status());
  ExpectInvalid(ShamirSplit(RandomSecret(8), 1000, 256).status());
}

TEST(ShamirTest, SplitRejectsThresholdAboveShares) {
  ExpectInvalid(ShamirSplit(RandomSecret(8), 3, 4).status());
  ExpectInvalid(ShamirSplit(RandomSecret(8), 1, 2).status());
}

TEST(ShamirTest, SplitRejectsEmptySecret) {
  ExpectInvalid(ShamirSplit(SecretBytes(), 5, 3).status());
}

TEST(ShamirTest, CombineRejectsDuplicateX) {
  auto shares = *ShamirSplit(RandomSecret(8), 3, 2);
  std::vector<SecretBytes> dup;
  dup.push_back(shares[0].Clone());
  dup.push_back(shares[1].Clone());
  dup.push_back(shares[0].Clone());
  ExpectInvalid(ShamirCombine(dup).status());
  // Same x with different y is also a duplicate.
  dup[2].MutableReveal()[0] ^= 0xff;
  ExpectInvalid(ShamirCombine(dup).status());
}

TEST(ShamirTest, CombineRejectsZeroX) {
  auto shares = *ShamirSplit(RandomSecret(8), 3, 2);
  shares[1].MutableReveal()[8] = 0;
  ExpectInvalid(ShamirCombine(shares).status());
}

TEST(ShamirTest, CombineRejectsMixedLengths) {
  auto a = *ShamirSplit(RandomSecret(8), 3, 2);
  auto b = *ShamirSplit(RandomSecret(9), 3, 2);
  std::vector<SecretBytes> mixed;
  mixed.push_back(a[0].Clone());
  mixed.push_back(b[1].Clone());
  // Make sure the x coordinates differ so only the length is wrong.
  mixed[0].MutableReveal()[8] = 1;
  mixed[1].MutableReveal()[9] = 2;
  ExpectInvalid(ShamirCombine(mixed).status());
}

TEST(ShamirTest, CombineRejectsFewerThanTwoShares) {
  auto shares = *ShamirSplit(RandomSecret(8), 3, 2);
  std::vector<SecretBytes> one;
  one.push_back(shares[0].Clone());
  ExpectInvalid(ShamirCombine(one).status());
  ExpectInvalid(ShamirCombine({}).status());
}

TEST(ShamirTest, CombineRejectsSharesWithoutSecretBytes) {
  std::vector<SecretBytes> tiny;
  tiny.push_back(SecretBytes::CopyFrom("\x01"));
  tiny.push_back(SecretBytes::CopyFrom("\x02"));
  ExpectInvalid(ShamirCombine(tiny).status());
}

}  // namespace
}  // namespace arca::kms
