#ifndef ARCA_KMS_SECRET_BYTES_H_
#define ARCA_KMS_SECRET_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace arca::kms {

// SecretBytes owns key material in libsodium guarded memory (sodium_malloc:
// guard pages, mlock'd, never swapped) and wipes it on destruction; the
// wiped region may be kept for the next secret of the same size. It is
// move-only; copies are explicit (Clone). It has no operator<<, so it cannot
// end up in a log line. The bytes are reachable only through Reveal() and
// MutableReveal(), so every use of raw key bytes is greppable.
// Not thread-safe for mutation; const access from several threads is fine.
class SecretBytes {
 public:
  SecretBytes() = default;
  // `size` zero bytes.
  explicit SecretBytes(size_t size);
  // Copies `data` into guarded memory. The caller wipes its own copy.
  static SecretBytes CopyFrom(std::string_view data);

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  ~SecretBytes();

  SecretBytes Clone() const;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The only accessors to the key bytes.
  std::string_view Reveal() const;
  uint8_t* MutableReveal() { return data_; }

  // Constant-time comparison of contents (sizes are not secret).
  bool Equals(const SecretBytes& other) const;

  // Wipes and frees now; size() becomes 0.
  void Wipe();

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace arca::kms

#endif  // ARCA_KMS_SECRET_BYTES_H_
