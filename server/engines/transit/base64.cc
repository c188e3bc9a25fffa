#include "server/engines/transit/base64.h"

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

}  // namespace

void Base64EncodeTo(std::string_view in, char* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  size_t n = in.size();
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
