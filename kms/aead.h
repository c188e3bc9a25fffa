#ifndef ARCA_KMS_AEAD_H_
#define ARCA_KMS_AEAD_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
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
//
// EncryptEach is Encrypt over many messages (a batch): each message still
// gets its own fresh random nonce and tag, but an implementation may pay its
// set-up once per call (a cipher context, one CSPRNG draw for all nonces).
class Aead {
 public:
  // One message of EncryptEach.
  struct Message {
    std::string_view plaintext;
    std::string_view associated_data;
  };

  virtual ~Aead() = default;
  virtual absl::StatusOr<std::string> Encrypt(
      std::string_view plaintext, std::string_view associated_data) const = 0;
  virtual absl::StatusOr<std::string> Decrypt(
      std::string_view ciphertext, std::string_view associated_data) const = 0;

  // Encrypts messages 0..count-1, in order: `input(i)` names message i and
  // `output(i, sealed)` receives its nonce ‖ ciphertext ‖ tag, exactly what
  // Encrypt would return; `sealed` is valid only during that call. Returns
  // the first error; the messages from the failed one on get no output.
  // The default loops over Encrypt.
  virtual absl::Status EncryptEach(
      size_t count, absl::FunctionRef<Message(size_t)> input,
      absl::FunctionRef<void(size_t, std::string_view)> output) const {
    for (size_t i = 0; i < count; ++i) {
      const Message m = input(i);
      absl::StatusOr<std::string> sealed =
          Encrypt(m.plaintext, m.associated_data);
      if (!sealed.ok()) return sealed.status();
      output(i, *sealed);
    }
    return absl::OkStatus();
  }
};

}  // namespace arca::kms

#endif  // ARCA_KMS_AEAD_H_
