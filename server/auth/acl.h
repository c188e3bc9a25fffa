#ifndef ARCA_SERVER_AUTH_ACL_H_
#define ARCA_SERVER_AUTH_ACL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "server/auth/policy.h"

namespace arca::auth {

// The outcome of one check, with the rule that decided it so that
// `arca policy explain` can show it. When nothing matched, `policy` and
// `pattern` are empty.
struct Decision {
  bool allowed = false;
  std::string policy;
  std::string pattern;
  std::string reason;
};

// Acl answers "may a token holding these policies do `capability` on
// `path`?". Built once from a token's named policies and immutable after
// that, so one instance may be shared by any number of threads.
//
// Decision rule (docs/policies.md): collect every rule, in every policy,
// whose pattern matches the path. If any of them has `deny`, the request is
// denied. Otherwise it is allowed iff `capability` is in the union of their
// capabilities. No match, no access. The policy named "root" allows every
// request outright. The rule reported in a Decision is the highest-priority
// matching rule that carries the deciding capability, by the ordering in
// docs/policies.md; it never changes the outcome.
//
// Paths must be canonical: non-empty, no leading '/', no empty, "." or ".."
// segment (a trailing '/' is fine). Anything else is denied.
class Acl {
 public:
  // INVALID_ARGUMENT for a duplicate or malformed policy name, an invalid
  // policy, or a policy named "root" whose rules differ from RootPolicy().
  static absl::StatusOr<std::unique_ptr<Acl>> New(
      std::vector<std::pair<std::string, Policy>> policies);

  Acl(const Acl&) = delete;
  Acl& operator=(const Acl&) = delete;
  ~Acl();

  // The decision and its explanation. Allocates only for the result.
  Decision Check(std::string_view path, Capability capability) const;
  // Same outcome as Check(...).allowed, without allocating.
  bool Allowed(std::string_view path, Capability capability) const;

 private:
  static constexpr uint32_t kNone = UINT32_MAX;

  // All rules of all policies that share one pattern. entries_ is sorted
  // by pattern priority, so an entry's index is its rank (lower wins).
  struct Entry {
    std::string pattern;
    // For each capability, the policy (index into names_, which is sorted)
    // with the lowest name among those granting it here; kNone if none.
    uint32_t best[kNumCapabilities];
    uint32_t first_policy = kNone;  // lowest policy name with this pattern
  };
  // Trie over the characters of '*' patterns without '+'.
  struct CharNode {
    std::vector<std::pair<char, uint32_t>> kids;  // sorted by char
    uint32_t entry = kNone;
  };
  // Trie over the segments of patterns containing '+'.
  struct SegNode {
    absl::flat_hash_map<std::string, uint32_t> kids;
    uint32_t plus = kNone;   // child for a '+' segment
    uint32_t entry = kNone;  // a pattern without '*' ends here
    // '*' patterns whose full segments end here: (last partial segment,
    // entry); they match if the rest of the path starts with it.
    std::vector<std::pair<std::string, uint32_t>> globs;
  };
  // The best candidates found so far, as (entry, policy) pairs.
  struct Match {
    uint32_t deny_entry = kNone, deny_policy = kNone;
    uint32_t grant_entry = kNone, grant_policy = kNone;
    uint32_t any_entry = kNone, any_policy = kNone;
  };

  Acl() = default;
  void AddPattern(const std::string& pattern, uint32_t entry);
  // Visits every matching entry; no allocation for typical policies.
  void Collect(std::string_view path, Capability capability, Match& m) const;

  std::vector<std::string> names_;  // sorted
  bool root_ = false;
  std::vector<Entry> entries_;
  absl::flat_hash_map<std::string, uint32_t> exact_;
  std::vector<CharNode> chars_;  // [0] is the root
  std::vector<SegNode> segs_;    // [0] is the root
};

}  // namespace arca::auth

#endif  // ARCA_SERVER_AUTH_ACL_H_
