#ifndef ARCA_KMS_AES_GCM_H_
#define ARCA_KMS_AES_GCM_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "kms/aead.h"
#include "kms/secret_bytes.h"

namespace arca::kms {

// AES-GCM through OpenSSL 3 EVP: 96-bit random nonce, 128-bit tag.
// Wire format: nonce (12 B) ‖ ciphertext ‖ tag (16 B).
// The cipher is fetched once per process and the key schedule is set up once
// per object; per-call contexts are reused from a small pool, because
// creating them per call makes OpenSSL 3 slow on small messages.
// Thread-safe.
class AesGcm : public Aead {
 public:
  static constexpr size_t kNonceSize = 12;
  static constexpr size_t kTagSize = 16;

  // `key` is 16 or 32 bytes (AES-128 or AES-256); anything else is
  // INVALID_ARGUMENT. The server only ever creates 32-byte keys.
  static absl::StatusOr<std::unique_ptr<AesGcm>> New(const SecretBytes& key);

  absl::StatusOr<std::string> Encrypt(
      std::string_view plaintext,
      std::string_view associated_data) const override;
  absl::StatusOr<std::string> Decrypt(
      std::string_view ciphertext,
      std::string_view associated_data) const override;
  // One context for the whole call and one CSPRNG draw per 256 nonces, so a
  // batch pays neither a pool round-trip nor a getrandom call per message.
  absl::Status EncryptEach(
      size_t count, absl::FunctionRef<Message(size_t)> input,
      absl::FunctionRef<void(size_t, std::string_view)> output) const override;

  // Deterministic form for known-answer tests and convergent encryption,
  // where the nonce is derived, never caller-chosen at the API surface.
  // Returns ciphertext ‖ tag (no nonce prefix). `nonce` must be 12 bytes.
  absl::StatusOr<std::string> EncryptWithNonce(
      std::string_view nonce, std::string_view plaintext,
      std::string_view associated_data) const;
  // Inverse of EncryptWithNonce: `ciphertext_and_tag` without the nonce.
  absl::StatusOr<std::string> DecryptWithNonce(
      std::string_view nonce, std::string_view ciphertext_and_tag,
      std::string_view associated_data) const;

  ~AesGcm() override;

 private:
  struct Impl;
  explicit AesGcm(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace arca::kms

#endif  // ARCA_KMS_AES_GCM_H_
