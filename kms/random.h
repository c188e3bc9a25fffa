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
// Random bytes for values that are public once used (nonces, request ids),
// served from a per-thread buffer drawn 4 KiB at a time: one DRBG call per
// few hundred nonces instead of one each. Never for keys, passwords or
// tokens, as the buffer holds upcoming output in ordinary memory. A forked
// child never repeats its parent's bytes.
void PublicRandomBytes(uint8_t* out, size_t size);
// `size` random bytes for non-secret uses (nonces, ids).
std::string RandomString(size_t size);
// `size` random bytes for keys.
SecretBytes RandomSecret(size_t size);

// Initializes libsodium; safe to call many times. Every kms entry point that
// needs it calls it, so callers need not.
void InitCrypto();

}  // namespace arca::kms

#endif  // ARCA_KMS_RANDOM_H_
