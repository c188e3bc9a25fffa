#include "kms/fpe/ff1.h"

#include <openssl/bn.h>

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
constexpr int kRounds = 10;
// b is at most ceil(v * 16 / 8) bytes for v <= kMaxLength / 2 numerals.
constexpr size_t kMaxB = (Ff1::kMaxLength / 2 + 1) * 2;
constexpr size_t kMaxD = 4 * ((kMaxB + 3) / 4) + 4;
constexpr size_t kMaxQ = Ff1::kMaxTweakSize + kBlock + 1 + kMaxB;
constexpr size_t kMaxS = (kMaxD + kBlock - 1) / kBlock * kBlock;

constexpr char kInternal[] = "FF1: AES failed";

inline uint64_t ToBigEndian(uint64_t x) {
  if constexpr (std::endian::native == std::endian::little) {
    return __builtin_bswap64(x);
  }
  return x;
}

inline uint128 LoadBigEndian128(const uint8_t* p) {
  uint64_t hi, lo;
  std::memcpy(&hi, p, 8);
  std::memcpy(&lo, p + 8, 8);
  return (static_cast<uint128>(ToBigEndian(hi)) << 64) | ToBigEndian(lo);
}

// The round function PRF(P || Q) for one call, with everything that is the
// same in all ten rounds done once: CIPH(P) (memoised per pooled context for
// the last (n, t) seen) and the CBC-MAC over the blocks of Q that hold only
// tweak and padding.
class RoundFunction {
 public:
  RoundFunction(AesBlock::Lease& lease, uint32_t radix, size_t n,
                std::string_view tweak, size_t b)
      : lease_(lease), b_(b), d_(4 * ((b + 3) / 4) + 4) {
    const size_t t = tweak.size();
    const size_t pad = (kBlock - (t + b + 1) % kBlock) % kBlock;
    round_index_ = t + pad;
    q_len_ = t + pad + 1 + b;
    if (t != 0) std::memcpy(q_, tweak.data(), t);
    std::memset(q_ + t, 0, pad);
    prefix_blocks_ = round_index_ / kBlock;
    const size_t u = n / 2;
    const uint64_t tag = (uint64_t{1} << 48) | (uint64_t{n} << 16) | t;
    if (lease_.memo_tag() != tag) {
      const uint8_t p[kBlock] = {1,
                                 2,
                                 1,
                                 static_cast<uint8_t>(radix >> 16),
                                 static_cast<uint8_t>(radix >> 8),
                                 static_cast<uint8_t>(radix),
                                 10,
                                 static_cast<uint8_t>(u),
                                 static_cast<uint8_t>(n >> 24),
                                 static_cast<uint8_t>(n >> 16),
                                 static_cast<uint8_t>(n >> 8),
                                 static_cast<uint8_t>(n),
                                 static_cast<uint8_t>(t >> 24),
                                 static_cast<uint8_t>(t >> 16),
                                 static_cast<uint8_t>(t >> 8),
                                 static_cast<uint8_t>(t)};
      lease_.memo_tag() = 0;
      if (!lease_.Encrypt(p, lease_.memo_block(), 1)) {
        ok_ = false;
        return;
      }
      lease_.memo_tag() = tag;
    }
    std::memcpy(prefix_state_, lease_.memo_block(), kBlock);
    for (size_t j = 0; j < prefix_blocks_; ++j) {
      Absorb(prefix_state_, q_ + j * kBlock);
    }
    if (b_ <= kMaxWordB) {
      // Q's last block is the only one that changes per round; fold the
      // CBC state and its constant bytes into one value now.
      std::memset(q_ + round_index_, 0, 1 + b_);
      const uint8_t* last = q_ + q_len_ - kBlock;
      tail_base_ = LoadBigEndian128(prefix_state_) ^ LoadBigEndian128(last);
    }
  }

  // For b <= kMaxWordB (all of [i] || [NUM]^b inside Q's last block):
  // returns R = PRF(P || Q) as a big-endian integer, with no byte-wise
  // stores in the way of the cipher's 16-byte load.
  bool RunWord(int i, uint128 num, uint128* r) {
    const uint128 x =
        tail_base_ ^ ((static_cast<uint128>(i) << (8 * b_)) | num);
    using V2 = uint64_t __attribute__((vector_size(16)));
    const V2 vec = {ToBigEndian(static_cast<uint64_t>(x >> 64)),
                    ToBigEndian(static_cast<uint64_t>(x))};
    alignas(16) uint8_t block[kBlock];
    std::memcpy(block, &vec, kBlock);
    if (!lease_.Encrypt(block, block, 1)) return false;
    *r = LoadBigEndian128(block);
    return true;
  }

  static constexpr size_t kMaxWordB = 12;

  bool ok() const { return ok_; }
  size_t d() const { return d_; }
  // Where the caller writes [NUM_radix(X)]^b before each Run.
  uint8_t* num_bytes() { return q_ + round_index_ + 1; }
  size_t b() const { return b_; }

  // Computes S (d bytes) for round i into `s` (kMaxS bytes available).
  bool Run(int i, uint8_t* s) {
    q_[round_index_] = static_cast<uint8_t>(i);
    uint8_t state[kBlock];
    std::memcpy(state, prefix_state_, kBlock);
    for (size_t j = prefix_blocks_; j < q_len_ / kBlock; ++j) {
      Absorb(state, q_ + j * kBlock);
    }
    if (!ok_) return false;
    std::memcpy(s, state, kBlock);
    if (d_ <= kBlock) return true;
    // S = R || CIPH(R xor [1]^16) || CIPH(R xor [2]^16) || ...
    const size_t blocks = (d_ + kBlock - 1) / kBlock;
    for (size_t j = 1; j < blocks; ++j) {
      uint8_t* blk = s + j * kBlock;
      std::memcpy(blk, state, kBlock);
      blk[12] ^= static_cast<uint8_t>(j >> 24);
      blk[13] ^= static_cast<uint8_t>(j >> 16);
      blk[14] ^= static_cast<uint8_t>(j >> 8);
      blk[15] ^= static_cast<uint8_t>(j);
    }
    return lease_.Encrypt(s + kBlock, s + kBlock, blocks - 1);
  }

 private:
  // One CBC-MAC step: state = CIPH(state xor block).
  void Absorb(uint8_t* state, const uint8_t* block) {
    for (size_t k = 0; k < kBlock; ++k) state[k] ^= block[k];
    if (!lease_.Encrypt(state, state, 1)) ok_ = false;
  }

  AesBlock::Lease& lease_;
  bool ok_ = true;
  size_t b_;
  size_t d_;
  size_t round_index_ = 0;
  size_t q_len_ = 0;
  size_t prefix_blocks_ = 0;
  uint8_t prefix_state_[kBlock];
  uint128 tail_base_ = 0;
  uint8_t q_[kMaxQ];
};

// Tables for the machine-word path, all built once per key.
struct WordTables {
  uint32_t radix;
  const uint128* powers;
  // For the 64-bit path: reciprocals of radix^k (radix^k <= 2^32) and radix.
  const internal::FastMod64* small_mods;
  internal::FastDiv32 radix_div;
};

// The ten Feistel rounds on machine words, valid when b <= 12: then
// d <= 16, y = NUM(S) fits W, and a + (y mod radix^m) cannot overflow
// (radix^m <= 2^(8b) <= 2^96). W = uint64_t when d <= 8 (radix^v <= 2^32).
template <typename W>
bool RoundsOnWords(RoundFunction& prf, bool encrypt, const WordTables& tables,
                   std::span<const uint16_t> in, std::span<uint16_t> out) {
  const uint32_t radix = tables.radix;
  const size_t n = in.size();
  const size_t u = n / 2;
  const size_t v = n - u;
  const W mod_u = static_cast<W>(tables.powers[u]);
  const W mod_v = static_cast<W>(tables.powers[v]);
  W a = internal::NumMsbFirst<W>(in.data(), u, radix);
  W b = internal::NumMsbFirst<W>(in.data() + u, v, radix);
  for (int r = 0; r < kRounds; ++r) {
    const int i = encrypt ? r : kRounds - 1 - r;
    const W m = (i % 2 == 0) ? mod_u : mod_v;
    uint128 r_block;
    if (!prf.RunWord(i, encrypt ? b : a, &r_block)) return false;
    // y = NUM(S), S = the first d bytes of R.
    W y = static_cast<W>(r_block >> (8 * (kBlock - prf.d())));
    if constexpr (sizeof(W) == sizeof(uint64_t)) {
      y = tables.small_mods[(i % 2 == 0) ? u : v].Mod(y);
    } else {
      y %= m;
    }
    if (encrypt) {
      W c = a + y;
      if (c >= m) c -= m;
      a = b;
      b = c;
    } else {
      const W c = (b >= y) ? b - y : b + (m - y);
      b = a;
      a = c;
    }
  }
  if constexpr (sizeof(W) == sizeof(uint64_t)) {
    // Here radix^v <= 2^32, so both halves fit 32 bits.
    internal::StrMsbFirst32(static_cast<uint32_t>(a), tables.radix_div,
                            out.data(), u);
    internal::StrMsbFirst32(static_cast<uint32_t>(b), tables.radix_div,
                            out.data() + u, v);
  } else {
    internal::StrMsbFirst(a, radix, out.data(), u);
    internal::StrMsbFirst(b, radix, out.data() + u, v);
  }
  return true;
}

struct BnCtxDeleter {
  void operator()(BN_CTX* ctx) const { BN_CTX_free(ctx); }
};

}  // namespace

struct Ff1::Impl {
  uint32_t radix = 0;
  size_t min_len = 0;
  std::unique_ptr<AesBlock> aes;
  // radix^k for every k with radix^k < 2^128.
  std::vector<uint128> powers;
  // Reciprocals of powers[k] for every k with powers[k] <= 2^32.
  std::vector<internal::FastMod64> small_mods;
  internal::FastDiv32 radix_div;

  absl::Status Run(bool encrypt, std::span<const uint16_t> in,
                   std::string_view tweak, std::span<uint16_t> out) const;
  absl::Status RunBignum(bool encrypt, AesBlock::Lease& lease,
                         std::span<const uint16_t> in, std::string_view tweak,
                         std::span<uint16_t> out) const;
};

absl::Status Ff1::Impl::Run(bool encrypt, std::span<const uint16_t> in,
                            std::string_view tweak,
                            std::span<uint16_t> out) const {
  RETURN_IF_ERROR(internal::CheckNumerals(in, radix, min_len, kMaxLength));
  if (tweak.size() > kMaxTweakSize) {
    return absl::InvalidArgumentError("FF1 tweak must be at most 256 bytes");
  }
  if (out.size() != in.size()) {
    return absl::InvalidArgumentError(
        "FF1 output buffer must be as long as the input");
  }
  AesBlock::Lease lease = aes->Acquire();
  if (!lease.ok()) return absl::InternalError(kInternal);
  const size_t v = in.size() - in.size() / 2;
  if (v >= powers.size()) return RunBignum(encrypt, lease, in, tweak, out);
  // b = ceil(ceil(v * log2(radix)) / 8) = byte length of radix^v - 1.
  const size_t b = (internal::BitLength(powers[v] - 1) + 7) / 8;
  if (b > RoundFunction::kMaxWordB)
    return RunBignum(encrypt, lease, in, tweak, out);
  RoundFunction prf(lease, radix, in.size(), tweak, b);
  if (!prf.ok()) return absl::InternalError(kInternal);
  const WordTables tables{radix, powers.data(), small_mods.data(), radix_div};
  // d <= 8 means b <= 4, i.e. radix^v <= 2^32.
  const bool done = prf.d() <= 8
                        ? RoundsOnWords<uint64_t>(prf, encrypt, tables, in, out)
                        : RoundsOnWords<uint128>(prf, encrypt, tables, in, out);
  return done ? absl::OkStatus() : absl::InternalError(kInternal);
}

absl::Status Ff1::Impl::RunBignum(bool encrypt, AesBlock::Lease& lease,
                                  std::span<const uint16_t> in,
                                  std::string_view tweak,
                                  std::span<uint16_t> out) const {
  const absl::Status bn_error = absl::InternalError("FF1: bignum failed");
  const size_t n = in.size();
  const size_t u = n / 2;
  const size_t v = n - u;
  std::unique_ptr<BN_CTX, BnCtxDeleter> ctx(BN_CTX_new());
  internal::BnPtr a(BN_new()), b(BN_new()), c(BN_new()), y(BN_new()),
      mod_u(BN_new()), mod_v(BN_new()), tmp(BN_new());
  if (ctx == nullptr || !a || !b || !c || !y || !mod_u || !mod_v || !tmp) {
    return bn_error;
  }
  // radix^u and radix^v.
  if (BN_set_word(tmp.get(), radix) != 1 ||
      BN_set_word(c.get(), static_cast<BN_ULONG>(u)) != 1 ||
      BN_exp(mod_u.get(), tmp.get(), c.get(), ctx.get()) != 1 ||
      BN_set_word(c.get(), static_cast<BN_ULONG>(v)) != 1 ||
      BN_exp(mod_v.get(), tmp.get(), c.get(), ctx.get()) != 1 ||
      BN_copy(tmp.get(), mod_v.get()) == nullptr ||
      BN_sub_word(tmp.get(), 1) != 1) {
    return bn_error;
  }
  const size_t b_len = static_cast<size_t>(BN_num_bytes(tmp.get()));
  if (!internal::BnFromNumerals(in.data(), u, radix, a.get()) ||
      !internal::BnFromNumerals(in.data() + u, v, radix, b.get())) {
    return bn_error;
  }
  RoundFunction prf(lease, radix, n, tweak, b_len);
  if (!prf.ok()) return absl::InternalError(kInternal);
  uint8_t s[kMaxS];
  for (int r = 0; r < kRounds; ++r) {
    const int i = encrypt ? r : kRounds - 1 - r;
    const BIGNUM* m = (i % 2 == 0) ? mod_u.get() : mod_v.get();
    if (BN_bn2binpad(encrypt ? b.get() : a.get(), prf.num_bytes(),
                     static_cast<int>(b_len)) < 0) {
      return bn_error;
    }
    if (!prf.Run(i, s)) return absl::InternalError(kInternal);
    if (BN_bin2bn(s, static_cast<int>(prf.d()), y.get()) == nullptr) {
      return bn_error;
    }
    if (encrypt) {
      if (BN_mod_add(c.get(), a.get(), y.get(), m, ctx.get()) != 1) {
        return bn_error;
      }
      std::swap(a, b);  // A = B
      std::swap(b, c);  // B = C
    } else {
      if (BN_mod_sub(c.get(), b.get(), y.get(), m, ctx.get()) != 1) {
        return bn_error;
      }
      std::swap(b, a);  // B = A
      std::swap(a, c);  // A = C
    }
  }
  if (!internal::BnToNumerals(a.get(), radix, out.data(), u) ||
      !internal::BnToNumerals(b.get(), radix, out.data() + u, v)) {
    return bn_error;
  }
  return absl::OkStatus();
}

Ff1::Ff1(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Ff1::~Ff1() = default;

absl::StatusOr<std::unique_ptr<Ff1>> Ff1::New(const SecretBytes& key,
                                              uint32_t radix) {
  RETURN_IF_ERROR(internal::CheckRadix(radix));
  if (key.size() != 16 && key.size() != 24 && key.size() != 32) {
    return absl::InvalidArgumentError("FF1 key must be 16, 24 or 32 bytes");
  }
  auto impl = std::make_unique<Impl>();
  impl->radix = radix;
  impl->min_len = internal::MinLength(radix);
  ASSIGN_OR_RETURN(impl->aes, AesBlock::New(key));
  impl->powers = internal::PowersBelow2To128(radix, kMaxLength);
  for (size_t k = 0;
       k < impl->powers.size() && impl->powers[k] <= (uint128{1} << 32); ++k) {
    // k = 0 (divisor 1) is never used: u and v are at least 1.
    impl->small_mods.emplace_back(
        k == 0 ? 2 : static_cast<uint64_t>(impl->powers[k]));
  }
  impl->radix_div = internal::FastDiv32(radix);
  return std::unique_ptr<Ff1>(new Ff1(std::move(impl)));
}

absl::StatusOr<std::vector<uint16_t>> Ff1::Encrypt(
    std::span<const uint16_t> numerals, std::string_view tweak) const {
  // Sized only once the length is known to be sane; Run rejects the rest.
  std::vector<uint16_t> out(numerals.size() <= kMaxLength ? numerals.size()
                                                          : 0);
  RETURN_IF_ERROR(impl_->Run(/*encrypt=*/true, numerals, tweak, out));
  return out;
}

absl::StatusOr<std::vector<uint16_t>> Ff1::Decrypt(
    std::span<const uint16_t> numerals, std::string_view tweak) const {
  std::vector<uint16_t> out(numerals.size() <= kMaxLength ? numerals.size()
                                                          : 0);
  RETURN_IF_ERROR(impl_->Run(/*encrypt=*/false, numerals, tweak, out));
  return out;
}

absl::Status Ff1::EncryptTo(std::span<const uint16_t> numerals,
                            std::string_view tweak,
                            std::span<uint16_t> out) const {
  return impl_->Run(/*encrypt=*/true, numerals, tweak, out);
}

absl::Status Ff1::DecryptTo(std::span<const uint16_t> numerals,
                            std::string_view tweak,
                            std::span<uint16_t> out) const {
  return impl_->Run(/*encrypt=*/false, numerals, tweak, out);
}

uint32_t Ff1::radix() const { return impl_->radix; }
size_t Ff1::min_length() const { return impl_->min_len; }

}  // namespace arca::kms::fpe
