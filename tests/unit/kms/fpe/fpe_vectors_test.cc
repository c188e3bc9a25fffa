// Whole-file runs of the published FPE vectors: NIST SP 800-38G FF1 samples
// and ACVP FF3-1 samples. Every vector runs encrypt and decrypt; a missing
// or partly skipped file fails.

#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kms/fpe/ff1.h"
#include "kms/fpe/ff3_1.h"
#include "kms/secret_bytes.h"
#include "nlohmann/json.hpp"
#include "tests/unit/kms/fpe/fpe_test_util.h"

namespace arca::kms::fpe {
namespace {

using testing::FromNumerals;
using testing::HexDecode;
using testing::ReadFile;
using testing::ReferenceFf1;
using testing::ReferenceFf3_1;
using testing::ToNumerals;

nlohmann::json LoadVectors(const std::string& name) {
  const std::string path = std::string(ARCA_TEST_VECTORS_DIR) + "/fpe/" + name;
  std::optional<std::string> text = ReadFile(path);
  EXPECT_TRUE(text.has_value()) << "missing vector file " << path;
  if (!text.has_value()) return nlohmann::json();
  return nlohmann::json::parse(*text);
}

struct Counts {
  size_t in_file = 0;
  size_t run = 0;
};

// Runs every vector of `file` through `Cipher` (Ff1 or Ff3_1) and, as a check
// on the test-only reference, through `reference`.
template <typename Cipher, typename Reference>
Counts RunFile(const std::string& file, const std::string& algorithm,
               Reference reference) {
  Counts counts;
  nlohmann::json doc = LoadVectors(file);
  if (doc.is_null()) return counts;
  EXPECT_EQ(doc.at("algorithm").get<std::string>(), algorithm);
  const auto& tests = doc.at("tests");
  counts.in_file = tests.size();
  for (const auto& v : tests) {
    const int id = v.at("id").get<int>();
    SCOPED_TRACE("vector id " + std::to_string(id));
    const std::string key = HexDecode(v.at("key").get<std::string>());
    const uint32_t radix = v.at("radix").get<uint32_t>();
    const std::string tweak = HexDecode(v.at("tweak").get<std::string>());
    const std::string pt = v.at("plaintext").get<std::string>();
    const std::string ct = v.at("ciphertext").get<std::string>();

    auto cipher = Cipher::New(SecretBytes::CopyFrom(key), radix);
    if (!cipher.ok()) {
      ADD_FAILURE() << cipher.status();
      continue;
    }
    auto enc = (*cipher)->Encrypt(ToNumerals(pt), tweak);
    if (!enc.ok()) {
      ADD_FAILURE() << enc.status();
      continue;
    }
    EXPECT_EQ(FromNumerals(*enc), ct);
    auto dec = (*cipher)->Decrypt(ToNumerals(ct), tweak);
    if (!dec.ok()) {
      ADD_FAILURE() << dec.status();
      continue;
    }
    EXPECT_EQ(FromNumerals(*dec), pt);
    EXPECT_EQ(FromNumerals(reference(key, radix, ToNumerals(pt), tweak, true)),
              ct);
    ++counts.run;
  }
  std::cout << file << ": ran " << counts.run << " of " << counts.in_file
            << " vectors (encrypt and decrypt each)\n";
  return counts;
}

TEST(FpeVectorsTest, Ff1MatchesEveryNistSample) {
  const Counts c = RunFile<Ff1>("ff1_nist.json", "FF1-AES", ReferenceFf1);
  EXPECT_EQ(c.run, c.in_file);
  EXPECT_EQ(c.in_file, 9u);
}

TEST(FpeVectorsTest, Ff3_1MatchesEveryAcvpSample) {
  const Counts c =
      RunFile<Ff3_1>("ff3_1_acvp.json", "FF3-1-AES", ReferenceFf3_1);
  EXPECT_EQ(c.run, c.in_file);
  EXPECT_EQ(c.in_file, 10u);
}

}  // namespace
}  // namespace arca::kms::fpe
