#include "kms/xchacha20_poly1305.h"

#include <memory>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "kms/random.h"

namespace arca::kms {
namespace {

std::string Hex(absl::string_view hex) { return absl::HexStringToBytes(hex); }

// The RFC 8439 section 2.8.2 plaintext, also used by the XChaCha draft.
constexpr char kSunscreen[] =
    "Ladies and Gentlemen of the class of '99: If I could offer you only one "
    "tip for the future, sunscreen would be it.";

std::unique_ptr<XChaCha20Poly1305> NewAead() {
  auto aead = XChaCha20Poly1305::New(RandomSecret(32));
  EXPECT_TRUE(aead.ok()) << aead.status();
  return *std::move(aead);
}

TEST(XChaCha20Poly1305Test, AcceptsOnly256BitKeys) {
  EXPECT_TRUE(XChaCha20Poly1305::New(SecretBytes(32)).ok());
  for (size_t size : {0, 16, 24, 31, 33}) {
    EXPECT_EQ(XChaCha20Poly1305::New(SecretBytes(size)).status().code(),
              absl::StatusCode::kInvalidArgument)
        << size;
  }
}

// draft-irtf-cfrg-xchacha-03, appendix A.3.1.
TEST(XChaCha20Poly1305Test, MatchesPublishedKnownAnswer) {
  auto aead = *XChaCha20Poly1305::New(SecretBytes::CopyFrom(
      Hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")));
  const std::string nonce =
      Hex("404142434445464748494a4b4c4d4e4f5051525354555657");
  const std::string aad = Hex("50515253c0c1c2c3c4c5c6c7");
  const std::string expected =
      Hex("bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
          "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
          "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
          "21f9664c97637da9768812f615c68b13b52e"
          "c0875924c1c7987947deafd8780acf49");
  EXPECT_EQ(*aead->EncryptWithNonce(nonce, kSunscreen, aad), expected);
  EXPECT_EQ(*aead->DecryptWithNonce(nonce, expected, aad), kSunscreen);
}

TEST(XChaCha20Poly1305Test, RoundTripsIncludingEmptyPlaintext) {
  auto aead = NewAead();
  for (size_t size : {0, 1, 63, 64, 65, 10000}) {
    const std::string plaintext = RandomString(size);
    auto c = aead->Encrypt(plaintext, "context");
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->size(), XChaCha20Poly1305::kNonceSize + size +
                             XChaCha20Poly1305::kTagSize);
    auto p = aead->Decrypt(*c, "context");
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(*p, plaintext);
  }
}

TEST(XChaCha20Poly1305Test, WrongAssociatedDataOrKeyFailsToDecrypt) {
  auto aead = NewAead();
  const std::string c = *aead->Encrypt("value", "a");
  auto wrong_aad = aead->Decrypt(c, "b");
  EXPECT_EQ(wrong_aad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(wrong_aad.status().message(), "ciphertext authentication failed");
  EXPECT_FALSE(NewAead()->Decrypt(c, "a").ok());
}

TEST(XChaCha20Poly1305Test, FlippingAnyBitFailsToDecrypt) {
  auto aead = NewAead();
  const std::string c = *aead->Encrypt("some plaintext", "ad");
  for (size_t i = 0; i < c.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string tampered = c;
      tampered[i] = static_cast<char>(tampered[i] ^ (1 << bit));
      EXPECT_EQ(aead->Decrypt(tampered, "ad").status().code(),
                absl::StatusCode::kInvalidArgument)
          << i << ":" << bit;
    }
  }
}

TEST(XChaCha20Poly1305Test, TruncatedCiphertextFailsToDecrypt) {
  auto aead = NewAead();
  const std::string c = *aead->Encrypt("some plaintext", "");
  for (size_t len = 0; len < c.size(); ++len) {
    auto p = aead->Decrypt(c.substr(0, len), "");
    ASSERT_FALSE(p.ok()) << len;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(aead->Decrypt(c.substr(0, 39), "").status().message(),
            "ciphertext too short");
}

TEST(XChaCha20Poly1305Test, EachEncryptionUsesAFreshNonce) {
  auto aead = NewAead();
  std::set<std::string> nonces;
  for (int i = 0; i < 1000; ++i) {
    nonces.insert(aead->Encrypt("same", "")
                      .value()
                      .substr(0, XChaCha20Poly1305::kNonceSize));
  }
  EXPECT_EQ(nonces.size(), 1000u);
}

TEST(XChaCha20Poly1305Test, WithNonceFormsRejectWrongNonceSize) {
  auto aead = NewAead();
  EXPECT_EQ(
      aead->EncryptWithNonce(std::string(12, 'n'), "x", "").status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      aead->DecryptWithNonce(std::string(23, 'n'), std::string(20, 'c'), "")
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
}

// RFC 8439 section 2.8.2.
TEST(ChaCha20Poly1305Test, MatchesRfc8439KnownAnswer) {
  const SecretBytes key = SecretBytes::CopyFrom(
      Hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"));
  const std::string nonce = Hex("070000004041424344454647");
  const std::string aad = Hex("50515253c0c1c2c3c4c5c6c7");
  const std::string expected =
      Hex("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
          "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
          "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
          "3ff4def08e4b7a9de576d26586cec64b6116"
          "1ae10b594f09e26a7e902ecbd0600691");
  EXPECT_EQ(*ChaCha20Poly1305EncryptWithNonce(key, nonce, kSunscreen, aad),
            expected);
  EXPECT_EQ(*ChaCha20Poly1305DecryptWithNonce(key, nonce, expected, aad),
            kSunscreen);
  std::string tampered = expected;
  tampered.back() ^= 0x80;
  EXPECT_EQ(ChaCha20Poly1305DecryptWithNonce(key, nonce, tampered, aad)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ChaCha20Poly1305Test, RejectsWrongKeyAndNonceSizes) {
  EXPECT_EQ(ChaCha20Poly1305EncryptWithNonce(SecretBytes(16),
                                             std::string(12, 'n'), "x", "")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ChaCha20Poly1305EncryptWithNonce(SecretBytes(32),
                                             std::string(24, 'n'), "x", "")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ChaCha20Poly1305DecryptWithNonce(
                SecretBytes(32), std::string(8, 'n'), std::string(17, 'c'), "")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace arca::kms
