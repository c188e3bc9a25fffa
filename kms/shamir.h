#ifndef ARCA_KMS_SHAMIR_H_
#define ARCA_KMS_SHAMIR_H_

#include <vector>

#include "absl/status/statusor.h"
#include "kms/secret_bytes.h"

namespace arca::kms {

// Shamir secret sharing over GF(2^8) with the AES polynomial (x^8+x^4+x^3+x+1).
// Field arithmetic is table-free and branch-free on secret data.
//
// Share format: the y bytes (one per secret byte) followed by one byte, the
// x coordinate (1..255). So a share is secret.size() + 1 bytes long.
//
// Split: 2 <= threshold <= shares <= 255, non-empty secret; the x coordinates
// are a random permutation of distinct non-zero bytes. Anything else is
// INVALID_ARGUMENT.
// Combine: at least 2 shares, all the same length (>= 2 bytes), x != 0 and
// distinct; else INVALID_ARGUMENT. Combine cannot know the threshold: too few
// or wrong shares give a wrong secret, which the caller detects (the barrier
// does, by failing to decrypt the root key).
absl::StatusOr<std::vector<SecretBytes>> ShamirSplit(const SecretBytes& secret,
                                                     int shares, int threshold);
absl::StatusOr<SecretBytes> ShamirCombine(
    const std::vector<SecretBytes>& shares);

}  // namespace arca::kms

#endif  // ARCA_KMS_SHAMIR_H_
