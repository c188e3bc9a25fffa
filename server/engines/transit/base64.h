#ifndef ARCA_SERVER_ENGINES_TRANSIT_BASE64_H_
#define ARCA_SERVER_ENGINES_TRANSIT_BASE64_H_

#include <cstddef>
#include <string_view>

namespace arca::engines::transit {

// Standard base64 (RFC 4648 section 4, '+' '/' and '=' padding), the
// encoding of transit's wire format. Written for batches of ciphertexts:
// it encodes straight into a buffer the caller sized, 24 input bytes per
// step with AVX2 where the CPU has it, else six per step through a table of
// character pairs, so an item costs no allocation and a fraction of
// absl::Base64Escape's time. Output is identical to absl::Base64Escape.
// Stateless and thread-safe.

// Characters that Base64EncodeTo writes for `n` input bytes.
constexpr size_t Base64EncodedSize(size_t n) { return (n + 2) / 3 * 4; }

// Writes exactly Base64EncodedSize(in.size()) characters to `out`.
void Base64EncodeTo(std::string_view in, char* out);

}  // namespace arca::engines::transit

#endif  // ARCA_SERVER_ENGINES_TRANSIT_BASE64_H_
