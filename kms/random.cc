#include "kms/random.h"

#include <openssl/rand.h>
#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace arca::kms {

void InitCrypto() {
  // sodium_init is itself idempotent and thread-safe; the static only saves
  // the call on the hot path.
  static const bool initialized = [] {
    if (sodium_init() < 0) {
      std::fputs("arca::kms: sodium_init failed\n", stderr);
      std::abort();
    }
    return true;
  }();
  (void)initialized;
}

void RandomBytes(uint8_t* out, size_t size) {
  if (size == 0) return;
  // OpenSSL's per-thread CTR_DRBG, seeded and reseeded from the kernel: no
  // system call per nonce (libsodium's randombytes_buf makes one per call,
  // two per KV put). It reseeds after fork.
  while (size > 0) {
    const int chunk = static_cast<int>(std::min<size_t>(size, 1 << 20));
    if (RAND_bytes(out, chunk) != 1) {
      std::fputs("arca::kms: RAND_bytes failed\n", stderr);
      std::abort();
    }
    out += chunk;
    size -= static_cast<size_t>(chunk);
  }
}

std::string RandomString(size_t size) {
  std::string out(size, '\0');
  RandomBytes(reinterpret_cast<uint8_t*>(out.data()), size);
  return out;
}

SecretBytes RandomSecret(size_t size) {
  SecretBytes out(size);
  RandomBytes(out.MutableReveal(), size);
  return out;
}

}  // namespace arca::kms
