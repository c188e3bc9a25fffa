#ifndef ARCA_SERVER_AUDIT_CHAIN_H_
#define ARCA_SERVER_AUDIT_CHAIN_H_

// The hash chain that makes an audit file tamper-evident.
//
// Wire format (one JSON object per line, '\n'-terminated, UTF-8):
//
//   {"seq":<n>,"prev":"<64 hex>",<members>,"hmac":"<64 hex>"}
//
// * "seq" counts lines of a chain segment from 1, with no gaps.
// * "prev" is the "hmac" of the previous line; the first line of a segment
//   carries 64 zeros.
// * "hmac" is always the last member. It is lowercase hex of
//   HMAC-SHA256(chain key, body), where body is the exact bytes of the line
//   with the trailing `,"hmac":"<64 hex>"` removed (i.e. the line minus that
//   suffix, ending in "}"). The MAC covers bytes, not a re-serialization, so
//   any edited byte is detected.
// * The chain key is HKDF-SHA256(ikm = device salt, salt = "",
//   info = "arca audit chain v1", 32 bytes). It differs from the key of
//   HashForAudit on purpose: a caller who gets a chosen sensitive value
//   hashed must not thereby obtain a valid line MAC.
// * Line 1 of a file is a marker {"type":"audit.chain_start",...} with seq 1
//   and zero prev. A device that reopens a file whose last line does not
//   verify appends {"type":"audit.chain_restart","reason":...} (seq 1, zero
//   prev) instead of continuing; Verify fails at the broken line before it,
//   so the restart is always reported to the operator.
//
// Together, seq + prev + hmac detect editing, deleting, inserting and
// reordering lines, and deleting lines from the head. Deleting whole lines
// from the end is detected only against the device's current head (ChainHead
// below); see docs/audit.md.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "kms/secret_bytes.h"

namespace arca::audit {

inline constexpr std::string_view kChainStartType = "audit.chain_start";
inline constexpr std::string_view kChainRestartType = "audit.chain_restart";
// A line longer than this is refused by the verifier (and by a device that
// resumes from a file tail).
inline constexpr size_t kMaxLineSize = 16 << 20;

// Derives the chain key from a device salt (kSaltSize bytes, else
// INVALID_ARGUMENT).
absl::StatusOr<kms::SecretBytes> DeriveChainKey(const kms::SecretBytes& salt);

// The last line of a chain: what must come next is seq + 1 with prev = hmac.
struct ChainHead {
  uint64_t seq = 0;
  std::string hmac_hex;  // 64 zeros when seq == 0 (nothing written yet)
};

// Hex string of 64 zeros: "prev" of the first line of a segment.
const std::string& ZeroHmacHex();

// Builds one complete line (with '\n') from `head` and `members_json` (a
// compact JSON object, e.g. from EntryToJson; its members follow "seq" and
// "prev"). Returns the line and sets `*next` to the head after it.
std::string SealLine(const kms::SecretBytes& chain_key, const ChainHead& head,
                     std::string_view members_json, ChainHead* next);

// A line whose MAC verified, split into the members the chain needs.
struct CheckedLine {
  uint64_t seq = 0;
  std::string prev_hex;
  std::string hmac_hex;
  std::string type;
};

// Checks one line (without its '\n'): trailing hmac member, MAC, and that the
// body is a JSON object with "seq", "prev" and "type". Does not check its
// place in the chain. INVALID_ARGUMENT / DATA_LOSS with a reason otherwise.
absl::StatusOr<CheckedLine> CheckLine(const kms::SecretBytes& chain_key,
                                      std::string_view line);

// Result of verifying a chain.
struct VerifyResult {
  bool ok = false;
  // Complete lines that verified, in order (all of them when ok).
  uint64_t lines = 0;
  // 1-based number of the first broken, missing or reordered line; 0 if the
  // failure is not about a line (unreadable file, bad salt) or ok.
  uint64_t first_bad_line = 0;
  std::string reason;
  // Head of the last verified line.
  ChainHead head;
};

// Incremental verifier: feed a file's bytes in any chunking, then Finish.
// Stops at the first bad line. Not thread-safe; one per file.
class ChainVerifier {
 public:
  // INVALID_ARGUMENT if `salt` is not kSaltSize bytes.
  static absl::StatusOr<ChainVerifier> Create(const kms::SecretBytes& salt);

  ChainVerifier(ChainVerifier&&) = default;
  ChainVerifier& operator=(ChainVerifier&&) = default;

  void Update(std::string_view data);

  // Ends the input. A final line without '\n' is a truncated (bad) line. If
  // `expected_head` is given (the device's live head), a file that ends
  // before it is reported as missing its last lines.
  VerifyResult Finish(const std::optional<ChainHead>& expected_head = {});

 private:
  explicit ChainVerifier(kms::SecretBytes chain_key);
  void ProcessLine(std::string_view line);
  void Fail(uint64_t line, std::string reason);

  kms::SecretBytes chain_key_;
  std::string pending_;  // bytes of the current, incomplete line
  bool failed_ = false;
  VerifyResult result_;
};

// Verifies the whole file at `path` with the device salt. See ChainVerifier.
VerifyResult Verify(const std::string& path, const kms::SecretBytes& salt,
                    const std::optional<ChainHead>& expected_head = {});

}  // namespace arca::audit

#endif  // ARCA_SERVER_AUDIT_CHAIN_H_
