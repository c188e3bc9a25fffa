#ifndef ARCA_SERVER_AUTH_POLICY_H_
#define ARCA_SERVER_AUTH_POLICY_H_

// Policy documents: parsing, validation and the built-in policies.
//
// A policy is JSON in protobuf's JSON mapping of arca.auth.Policy:
//   {"path": {"kv/data/app/*": {"capabilities": ["read", "list"]},
//             "kv/data/+/config": {"capabilities": ["read"]},
//             "kv/data/app/admin": {"capabilities": ["deny"]}}}
// Pattern syntax: '/'-separated segments; a '+' segment matches exactly one
// non-empty path segment; a '*' as the very last character turns the pattern
// into a prefix match. How patterns combine into a decision is described in
// acl.h and docs/policies.md. Policies are not secret, so error messages
// quote the offending pattern or capability.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/auth/policy.pb.h"

namespace arca::auth {

enum class Capability : uint8_t {
  kCreate,
  kRead,
  kUpdate,
  kDelete,
  kList,
  kSudo,
  kDeny,
};
inline constexpr int kNumCapabilities = 7;

// One bit per Capability, bit i for the enumerator with value i.
using CapabilitySet = uint8_t;
constexpr CapabilitySet CapabilityBit(Capability c) {
  return static_cast<CapabilitySet>(1u << static_cast<unsigned>(c));
}

// The lowercase name used in policy documents ("read", "deny", ...).
std::string_view CapabilityName(Capability c);
// Case-sensitive inverse of CapabilityName; INVALID_ARGUMENT otherwise.
absl::StatusOr<Capability> ParseCapability(std::string_view name);

// Limits checked on the raw text before protobuf sees it.
inline constexpr size_t kMaxPolicyBytes = size_t{1} << 20;  // 1 MiB
inline constexpr int kMaxPolicyDepth = 64;  // nested objects/arrays

// INVALID_ARGUMENT if `json` is longer than kMaxPolicyBytes or has objects
// and arrays nested deeper than kMaxPolicyDepth (brackets inside strings do
// not count). Does not check that `json` is well-formed.
absl::Status CheckJsonLimits(std::string_view json);

// Parses and validates a policy document. INVALID_ARGUMENT for oversized or
// too deeply nested input, malformed JSON, unknown fields, and any pattern
// or capability that ValidatePolicy rejects.
absl::StatusOr<Policy> ParsePolicy(std::string_view json);

// The document form of `policy` (protobuf JSON mapping).
absl::StatusOr<std::string> PolicyToJson(const Policy& policy);

// INVALID_ARGUMENT naming the pattern if it is empty, starts with '/', has
// an empty, "." or ".." segment before its end, a '*' anywhere but last, a
// '+' that is not a whole segment, or a control character.
absl::Status ValidatePattern(std::string_view pattern);

// Every pattern valid, every rule with at least one known capability.
absl::Status ValidatePolicy(const Policy& policy);

// Names users may create, update or delete: 1..128 characters of
// [a-z0-9_-], and not "root" (which is built in and immutable).
absl::Status ValidateName(std::string_view name);

inline constexpr std::string_view kRootPolicyName = "root";
inline constexpr std::string_view kDefaultPolicyName = "default";

// Everything, including sudo, on every path ("*").
Policy RootPolicy();
// What every token gets: look itself up, renew and revoke itself.
Policy DefaultPolicy();

}  // namespace arca::auth

#endif  // ARCA_SERVER_AUTH_POLICY_H_
