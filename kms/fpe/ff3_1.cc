#include "kms/fpe/ff3_1.h"

#include <bit>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "kms/fpe/aes_block.h"
#include "kms/fpe/numerals.h"
#include "kms/status_macros.h"

namespace arca::kms::fpe {
namespace {

using internal::AesBlock;
using internal::uint128;

constexpr size_t kBlock = AesBlock::kBlockSize;
constexpr int kRounds = 8;
constexpr char kInternal[] = "FF3-1: AES failed";

inline uint64_t ToLittleEndian(uint64_t x) {
  if constexpr (std::endian::native == std::endian::big) {
    return __builtin_bswap64(x);
  }
  return x;
}

}  // namespace

struct Ff3_1::Impl {
  uint32_t radix = 0;
  size_t min_len = 0;
  size_t max_len = 0;
  // Keyed with REVB(K).
  std::unique_ptr<AesBlock> aes;
  // radix^k for k = 0 .. max_len / 2 (all at most 2^96).
  std::vector<uint128> powers;

  absl::Status Run(bool encrypt, std::span<const uint16_t> in,
                   std::string_view tweak, std::span<uint16_t> out) const;
};

absl::Status Ff3_1::Impl::Run(bool encrypt, std::span<const uint16_t> in,
                              std::string_view tweak,
                              std::span<uint16_t> out) const {
  RETURN_IF_ERROR(internal::CheckNumerals(in, radix, min_len, max_len));
  if (tweak.size() != kTweakSize) {
    return absl::InvalidArgumentError("FF3-1 tweak must be exactly 7 bytes");
  }
  if (out.size() != in.size()) {
    return absl::InvalidArgumentError(
        "FF3-1 output buffer must be as long as the input");
  }
  const size_t n = in.size();
  const size_t u = (n + 1) / 2;
  const size_t v = n - u;
  const auto* t = reinterpret_cast<const uint8_t*>(tweak.data());
  // T_L = T[0..27] || 0^4, T_R = T[32..55] || T[28..31] || 0^4.
  const uint8_t t_left[4] = {t[0], t[1], t[2],
                             static_cast<uint8_t>(t[3] & 0xF0)};
  const uint8_t t_right[4] = {t[4], t[5], t[6],
                              static_cast<uint8_t>((t[3] & 0x0F) << 4)};
  const uint128 mod_u = powers[u];
  const uint128 mod_v = powers[v];
  // Integers NUM_radix(REV(A)) and NUM_radix(REV(B)); every round's
  // REV(STR(c)) is fed straight back as c.
  uint128 a = internal::NumLsbFirst<uint128>(in.data(), u, radix);
  uint128 b = internal::NumLsbFirst<uint128>(in.data() + u, v, radix);

  AesBlock::Lease lease = aes->Acquire();
  if (!lease.ok()) return absl::InternalError(kInternal);
  for (int r = 0; r < kRounds; ++r) {
    const int i = encrypt ? r : kRounds - 1 - r;
    const bool even = i % 2 == 0;
    const uint8_t* w = even ? t_right : t_left;
    const uint128 m = even ? mod_u : mod_v;
    // P = (W xor [i]^4) || [NUM]^12 and the cipher sees REVB(P): read as a
    // little-endian integer that is NUM + (W xor i) * 2^96. Built in
    // registers and stored in one piece, so the cipher's 16-byte load is
    // not held up by byte-wise stores.
    const uint32_t w_word = (uint32_t{w[0]} << 24) | (uint32_t{w[1]} << 16) |
                            (uint32_t{w[2]} << 8) | w[3];
    const uint128 p_le =
        (encrypt ? b : a) |
        (static_cast<uint128>(w_word ^ static_cast<uint32_t>(i)) << 96);
    using V2 = uint64_t __attribute__((vector_size(16)));
    const V2 vec = {ToLittleEndian(static_cast<uint64_t>(p_le)),
                    ToLittleEndian(static_cast<uint64_t>(p_le >> 64))};
    alignas(16) uint8_t block[kBlock];
    std::memcpy(block, &vec, kBlock);
    if (!lease.Encrypt(block, block, 1)) {
      return absl::InternalError(kInternal);
    }
    // S = REVB(output), y = NUM(S): the output read little-endian.
    uint64_t lo, hi;
    std::memcpy(&lo, block, 8);
    std::memcpy(&hi, block + 8, 8);
    uint128 y =
        (static_cast<uint128>(ToLittleEndian(hi)) << 64) | ToLittleEndian(lo);
    y %= m;
    if (encrypt) {
      uint128 c = a + y;
      if (c >= m) c -= m;
      a = b;
      b = c;
    } else {
      const uint128 c = (b >= y) ? b - y : b + (m - y);
      b = a;
      a = c;
    }
  }
  internal::StrLsbFirst(a, radix, out.data(), u);
  internal::StrLsbFirst(b, radix, out.data() + u, v);
  return absl::OkStatus();
}

Ff3_1::Ff3_1(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Ff3_1::~Ff3_1() = default;

absl::StatusOr<std::unique_ptr<Ff3_1>> Ff3_1::New(const SecretBytes& key,
                                                  uint32_t radix) {
  RETURN_IF_ERROR(internal::CheckRadix(radix));
  if (key.size() != 16 && key.size() != 24 && key.size() != 32) {
    return absl::InvalidArgumentError("FF3-1 key must be 16, 24 or 32 bytes");
  }
  auto impl = std::make_unique<Impl>();
  impl->radix = radix;
  impl->min_len = internal::MinLength(radix);
  // floor(log_radix(2^96)): largest k with radix^k <= 2^96.
  const uint128 limit = uint128{1} << 96;
  impl->powers.push_back(1);
  while (impl->powers.back() * radix <= limit) {
    impl->powers.push_back(impl->powers.back() * radix);
  }
  impl->max_len = 2 * (impl->powers.size() - 1);

  SecretBytes reversed(key.size());
  const std::string_view k = key.Reveal();
  for (size_t j = 0; j < k.size(); ++j) {
    reversed.MutableReveal()[j] = static_cast<uint8_t>(k[k.size() - 1 - j]);
  }
  ASSIGN_OR_RETURN(impl->aes, AesBlock::New(reversed));
  return std::unique_ptr<Ff3_1>(new Ff3_1(std::move(impl)));
}

absl::StatusOr<std::vector<uint16_t>> Ff3_1::Encrypt(
    std::span<const uint16_t> numerals, std::string_view tweak) const {
  // Sized only once the length is known to be sane; Run rejects the rest.
  std::vector<uint16_t> out(numerals.size() <= impl_->max_len ? numerals.size()
                                                              : 0);
  RETURN_IF_ERROR(impl_->Run(/*encrypt=*/true, numerals, tweak, out));
  return out;
}

absl::StatusOr<std::vector<uint16_t>> Ff3_1::Decrypt(
    std::span<const uint16_t> numerals, std::string_view tweak) const {
  std::vector<uint16_t> out(numerals.size() <= impl_->max_len ? numerals.size()
                                                              : 0);
  RETURN_IF_ERROR(impl_->Run(/*encrypt=*/false, numerals, tweak, out));
  return out;
}

absl::Status Ff3_1::EncryptTo(std::span<const uint16_t> numerals,
                              std::string_view tweak,
                              std::span<uint16_t> out) const {
  return impl_->Run(/*encrypt=*/true, numerals, tweak, out);
}

absl::Status Ff3_1::DecryptTo(std::span<const uint16_t> numerals,
                              std::string_view tweak,
                              std::span<uint16_t> out) const {
  return impl_->Run(/*encrypt=*/false, numerals, tweak, out);
}

uint32_t Ff3_1::radix() const { return impl_->radix; }
size_t Ff3_1::min_length() const { return impl_->min_len; }
size_t Ff3_1::max_length() const { return impl_->max_len; }

}  // namespace arca::kms::fpe
