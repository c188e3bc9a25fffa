#ifndef ARCA_KMS_FPE_FF3_1_H_
#define ARCA_KMS_FPE_FF3_1_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms/secret_bytes.h"

namespace arca::kms::fpe {

// FF3-1 format-preserving encryption (NIST SP 800-38G rev 1) with AES and a
// 56-bit (7-byte) tweak. NIST's draft second revision of SP 800-38G withdraws
// FF3 and FF3-1 after further cryptanalysis, so this exists only for reading
// data already tokenized with FF3-1: the transformation layer offers it only
// behind an explicit opt-in (`allow_ff3_1`); new work uses Ff1.
// Numerals in, numerals out; the key schedule (of the byte-reversed key, as
// the spec requires) is set up once. Const and thread-safe.
class Ff3_1 {
 public:
  static constexpr size_t kTweakSize = 7;

  // `key` is 16, 24 or 32 bytes in the spec's byte order (the byte reversal
  // happens inside); `radix` is in [2, 65536]. Otherwise INVALID_ARGUMENT.
  static absl::StatusOr<std::unique_ptr<Ff3_1>> New(const SecretBytes& key,
                                                    uint32_t radix);

  // Input length must be in [min_length(), max_length()], every numeral
  // below radix(), the tweak exactly 7 bytes; otherwise INVALID_ARGUMENT (the
  // message never contains the numerals).
  absl::StatusOr<std::vector<uint16_t>> Encrypt(
      std::span<const uint16_t> numerals, std::string_view tweak) const;
  absl::StatusOr<std::vector<uint16_t>> Decrypt(
      std::span<const uint16_t> numerals, std::string_view tweak) const;

  // Allocation-free forms: `out` must be as long as `numerals` and may be the
  // same buffer.
  absl::Status EncryptTo(std::span<const uint16_t> numerals,
                         std::string_view tweak, std::span<uint16_t> out) const;
  absl::Status DecryptTo(std::span<const uint16_t> numerals,
                         std::string_view tweak, std::span<uint16_t> out) const;

  uint32_t radix() const;
  // Smallest length n >= 2 with radix^n >= 1,000,000.
  size_t min_length() const;
  // 2 * floor(log_radix(2^96)).
  size_t max_length() const;

  ~Ff3_1();

 private:
  struct Impl;
  explicit Ff3_1(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace arca::kms::fpe

#endif  // ARCA_KMS_FPE_FF3_1_H_
