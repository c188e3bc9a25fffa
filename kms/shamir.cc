#include "kms/shamir.h"

#include <sodium.h>

#include <array>
#include <cstdint>
#include <numeric>

#include "absl/status/status.h"
#include "kms/random.h"

namespace arca::kms {
namespace {

constexpr int kMaxShares = 255;

// GF(2^8) multiplication modulo x^8+x^4+x^3+x+1 by shift-and-add. Every
// iteration does the same work; the conditional parts are applied through
// all-ones/all-zero masks, so timing does not depend on the operands (a lookup
// table would leak them through the cache).
uint8_t GfMul(uint8_t a, uint8_t b) {
  uint8_t product = 0;
  for (int i = 0; i < 8; ++i) {
    const uint8_t take = static_cast<uint8_t>(-(b & 1));
    product ^= a & take;
    const uint8_t carry = static_cast<uint8_t>(-(a >> 7));
    a = static_cast<uint8_t>((a << 1) ^ (0x1b & carry));
    b >>= 1;
  }
  return product;
}

// Multiplicative inverse as a^254 (a^255 == 1 for a != 0), a fixed sequence
// of squarings and multiplications. Maps 0 to 0, which callers never use.
uint8_t GfInv(uint8_t a) {
  // 254 = 0b11111110: result = a^2 * a^4 * ... * a^128.
  uint8_t result = 1;
  uint8_t power = a;
  for (int i = 1; i < 8; ++i) {
    power = GfMul(power, power);  // a^(2^i)
    result = GfMul(result, power);
  }
  return result;
}

}  // namespace

absl::StatusOr<std::vector<SecretBytes>> ShamirSplit(const SecretBytes& secret,
                                                     int shares,
                                                     int threshold) {
  if (threshold < 2) {
    return absl::InvalidArgumentError("threshold must be at least 2");
  }
  if (shares > kMaxShares) {
    return absl::InvalidArgumentError("at most 255 shares");
  }
  if (threshold > shares) {
    return absl::InvalidArgumentError(
        "threshold must not exceed the number of shares");
  }
  if (secret.empty()) {
    return absl::InvalidArgumentError("secret must not be empty");
  }
  InitCrypto();

  // Distinct non-zero x coordinates: the first `shares` entries of a uniform
  // random permutation of 1..255 (Fisher-Yates). They are public.
  std::array<uint8_t, kMaxShares> xs;
  std::iota(xs.begin(), xs.end(), uint8_t{1});
  for (uint32_t i = kMaxShares - 1; i > 0; --i) {
    const uint32_t j = randombytes_uniform(i + 1);
    std::swap(xs[i], xs[j]);
  }

  const size_t len = secret.size();
  std::vector<SecretBytes> out;
  out.reserve(shares);
  for (int s = 0; s < shares; ++s) {
    SecretBytes share(len + 1);
    share.MutableReveal()[len] = xs[s];
    out.push_back(std::move(share));
  }

  // One polynomial per secret byte: constant term the secret byte, the other
  // threshold-1 coefficients uniformly random. Evaluated by Horner's rule.
  const size_t degree = static_cast<size_t>(threshold) - 1;
  SecretBytes coefficients(degree);
  const uint8_t* secret_bytes =
      reinterpret_cast<const uint8_t*>(secret.Reveal().data());
  for (size_t b = 0; b < len; ++b) {
    RandomBytes(coefficients.MutableReveal(), degree);
    const uint8_t* c = coefficients.MutableReveal();
    for (int s = 0; s < shares; ++s) {
      const uint8_t x = xs[s];
      uint8_t y = c[degree - 1];
      for (size_t k = degree - 1; k > 0; --k) y = GfMul(y, x) ^ c[k - 1];
      y = GfMul(y, x) ^ secret_bytes[b];
      out[s].MutableReveal()[b] = y;
    }
  }
  return out;
}

absl::StatusOr<SecretBytes> ShamirCombine(
    const std::vector<SecretBytes>& shares) {
  if (shares.size() < 2) {
    return absl::InvalidArgumentError("at least 2 shares are required");
  }
  const size_t share_len = shares[0].size();
  if (share_len < 2) {
    return absl::InvalidArgumentError("share too short");
  }
  std::array<bool, 256> seen{};
  std::vector<uint8_t> xs;
  xs.reserve(shares.size());
  for (const SecretBytes& share : shares) {
    if (share.size() != share_len) {
      return absl::InvalidArgumentError("shares differ in length");
    }
    const uint8_t x = static_cast<uint8_t>(share.Reveal()[share_len - 1]);
    if (x == 0) {
      return absl::InvalidArgumentError("share has x coordinate 0");
    }
    if (seen[x]) {
      return absl::InvalidArgumentError("duplicate share x coordinate");
    }
    seen[x] = true;
    xs.push_back(x);
  }

  // Lagrange basis at 0: l_i = prod_{j != i} x_j / (x_j - x_i); subtraction
  // in GF(2^8) is xor. Depends only on the public x coordinates.
  std::vector<uint8_t> basis(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    uint8_t num = 1;
    uint8_t den = 1;
    for (size_t j = 0; j < xs.size(); ++j) {
      if (j == i) continue;
      num = GfMul(num, xs[j]);
      den = GfMul(den, xs[j] ^ xs[i]);
    }
    basis[i] = GfMul(num, GfInv(den));
  }

  const size_t len = share_len - 1;
  SecretBytes secret(len);
  uint8_t* out = secret.MutableReveal();
  for (size_t i = 0; i < shares.size(); ++i) {
    const uint8_t* y =
        reinterpret_cast<const uint8_t*>(shares[i].Reveal().data());
    for (size_t b = 0; b < len; ++b) out[b] ^= GfMul(y[b], basis[i]);
  }
  return secret;
}

}  // namespace arca::kms
