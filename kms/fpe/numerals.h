#ifndef ARCA_KMS_FPE_NUMERALS_H_
#define ARCA_KMS_FPE_NUMERALS_H_

// Shared domain rules and numeral-string <-> integer conversions for FF1 and
// FF3-1 (SP 800-38G rev 1, NUM_radix and STR^m_radix). Internal to kms/fpe.

#include <openssl/bn.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "absl/status/status.h"

namespace arca::kms::fpe::internal {

using uint128 = unsigned __int128;

inline constexpr uint32_t kMinRadix = 2;
inline constexpr uint32_t kMaxRadix = 65536;
// SP 800-38G rev 1: radix^minlen >= 1,000,000.
inline constexpr uint64_t kMinDomainSize = 1000000;

absl::Status CheckRadix(uint32_t radix);

// Smallest n >= 2 with radix^n >= 1,000,000.
size_t MinLength(uint32_t radix);

// radix^k for k = 0, 1, ... while the power is below 2^128 (and at most
// `max_k`).
std::vector<uint128> PowersBelow2To128(uint32_t radix, size_t max_k);

// Checks min_len <= size <= max_len and that every numeral is < radix. The
// messages name the rule, never the numerals.
absl::Status CheckNumerals(std::span<const uint16_t> numerals, uint32_t radix,
                           size_t min_len, size_t max_len);

// Number of bits of `x` (0 for 0).
inline int BitLength(uint128 x) {
  const uint64_t hi = static_cast<uint64_t>(x >> 64);
  if (hi != 0) return 128 - __builtin_clzll(hi);
  const uint64_t lo = static_cast<uint64_t>(x);
  return lo == 0 ? 0 : 64 - __builtin_clzll(lo);
}

// Remainder by a divisor fixed ahead of time, with multiplies instead of
// the hardware divide that otherwise dominates an FF1 call (Lemire, Kaser
// and Kurz, "Faster remainder by direct computation", 2019). Exact for every
// 64-bit dividend and every divisor >= 2.
class FastMod64 {
 public:
  FastMod64() = default;
  explicit FastMod64(uint64_t d) : d_(d), m_(~uint128{0} / d + 1) {}
  uint64_t Mod(uint64_t a) const {
    const uint128 low = m_ * a;
    const uint128 bottom =
        (static_cast<uint128>(static_cast<uint64_t>(low)) * d_) >> 64;
    const uint128 top = (low >> 64) * d_;
    return static_cast<uint64_t>((bottom + top) >> 64);
  }
  uint64_t divisor() const { return d_; }

 private:
  uint64_t d_ = 0;
  uint128 m_ = 0;
};

// Quotient of a 32-bit dividend by a fixed divisor >= 2 (same paper).
class FastDiv32 {
 public:
  FastDiv32() = default;
  explicit FastDiv32(uint32_t d) : d_(d), m_(~uint64_t{0} / d + 1) {}
  uint32_t Div(uint32_t a) const {
    return static_cast<uint32_t>((static_cast<uint128>(m_) * a) >> 64);
  }
  uint32_t divisor() const { return d_; }

 private:
  uint32_t d_ = 0;
  uint64_t m_ = 0;
};

// STR^n_radix(v) most significant numeral first, for v < 2^32.
inline void StrMsbFirst32(uint32_t v, const FastDiv32& radix, uint16_t* out,
                          size_t n) {
  for (size_t i = n; i > 0; --i) {
    const uint32_t q = radix.Div(v);
    out[i - 1] = static_cast<uint16_t>(v - q * radix.divisor());
    v = q;
  }
}

// NUM_radix of x[0..n), most significant numeral first. The caller
// guarantees radix^n fits in W.
template <typename W>
inline W NumMsbFirst(const uint16_t* x, size_t n, uint32_t radix) {
  W v = 0;
  for (size_t i = 0; i < n; ++i) v = v * radix + x[i];
  return v;
}

// NUM_radix(REV(x[0..n))): x[0] is the least significant numeral.
template <typename W>
inline W NumLsbFirst(const uint16_t* x, size_t n, uint32_t radix) {
  W v = 0;
  for (size_t i = n; i > 0; --i) v = v * radix + x[i - 1];
  return v;
}

// STR^n_radix(v) written least significant numeral first into out[0..n).
// Uses 64-bit division once the value fits, since 128-bit division is a
// library call.
inline void StrLsbFirst(uint128 v, uint32_t radix, uint16_t* out, size_t n) {
  size_t i = 0;
  for (; i < n && (v >> 64) != 0; ++i) {
    out[i] = static_cast<uint16_t>(v % radix);
    v /= radix;
  }
  uint64_t w = static_cast<uint64_t>(v);
  for (; i < n; ++i) {
    out[i] = static_cast<uint16_t>(w % radix);
    w /= radix;
  }
}

// STR^n_radix(v) written most significant numeral first into out[0..n).
inline void StrMsbFirst(uint128 v, uint32_t radix, uint16_t* out, size_t n) {
  size_t i = n;
  for (; i > 0 && (v >> 64) != 0; --i) {
    out[i - 1] = static_cast<uint16_t>(v % radix);
    v /= radix;
  }
  uint64_t w = static_cast<uint64_t>(v);
  for (; i > 0; --i) {
    out[i - 1] = static_cast<uint16_t>(w % radix);
    w /= radix;
  }
}

struct BnDeleter {
  void operator()(BIGNUM* bn) const { BN_clear_free(bn); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnDeleter>;

// Bignum forms for numeral strings past 128 bits. They fold as many numerals
// as fit in 32 bits into one word operation, so converting n numerals makes
// n/chunk passes over the bignum instead of n. Return false on OpenSSL failure.
bool BnFromNumerals(const uint16_t* x, size_t n, uint32_t radix, BIGNUM* out);
bool BnToNumerals(const BIGNUM* v, uint32_t radix, uint16_t* out, size_t n);

}  // namespace arca::kms::fpe::internal

#endif  // ARCA_KMS_FPE_NUMERALS_H_
