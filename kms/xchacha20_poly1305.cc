#include "kms/xchacha20_poly1305.h"

#include <sodium.h>

#include <utility>

#include "absl/status/status.h"
#include "kms/random.h"

namespace arca::kms {
namespace {

constexpr char kAuthFailed[] = "ciphertext authentication failed";
constexpr char kTooShort[] = "ciphertext too short";
constexpr size_t kChaChaNonceSize = crypto_aead_chacha20poly1305_ietf_NPUBBYTES;

static_assert(XChaCha20Poly1305::kKeySize ==
              crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(XChaCha20Poly1305::kNonceSize ==
              crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(XChaCha20Poly1305::kTagSize ==
              crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == 32);
static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == 16);

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* MutableBytes(std::string& s) {
  return reinterpret_cast<unsigned char*>(s.data());
}

// The two libsodium IETF constructions share one signature; this lets the
// XChaCha and ChaCha paths share the checks around them.
using SealFn = int (*)(unsigned char*, unsigned long long*,
                       const unsigned char*, unsigned long long,
                       const unsigned char*, unsigned long long,
                       const unsigned char*, const unsigned char*,
                       const unsigned char*);
using OpenFn = int (*)(unsigned char*, unsigned long long*, unsigned char*,
                       const unsigned char*, unsigned long long,
                       const unsigned char*, unsigned long long,
                       const unsigned char*, const unsigned char*);

// Writes ciphertext ‖ tag to `out`, which has plaintext.size() + 16 bytes.
absl::Status SealInto(SealFn seal, size_t max_message, const SecretBytes& key,
                      std::string_view nonce, std::string_view plaintext,
                      std::string_view aad, unsigned char* out) {
  if (plaintext.size() > max_message) {
    return absl::InvalidArgumentError("plaintext too long");
  }
  unsigned long long out_len = 0;
  if (seal(out, &out_len, Bytes(plaintext), plaintext.size(), Bytes(aad),
           aad.size(), nullptr, Bytes(nonce), Bytes(key.Reveal())) != 0 ||
      out_len != plaintext.size() + XChaCha20Poly1305::kTagSize) {
    return absl::InternalError("encryption failed");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> OpenWith(OpenFn open, const SecretBytes& key,
                                     std::string_view nonce,
                                     std::string_view ciphertext_and_tag,
                                     std::string_view aad) {
  if (ciphertext_and_tag.size() < XChaCha20Poly1305::kTagSize) {
    return absl::InvalidArgumentError(kTooShort);
  }
  std::string plaintext(ciphertext_and_tag.size() - XChaCha20Poly1305::kTagSize,
                        '\0');
  unsigned long long plaintext_len = 0;
  // libsodium verifies the tag before decrypting and leaves `plaintext`
  // untouched on failure.
  if (open(MutableBytes(plaintext), &plaintext_len, nullptr,
           Bytes(ciphertext_and_tag), ciphertext_and_tag.size(), Bytes(aad),
           aad.size(), Bytes(nonce), Bytes(key.Reveal())) != 0 ||
      plaintext_len != plaintext.size()) {
    return absl::InvalidArgumentError(kAuthFailed);
  }
  return plaintext;
}

}  // namespace

absl::StatusOr<std::unique_ptr<XChaCha20Poly1305>> XChaCha20Poly1305::New(
    const SecretBytes& key) {
  if (key.size() != kKeySize) {
    return absl::InvalidArgumentError(
        "XChaCha20-Poly1305 key must be 32 bytes");
  }
  InitCrypto();
  return std::unique_ptr<XChaCha20Poly1305>(new XChaCha20Poly1305(key.Clone()));
}

absl::StatusOr<std::string> XChaCha20Poly1305::Encrypt(
    std::string_view plaintext, std::string_view associated_data) const {
  std::string out(kNonceSize + plaintext.size() + kTagSize, '\0');
  unsigned char* p = MutableBytes(out);
  PublicRandomBytes(p, kNonceSize);
  absl::Status status =
      SealInto(crypto_aead_xchacha20poly1305_ietf_encrypt,
               crypto_aead_xchacha20poly1305_ietf_messagebytes_max(), key_,
               std::string_view(out.data(), kNonceSize), plaintext,
               associated_data, p + kNonceSize);
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::string> XChaCha20Poly1305::Decrypt(
    std::string_view ciphertext, std::string_view associated_data) const {
  if (ciphertext.size() < kNonceSize + kTagSize) {
    return absl::InvalidArgumentError(kTooShort);
  }
  return OpenWith(crypto_aead_xchacha20poly1305_ietf_decrypt, key_,
                  ciphertext.substr(0, kNonceSize),
                  ciphertext.substr(kNonceSize), associated_data);
}

absl::StatusOr<std::string> XChaCha20Poly1305::EncryptWithNonce(
    std::string_view nonce, std::string_view plaintext,
    std::string_view associated_data) const {
  if (nonce.size() != kNonceSize) {
    return absl::InvalidArgumentError(
        "XChaCha20-Poly1305 nonce must be 24 bytes");
  }
  std::string out(plaintext.size() + kTagSize, '\0');
  absl::Status status =
      SealInto(crypto_aead_xchacha20poly1305_ietf_encrypt,
               crypto_aead_xchacha20poly1305_ietf_messagebytes_max(), key_,
               nonce, plaintext, associated_data, MutableBytes(out));
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::string> XChaCha20Poly1305::DecryptWithNonce(
    std::string_view nonce, std::string_view ciphertext_and_tag,
    std::string_view associated_data) const {
  if (nonce.size() != kNonceSize) {
    return absl::InvalidArgumentError(
        "XChaCha20-Poly1305 nonce must be 24 bytes");
  }
  return OpenWith(crypto_aead_xchacha20poly1305_ietf_decrypt, key_, nonce,
                  ciphertext_and_tag, associated_data);
}

absl::StatusOr<std::string> ChaCha20Poly1305EncryptWithNonce(
    const SecretBytes& key, std::string_view nonce, std::string_view plaintext,
    std::string_view associated_data) {
  if (key.size() != crypto_aead_chacha20poly1305_ietf_KEYBYTES) {
    return absl::InvalidArgumentError("ChaCha20-Poly1305 key must be 32 bytes");
  }
  if (nonce.size() != kChaChaNonceSize) {
    return absl::InvalidArgumentError(
        "ChaCha20-Poly1305 nonce must be 12 bytes");
  }
  InitCrypto();
  std::string out(plaintext.size() + XChaCha20Poly1305::kTagSize, '\0');
  absl::Status status =
      SealInto(crypto_aead_chacha20poly1305_ietf_encrypt,
               crypto_aead_chacha20poly1305_ietf_messagebytes_max(), key, nonce,
               plaintext, associated_data, MutableBytes(out));
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::string> ChaCha20Poly1305DecryptWithNonce(
    const SecretBytes& key, std::string_view nonce,
    std::string_view ciphertext_and_tag, std::string_view associated_data) {
  if (key.size() != crypto_aead_chacha20poly1305_ietf_KEYBYTES) {
    return absl::InvalidArgumentError("ChaCha20-Poly1305 key must be 32 bytes");
  }
  if (nonce.size() != kChaChaNonceSize) {
    return absl::InvalidArgumentError(
        "ChaCha20-Poly1305 nonce must be 12 bytes");
  }
  InitCrypto();
  return OpenWith(crypto_aead_chacha20poly1305_ietf_decrypt, key, nonce,
                  ciphertext_and_tag, associated_data);
}

}  // namespace arca::kms
