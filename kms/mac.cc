#include "kms/mac.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "absl/status/status.h"

namespace arca::kms {
namespace {

constexpr size_t kSha256Size = 32;
constexpr size_t kMinVerifyTagSize = 16;

// OpenSSL rejects null pointers even for empty inputs; empty string_views may
// carry one, so they are pointed here instead.
const unsigned char kEmpty[1] = {0};

const unsigned char* Bytes(std::string_view s) {
  return s.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

// A failure of these OpenSSL calls with valid arguments means the library is
// broken (no default provider, out of memory); there is no safe fallback for
// a function that returns a MAC, so stop.
[[noreturn]] void Fatal(const char* what) {
  std::fprintf(stderr, "arca::kms: %s failed\n", what);
  std::abort();
}

// Algorithms are fetched once per process: fetching is the slow part of
// OpenSSL 3's EVP API.
EVP_KDF* HkdfAlgorithm() {
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) Fatal("EVP_KDF_fetch(HKDF)");
  return kdf;
}
const EVP_MD* Sha256Algorithm() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) Fatal("EVP_MD_fetch(SHA256)");
  return md;
}

struct KdfCtxDeleter {
  void operator()(EVP_KDF_CTX* ctx) const { EVP_KDF_CTX_free(ctx); }
};

char kSha256Name[] = "SHA256";

}  // namespace

std::string HmacSha256(const SecretBytes& key, std::string_view data) {
  // libsodium's HMAC runs on a stack state: no context allocation and no
  // digest fetch by name, which OpenSSL 3's EVP_MAC_init does on every call
  // (the token lookup of every request computes one). Keys longer than the
  // block size are hashed first, as RFC 2104 says.
  crypto_auth_hmacsha256_state state;
  std::string tag(kSha256Size, '\0');
  if (crypto_auth_hmacsha256_init(&state, Bytes(key.Reveal()), key.size()) !=
          0 ||
      crypto_auth_hmacsha256_update(&state, Bytes(data), data.size()) != 0 ||
      crypto_auth_hmacsha256_final(
          &state, reinterpret_cast<unsigned char*>(tag.data())) != 0) {
    Fatal("HMAC-SHA256");
  }
  // The state holds the key's padded hash states.
  sodium_memzero(&state, sizeof(state));
  return tag;
}

bool HmacSha256Verify(const SecretBytes& key, std::string_view data,
                      std::string_view tag) {
  if (tag.size() < kMinVerifyTagSize || tag.size() > kSha256Size) return false;
  const std::string expected = HmacSha256(key, data);
  return ConstantTimeEquals(std::string_view(expected).substr(0, tag.size()),
                            tag);
}

absl::StatusOr<SecretBytes> HkdfSha256(const SecretBytes& ikm,
                                       std::string_view salt,
                                       std::string_view info, size_t length) {
  if (length < 1 || length > 255 * kSha256Size) {
    return absl::InvalidArgumentError(
        "HKDF-SHA256 output length must be 1..8160 bytes");
  }
  std::unique_ptr<EVP_KDF_CTX, KdfCtxDeleter> ctx(
      EVP_KDF_CTX_new(HkdfAlgorithm()));
  if (ctx == nullptr) return absl::InternalError("HKDF context setup failed");
  // OSSL_PARAM wants non-const pointers but only reads through them here.
  auto octets = [](const char* name, std::string_view s) {
    return OSSL_PARAM_construct_octet_string(
        name, const_cast<unsigned char*>(Bytes(s)), s.size());
  };
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, kSha256Name, 0),
      octets(OSSL_KDF_PARAM_KEY, ikm.Reveal()),
      octets(OSSL_KDF_PARAM_SALT, salt), octets(OSSL_KDF_PARAM_INFO, info),
      OSSL_PARAM_construct_end()};
  SecretBytes out(length);
  if (EVP_KDF_derive(ctx.get(), out.MutableReveal(), out.size(), params) != 1) {
    return absl::InternalError("HKDF-SHA256 derivation failed");
  }
  return out;
}

std::string Sha256(std::string_view data) {
  std::string digest(kSha256Size, '\0');
  unsigned int digest_len = 0;
  if (EVP_Digest(Bytes(data), data.size(),
                 reinterpret_cast<unsigned char*>(digest.data()), &digest_len,
                 Sha256Algorithm(), nullptr) != 1 ||
      digest_len != kSha256Size) {
    Fatal("SHA-256");
  }
  return digest;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(Bytes(a), Bytes(b), a.size()) == 0;
}

}  // namespace arca::kms
