#ifndef ARCA_SERVER_CORE_SHARES_H_
#define ARCA_SERVER_CORE_SHARES_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kms/secret_bytes.h"

namespace arca::core {

// Size of the unseal key, and of a share when there is only one share.
inline constexpr size_t kUnsealKeySize = 32;
// A Shamir share: 32 y bytes plus the x coordinate.
inline constexpr size_t kShamirShareSize = kUnsealKeySize + 1;

// Decodes an operator-supplied share: standard or URL-safe base64 (padding
// optional) or hex, surrounding whitespace ignored. INVALID_ARGUMENT for
// anything else; the message never echoes the input.
absl::StatusOr<kms::SecretBytes> DecodeShare(std::string_view text);
std::string EncodeShare(const kms::SecretBytes& share);

// Splits a fresh unseal key into `shares` shares with `threshold`. With one
// share (threshold 1) the share is the unseal key itself.
struct SplitKey {
  kms::SecretBytes unseal_key;
  std::vector<kms::SecretBytes> shares;
};
absl::StatusOr<SplitKey> NewSplitKey(int shares, int threshold);

// INVALID_ARGUMENT unless 1 == threshold == shares, or
// 2 <= threshold <= shares <= 255.
absl::Status ValidateShareConfig(int shares, int threshold);

// ShareCollector gathers shares until a threshold is reached, then combines
// them into the unseal key. A share submitted twice counts once. Not
// thread-safe; the core guards it.
class ShareCollector {
 public:
  void Reset() { shares_.clear(); }
  size_t progress() const { return shares_.size(); }

  // Adds `share`; INVALID_ARGUMENT if its length does not fit `shares_total`.
  absl::Status Add(kms::SecretBytes share, int shares_total);

  // The unseal key, once progress() >= threshold. Resets either way.
  // INVALID_ARGUMENT when the shares cannot be combined.
  absl::StatusOr<kms::SecretBytes> Combine(int shares_total);

 private:
  std::vector<kms::SecretBytes> shares_;
};

}  // namespace arca::core

#endif  // ARCA_SERVER_CORE_SHARES_H_
