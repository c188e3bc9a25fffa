#ifndef ARCA_CLIENT_ENVELOPE_ENCRYPTOR_H_
#define ARCA_CLIENT_ENVELOPE_ENCRYPTOR_H_

#include <cstddef>
#include <cstdint>
#include <istream>
#include <memory>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/client.h"
#include "kms/secret_bytes.h"

namespace arca {

struct EnvelopeOptions {
  std::string mount;     // transit mount; "" = "transit"
  std::string key_name;  // transit key that wraps the data keys
  // A new data key after this many messages or this age, whichever first.
  uint64_t max_messages_per_data_key = 1000;
  absl::Duration max_data_key_age = absl::Minutes(5);
  // Plaintext bytes per chunk (1 KiB .. 16 MiB); memory use is about two
  // chunks whatever the payload size.
  size_t chunk_size = 64 * 1024;
};

// EnvelopeEncryptor encrypts payloads of any size locally with AES-256-GCM
// under data keys from the transit engine, streaming in chunks with
// constant memory; only the small wrapped data key goes to the server, and
// on decrypt only it is sent back to be unwrapped. Non-owning Client
// pointer (must outlive this). Thread-safe.
//
// Envelope format (all integers big-endian):
//   header  "ARCAENV1"                      8-byte magic
//           u16 len ‖ key name              transit key that wrapped the key
//           u32 key version                 its version (informational)
//           u32 len ‖ wrapped data key      an ordinary transit ciphertext
//                                           (arca:v<N>:...) of a 32-byte key
//           u32 chunk size                  plaintext bytes per full chunk
//           16 bytes salt                   random per message
//   chunks  u8 final ‖ u32 len ‖ ciphertext ‖ tag(16), len = its plaintext
//           size + 16; every chunk but the last holds exactly chunk size
//           plaintext bytes; the last has final = 1 (and may be empty).
// Each message has its own key, HKDF-SHA256(ikm = data key, salt = salt,
// info = "arca envelope v1", 32 bytes), so the data key can be reused for
// many messages. Chunk i is AES-256-GCM under the message key with nonce
// u64(i) ‖ u32(0) and associated data SHA-256(header) ‖ u64(i) ‖ u8(final):
// a reordered, dropped, truncated, flipped or spliced chunk fails to
// authenticate, and input ending before a final chunk is "truncated".
class EnvelopeEncryptor {
 public:
  static absl::StatusOr<std::unique_ptr<EnvelopeEncryptor>> New(
      Client* client, EnvelopeOptions options);
  ~EnvelopeEncryptor();

  // Reads `in` to its end and writes one envelope to `out`.
  absl::Status Encrypt(std::istream& in, std::ostream& out);
  // Reads one envelope from `in` and writes the plaintext to `out`. On
  // error some plaintext of authenticated chunks may already be written;
  // callers writing files should discard the output then.
  absl::Status Decrypt(std::istream& in, std::ostream& out);

  absl::StatusOr<std::string> EncryptString(std::string_view plaintext);
  absl::StatusOr<std::string> DecryptString(std::string_view envelope);

 private:
  struct DataKey;
  EnvelopeEncryptor(Client* client, EnvelopeOptions options);
  // The current data key, fetched anew when used up or too old.
  absl::StatusOr<std::shared_ptr<const DataKey>> CurrentDataKey();
  // Unwraps `wrapped` through the server (the last one is cached).
  absl::StatusOr<std::shared_ptr<const DataKey>> Unwrap(
      const std::string& key_name, const std::string& wrapped);

  Client* client_;
  const EnvelopeOptions options_;
  absl::Mutex mu_;
  std::shared_ptr<const DataKey> current_ ABSL_GUARDED_BY(mu_);
  uint64_t current_uses_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time current_fetched_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const DataKey> last_unwrapped_ ABSL_GUARDED_BY(mu_);
};

}  // namespace arca

#endif  // ARCA_CLIENT_ENVELOPE_ENCRYPTOR_H_
