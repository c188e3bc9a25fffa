#include "kms/aes_gcm.h"

#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "kms/random.h"

namespace arca::kms {
namespace {

std::string Hex(absl::string_view hex) { return absl::HexStringToBytes(hex); }

std::unique_ptr<AesGcm> NewAes256() {
  auto aead = AesGcm::New(RandomSecret(32));
  EXPECT_TRUE(aead.ok()) << aead.status();
  return *std::move(aead);
}

TEST(AesGcmTest, AcceptsOnly128And256BitKeys) {
  EXPECT_TRUE(AesGcm::New(SecretBytes(16)).ok());
  EXPECT_TRUE(AesGcm::New(SecretBytes(32)).ok());
  for (size_t size : {0, 1, 15, 17, 24, 31, 33, 64}) {
    auto aead = AesGcm::New(SecretBytes(size));
    ASSERT_FALSE(aead.ok()) << size;
    EXPECT_EQ(aead.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

// NIST GCM spec (McGrew & Viega) test cases 1, 2, 13 and 14.
TEST(AesGcmTest, MatchesPublishedKnownAnswers) {
  const std::string nonce(12, '\0');
  auto aes128 = *AesGcm::New(SecretBytes(16));
  auto aes256 = *AesGcm::New(SecretBytes(32));
  EXPECT_EQ(*aes128->EncryptWithNonce(nonce, "", ""),
            Hex("58e2fccefa7e3061367f1d57a4e7455a"));
  EXPECT_EQ(*aes128->EncryptWithNonce(nonce, std::string(16, '\0'), ""),
            Hex("0388dace60b6a392f328c2b971b2fe78"
                "ab6e47d42cec13bdf53a67b21257bddf"));
  EXPECT_EQ(*aes256->EncryptWithNonce(nonce, "", ""),
            Hex("530f8afbc74536b9a963b4f1c4cb738b"));
  EXPECT_EQ(*aes256->EncryptWithNonce(nonce, std::string(16, '\0'), ""),
            Hex("cea7403d4d606b6e074ec5d3baf39d18"
                "d0d1c8a799996bf0265b98b5d48ab919"));
}

TEST(AesGcmTest, RoundTripsWithAssociatedData) {
  auto aead = NewAes256();
  for (size_t size : {1, 15, 16, 17, 100, 4096, 100000}) {
    const std::string plaintext = RandomString(size);
    auto ciphertext = aead->Encrypt(plaintext, "secret/data/app");
    ASSERT_TRUE(ciphertext.ok()) << ciphertext.status();
    EXPECT_EQ(ciphertext->size(), AesGcm::kNonceSize + size + AesGcm::kTagSize);
    auto decrypted = aead->Decrypt(*ciphertext, "secret/data/app");
    ASSERT_TRUE(decrypted.ok()) << decrypted.status();
    EXPECT_EQ(*decrypted, plaintext);
  }
}

TEST(AesGcmTest, EmptyPlaintextRoundTripsAndIsStillAuthenticated) {
  auto aead = NewAes256();
  auto ciphertext = aead->Encrypt("", "aad");
  ASSERT_TRUE(ciphertext.ok());
  EXPECT_EQ(ciphertext->size(), AesGcm::kNonceSize + AesGcm::kTagSize);
  auto decrypted = aead->Decrypt(*ciphertext, "aad");
  ASSERT_TRUE(decrypted.ok()) << decrypted.status();
  EXPECT_TRUE(decrypted->empty());
  EXPECT_FALSE(aead->Decrypt(*ciphertext, "other").ok());
}

TEST(AesGcmTest, WrongAssociatedDataFailsToDecrypt) {
  auto aead = NewAes256();
  auto ciphertext = *aead->Encrypt("value", "secret/data/a");
  for (std::string_view aad :
       {"secret/data/b", "", "secret/data/a ", "secret/data/"}) {
    auto decrypted = aead->Decrypt(ciphertext, aad);
    ASSERT_FALSE(decrypted.ok()) << aad;
    EXPECT_EQ(decrypted.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(decrypted.status().message(), "ciphertext authentication failed");
  }
}

TEST(AesGcmTest, FlippingAnyBitFailsToDecrypt) {
  auto aead = NewAes256();
  const std::string ciphertext = *aead->Encrypt("twenty bytes of text", "ad");
  for (size_t i = 0; i < ciphertext.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string tampered = ciphertext;
      tampered[i] = static_cast<char>(tampered[i] ^ (1 << bit));
      auto decrypted = aead->Decrypt(tampered, "ad");
      ASSERT_FALSE(decrypted.ok()) << "byte " << i << " bit " << bit;
      EXPECT_EQ(decrypted.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
  // The untampered ciphertext still decrypts after all those failures.
  EXPECT_TRUE(aead->Decrypt(ciphertext, "ad").ok());
}

TEST(AesGcmTest, TruncatedCiphertextFailsToDecrypt) {
  auto aead = NewAes256();
  const std::string ciphertext = *aead->Encrypt("some plaintext", "");
  for (size_t len = 0; len < ciphertext.size(); ++len) {
    auto decrypted = aead->Decrypt(ciphertext.substr(0, len), "");
    ASSERT_FALSE(decrypted.ok()) << len;
    EXPECT_EQ(decrypted.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(decrypted.status().message(),
              len < AesGcm::kNonceSize + AesGcm::kTagSize
                  ? "ciphertext too short"
                  : "ciphertext authentication failed");
  }
}

TEST(AesGcmTest, DifferentKeyFailsToDecrypt) {
  auto a = NewAes256();
  auto b = NewAes256();
  EXPECT_FALSE(b->Decrypt(*a->Encrypt("x", ""), "").ok());
}

TEST(AesGcmTest, EachEncryptionUsesAFreshNonce) {
  auto aead = NewAes256();
  std::set<std::string> nonces;
  std::set<std::string> ciphertexts;
  constexpr int kCount = 2000;
  for (int i = 0; i < kCount; ++i) {
    const std::string c = *aead->Encrypt("same plaintext", "same aad");
    nonces.insert(c.substr(0, AesGcm::kNonceSize));
    ciphertexts.insert(c);
  }
  EXPECT_EQ(nonces.size(), static_cast<size_t>(kCount));
  EXPECT_EQ(ciphertexts.size(), static_cast<size_t>(kCount));
}

TEST(AesGcmTest, EncryptWithNonceIsDeterministicAndInvertible) {
  auto aead = NewAes256();
  const std::string nonce = RandomString(AesGcm::kNonceSize);
  const std::string a = *aead->EncryptWithNonce(nonce, "pt", "ad");
  EXPECT_EQ(*aead->EncryptWithNonce(nonce, "pt", "ad"), a);
  EXPECT_EQ(a.size(), 2 + AesGcm::kTagSize);
  EXPECT_EQ(*aead->DecryptWithNonce(nonce, a, "ad"), "pt");
  // Same bytes as the randomized format once the nonce is prefixed.
  EXPECT_EQ(*aead->Decrypt(nonce + a, "ad"), "pt");
}

TEST(AesGcmTest, WithNonceFormsRejectNoncesThatAreNot12Bytes) {
  auto aead = NewAes256();
  for (size_t size : {0, 8, 11, 13, 16}) {
    const std::string nonce(size, 'n');
    auto e = aead->EncryptWithNonce(nonce, "pt", "");
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument) << size;
    auto d = aead->DecryptWithNonce(nonce, std::string(32, 'c'), "");
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << size;
  }
}

// Pooled contexts are reused after a failed decryption: the next operation
// must not inherit any state from it.
TEST(AesGcmTest, ReusedContextsGiveKnownAnswersAfterFailures) {
  auto aead = *AesGcm::New(SecretBytes(16));
  const std::string nonce(12, '\0');
  const std::string expected =
      Hex("0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf");
  for (int i = 0; i < 5; ++i) {
    std::string bad = expected;
    bad[i] ^= 1;
    EXPECT_FALSE(aead->DecryptWithNonce(nonce, bad, "").ok());
    EXPECT_EQ(*aead->EncryptWithNonce(nonce, std::string(16, '\0'), ""),
              expected);
    EXPECT_EQ(*aead->DecryptWithNonce(nonce, expected, ""),
              std::string(16, '\0'));
  }
}

TEST(AesGcmTest, ConcurrentUseFromManyThreadsIsCorrect) {
  auto aead = NewAes256();
  constexpr int kThreads = 8;
  constexpr int kIterations = 500;
  // Each thread decrypts what the previous thread encrypted, so contexts
  // cross threads and directions.
  std::vector<std::string> shared(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    shared[t] = *aead->Encrypt("seed " + std::to_string(t), "ad");
  }
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIterations; ++i) {
        const std::string plaintext =
            "thread " + std::to_string(t) + " message " + std::to_string(i);
        const std::string aad = "path/" + std::to_string(t);
        auto c = aead->Encrypt(plaintext, aad);
        if (!c.ok()) {
          ++failures[t];
          continue;
        }
        auto p = aead->Decrypt(*c, aad);
        if (!p.ok() || *p != plaintext) ++failures[t];
        if (aead->Decrypt(*c, "wrong").ok()) ++failures[t];
        auto seed = aead->Decrypt(shared[(t + 1) % kThreads], "ad");
        if (!seed.ok() || *seed != "seed " + std::to_string((t + 1) % kThreads))
          ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << t;
}

// EncryptEach is the batch form of Encrypt: every message must come out as
// a ciphertext that Decrypt accepts with that message's associated data,
// and nonces must stay fresh across the blocks of nonces it draws at once.
TEST(AesGcmTest, EncryptEachSealsEveryMessageWithItsOwnFreshNonce) {
  auto aead = NewAes256();
  constexpr size_t kCount = 700;  // more than two draws of nonces
  std::vector<std::string> plaintexts;
  std::vector<std::string> aads;
  for (size_t i = 0; i < kCount; ++i) {
    plaintexts.push_back(std::string(i % 50, static_cast<char>('a' + i % 26)));
    aads.push_back("aad-" + std::to_string(i));
  }
  std::vector<std::string> sealed(kCount);
  std::vector<int> calls(kCount, 0);
  ASSERT_TRUE(aead->EncryptEach(
                      kCount,
                      [&](size_t i) {
                        return Aead::Message{plaintexts[i], aads[i]};
                      },
                      [&](size_t i, std::string_view s) {
                        sealed[i] = std::string(s);
                        ++calls[i];
                      })
                  .ok());
  std::set<std::string> nonces;
  for (size_t i = 0; i < kCount; ++i) {
    ASSERT_EQ(calls[i], 1) << i;
    EXPECT_EQ(sealed[i].size(),
              AesGcm::kNonceSize + plaintexts[i].size() + AesGcm::kTagSize);
    nonces.insert(sealed[i].substr(0, AesGcm::kNonceSize));
    auto opened = aead->Decrypt(sealed[i], aads[i]);
    ASSERT_TRUE(opened.ok()) << i << ": " << opened.status();
    EXPECT_EQ(*opened, plaintexts[i]);
    EXPECT_FALSE(aead->Decrypt(sealed[i], "other aad").ok()) << i;
  }
  EXPECT_EQ(nonces.size(), kCount);
}

TEST(AesGcmTest, EncryptEachOfNothingCallsNothing) {
  auto aead = NewAes256();
  bool called = false;
  EXPECT_TRUE(aead->EncryptEach(
                      0,
                      [&](size_t) {
                        called = true;
                        return Aead::Message{};
                      },
                      [&](size_t, std::string_view) { called = true; })
                  .ok());
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace arca::kms
