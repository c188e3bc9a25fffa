#ifndef ARCA_SERVER_AUTH_LOGIN_H_
#define ARCA_SERVER_AUTH_LOGIN_H_

// What a successful login method (Kubernetes, AppRole) hands to the token
// store, and the interface the token store offers login methods.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kms/secret_bytes.h"

namespace arca::auth {

// The parameters of the token to issue after a login. Contains no secret.
struct LoginGrant {
  // Policy names from the role (the token store adds "default").
  std::vector<std::string> policies;
  absl::Duration ttl = absl::ZeroDuration();      // 0: store default
  absl::Duration max_ttl = absl::ZeroDuration();  // 0: no cap from the role
  // Shown on token lookup and in audit lines, e.g. "kubernetes-ns-sa".
  std::string display_name;
  // Non-secret facts about the login (role, namespace, accessor, ...).
  std::map<std::string, std::string> metadata;
};

// A token issued for a login, returned to the caller once.
struct IssuedToken {
  kms::SecretBytes token;
  std::string accessor;
  // The token's policies: the grant's plus "default".
  std::vector<std::string> policies;
  absl::Duration ttl = absl::ZeroDuration();  // 0: does not expire
};

// LoginIssuer turns a LoginGrant into a real token (an orphan token: logins
// have no parent). Implemented by the core's token store; the login RPC
// adapters call it after Kubernetes/AppRole Login succeeds. Implementations
// must be thread-safe.
class LoginIssuer {
 public:
  virtual ~LoginIssuer() = default;
  virtual absl::StatusOr<IssuedToken> IssueLoginToken(
      const LoginGrant& grant) = 0;
};

// INVALID_ARGUMENT unless `name` is 1..128 characters of [a-z0-9_-]. Role
// names appear in storage paths and messages.
absl::Status ValidateRoleName(std::string_view name);

}  // namespace arca::auth

#endif  // ARCA_SERVER_AUTH_LOGIN_H_
