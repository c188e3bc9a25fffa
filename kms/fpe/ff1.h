#ifndef ARCA_KMS_FPE_FF1_H_
#define ARCA_KMS_FPE_FF1_H_

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

// FF1 format-preserving encryption (NIST SP 800-38G rev 1) with AES-128/192/
// 256. Works on numerals 0..radix-1 only; mapping an alphabet to numerals is
// the caller's job. Deterministic: equal (key, tweak, input) give equal
// output, so the tweak should carry whatever context separates domains.
// The key schedule is set up once; const and thread-safe.
class Ff1 {
 public:
  // Longest input accepted. SP 800-38G allows up to 2^32 numerals; nothing
  // we tokenize comes close to this, and the cap bounds stack buffers.
  static constexpr size_t kMaxLength = 1024;
  // Longest tweak accepted, in bytes (the spec allows up to 2^32 - 1).
  static constexpr size_t kMaxTweakSize = 256;

  // `key` is 16, 24 or 32 bytes; `radix` is in [2, 65536]. Anything else is
  // INVALID_ARGUMENT.
  static absl::StatusOr<std::unique_ptr<Ff1>> New(const SecretBytes& key,
                                                  uint32_t radix);

  // Input length must be in [min_length(), max_length()], every numeral
  // below radix(), tweak at most kMaxTweakSize bytes; otherwise
  // INVALID_ARGUMENT (the message never contains the numerals).
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
  // Smallest length n >= 2 with radix^n >= 1,000,000 (SP 800-38G rev 1).
  size_t min_length() const;
  size_t max_length() const { return kMaxLength; }

  ~Ff1();

 private:
  struct Impl;
  explicit Ff1(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace arca::kms::fpe

#endif  // ARCA_KMS_FPE_FF1_H_
