#include "kms/mac.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "kms/random.h"

namespace arca::kms {
namespace {

std::string Hex(absl::string_view hex) { return absl::HexStringToBytes(hex); }
std::string ToHex(std::string_view bytes) {
  return absl::BytesToHexString(absl::string_view(bytes.data(), bytes.size()));
}

// RFC 4231 test cases 1, 2 and 6.
TEST(HmacSha256Test, MatchesRfc4231KnownAnswers) {
  EXPECT_EQ(ToHex(HmacSha256(SecretBytes::CopyFrom(std::string(20, '\x0b')),
                             "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(ToHex(HmacSha256(SecretBytes::CopyFrom("Jefe"),
                             "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(ToHex(HmacSha256(
                SecretBytes::CopyFrom(std::string(131, '\xaa')),
                "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256Test, EmptyKeyAndMessageAreAllowed) {
  EXPECT_EQ(ToHex(HmacSha256(SecretBytes(), "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(HmacSha256Test, VerifyAcceptsFullAndTruncatedTagsDownTo16Bytes) {
  const SecretBytes key = RandomSecret(32);
  const std::string tag = HmacSha256(key, "message");
  for (size_t len = 16; len <= 32; ++len) {
    EXPECT_TRUE(HmacSha256Verify(key, "message", tag.substr(0, len))) << len;
  }
}

TEST(HmacSha256Test, VerifyRejectsShortOverlongOrModifiedTags) {
  const SecretBytes key = RandomSecret(32);
  const std::string tag = HmacSha256(key, "message");
  for (size_t len = 0; len < 16; ++len) {
    EXPECT_FALSE(HmacSha256Verify(key, "message", tag.substr(0, len))) << len;
  }
  EXPECT_FALSE(HmacSha256Verify(key, "message", tag + '\0'));
  for (size_t i = 0; i < tag.size(); ++i) {
    std::string bad = tag;
    bad[i] ^= 0x01;
    EXPECT_FALSE(HmacSha256Verify(key, "message", bad)) << i;
  }
  EXPECT_FALSE(HmacSha256Verify(key, "Message", tag));
  EXPECT_FALSE(HmacSha256Verify(RandomSecret(32), "message", tag));
}

// RFC 5869 test cases 1 and 3.
TEST(HkdfSha256Test, MatchesRfc5869KnownAnswers) {
  const SecretBytes ikm = SecretBytes::CopyFrom(std::string(22, '\x0b'));
  auto okm = HkdfSha256(ikm, Hex("000102030405060708090a0b0c"),
                        Hex("f0f1f2f3f4f5f6f7f8f9"), 42);
  ASSERT_TRUE(okm.ok()) << okm.status();
  EXPECT_EQ(ToHex(okm->Reveal()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
            "34007208d5b887185865");
  auto empty_salt = HkdfSha256(ikm, "", "", 42);
  ASSERT_TRUE(empty_salt.ok()) << empty_salt.status();
  EXPECT_EQ(ToHex(empty_salt->Reveal()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
            "9d201395faa4b61a96c8");
}

TEST(HkdfSha256Test, OutputLengthMustBe1To8160Bytes) {
  const SecretBytes ikm = RandomSecret(32);
  for (size_t length : {size_t{0}, size_t{8161}, size_t{1} << 20}) {
    auto okm = HkdfSha256(ikm, "salt", "info", length);
    ASSERT_FALSE(okm.ok()) << length;
    EXPECT_EQ(okm.status().code(), absl::StatusCode::kInvalidArgument);
  }
  for (size_t length : {1, 32, 33, 8160}) {
    auto okm = HkdfSha256(ikm, "salt", "info", length);
    ASSERT_TRUE(okm.ok()) << length;
    EXPECT_EQ(okm->size(), length);
  }
}

TEST(HkdfSha256Test, ShorterOutputIsPrefixAndInfoSeparatesKeys) {
  const SecretBytes ikm = RandomSecret(32);
  auto long_okm = *HkdfSha256(ikm, "salt", "barrier", 64);
  auto short_okm = *HkdfSha256(ikm, "salt", "barrier", 20);
  EXPECT_EQ(long_okm.Reveal().substr(0, 20), short_okm.Reveal());
  auto other_info = *HkdfSha256(ikm, "salt", "transit", 64);
  auto other_salt = *HkdfSha256(ikm, "pepper", "barrier", 64);
  EXPECT_FALSE(long_okm.Equals(other_info));
  EXPECT_FALSE(long_okm.Equals(other_salt));
}

TEST(HkdfSha256Test, EmptyInputKeyMaterialIsAllowed) {
  auto okm = HkdfSha256(SecretBytes(), "", "", 32);
  ASSERT_TRUE(okm.ok()) << okm.status();
  EXPECT_EQ(okm->size(), 32u);
}

TEST(Sha256Test, MatchesFips180KnownAnswers) {
  EXPECT_EQ(ToHex(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ToHex(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ConstantTimeEqualsTest, ComparesContentsAndLengths) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_TRUE(
      ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(
      ConstantTimeEquals(std::string("a\0b", 3), std::string("a\0c", 3)));
}

}  // namespace
}  // namespace arca::kms
