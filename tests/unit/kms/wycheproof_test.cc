// Runs the Wycheproof vector files whole through the kms API. Every vector is
// either run (and must give the expected answer) or counted as unsupported
// (and our API must refuse its parameters); the two counts must add up to the
// file's numberOfTests, so no vector is silently dropped.

#include <fstream>
#include <functional>
#include <iostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "kms/aes_gcm.h"
#include "kms/mac.h"
#include "kms/xchacha20_poly1305.h"
#include "nlohmann/json.hpp"

namespace arca::kms {
namespace {

using nlohmann::json;

std::string ToHex(std::string_view bytes) {
  return absl::BytesToHexString(absl::string_view(bytes.data(), bytes.size()));
}

std::string Hex(const json& value) {
  return absl::HexStringToBytes(value.get<std::string>());
}

// Loads a vector file; a missing or unparsable file is a test failure.
::testing::AssertionResult LoadVectors(const std::string& name, json* out) {
  const std::string path =
      std::string(ARCA_TEST_VECTORS_DIR) + "/wycheproof/" + name;
  std::ifstream in(path);
  if (!in.is_open()) {
    return ::testing::AssertionFailure() << "missing vector file " << path;
  }
  *out = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (out->is_discarded() || !out->contains("testGroups") ||
      !out->contains("numberOfTests")) {
    return ::testing::AssertionFailure() << "malformed vector file " << path;
  }
  return ::testing::AssertionSuccess();
}

struct Counts {
  int ran = 0;
  int unsupported = 0;
};

void Report(const std::string& name, const json& doc, const Counts& counts,
            int min_ran) {
  const int total = doc["numberOfTests"].get<int>();
  ::testing::Test::RecordProperty("wycheproof_file", name);
  ::testing::Test::RecordProperty("ran", counts.ran);
  ::testing::Test::RecordProperty("unsupported", counts.unsupported);
  ::testing::Test::RecordProperty("total", total);
  std::cout << "wycheproof " << name << ": ran " << counts.ran
            << ", unsupported " << counts.unsupported << ", of " << total
            << std::endl;
  EXPECT_EQ(counts.ran + counts.unsupported, total);
  EXPECT_GE(counts.ran, min_ran);
}

using SealFn = std::function<absl::StatusOr<std::string>(
    std::string_view nonce, std::string_view plaintext, std::string_view aad)>;

// Checks one supported AEAD vector in both directions.
void CheckAeadVector(const json& t, const SealFn& seal, const SealFn& open) {
  const std::string iv = Hex(t["iv"]);
  const std::string aad = Hex(t["aad"]);
  const std::string msg = Hex(t["msg"]);
  const std::string ct_tag = Hex(t["ct"]) + Hex(t["tag"]);
  const std::string result = t["result"];
  auto opened = open(iv, ct_tag, aad);
  if (result == "valid") {
    auto sealed = seal(iv, msg, aad);
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    EXPECT_EQ(ToHex(*sealed), ToHex(ct_tag));
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(ToHex(*opened), ToHex(msg));
  } else if (result == "invalid") {
    ASSERT_FALSE(opened.ok()) << "forged ciphertext accepted";
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kInvalidArgument);
  } else {  // "acceptable": either answer, but never a wrong plaintext.
    if (opened.ok()) {
      EXPECT_EQ(*opened, msg);
    }
  }
}

// Asserts that our API refuses a nonce size it does not support.
void ExpectNonceRefused(const json& t, const SealFn& seal, const SealFn& open) {
  const std::string iv = Hex(t["iv"]);
  EXPECT_EQ(seal(iv, Hex(t["msg"]), Hex(t["aad"])).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      open(iv, Hex(t["ct"]) + Hex(t["tag"]), Hex(t["aad"])).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(WycheproofTest, AesGcmVectorsPass) {
  json doc;
  ASSERT_TRUE(LoadVectors("aes_gcm_test.json", &doc));
  Counts counts;
  for (const json& group : doc["testGroups"]) {
    const int key_bits = group["keySize"];
    const int iv_bits = group["ivSize"];
    const int tag_bits = group["tagSize"];
    for (const json& t : group["tests"]) {
      SCOPED_TRACE("aes_gcm tcId " + std::to_string(t["tcId"].get<int>()));
      const std::string key = Hex(t["key"]);
      ASSERT_EQ(key.size() * 8, static_cast<size_t>(key_bits));
      auto aead = AesGcm::New(SecretBytes::CopyFrom(key));
      if (key_bits != 128 && key_bits != 256) {
        // AES-192: deliberately not offered.
        EXPECT_EQ(aead.status().code(), absl::StatusCode::kInvalidArgument);
        ++counts.unsupported;
        continue;
      }
      ASSERT_TRUE(aead.ok()) << aead.status();
      const AesGcm& gcm = **aead;
      SealFn seal = [&](std::string_view n, std::string_view p,
                        std::string_view a) {
        return gcm.EncryptWithNonce(n, p, a);
      };
      SealFn open = [&](std::string_view n, std::string_view c,
                        std::string_view a) {
        return gcm.DecryptWithNonce(n, c, a);
      };
      if (tag_bits != 128 || iv_bits != 96) {
        if (iv_bits != 96) ExpectNonceRefused(t, seal, open);
        ++counts.unsupported;
        continue;
      }
      ++counts.ran;
      CheckAeadVector(t, seal, open);
    }
  }
  Report("aes_gcm", doc, counts, 133);
}

TEST(WycheproofTest, ChaCha20Poly1305VectorsPass) {
  json doc;
  ASSERT_TRUE(LoadVectors("chacha20_poly1305_test.json", &doc));
  Counts counts;
  for (const json& group : doc["testGroups"]) {
    const int iv_bits = group["ivSize"];
    ASSERT_EQ(group["keySize"].get<int>(), 256);
    ASSERT_EQ(group["tagSize"].get<int>(), 128);
    for (const json& t : group["tests"]) {
      SCOPED_TRACE("chacha20_poly1305 tcId " +
                   std::to_string(t["tcId"].get<int>()));
      const SecretBytes key = SecretBytes::CopyFrom(Hex(t["key"]));
      SealFn seal = [&](std::string_view n, std::string_view p,
                        std::string_view a) {
        return ChaCha20Poly1305EncryptWithNonce(key, n, p, a);
      };
      SealFn open = [&](std::string_view n, std::string_view c,
                        std::string_view a) {
        return ChaCha20Poly1305DecryptWithNonce(key, n, c, a);
      };
      if (iv_bits != 96) {
        ExpectNonceRefused(t, seal, open);
        ++counts.unsupported;
        continue;
      }
      ++counts.ran;
      CheckAeadVector(t, seal, open);
    }
  }
  Report("chacha20_poly1305", doc, counts, 316);
}

TEST(WycheproofTest, XChaCha20Poly1305VectorsPass) {
  json doc;
  ASSERT_TRUE(LoadVectors("xchacha20_poly1305_test.json", &doc));
  Counts counts;
  for (const json& group : doc["testGroups"]) {
    const int iv_bits = group["ivSize"];
    ASSERT_EQ(group["keySize"].get<int>(), 256);
    ASSERT_EQ(group["tagSize"].get<int>(), 128);
    for (const json& t : group["tests"]) {
      SCOPED_TRACE("xchacha20_poly1305 tcId " +
                   std::to_string(t["tcId"].get<int>()));
      auto aead = XChaCha20Poly1305::New(SecretBytes::CopyFrom(Hex(t["key"])));
      ASSERT_TRUE(aead.ok()) << aead.status();
      const XChaCha20Poly1305& x = **aead;
      SealFn seal = [&](std::string_view n, std::string_view p,
                        std::string_view a) {
        return x.EncryptWithNonce(n, p, a);
      };
      SealFn open = [&](std::string_view n, std::string_view c,
                        std::string_view a) {
        return x.DecryptWithNonce(n, c, a);
      };
      if (iv_bits != 192) {
        ExpectNonceRefused(t, seal, open);
        ++counts.unsupported;
        continue;
      }
      ++counts.ran;
      CheckAeadVector(t, seal, open);
    }
  }
  Report("xchacha20_poly1305", doc, counts, 306);
}

TEST(WycheproofTest, HkdfSha256VectorsPass) {
  json doc;
  ASSERT_TRUE(LoadVectors("hkdf_sha256_test.json", &doc));
  Counts counts;
  constexpr size_t kMaxOutput = 255 * 32;
  for (const json& group : doc["testGroups"]) {
    for (const json& t : group["tests"]) {
      SCOPED_TRACE("hkdf_sha256 tcId " + std::to_string(t["tcId"].get<int>()));
      const size_t size = t["size"];
      const std::string result = t["result"];
      auto okm = HkdfSha256(SecretBytes::CopyFrom(Hex(t["ikm"])),
                            Hex(t["salt"]), Hex(t["info"]), size);
      if (size < 1 || size > kMaxOutput) {
        // Out of RFC 5869's range: our API must refuse it.
        EXPECT_EQ(okm.status().code(), absl::StatusCode::kInvalidArgument);
        EXPECT_NE(result, "valid");
        ++counts.unsupported;
        continue;
      }
      ++counts.ran;
      if (result == "valid") {
        ASSERT_TRUE(okm.ok()) << okm.status();
        EXPECT_EQ(ToHex(okm->Reveal()), t["okm"].get<std::string>());
      } else if (result == "invalid") {
        EXPECT_TRUE(!okm.ok() || ToHex(okm->Reveal()) != t["okm"]);
      }
    }
  }
  Report("hkdf_sha256", doc, counts, 83);
}

TEST(WycheproofTest, HmacSha256VectorsPass) {
  json doc;
  ASSERT_TRUE(LoadVectors("hmac_sha256_test.json", &doc));
  Counts counts;
  for (const json& group : doc["testGroups"]) {
    const int tag_bits = group["tagSize"];
    for (const json& t : group["tests"]) {
      SCOPED_TRACE("hmac_sha256 tcId " + std::to_string(t["tcId"].get<int>()));
      const SecretBytes key = SecretBytes::CopyFrom(Hex(t["key"]));
      const std::string msg = Hex(t["msg"]);
      const std::string tag = Hex(t["tag"]);
      const std::string result = t["result"];
      ASSERT_EQ(tag.size() * 8, static_cast<size_t>(tag_bits));
      const bool verified = HmacSha256Verify(key, msg, tag);
      if (tag.size() < 16 || tag.size() > 32) {
        // Tags this short are never accepted by design.
        EXPECT_FALSE(verified);
        ++counts.unsupported;
        continue;
      }
      ++counts.ran;
      const std::string computed = HmacSha256(key, msg).substr(0, tag.size());
      if (result == "valid") {
        EXPECT_EQ(ToHex(computed), ToHex(tag));
        EXPECT_TRUE(verified);
      } else if (result == "invalid") {
        EXPECT_NE(computed, tag);
        EXPECT_FALSE(verified);
      }
    }
  }
  Report("hmac_sha256", doc, counts, 174);
}

}  // namespace
}  // namespace arca::kms
