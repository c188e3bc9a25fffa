#ifndef ARCA_SERVER_CORE_POLICY_STORE_H_
#define ARCA_SERVER_CORE_POLICY_STORE_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/auth/acl.h"
#include "server/barrier/barrier.h"

namespace arca::core {

// PolicyStore keeps named policy documents in the barrier ("<name>" under
// its view, a PolicyRecord holding the validated JSON) and builds the ACL
// for a set of policy names, caching one Acl per distinct set until a
// policy changes. "root" is built in and immutable; "default" is built in
// and may be overwritten but not deleted. A token naming a policy that
// does not exist simply gets nothing from it. Thread-safe.
class PolicyStore {
 public:
  explicit PolicyStore(barrier::View view) : view_(std::move(view)) {}

  // INVALID_ARGUMENT for a bad name or document (policy.h limits apply).
  absl::Status Write(std::string_view name, std::string_view json);
  // The document; NOT_FOUND if there is none.
  absl::StatusOr<std::string> Read(std::string_view name);
  // Every name, built-ins included, sorted.
  absl::StatusOr<std::vector<std::string>> List();
  // NOT_FOUND if absent; INVALID_ARGUMENT for "root" and "default".
  absl::Status Delete(std::string_view name);

  // The ACL of a token holding `names` (order and duplicates ignored).
  absl::StatusOr<std::shared_ptr<const auth::Acl>> AclFor(
      const std::vector<std::string>& names);

  // Drops cached ACLs (on seal).
  void Clear();

 private:
  absl::StatusOr<std::optional<auth::Policy>> Get(std::string_view name);

  barrier::View view_;
  absl::Mutex mu_;
  std::map<std::vector<std::string>, std::shared_ptr<const auth::Acl>> acls_
      ABSL_GUARDED_BY(mu_);
  // Bumped by every change, so an ACL built from documents read before a
  // concurrent write is never cached.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace arca::core

#endif  // ARCA_SERVER_CORE_POLICY_STORE_H_
