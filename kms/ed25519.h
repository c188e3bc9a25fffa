#ifndef ARCA_KMS_ED25519_H_
#define ARCA_KMS_ED25519_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms/secret_bytes.h"

namespace arca::kms {

// Ed25519 signing key (RFC 8032, pure Ed25519, libsodium crypto_sign_*).
// The key is kept as its 32-byte seed; libsodium's expanded 64-byte secret
// key is derived once at construction and held in SecretBytes too.
// Immutable after construction; Sign is thread-safe.
class Ed25519Signer {
 public:
  static constexpr size_t kSeedSize = 32;
  static constexpr size_t kPublicKeySize = 32;
  static constexpr size_t kSignatureSize = 64;

  // A fresh key from the CSPRNG.
  static std::unique_ptr<Ed25519Signer> Generate();
  // The key for a 32-byte `seed`; any other size is INVALID_ARGUMENT.
  static absl::StatusOr<std::unique_ptr<Ed25519Signer>> FromSeed(
      const SecretBytes& seed);

  // A 64-byte detached signature of `message`.
  std::string Sign(std::string_view message) const;

  const SecretBytes& seed() const { return seed_; }
  // The 32-byte public key.
  const std::string& public_key() const { return public_key_; }

 private:
  Ed25519Signer(SecretBytes seed, SecretBytes secret_key,
                std::string public_key)
      : seed_(std::move(seed)),
        secret_key_(std::move(secret_key)),
        public_key_(std::move(public_key)) {}

  SecretBytes seed_;
  SecretBytes secret_key_;  // libsodium's seed ‖ public key form
  std::string public_key_;
};

// OK if `signature` is a valid Ed25519 signature of `message` under the
// 32-byte `public_key`. Strict (libsodium): non-canonical S, small-order or
// non-canonical R and public keys, and any length other than 64 bytes are
// rejected. Every failure is INVALID_ARGUMENT with a fixed message.
absl::Status Ed25519Verify(std::string_view public_key,
                           std::string_view message,
                           std::string_view signature);

}  // namespace arca::kms

#endif  // ARCA_KMS_ED25519_H_
