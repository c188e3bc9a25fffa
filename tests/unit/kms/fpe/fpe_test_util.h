#ifndef ARCA_TESTS_UNIT_KMS_FPE_FPE_TEST_UTIL_H_
#define ARCA_TESTS_UNIT_KMS_FPE_FPE_TEST_UTIL_H_

// Helpers shared by the FPE tests: hex and alphabet decoding for vector
// files, and a deliberately plain FF1/FF3-1 written straight from the
// SP 800-38G pseudocode (numeral strings, BIGNUM arithmetic, a full CBC-MAC
// every round) to cross-check the optimised code on every internal path.

#include <openssl/bn.h>
#include <openssl/evp.h>

#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace arca::kms::fpe::testing {

inline std::string HexDecode(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

inline constexpr char kAlphabet36[] = "0123456789abcdefghijklmnopqrstuvwxyz";

inline std::vector<uint16_t> ToNumerals(const std::string& s) {
  std::vector<uint16_t> out;
  for (char c : s) {
    out.push_back(static_cast<uint16_t>(std::string(kAlphabet36).find(c)));
  }
  return out;
}

inline std::string FromNumerals(const std::vector<uint16_t>& x) {
  std::string out;
  for (uint16_t d : x) out.push_back(d < 36 ? kAlphabet36[d] : '?');
  return out;
}

inline std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One AES block with a raw key (test-only reference path).
inline std::string AesBlock(const std::string& key, const std::string& in) {
  const EVP_CIPHER* cipher = key.size() == 16   ? EVP_aes_128_ecb()
                             : key.size() == 24 ? EVP_aes_192_ecb()
                                                : EVP_aes_256_ecb();
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::string out(in.size() + 16, '\0');
  int len = 0, fin = 0;
  EVP_EncryptInit_ex(ctx, cipher, nullptr,
                     reinterpret_cast<const unsigned char*>(key.data()),
                     nullptr);
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  EVP_EncryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &len,
                    reinterpret_cast<const unsigned char*>(in.data()),
                    static_cast<int>(in.size()));
  EVP_EncryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + len,
                      &fin);
  EVP_CIPHER_CTX_free(ctx);
  out.resize(len + fin);
  return out;
}

// Plain bignum helpers (the reference deliberately uses none of the
// library's conversions).
class Bn {
 public:
  Bn() : bn_(BN_new()) {}
  explicit Bn(unsigned long w) : bn_(BN_new()) { BN_set_word(bn_, w); }
  Bn(const Bn& o) : bn_(BN_dup(o.bn_)) {}
  Bn& operator=(const Bn& o) {
    BN_copy(bn_, o.bn_);
    return *this;
  }
  ~Bn() { BN_free(bn_); }
  BIGNUM* get() const { return bn_; }

 private:
  BIGNUM* bn_;
};

inline Bn Num(const std::vector<uint16_t>& x, uint32_t radix) {
  Bn v(0);
  for (uint16_t d : x) {
    BN_mul_word(v.get(), radix);
    BN_add_word(v.get(), d);
  }
  return v;
}

inline Bn NumBytes(const std::string& s) {
  Bn v;
  BN_bin2bn(reinterpret_cast<const unsigned char*>(s.data()),
            static_cast<int>(s.size()), v.get());
  return v;
}

inline std::vector<uint16_t> Str(const Bn& value, uint32_t radix, size_t m) {
  Bn v = value;
  std::vector<uint16_t> out(m);
  for (size_t i = m; i > 0; --i) {
    out[i - 1] = static_cast<uint16_t>(BN_div_word(v.get(), radix));
  }
  return out;
}

inline std::string BytesOf(const Bn& v, size_t len) {
  std::string out(len, '\0');
  BN_bn2binpad(v.get(), reinterpret_cast<unsigned char*>(out.data()),
               static_cast<int>(len));
  return out;
}

inline Bn Pow(uint32_t radix, size_t e) {
  Bn r(1);
  for (size_t i = 0; i < e; ++i) BN_mul_word(r.get(), radix);
  return r;
}

inline std::string BigEndian(uint64_t v, size_t len) {
  std::string out(len, '\0');
  for (size_t i = len; i > 0; --i) {
    out[i - 1] = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
  return out;
}

// FF1 exactly as Algorithms 7 and 8 of SP 800-38G rev 1 read.
inline std::vector<uint16_t> ReferenceFf1(const std::string& key,
                                          uint32_t radix,
                                          const std::vector<uint16_t>& x,
                                          const std::string& tweak,
                                          bool encrypt) {
  BN_CTX* ctx = BN_CTX_new();
  const size_t n = x.size(), t = tweak.size();
  const size_t u = n / 2, v = n - u;
  std::vector<uint16_t> a(x.begin(), x.begin() + u), b(x.begin() + u, x.end());
  Bn rv_minus_1 = Pow(radix, v);
  BN_sub_word(rv_minus_1.get(), 1);
  const size_t bb = static_cast<size_t>(BN_num_bytes(rv_minus_1.get()));
  const size_t d = 4 * ((bb + 3) / 4) + 4;
  std::string p = std::string("\x01\x02\x01", 3) + BigEndian(radix, 3) +
                  std::string("\x0a", 1) + BigEndian(u % 256, 1) +
                  BigEndian(n, 4) + BigEndian(t, 4);
  for (int r = 0; r < 10; ++r) {
    const int i = encrypt ? r : 9 - r;
    const std::vector<uint16_t>& src = encrypt ? b : a;
    const size_t pad = (16 - (t + bb + 1) % 16) % 16;
    std::string q = tweak + std::string(pad, '\0') +
                    BigEndian(static_cast<uint64_t>(i), 1) +
                    BytesOf(Num(src, radix), bb);
    std::string pq = p + q;
    std::string y(16, '\0');
    for (size_t j = 0; j < pq.size(); j += 16) {
      std::string blk = pq.substr(j, 16);
      for (size_t k = 0; k < 16; ++k) blk[k] ^= y[k];
      y = AesBlock(key, blk);
    }
    std::string s = y;
    for (uint64_t j = 1; s.size() < d; ++j) {
      std::string blk = y;
      std::string jj = BigEndian(j, 16);
      for (size_t k = 0; k < 16; ++k) blk[k] ^= jj[k];
      s += AesBlock(key, blk);
    }
    s.resize(d);
    const size_t m = (i % 2 == 0) ? u : v;
    Bn c;
    if (encrypt) {
      BN_mod_add(c.get(), Num(a, radix).get(), NumBytes(s).get(),
                 Pow(radix, m).get(), ctx);
      a = b;
      b = Str(c, radix, m);
    } else {
      BN_mod_sub(c.get(), Num(b, radix).get(), NumBytes(s).get(),
                 Pow(radix, m).get(), ctx);
      b = a;
      a = Str(c, radix, m);
    }
  }
  BN_CTX_free(ctx);
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// FF3-1 exactly as Algorithms 9 and 10 of SP 800-38G rev 1 read.
inline std::vector<uint16_t> ReferenceFf3_1(const std::string& key,
                                            uint32_t radix,
                                            const std::vector<uint16_t>& x,
                                            const std::string& tweak,
                                            bool encrypt) {
  auto rev = [](std::vector<uint16_t> s) {
    return std::vector<uint16_t>(s.rbegin(), s.rend());
  };
  auto revb = [](const std::string& s) {
    return std::string(s.rbegin(), s.rend());
  };
  BN_CTX* ctx = BN_CTX_new();
  const size_t n = x.size();
  const size_t u = (n + 1) / 2, v = n - u;
  std::vector<uint16_t> a(x.begin(), x.begin() + u), b(x.begin() + u, x.end());
  const auto* t = reinterpret_cast<const unsigned char*>(tweak.data());
  std::string tl = {static_cast<char>(t[0]), static_cast<char>(t[1]),
                    static_cast<char>(t[2]), static_cast<char>(t[3] & 0xF0)};
  std::string tr = {static_cast<char>(t[4]), static_cast<char>(t[5]),
                    static_cast<char>(t[6]),
                    static_cast<char>((t[3] & 0x0F) << 4)};
  const std::string rkey = revb(key);
  for (int r = 0; r < 8; ++r) {
    const int i = encrypt ? r : 7 - r;
    const size_t m = (i % 2 == 0) ? u : v;
    std::string w = (i % 2 == 0) ? tr : tl;
    std::string ii = BigEndian(static_cast<uint64_t>(i), 4);
    for (size_t k = 0; k < 4; ++k) w[k] ^= ii[k];
    const std::vector<uint16_t>& src = encrypt ? b : a;
    std::string p = w + BytesOf(Num(rev(src), radix), 12);
    std::string s = revb(AesBlock(rkey, revb(p)));
    Bn c;
    if (encrypt) {
      BN_mod_add(c.get(), Num(rev(a), radix).get(), NumBytes(s).get(),
                 Pow(radix, m).get(), ctx);
      a = b;
      b = rev(Str(c, radix, m));
    } else {
      BN_mod_sub(c.get(), Num(rev(b), radix).get(), NumBytes(s).get(),
                 Pow(radix, m).get(), ctx);
      b = a;
      a = rev(Str(c, radix, m));
    }
  }
  BN_CTX_free(ctx);
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace arca::kms::fpe::testing

#endif  // ARCA_TESTS_UNIT_KMS_FPE_FPE_TEST_UTIL_H_
