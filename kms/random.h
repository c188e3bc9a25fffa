#ifndef ARCA_KMS_RANDOM_H_
#define ARCA_KMS_RANDOM_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "kms/secret_bytes.h"

namespace arca::kms {

// The CSPRNG (OpenSSL's per-thread CTR_DRBG, seeded from the kernel).
// Thread-safe; aborts if the generator cannot be seeded.
void RandomBytes(uint8_t* out, size_t size);
// `size` random bytes for non-secret uses (nonces, ids).
std::string RandomString(size_t size);
// `size` random bytes for keys.
SecretBytes RandomSecret(size_t size);

// Initializes libsodium; safe to call many times. Every kms entry point that
// needs it calls it, so callers need not.
void InitCrypto();

}  // namespace arca::kms

#endif  // ARCA_KMS_RANDOM_H_
