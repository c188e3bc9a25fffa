#include "kms/ed25519.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "kms/random.h"

namespace arca::kms {
namespace {

std::string Hex(absl::string_view hex) { return absl::HexStringToBytes(hex); }

// RFC 8032 section 7.1, TEST 1 (empty message).
constexpr char kRfcSeed[] =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr char kRfcPublicKey[] =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr char kRfcSignature[] =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

TEST(Ed25519Test, SeedGivesRfc8032PublicKeyAndSignature) {
  auto signer = Ed25519Signer::FromSeed(SecretBytes::CopyFrom(Hex(kRfcSeed)));
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ((*signer)->public_key(), Hex(kRfcPublicKey));
  EXPECT_EQ((*signer)->Sign(""), Hex(kRfcSignature));
  EXPECT_TRUE(Ed25519Verify(Hex(kRfcPublicKey), "", Hex(kRfcSignature)).ok());
}

TEST(Ed25519Test, GeneratedKeySignsAndVerifies) {
  auto signer = Ed25519Signer::Generate();
  const std::string sig = signer->Sign("transfer 100 to account 42");
  EXPECT_EQ(sig.size(), Ed25519Signer::kSignatureSize);
  EXPECT_TRUE(
      Ed25519Verify(signer->public_key(), "transfer 100 to account 42", sig)
          .ok());
}

TEST(Ed25519Test, GeneratedKeysDiffer) {
  auto a = Ed25519Signer::Generate();
  auto b = Ed25519Signer::Generate();
  EXPECT_NE(a->public_key(), b->public_key());
  EXPECT_FALSE(a->seed().Equals(b->seed()));
}

TEST(Ed25519Test, TamperedSignatureFailsToVerify) {
  auto signer = Ed25519Signer::Generate();
  std::string sig = signer->Sign("message");
  sig[10] ^= 0x01;
  absl::Status s = Ed25519Verify(signer->public_key(), "message", sig);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
}

TEST(Ed25519Test, TamperedMessageFailsToVerify) {
  auto signer = Ed25519Signer::Generate();
  const std::string sig = signer->Sign("message");
  EXPECT_FALSE(Ed25519Verify(signer->public_key(), "messagf", sig).ok());
}

TEST(Ed25519Test, OtherKeyFailsToVerify) {
  auto signer = Ed25519Signer::Generate();
  auto other = Ed25519Signer::Generate();
  const std::string sig = signer->Sign("message");
  EXPECT_FALSE(Ed25519Verify(other->public_key(), "message", sig).ok());
}

TEST(Ed25519Test, WrongLengthsAreRejected) {
  auto signer = Ed25519Signer::Generate();
  const std::string sig = signer->Sign("m");
  EXPECT_FALSE(Ed25519Verify(signer->public_key(), "m", sig + "x").ok());
  EXPECT_FALSE(
      Ed25519Verify(signer->public_key(), "m", sig.substr(0, 63)).ok());
  EXPECT_FALSE(
      Ed25519Verify(signer->public_key().substr(0, 31), "m", sig).ok());
}

TEST(Ed25519Test, SeedOfWrongSizeIsInvalidArgument) {
  auto signer = Ed25519Signer::FromSeed(RandomSecret(31));
  EXPECT_EQ(signer.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Ed25519Test, SameSeedGivesSameKey) {
  SecretBytes seed = RandomSecret(32);
  auto a = Ed25519Signer::FromSeed(seed);
  auto b = Ed25519Signer::FromSeed(seed);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a)->public_key(), (*b)->public_key());
  // Ed25519 signatures are deterministic.
  EXPECT_EQ((*a)->Sign("x"), (*b)->Sign("x"));
}

}  // namespace
}  // namespace arca::kms
