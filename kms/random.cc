#include "kms/random.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace arca::kms {
namespace {

// Bumped in a forked child, whose copy of the forking thread's buffer its
// parent will serve too: a buffer filled in another generation is dropped.
std::atomic<uint64_t> fork_generation{0};

struct PublicPool {
  static constexpr size_t kSize = 4096;
  uint8_t bytes[kSize];
  size_t used = kSize;
  uint64_t generation = 0;
};

// Allocated on first use, so threads that never draw nonces carry no 4 KiB.
thread_local std::unique_ptr<PublicPool> public_pool;

}  // namespace

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

void PublicRandomBytes(uint8_t* out, size_t size) {
  static const bool at_fork_registered = [] {
    return pthread_atfork(nullptr, nullptr, [] {
             fork_generation.fetch_add(1, std::memory_order_relaxed);
           }) == 0;
  }();
  if (!at_fork_registered || size > PublicPool::kSize / 8) {
    RandomBytes(out, size);
    return;
  }
  if (public_pool == nullptr) public_pool = std::make_unique<PublicPool>();
  PublicPool& pool = *public_pool;
  const uint64_t generation = fork_generation.load(std::memory_order_relaxed);
  if (pool.generation != generation || PublicPool::kSize - pool.used < size) {
    RandomBytes(pool.bytes, PublicPool::kSize);
    pool.used = 0;
    pool.generation = generation;
  }
  std::memcpy(out, pool.bytes + pool.used, size);
  pool.used += size;
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
