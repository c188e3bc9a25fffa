// Runs Wycheproof ed25519_test.json whole through kms::Ed25519Verify. Every
// vector names its public key and is run: "valid" signatures must verify and
// "invalid" ones must be rejected. Counted vectors must add up to the file's
// numberOfTests, so none is silently dropped.

#include <fstream>
#include <iostream>
#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "kms/ed25519.h"
#include "nlohmann/json.hpp"

namespace arca::kms {
namespace {

using nlohmann::json;

std::string Hex(const json& value) {
  return absl::HexStringToBytes(value.get<std::string>());
}

::testing::AssertionResult LoadVectors(const std::string& path, json* out) {
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

TEST(Ed25519WycheproofTest, WholeFileVerifiesValidAndRejectsInvalid) {
  json doc;
  ASSERT_TRUE(LoadVectors(
      std::string(ARCA_TEST_VECTORS_DIR) + "/wycheproof/ed25519_test.json",
      &doc));
  ASSERT_EQ(doc["algorithm"], "EDDSA");
  int ran = 0, unsupported = 0, valid = 0, invalid = 0;
  for (const json& group : doc["testGroups"]) {
    const json& key = group["publicKey"];
    // Only pure Ed25519 on edwards25519 is in our API.
    if (group["type"] != "EddsaVerify" || key["curve"] != "edwards25519") {
      unsupported += static_cast<int>(group["tests"].size());
      continue;
    }
    const std::string public_key = Hex(key["pk"]);
    for (const json& t : group["tests"]) {
      const std::string result = t["result"];
      const bool verified =
          Ed25519Verify(public_key, Hex(t["msg"]), Hex(t["sig"])).ok();
      if (result == "valid") {
        EXPECT_TRUE(verified) << "tcId " << t["tcId"];
        ++valid;
      } else {
        // Wycheproof's "acceptable" does not occur in this file; treat any
        // non-valid vector as one that must be rejected.
        EXPECT_FALSE(verified) << "tcId " << t["tcId"] << " (" << result << ")";
        ++invalid;
      }
      ++ran;
    }
  }
  const int total = doc["numberOfTests"].get<int>();
  std::cout << "wycheproof ed25519_test.json: ran " << ran << " (" << valid
            << " valid, " << invalid << " invalid), unsupported " << unsupported
            << ", of " << total << std::endl;
  EXPECT_EQ(ran + unsupported, total);
  EXPECT_GT(valid, 0);
  EXPECT_GT(invalid, 0);
}

TEST(Ed25519WycheproofTest, MissingVectorFileFailsToLoad) {
  json doc;
  EXPECT_FALSE(LoadVectors(std::string(ARCA_TEST_VECTORS_DIR) +
                               "/wycheproof/no_such_ed25519_file.json",
                           &doc));
}

}  // namespace
}  // namespace arca::kms
