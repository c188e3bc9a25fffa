#include "kms/random.h"

#include <sodium.h>

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
  InitCrypto();
  randombytes_buf(out, size);
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
