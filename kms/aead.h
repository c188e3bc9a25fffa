#ifndef ARCA_KMS_AEAD_H_
#define ARCA_KMS_AEAD_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace arca::kms {

// Aead is authenticated encryption with associated data. Implementations are
// immutable after construction and safe to use from many threads at once.
//
// `associated_data` is authenticated but not encrypted: the same bytes must be
// passed to Decrypt, or decryption fails. The barrier passes the storage path
// so that a value copied to another path does not decrypt; transit passes the
// caller's encryption context. It may be empty.
//
// Encrypt chooses a fresh random nonce and returns nonce ‖ ciphertext ‖ tag;
// callers never supply nonces. Decrypt of anything malformed or forged returns
// INVALID_ARGUMENT and reveals nothing about why.
class Aead {
 public:
  virtual ~Aead() = default;
  virtual absl::StatusOr<std::string> Encrypt(
      std::string_view plaintext, std::string_view associated_data) const = 0;
  virtual absl::StatusOr<std::string> Decrypt(
      std::string_view ciphertext, std::string_view associated_data) const = 0;
};

}  // namespace arca::kms

#endif  // ARCA_KMS_AEAD_H_
