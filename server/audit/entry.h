#ifndef ARCA_SERVER_AUDIT_ENTRY_H_
#define ARCA_SERVER_AUDIT_ENTRY_H_

#include <map>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "kms/secret_bytes.h"

namespace arca::audit {

// Size of a device salt: the HMAC key for sensitive values, from which the
// chain key is derived (see chain.h).
inline constexpr size_t kSaltSize = 32;

// Prefix of every hashed sensitive value in a line.
inline constexpr std::string_view kHashPrefix = "hmac-sha256:";

// One payload value. Sensitive values (secret values, tokens, shares, secret
// ids, plaintexts) are written only as HashForAudit(salt, value).
struct Field {
  std::string value;
  bool sensitive = false;

  static Field Clear(std::string v) { return Field{std::move(v), false}; }
  static Field Sensitive(std::string v) { return Field{std::move(v), true}; }
};

// The authorization decision recorded for a request.
struct Decision {
  bool allowed = false;
  // The policy that decided (granted or denied), e.g. "kv-readers"; "root"
  // for the root token; empty if no policy matched (denied by default).
  std::string policy;
};

// What the core records for one request or response. Plain data, filled by
// the core; a device turns it into one line (see file_device.h for the
// format). Only `payload` values flagged sensitive are hashed: every other
// member is written in clear, so the core must put nothing secret there (the
// token itself goes in the payload as sensitive, its accessor - an
// identifier that cannot authenticate - goes in `token_accessor`).
struct Entry {
  enum class Kind { kRequest, kResponse };

  Kind kind = Kind::kRequest;
  absl::Time time = absl::UnixEpoch();
  std::string request_id;
  std::string operation;  // e.g. "kv.get"
  std::string path;       // resource path checked against the ACL
  std::string token_accessor;
  Decision decision;
  // Canonical status code name ("OK", "PERMISSION_DENIED"); empty on
  // request entries written before the engine ran.
  std::string status;
  std::string remote_address;
  // Request fields (for kRequest) or response fields (for kResponse).
  std::map<std::string, Field> payload;
};

// "hmac-sha256:" + lowercase hex of HMAC-SHA256(salt, value). This is the
// exact string a device writes for a sensitive `value`, so an operator who
// knows a value can find the lines that carry it (`arca audit hash VALUE`).
// Thread-safe.
std::string HashForAudit(const kms::SecretBytes& salt, std::string_view value);

// RFC 3339 in UTC with a "Z" suffix and only the fractional digits needed,
// e.g. "2026-12-03T19:26:10.123Z": the "time" member of every line.
std::string FormatAuditTime(absl::Time t);

// "request" or "response".
std::string_view KindName(Entry::Kind kind);

// The entry's members as a compact JSON object (no chain members): what a
// device places after "seq" and "prev". Sensitive payload values are hashed
// with `salt`; strings that are not valid UTF-8 have the invalid bytes
// replaced by U+FFFD. Member order is fixed (see file_device.h).
std::string EntryToJson(const Entry& entry, const kms::SecretBytes& salt);

}  // namespace arca::audit

#endif  // ARCA_SERVER_AUDIT_ENTRY_H_
