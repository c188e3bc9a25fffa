#include "kms/ed25519.h"

#include <sodium.h>

#include <utility>

#include "kms/random.h"

namespace arca::kms {
namespace {

static_assert(Ed25519Signer::kSeedSize == crypto_sign_SEEDBYTES);
static_assert(Ed25519Signer::kPublicKeySize == crypto_sign_PUBLICKEYBYTES);
static_assert(Ed25519Signer::kSignatureSize == crypto_sign_BYTES);

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::unique_ptr<Ed25519Signer> Ed25519Signer::Generate() {
  InitCrypto();
  // A random seed always has the right size, so FromSeed cannot fail here.
  return *FromSeed(RandomSecret(kSeedSize));
}

absl::StatusOr<std::unique_ptr<Ed25519Signer>> Ed25519Signer::FromSeed(
    const SecretBytes& seed) {
  InitCrypto();
  if (seed.size() != kSeedSize) {
    return absl::InvalidArgumentError("Ed25519 seed must be 32 bytes");
  }
  SecretBytes secret_key(crypto_sign_SECRETKEYBYTES);
  std::string public_key(kPublicKeySize, '\0');
  crypto_sign_seed_keypair(reinterpret_cast<unsigned char*>(public_key.data()),
                           secret_key.MutableReveal(), Bytes(seed.Reveal()));
  return std::unique_ptr<Ed25519Signer>(new Ed25519Signer(
      seed.Clone(), std::move(secret_key), std::move(public_key)));
}

std::string Ed25519Signer::Sign(std::string_view message) const {
  std::string signature(kSignatureSize, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()),
                       nullptr, Bytes(message), message.size(),
                       Bytes(secret_key_.Reveal()));
  return signature;
}

absl::Status Ed25519Verify(std::string_view public_key,
                           std::string_view message,
                           std::string_view signature) {
  InitCrypto();
  if (public_key.size() != Ed25519Signer::kPublicKeySize ||
      signature.size() != Ed25519Signer::kSignatureSize ||
      crypto_sign_verify_detached(Bytes(signature), Bytes(message),
                                  message.size(), Bytes(public_key)) != 0) {
    return absl::InvalidArgumentError("signature verification failed");
  }
  return absl::OkStatus();
}

}  // namespace arca::kms
