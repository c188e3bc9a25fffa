#include "kms/fpe/numerals.h"

#include <openssl/bn.h>

#include "absl/strings/str_cat.h"

namespace arca::kms::fpe::internal {
namespace {

// Largest k with radix^k <= 2^32 - 1, and that power. BN_ULONG is at least
// 32 bits everywhere, so chunks of this size fit one word operation.
void ChunkFor(uint32_t radix, size_t* k, uint64_t* power) {
  *k = 0;
  *power = 1;
  while (*power * radix <= 0xFFFFFFFFull) {
    *power *= radix;
    ++*k;
  }
}

uint64_t IntPow(uint32_t radix, size_t k) {
  uint64_t p = 1;
  for (size_t i = 0; i < k; ++i) p *= radix;
  return p;
}

}  // namespace

absl::Status CheckRadix(uint32_t radix) {
  if (radix < kMinRadix || radix > kMaxRadix) {
    return absl::InvalidArgumentError("radix must be in [2, 65536]");
  }
  return absl::OkStatus();
}

size_t MinLength(uint32_t radix) {
  size_t n = 1;
  uint64_t domain = radix;
  while (n < 2 || domain < kMinDomainSize) {
    domain *= radix;
    ++n;
  }
  return n;
}

std::vector<uint128> PowersBelow2To128(uint32_t radix, size_t max_k) {
  std::vector<uint128> powers;
  uint128 p = 1;
  powers.push_back(p);
  const uint128 limit = ~uint128{0} / radix;
  while (powers.size() <= max_k && p <= limit) {
    p *= radix;
    powers.push_back(p);
  }
  return powers;
}

absl::Status CheckNumerals(std::span<const uint16_t> numerals, uint32_t radix,
                           size_t min_len, size_t max_len) {
  if (numerals.size() < min_len || numerals.size() > max_len) {
    return absl::InvalidArgumentError(
        absl::StrCat("input length must be in [", min_len, ", ", max_len,
                     "] numerals for radix ", radix));
  }
  for (uint16_t x : numerals) {
    if (x >= radix) {
      return absl::InvalidArgumentError(
          absl::StrCat("every numeral must be below the radix ", radix));
    }
  }
  return absl::OkStatus();
}

bool BnFromNumerals(const uint16_t* x, size_t n, uint32_t radix, BIGNUM* out) {
  size_t k;
  uint64_t chunk_power;
  ChunkFor(radix, &k, &chunk_power);
  BN_zero(out);
  size_t i = 0;
  while (i < n) {
    const size_t take = (n - i < k) ? n - i : k;
    const uint64_t mul = (take == k) ? chunk_power : IntPow(radix, take);
    uint64_t chunk = 0;
    for (size_t j = 0; j < take; ++j) chunk = chunk * radix + x[i + j];
    if (BN_mul_word(out, static_cast<BN_ULONG>(mul)) != 1 ||
        BN_add_word(out, static_cast<BN_ULONG>(chunk)) != 1) {
      return false;
    }
    i += take;
  }
  return true;
}

bool BnToNumerals(const BIGNUM* v, uint32_t radix, uint16_t* out, size_t n) {
  size_t k;
  uint64_t chunk_power;
  ChunkFor(radix, &k, &chunk_power);
  BnPtr work(BN_dup(v));
  if (work == nullptr) return false;
  size_t remaining = n;
  while (remaining > 0) {
    const size_t take = remaining < k ? remaining : k;
    const uint64_t div = (take == k) ? chunk_power : IntPow(radix, take);
    const BN_ULONG rem = BN_div_word(work.get(), static_cast<BN_ULONG>(div));
    if (rem == static_cast<BN_ULONG>(-1)) return false;
    uint64_t chunk = rem;
    for (size_t j = 0; j < take; ++j) {
      out[remaining - 1 - j] = static_cast<uint16_t>(chunk % radix);
      chunk /= radix;
    }
    remaining -= take;
  }
  return BN_is_zero(work.get());
}

}  // namespace arca::kms::fpe::internal
