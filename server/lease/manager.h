#ifndef ARCA_SERVER_LEASE_MANAGER_H_
#define ARCA_SERVER_LEASE_MANAGER_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/barrier/barrier.h"
#include "server/lease/lease_records.pb.h"

namespace arca::lease {

// What a caller asks for when it registers a lease.
struct LeaseSpec {
  std::string kind;   // a revoker registered with RegisterRevoker
  std::string data;   // passed back to the revoker
  std::string owner;  // hex id hash of the creating token; "" for none
  absl::Duration ttl = absl::ZeroDuration();      // > 0
  absl::Duration max_ttl = absl::ZeroDuration();  // 0: no cap
  bool renewable = true;
};

// Manager is the expiration manager: it persists leases, renews them,
// revokes them (by id, by owning token, or when they expire) through
// revokers that engines register per lease kind, and retries failed
// revocations with exponential backoff until it gives up and marks the
// lease irrevocable.
//
// Storage layout under its view:
//   entry/<id>                    LeaseEntry
//   expiry/<16-digit ms>.<id>     "" (the expiry index, sorted by time)
//   owner/<owner>/<id>            ""
// ExpireDue walks the expiry index in key order and stops at the first
// entry in the future; between scans only the earliest due time is kept
// in memory, so idle ticks cost nothing and no lease is loaded until due.
// Thread-safe. Revokers are called without the manager's lock held, so a
// revoker may call back into the manager.
class Manager {
 public:
  using Revoker = std::function<absl::Status(const LeaseEntry&)>;
  // Called by Renew with the lease as it will be stored (new expiry), before
  // it is stored; an error leaves the lease as it was. Lets an engine extend
  // what the lease stands for (a database login's VALID UNTIL).
  using Renewer = std::function<absl::Status(const LeaseEntry&)>;
  // After this many failed background attempts a lease is marked
  // irrevocable.
  static constexpr int kMaxRevokeAttempts = 8;
  // How often the background loop still retries an irrevocable lease, so
  // it goes once its dependency is back.
  static constexpr absl::Duration kIrrevocableRetryInterval = absl::Hours(1);

  explicit Manager(barrier::View view) : view_(std::move(view)) {}

  // Registers the revoker for `kind`; call before the first Register.
  void RegisterRevoker(std::string kind, Revoker revoker);

  // Registers the renew hook for `kind` (optional; none: renewal only
  // changes the lease record).
  void RegisterRenewer(std::string kind, Renewer renewer);

  // INVALID_ARGUMENT for an unknown kind or a non-positive ttl.
  absl::StatusOr<LeaseEntry> Register(const LeaseSpec& spec);
  // NOT_FOUND if there is no such lease.
  absl::StatusOr<LeaseEntry> Lookup(std::string_view id) const;
  // Extends the lease to now + `increment` (its original ttl if zero),
  // capped by its max. FAILED_PRECONDITION if it is not renewable. If the
  // kind's renew hook fails, its error is returned and nothing changes.
  absl::StatusOr<LeaseEntry> Renew(std::string_view id,
                                   absl::Duration increment);
  // Calls the lease's revoker, then deletes its records. On a revoker
  // failure the lease stays, is scheduled for a background retry, and the
  // error is returned: FAILED_PRECONDITION if the revoker's was (its system
  // refused), otherwise UNAVAILABLE. Only background attempts (ExpireDue)
  // count towards kMaxRevokeAttempts: a client retrying in a tight loop
  // during a short outage must not make a lease irrevocable.
  absl::Status Revoke(std::string_view id);
  // Deletes the lease's records without calling its revoker (the caller
  // has already done what the revoker would do).
  absl::Status Forget(std::string_view id);
  // Revokes every lease `owner` created. Returns the first error after
  // trying them all.
  absl::Status RevokeByOwner(std::string_view owner);
  std::vector<std::string> ListByOwner(std::string_view owner) const;

  // Revokes every lease whose expiry is at or before `now` and whose retry
  // backoff has elapsed. Returns how many were revoked.
  int ExpireDue(absl::Time now);

  // Forgets retry state (on seal).
  void Clear();

 private:
  absl::Status Store(const LeaseEntry& entry, const LeaseEntry* old);
  absl::Status Erase(const LeaseEntry& entry);
  absl::Status RevokeAttempt(std::string_view id, bool background);
  void NoteFailure(LeaseEntry entry, const absl::Status& error,
                   bool background);

  barrier::View view_;
  mutable absl::Mutex mu_;
  std::map<std::string, Revoker, std::less<>> revokers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Renewer, std::less<>> renewers_ ABSL_GUARDED_BY(mu_);
  // Lease id -> earliest time of the next revocation attempt.
  absl::flat_hash_map<std::string, absl::Time> retry_at_ ABSL_GUARDED_BY(mu_);
  // Nothing in the index is due before this, so ExpireDue can skip the
  // index scan. Lowered by every write; InfinitePast forces a scan.
  absl::Time next_due_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace arca::lease

#endif  // ARCA_SERVER_LEASE_MANAGER_H_
