#include "kms/aes_gcm.h"

#include <openssl/evp.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "kms/random.h"
#include "kms/status_macros.h"

namespace arca::kms {
namespace {

constexpr char kAuthFailed[] = "ciphertext authentication failed";
constexpr char kTooShort[] = "ciphertext too short";
// Contexts kept for reuse; more concurrent callers than this just allocate.
constexpr size_t kMaxPooledContexts = 16;
// EVP_CipherUpdate takes int lengths; larger inputs go in chunks.
constexpr size_t kMaxChunk = size_t{1} << 30;
// EncryptEach draws nonces from the CSPRNG this many at a time.
constexpr size_t kNoncesPerDraw = 256;

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

// The fetched cipher for a key size, fetched once per process and never
// freed (it is shared by every AesGcm object).
const EVP_CIPHER* CipherForKeySize(size_t key_size) {
  static EVP_CIPHER* const aes128 =
      EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  static EVP_CIPHER* const aes256 =
      EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  if (key_size == 16) return aes128;
  if (key_size == 32) return aes256;
  return nullptr;
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Feeds `in` through the context in int-sized chunks. `out` may be null for
// associated data.
bool Update(EVP_CIPHER_CTX* ctx, unsigned char* out, std::string_view in) {
  size_t done = 0;
  while (done < in.size()) {
    const size_t n = std::min(kMaxChunk, in.size() - done);
    int out_len = 0;
    if (EVP_CipherUpdate(ctx, out == nullptr ? nullptr : out + done, &out_len,
                         Bytes(in) + done, static_cast<int>(n)) != 1) {
      return false;
    }
    if (out != nullptr && static_cast<size_t>(out_len) != n) return false;
    done += n;
  }
  return true;
}

}  // namespace

// Owns a key-initialised template context and a pool of copies of it. The
// key schedule lives only inside OpenSSL contexts, which wipe it when freed.
struct AesGcm::Impl {
  CtxPtr key_template;
  mutable absl::Mutex mu;
  mutable std::vector<CtxPtr> pool ABSL_GUARDED_BY(mu);

  // A context holding the key schedule, ready for a new nonce.
  CtxPtr Acquire() const {
    absl::MutexLock lock(&mu);
    if (!pool.empty()) {
      CtxPtr ctx = std::move(pool.back());
      pool.pop_back();
      return ctx;
    }
    CtxPtr ctx(EVP_CIPHER_CTX_new());
    if (ctx == nullptr ||
        EVP_CIPHER_CTX_copy(ctx.get(), key_template.get()) != 1) {
      return nullptr;
    }
    return ctx;
  }

  void Release(CtxPtr ctx) const {
    absl::MutexLock lock(&mu);
    if (pool.size() < kMaxPooledContexts) pool.push_back(std::move(ctx));
  }

  // Writes ciphertext (plaintext.size() bytes) then the tag to `out`.
  absl::Status Seal(std::string_view nonce, std::string_view plaintext,
                    std::string_view aad, unsigned char* out) const {
    CtxPtr ctx = Acquire();
    if (ctx == nullptr)
      return absl::InternalError("AES-GCM context setup failed");
    RETURN_IF_ERROR(SealWith(ctx.get(), nonce, plaintext, aad, out));
    Release(std::move(ctx));
    return absl::OkStatus();
  }

  // Seal with a context the caller holds.
  static absl::Status SealWith(EVP_CIPHER_CTX* ctx, std::string_view nonce,
                               std::string_view plaintext, std::string_view aad,
                               unsigned char* out) {
    int final_len = 0;
    // key == NULL keeps the key schedule; only the nonce is set.
    if (EVP_CipherInit_ex2(ctx, nullptr, nullptr, Bytes(nonce), 1, nullptr) !=
            1 ||
        !Update(ctx, nullptr, aad) || !Update(ctx, out, plaintext) ||
        EVP_CipherFinal_ex(ctx, out + plaintext.size(), &final_len) != 1 ||
        final_len != 0 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kTagSize,
                            out + plaintext.size()) != 1) {
      return absl::InternalError("AES-GCM encryption failed");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> Open(std::string_view nonce,
                                   std::string_view ciphertext_and_tag,
                                   std::string_view aad) const {
    if (ciphertext_and_tag.size() < kTagSize) {
      return absl::InvalidArgumentError(kTooShort);
    }
    const std::string_view ciphertext =
        ciphertext_and_tag.substr(0, ciphertext_and_tag.size() - kTagSize);
    // OpenSSL's ctrl takes a non-const buffer, so copy the tag.
    unsigned char tag[kTagSize];
    std::copy_n(Bytes(ciphertext_and_tag) + ciphertext.size(), kTagSize, tag);

    CtxPtr ctx = Acquire();
    if (ctx == nullptr)
      return absl::InternalError("AES-GCM context setup failed");
    std::string plaintext(ciphertext.size(), '\0');
    unsigned char* out = reinterpret_cast<unsigned char*>(plaintext.data());
    if (EVP_CipherInit_ex2(ctx.get(), nullptr, nullptr, Bytes(nonce), 0,
                           nullptr) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kTagSize, tag) !=
            1 ||
        !Update(ctx.get(), nullptr, aad) ||
        !Update(ctx.get(), out, ciphertext)) {
      return absl::InternalError("AES-GCM decryption failed");
    }
    int final_len = 0;
    const bool authentic =
        EVP_CipherFinal_ex(ctx.get(), out + ciphertext.size(), &final_len) ==
            1 &&
        final_len == 0;
    Release(std::move(ctx));
    if (!authentic) {
      // Never hand back unauthenticated plaintext, even in a discarded buffer.
      OPENSSL_cleanse(plaintext.data(), plaintext.size());
      return absl::InvalidArgumentError(kAuthFailed);
    }
    return plaintext;
  }
};

AesGcm::AesGcm(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AesGcm::~AesGcm() = default;

absl::StatusOr<std::unique_ptr<AesGcm>> AesGcm::New(const SecretBytes& key) {
  if (key.size() != 16 && key.size() != 32) {
    return absl::InvalidArgumentError("AES-GCM key must be 16 or 32 bytes");
  }
  const EVP_CIPHER* cipher = CipherForKeySize(key.size());
  if (cipher == nullptr) {
    return absl::InternalError("AES-GCM is not available from OpenSSL");
  }
  auto impl = std::make_unique<Impl>();
  impl->key_template.reset(EVP_CIPHER_CTX_new());
  if (impl->key_template == nullptr ||
      EVP_CipherInit_ex2(impl->key_template.get(), cipher, Bytes(key.Reveal()),
                         nullptr, 1, nullptr) != 1) {
    return absl::InternalError("AES-GCM key setup failed");
  }
  return std::unique_ptr<AesGcm>(new AesGcm(std::move(impl)));
}

absl::StatusOr<std::string> AesGcm::Encrypt(
    std::string_view plaintext, std::string_view associated_data) const {
  std::string out(kNonceSize + plaintext.size() + kTagSize, '\0');
  unsigned char* p = reinterpret_cast<unsigned char*>(out.data());
  PublicRandomBytes(p, kNonceSize);
  const std::string_view nonce(out.data(), kNonceSize);
  absl::Status status =
      impl_->Seal(nonce, plaintext, associated_data, p + kNonceSize);
  if (!status.ok()) return status;
  return out;
}

absl::Status AesGcm::EncryptEach(
    size_t count, absl::FunctionRef<Message(size_t)> input,
    absl::FunctionRef<void(size_t, std::string_view)> output) const {
  if (count == 0) return absl::OkStatus();
  CtxPtr ctx = impl_->Acquire();
  if (ctx == nullptr) {
    return absl::InternalError("AES-GCM context setup failed");
  }
  unsigned char nonces[kNoncesPerDraw * kNonceSize];
  std::string sealed;  // nonce ‖ ciphertext ‖ tag of the current message
  for (size_t i = 0; i < count; ++i) {
    const size_t slot = i % kNoncesPerDraw;
    if (slot == 0) {
      RandomBytes(nonces, std::min(kNoncesPerDraw, count - i) * kNonceSize);
    }
    const Message m = input(i);
    sealed.resize(kNonceSize + m.plaintext.size() + kTagSize);
    unsigned char* p = reinterpret_cast<unsigned char*>(sealed.data());
    std::copy_n(nonces + slot * kNonceSize, kNonceSize, p);
    RETURN_IF_ERROR(
        Impl::SealWith(ctx.get(), std::string_view(sealed.data(), kNonceSize),
                       m.plaintext, m.associated_data, p + kNonceSize));
    output(i, sealed);
  }
  // Nonces are public (they travel in the ciphertext); nothing to wipe.
  impl_->Release(std::move(ctx));
  return absl::OkStatus();
}

absl::StatusOr<std::string> AesGcm::Decrypt(
    std::string_view ciphertext, std::string_view associated_data) const {
  if (ciphertext.size() < kNonceSize + kTagSize) {
    return absl::InvalidArgumentError(kTooShort);
  }
  return impl_->Open(ciphertext.substr(0, kNonceSize),
                     ciphertext.substr(kNonceSize), associated_data);
}

absl::StatusOr<std::string> AesGcm::EncryptWithNonce(
    std::string_view nonce, std::string_view plaintext,
    std::string_view associated_data) const {
  if (nonce.size() != kNonceSize) {
    return absl::InvalidArgumentError("AES-GCM nonce must be 12 bytes");
  }
  std::string out(plaintext.size() + kTagSize, '\0');
  absl::Status status =
      impl_->Seal(nonce, plaintext, associated_data,
                  reinterpret_cast<unsigned char*>(out.data()));
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::string> AesGcm::DecryptWithNonce(
    std::string_view nonce, std::string_view ciphertext_and_tag,
    std::string_view associated_data) const {
  if (nonce.size() != kNonceSize) {
    return absl::InvalidArgumentError("AES-GCM nonce must be 12 bytes");
  }
  return impl_->Open(nonce, ciphertext_and_tag, associated_data);
}

}  // namespace arca::kms
