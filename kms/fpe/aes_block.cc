#include "kms/fpe/aes_block.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <climits>
#include <utility>

#include "absl/status/status.h"

namespace arca::kms::fpe::internal {
namespace {

// More concurrent callers than this just create and free a context.
constexpr size_t kMaxPooledSlots = 16;

// Fetched once per process and never freed (shared by every object).
const EVP_CIPHER* EcbForKeySize(size_t key_size) {
  static EVP_CIPHER* const aes128 =
      EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr);
  static EVP_CIPHER* const aes192 =
      EVP_CIPHER_fetch(nullptr, "AES-192-ECB", nullptr);
  static EVP_CIPHER* const aes256 =
      EVP_CIPHER_fetch(nullptr, "AES-256-ECB", nullptr);
  switch (key_size) {
    case 16:
      return aes128;
    case 24:
      return aes192;
    case 32:
      return aes256;
    default:
      return nullptr;
  }
}

}  // namespace

struct AesBlock::Slot {
  EVP_CIPHER_CTX* ctx = nullptr;
  uint64_t memo_tag = 0;
  uint8_t memo[kBlockSize] = {};

  ~Slot() {
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(memo, sizeof(memo));
  }
};

absl::StatusOr<std::unique_ptr<AesBlock>> AesBlock::New(
    const SecretBytes& key) {
  if (key.size() != 16 && key.size() != 24 && key.size() != 32) {
    return absl::InvalidArgumentError("AES key must be 16, 24 or 32 bytes");
  }
  const EVP_CIPHER* cipher = EcbForKeySize(key.size());
  if (cipher == nullptr) {
    return absl::InternalError("AES-ECB is not available from OpenSSL");
  }
  std::unique_ptr<AesBlock> aes(new AesBlock());
  aes->key_template_ = EVP_CIPHER_CTX_new();
  if (aes->key_template_ == nullptr ||
      EVP_EncryptInit_ex2(
          aes->key_template_, cipher,
          reinterpret_cast<const unsigned char*>(key.Reveal().data()), nullptr,
          nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(aes->key_template_, 0) != 1) {
    return absl::InternalError("AES key setup failed");
  }
  return aes;
}

AesBlock::~AesBlock() {
  absl::MutexLock lock(&mu_);
  for (Slot* slot : pool_) delete slot;
  pool_.clear();
  EVP_CIPHER_CTX_free(key_template_);
}

AesBlock::Lease AesBlock::Acquire() const {
  {
    absl::MutexLock lock(&mu_);
    if (!pool_.empty()) {
      Slot* slot = pool_.back();
      pool_.pop_back();
      return Lease(this, slot);
    }
  }
  auto slot = std::make_unique<Slot>();
  slot->ctx = EVP_CIPHER_CTX_new();
  if (slot->ctx == nullptr ||
      EVP_CIPHER_CTX_copy(slot->ctx, key_template_) != 1) {
    return Lease(this, nullptr);
  }
  return Lease(this, slot.release());
}

void AesBlock::Release(Slot* slot) const {
  {
    absl::MutexLock lock(&mu_);
    if (pool_.size() < kMaxPooledSlots) {
      pool_.push_back(slot);
      return;
    }
  }
  delete slot;
}

AesBlock::Lease::~Lease() {
  if (slot_ != nullptr) owner_->Release(slot_);
}

bool AesBlock::Lease::Encrypt(const uint8_t* in, uint8_t* out, size_t blocks) {
  const size_t len = blocks * kBlockSize;
  if (len == 0) return true;
  if (len > static_cast<size_t>(INT_MAX)) return false;
  // EVP_Cipher goes straight to the provider's one-shot cipher function;
  // for ECB without padding it returns the number of bytes written.
  return EVP_Cipher(slot_->ctx, out, in, static_cast<unsigned int>(len)) ==
         static_cast<int>(len);
}

uint64_t& AesBlock::Lease::memo_tag() { return slot_->memo_tag; }
uint8_t* AesBlock::Lease::memo_block() { return slot_->memo; }

}  // namespace arca::kms::fpe::internal
