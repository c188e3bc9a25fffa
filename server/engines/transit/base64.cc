#include "server/engines/transit/base64.h"

#include <immintrin.h>

#include <array>
#include <cstdint>
#include <cstring>

namespace arca::engines::transit {
namespace {

constexpr char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The two characters of every 12-bit value: one lookup per half of a 3-byte
// group instead of one per 6 bits.
constexpr std::array<char, 2 * 4096> MakePairs() {
  std::array<char, 2 * 4096> t{};
  for (int v = 0; v < 4096; ++v) {
    t[2 * v] = kAlphabet[v >> 6];
    t[2 * v + 1] = kAlphabet[v & 63];
  }
  return t;
}
constexpr std::array<char, 2 * 4096> kPairs = MakePairs();

inline void Put24(uint32_t group, char* out) {
  std::memcpy(out, &kPairs[2 * (group >> 12)], 2);
  std::memcpy(out + 2, &kPairs[2 * (group & 0xfff)], 2);
}

// AVX2: 24 input bytes to 32 characters per step (the multiply-shift
// split and pshufb lookup described by Mula and Lemire, "Faster Base64
// Encoding and Decoding using AVX2 Instructions", 2018). Each 128-bit lane
// takes 12 bytes; every load reads 16, so a step needs 28 readable bytes.
// Returns the input bytes consumed (a multiple of 24); the caller encodes
// the rest.
__attribute__((target("avx2"))) size_t EncodeAvx2(const unsigned char* p,
                                                  size_t n, char* out) {
  // Per lane, 3-byte group [a b c] -> 32-bit word with bytes [b a c b].
  const __m256i spread =
      _mm256_setr_epi8(1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10,  //
                       1, 0, 2, 1, 4, 3, 5, 4, 7, 6, 8, 7, 10, 9, 11, 10);
  // Offset to add to a 6-bit value, by range (see below).
  const __m256i offsets = _mm256_setr_epi8(
      'a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
      '0' - 52, '0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0,
      'a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
      '0' - 52, '0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0);
  size_t done = 0;
  while (n - done >= 28) {
    const __m128i lo =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + done));
    const __m128i hi =
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + done + 12));
    __m256i in = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
    in = _mm256_shuffle_epi8(in, spread);
    // Four 6-bit values per word, one per byte, in output order.
    const __m256i t0 = _mm256_and_si256(in, _mm256_set1_epi32(0x0fc0fc00));
    const __m256i t1 = _mm256_mulhi_epu16(t0, _mm256_set1_epi32(0x04000040));
    const __m256i t2 = _mm256_and_si256(in, _mm256_set1_epi32(0x003f03f0));
    const __m256i t3 = _mm256_mullo_epi16(t2, _mm256_set1_epi32(0x01000010));
    const __m256i v = _mm256_or_si256(t1, t3);
    // Range index: 0..25 -> 13, 26..51 -> 0, 52..61 -> 1..10, 62 -> 11,
    // 63 -> 12; then character = value + offsets[index].
    __m256i idx = _mm256_subs_epu8(v, _mm256_set1_epi8(51));
    const __m256i upper = _mm256_cmpgt_epi8(_mm256_set1_epi8(26), v);
    idx = _mm256_or_si256(idx, _mm256_and_si256(upper, _mm256_set1_epi8(13)));
    const __m256i chars = _mm256_add_epi8(_mm256_shuffle_epi8(offsets, idx), v);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), chars);
    done += 24;
    out += 32;
  }
  return done;
}

bool HasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}

}  // namespace

void Base64EncodeTo(std::string_view in, char* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  size_t n = in.size();
  if (n >= 28 && HasAvx2()) {
    const size_t done = EncodeAvx2(p, n, out);
    p += done;
    n -= done;
    out += done / 3 * 4;
  }
  // Six bytes (two groups) per step, read as one big-endian 64-bit load;
  // the load needs eight readable bytes.
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    w = __builtin_bswap64(w);
    Put24(static_cast<uint32_t>(w >> 40), out);
    Put24(static_cast<uint32_t>(w >> 16) & 0xffffff, out + 4);
    p += 6;
    n -= 6;
    out += 8;
  }
  while (n >= 3) {
    Put24(uint32_t{p[0]} << 16 | uint32_t{p[1]} << 8 | p[2], out);
    p += 3;
    n -= 3;
    out += 4;
  }
  if (n == 1) {
    const uint32_t g = uint32_t{p[0]} << 16;
    out[0] = kAlphabet[g >> 18];
    out[1] = kAlphabet[(g >> 12) & 63];
    out[2] = '=';
    out[3] = '=';
  } else if (n == 2) {
    const uint32_t g = uint32_t{p[0]} << 16 | uint32_t{p[1]} << 8;
    out[0] = kAlphabet[g >> 18];
    out[1] = kAlphabet[(g >> 12) & 63];
    out[2] = kAlphabet[(g >> 6) & 63];
    out[3] = '=';
  }
}

}  // namespace arca::engines::transit
