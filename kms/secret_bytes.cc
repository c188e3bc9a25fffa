#include "kms/secret_bytes.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "kms/random.h"

namespace arca::kms {
namespace {

// Guarded memory that cannot be had is an out-of-memory condition; like
// operator new without exceptions, there is nothing useful left to do.
uint8_t* AllocateGuarded(size_t size) {
  if (size == 0) return nullptr;
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
    // sodium_free also wipes, but wiping explicitly keeps the guarantee
    // independent of the allocator.
    sodium_memzero(data_, size_);
    sodium_free(data_);
  }
  data_ = nullptr;
  size_ = 0;
}

}  // namespace arca::kms
