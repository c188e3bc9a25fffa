#ifndef ARCA_SERVER_AUTH_APPROLE_H_
#define ARCA_SERVER_AUTH_APPROLE_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kms/secret_bytes.h"
#include "server/auth/login.h"
#include "server/auth/login_records.pb.h"
#include "server/barrier/barrier.h"

namespace arca::auth {

// Options of one new secret_id; zero values take the role's defaults.
struct SecretIdOptions {
  absl::Duration ttl = absl::ZeroDuration();
  int num_uses = 0;
  // Narrows where this secret_id may log in from (on top of the role's).
  std::vector<std::string> cidrs;
  std::map<std::string, std::string> metadata;
};

// A secret_id, returned once when generated.
struct GeneratedSecretId {
  kms::SecretBytes secret_id;  // "<43 base64url characters>" (32 bytes)
  std::string accessor;        // 32 hex characters, not secret
  absl::Time expiry;           // InfiniteFuture when it never expires
};

// What an operator may see of a secret_id (never the secret_id itself).
struct SecretIdInfo {
  std::string accessor;
  absl::Time created;
  absl::Time expiry;
  int uses_left = 0;  // 0: unlimited
  std::vector<std::string> cidrs;
  std::map<std::string, std::string> metadata;
};

// AppRoleAuth is the AppRole login method: a machine logs in with a role_id
// (which role, semi-public) and a secret_id (the credential, single- or
// limited-use, with a TTL, optionally bound to CIDRs).
//
// Neither role_ids nor secret_ids are stored in clear: storage paths hold
// HMAC-SHA256 of them under a random per-mount key kept in the barrier.
// Storage (inside the View):
//   hmac-key                        32 random bytes
//   role/<name>                     AppRoleRole
//   role-id/<hmac(role_id)>         role name
//   secret-id/<name>/<hmac(sid)>    AppRoleSecretId
//   accessor/<accessor>             AppRoleAccessor
// Thread-safe: writes and logins are serialized by one mutex, so a
// single-use secret_id logs in at most once. The View's barrier must
// outlive this object.
class AppRoleAuth {
 public:
  explicit AppRoleAuth(barrier::View view,
                       std::function<absl::Time()> now = absl::Now);

  // Creates or updates a role; a new role gets a random role_id, an
  // existing one keeps its own. INVALID_ARGUMENT for a bad name, policy,
  // CIDR or TTL.
  absl::Status WriteRole(std::string_view name, const AppRoleRole& role);
  absl::StatusOr<AppRoleRole> ReadRole(std::string_view name);
  absl::StatusOr<std::vector<std::string>> ListRoles();
  // Deletes the role with all its secret_ids. NOT_FOUND if absent.
  absl::Status DeleteRole(std::string_view name);
  absl::StatusOr<std::string> RoleId(std::string_view name);

  // A new secret_id for role `name`.
  absl::StatusOr<GeneratedSecretId> GenerateSecretId(
      std::string_view name, const SecretIdOptions& options);
  // Accessors of the role's live secret_ids, sorted.
  absl::StatusOr<std::vector<std::string>> ListSecretIdAccessors(
      std::string_view name);
  // NOT_FOUND unless `accessor` names a live secret_id of role `name`: an
  // accessor of another role is treated as unknown.
  absl::StatusOr<SecretIdInfo> LookupSecretIdByAccessor(
      std::string_view name, std::string_view accessor);
  absl::Status DestroySecretIdByAccessor(std::string_view name,
                                         std::string_view accessor);
  // Deletes every expired secret_id of every role; returns how many.
  absl::StatusOr<int> TidyExpiredSecretIds();

  // Wipes the cached HMAC key (call on seal; it is reloaded on next use).
  void Clear();

  // Logs in from `remote_address` (an IP address; anything else fails CIDR
  // checks). PERMISSION_DENIED for an unknown role_id or secret_id (one
  // message for both), an expired or used-up secret_id, or a source address
  // outside the bound CIDRs. Neither credential appears in a message.
  absl::StatusOr<LoginGrant> Login(std::string_view role_id,
                                   const kms::SecretBytes& secret_id,
                                   std::string_view remote_address);

 private:
  absl::StatusOr<std::string> Hmac(std::string_view data)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<AppRoleRole> ReadRoleLocked(std::string_view name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status DeleteSecretIdLocked(std::string_view name,
                                    const std::string& hmac,
                                    const std::string& accessor)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::pair<std::string, AppRoleSecretId>> FindByAccessorLocked(
      std::string_view name, std::string_view accessor)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  barrier::View view_;
  std::function<absl::Time()> now_;
  absl::Mutex mu_;
  std::optional<kms::SecretBytes> hmac_key_ ABSL_GUARDED_BY(mu_);
};

}  // namespace arca::auth

#endif  // ARCA_SERVER_AUTH_APPROLE_H_
