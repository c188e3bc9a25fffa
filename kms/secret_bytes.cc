#include "kms/secret_bytes.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <iterator>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "kms/random.h"

namespace arca::kms {
namespace {

// sodium_malloc and sodium_free each cost several syscalls (mmap, mprotect
// of the guard pages, mlock, munmap) and a TLB shootdown on every core, so
// per-request secrets (a generated password, a derived key) would pay
// more for their guard pages than for their use. Freed regions are wiped
// and kept, by exact size so the guard page still sits right after the
// last byte, for the next secret of that size: newest first, and beyond
// the bound the oldest goes back to libsodium.
constexpr size_t kMaxCachedRegions = 64;

class RegionCache {
 public:
  void* Take(size_t size) {
    absl::MutexLock lock(&mu_);
    for (auto it = free_.rbegin(); it != free_.rend(); ++it) {
      if (it->first == size) {
        void* p = it->second;
        free_.erase(std::next(it).base());
        return p;
      }
    }
    return nullptr;
  }
  // Keeps `p` (already wiped); returns the region it evicts, or null.
  void* Keep(void* p, size_t size) {
    absl::MutexLock lock(&mu_);
    void* evicted = nullptr;
    if (free_.size() >= kMaxCachedRegions) {
      evicted = free_.front().second;
      free_.pop_front();
    }
    free_.emplace_back(size, p);
    return evicted;
  }

 private:
  absl::Mutex mu_;
  std::deque<std::pair<size_t, void*>> free_ ABSL_GUARDED_BY(mu_);
};

RegionCache& Cache() {
  static RegionCache* const cache = new RegionCache();
  return *cache;
}

// Guarded memory that cannot be had is an out-of-memory condition; like
// operator new without exceptions, there is nothing useful left to do.
uint8_t* AllocateGuarded(size_t size) {
  if (size == 0) return nullptr;
  if (void* cached = Cache().Take(size)) return static_cast<uint8_t*>(cached);
  InitCrypto();
  void* p = sodium_malloc(size);
  if (p == nullptr) {
    std::fputs("arca::kms::SecretBytes: sodium_malloc failed\n", stderr);
    std::abort();
  }
  return static_cast<uint8_t*>(p);
}

}  // namespace

SecretBytes::SecretBytes(size_t size)
    : data_(AllocateGuarded(size)), size_(size) {
  if (size_ > 0) sodium_memzero(data_, size_);
}

SecretBytes SecretBytes::CopyFrom(std::string_view data) {
  SecretBytes out;
  out.data_ = AllocateGuarded(data.size());
  out.size_ = data.size();
  if (out.size_ > 0) std::memcpy(out.data_, data.data(), out.size_);
  return out;
}

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Wipe();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SecretBytes::~SecretBytes() { Wipe(); }

SecretBytes SecretBytes::Clone() const { return CopyFrom(Reveal()); }

std::string_view SecretBytes::Reveal() const {
  if (data_ == nullptr) return std::string_view();
  return std::string_view(reinterpret_cast<const char*>(data_), size_);
}

bool SecretBytes::Equals(const SecretBytes& other) const {
  if (size_ != other.size_) return false;
  if (size_ == 0) return true;
  return sodium_memcmp(data_, other.data_, size_) == 0;
}

void SecretBytes::Wipe() {
  if (data_ != nullptr) {
    // Wiped here whether the region is kept or freed (sodium_free would
    // wipe too; this keeps the guarantee independent of the allocator).
    sodium_memzero(data_, size_);
    if (void* evicted = Cache().Keep(data_, size_)) sodium_free(evicted);
  }
  data_ = nullptr;
  size_ = 0;
}

}  // namespace arca::kms
