#ifndef ARCA_KMS_FPE_AES_BLOCK_H_
#define ARCA_KMS_FPE_AES_BLOCK_H_

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "kms/secret_bytes.h"

namespace arca::kms::fpe::internal {

// Raw AES block encryption (ECB, no padding) for the FF1/FF3-1 round
// functions. The key schedule is set up once in a template context; callers
// lease a copy from a small pool, because creating an OpenSSL 3 context per
// call costs more than the ten AES blocks an FF1 call needs. Each pooled slot
// also carries a one-block memo the caller may use (FF1 keeps CIPH(P) there).
// Thread-safe; a Lease must be used by one thread at a time.
class AesBlock {
 public:
  static constexpr size_t kBlockSize = 16;

  // `key` is 16, 24 or 32 bytes; anything else is INVALID_ARGUMENT.
  static absl::StatusOr<std::unique_ptr<AesBlock>> New(const SecretBytes& key);
  ~AesBlock();

  struct Slot;

  // An exclusive context, returned to the pool on destruction.
  class Lease {
   public:
    Lease(Lease&& other) noexcept : owner_(other.owner_), slot_(other.slot_) {
      other.slot_ = nullptr;
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease();

    bool ok() const { return slot_ != nullptr; }
    // Encrypts `blocks` 16-byte blocks from `in` to `out` (may alias).
    bool Encrypt(const uint8_t* in, uint8_t* out, size_t blocks);
    // Caller-defined tag (0 = empty) and block for memoising a per-shape
    // value across calls; never holds plaintext.
    uint64_t& memo_tag();
    uint8_t* memo_block();

   private:
    friend class AesBlock;
    Lease(const AesBlock* owner, Slot* slot) : owner_(owner), slot_(slot) {}
    const AesBlock* owner_;
    Slot* slot_;
  };

  Lease Acquire() const;

 private:
  AesBlock() = default;
  void Release(Slot* slot) const;

  EVP_CIPHER_CTX* key_template_ = nullptr;
  mutable absl::Mutex mu_;
  mutable std::vector<Slot*> pool_ ABSL_GUARDED_BY(mu_);
};

}  // namespace arca::kms::fpe::internal

#endif  // ARCA_KMS_FPE_AES_BLOCK_H_
