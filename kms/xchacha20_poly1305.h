#ifndef ARCA_KMS_XCHACHA20_POLY1305_H_
#define ARCA_KMS_XCHACHA20_POLY1305_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "kms/aead.h"
#include "kms/secret_bytes.h"

namespace arca::kms {

// XChaCha20-Poly1305 (libsodium, IETF construction): 192-bit random nonce,
// 128-bit tag. Wire format: nonce (24 B) ‖ ciphertext ‖ tag (16 B).
// Thread-safe.
class XChaCha20Poly1305 : public Aead {
 public:
  static constexpr size_t kKeySize = 32;
  static constexpr size_t kNonceSize = 24;
  static constexpr size_t kTagSize = 16;

  static absl::StatusOr<std::unique_ptr<XChaCha20Poly1305>> New(
      const SecretBytes& key);

  absl::StatusOr<std::string> Encrypt(
      std::string_view plaintext,
      std::string_view associated_data) const override;
  absl::StatusOr<std::string> Decrypt(
      std::string_view ciphertext,
      std::string_view associated_data) const override;

  // Deterministic forms for known-answer tests; see AesGcm.
  absl::StatusOr<std::string> EncryptWithNonce(
      std::string_view nonce, std::string_view plaintext,
      std::string_view associated_data) const;
  absl::StatusOr<std::string> DecryptWithNonce(
      std::string_view nonce, std::string_view ciphertext_and_tag,
      std::string_view associated_data) const;

 private:
  explicit XChaCha20Poly1305(SecretBytes key) : key_(std::move(key)) {}
  SecretBytes key_;
};

// ChaCha20-Poly1305 (RFC 8439, 96-bit nonce), exposed only so the Wycheproof
// chacha20_poly1305 vectors can exercise libsodium's core construction.
absl::StatusOr<std::string> ChaCha20Poly1305EncryptWithNonce(
    const SecretBytes& key, std::string_view nonce, std::string_view plaintext,
    std::string_view associated_data);
absl::StatusOr<std::string> ChaCha20Poly1305DecryptWithNonce(
    const SecretBytes& key, std::string_view nonce,
    std::string_view ciphertext_and_tag, std::string_view associated_data);

}  // namespace arca::kms

#endif  // ARCA_KMS_XCHACHA20_POLY1305_H_
