#include "server/core/shares.h"

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "kms/mac.h"
#include "kms/random.h"
#include "kms/shamir.h"
#include "kms/status_macros.h"
#include <openssl/crypto.h>

namespace arca::core {
namespace {

// Wipes a temporary std::string that held share bytes.
void Cleanse(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

// Debian's abseil has its own string_view type.
absl::string_view A(std::string_view s) { return {s.data(), s.size()}; }

bool IsHex(std::string_view s) {
  if (s.empty() || s.size() % 2 != 0) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<kms::SecretBytes> DecodeShare(std::string_view text) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(A(text));
  text = std::string_view(trimmed.data(), trimmed.size());
  const auto bad = absl::InvalidArgumentError(
      "key share is not valid base64 or hex of the expected length");
  std::string raw;
  // Hex first: a 66-digit hex string is also valid base64 of another length.
  if (IsHex(text) && (text.size() == 2 * kUnsealKeySize ||
                      text.size() == 2 * kShamirShareSize)) {
    raw = absl::HexStringToBytes(A(text));
  } else if (!absl::Base64Unescape(A(text), &raw) &&
             !absl::WebSafeBase64Unescape(A(text), &raw)) {
    Cleanse(raw);
    return bad;
  }
  if (raw.size() != kUnsealKeySize && raw.size() != kShamirShareSize) {
    Cleanse(raw);
    return bad;
  }
  kms::SecretBytes share = kms::SecretBytes::CopyFrom(raw);
  Cleanse(raw);
  return share;
}

std::string EncodeShare(const kms::SecretBytes& share) {
  return absl::Base64Escape(A(share.Reveal()));
}

absl::Status ValidateShareConfig(int shares, int threshold) {
  if (shares == 1 && threshold == 1) return absl::OkStatus();
  if (shares < 1 || shares > 255) {
    return absl::InvalidArgumentError("key shares must be between 1 and 255");
  }
  if (threshold < 2 || threshold > shares) {
    return absl::InvalidArgumentError(
        "key threshold must be between 2 and the number of shares "
        "(or 1 with a single share)");
  }
  return absl::OkStatus();
}

absl::StatusOr<SplitKey> NewSplitKey(int shares, int threshold) {
  RETURN_IF_ERROR(ValidateShareConfig(shares, threshold));
  SplitKey out;
  out.unseal_key = kms::RandomSecret(kUnsealKeySize);
  if (shares == 1) {
    out.shares.push_back(out.unseal_key.Clone());
  } else {
    ASSIGN_OR_RETURN(out.shares,
                     kms::ShamirSplit(out.unseal_key, shares, threshold));
  }
  return out;
}

absl::Status ShareCollector::Add(kms::SecretBytes share, int shares_total) {
  const size_t want = shares_total == 1 ? kUnsealKeySize : kShamirShareSize;
  if (share.size() != want) {
    return absl::InvalidArgumentError(
        "key share has the wrong length for this server");
  }
  for (const auto& have : shares_) {
    if (have.Equals(share)) return absl::OkStatus();
  }
  shares_.push_back(std::move(share));
  return absl::OkStatus();
}

absl::StatusOr<kms::SecretBytes> ShareCollector::Combine(int shares_total) {
  std::vector<kms::SecretBytes> shares = std::move(shares_);
  shares_.clear();
  if (shares_total == 1) {
    if (shares.size() != 1) {
      return absl::InvalidArgumentError("expected exactly one unseal share");
    }
    return std::move(shares[0]);
  }
  auto key = kms::ShamirCombine(shares);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        "unseal shares could not be combined (duplicate or foreign shares)");
  }
  return key;
}

}  // namespace arca::core
