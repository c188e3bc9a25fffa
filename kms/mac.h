#ifndef ARCA_KMS_MAC_H_
#define ARCA_KMS_MAC_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "kms/secret_bytes.h"

namespace arca::kms {

// HMAC-SHA256 (libsodium). Any key length, including empty. Returns the 32-byte
// tag. Thread-safe (stateless).
std::string HmacSha256(const SecretBytes& key, std::string_view data);

// Constant-time check that `tag` is the HMAC of `data`. `tag` may be a
// truncated prefix of at least 16 bytes; shorter tags never verify.
bool HmacSha256Verify(const SecretBytes& key, std::string_view data,
                      std::string_view tag);

// HKDF-SHA256 (RFC 5869) extract-and-expand. `length` is 1..255*32 bytes;
// anything else is INVALID_ARGUMENT.
absl::StatusOr<SecretBytes> HkdfSha256(const SecretBytes& ikm,
                                       std::string_view salt,
                                       std::string_view info, size_t length);

// SHA-256 of non-secret data (for example, hashing storage keys).
std::string Sha256(std::string_view data);

// Constant-time equality of two equal-length byte strings; false if the
// lengths differ (lengths are not secret).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace arca::kms

#endif  // ARCA_KMS_MAC_H_
