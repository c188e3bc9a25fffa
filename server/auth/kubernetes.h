#ifndef ARCA_SERVER_AUTH_KUBERNETES_H_
#define ARCA_SERVER_AUTH_KUBERNETES_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/auth/jwt.h"
#include "server/auth/login.h"
#include "server/auth/login_records.pb.h"
#include "server/barrier/barrier.h"

namespace arca::auth {

// KubernetesAuth is the Kubernetes login method: a pod presents its
// service-account JWT (projected or legacy), which is verified against the
// configured issuer keys (RS256/ES256), issuer and audience, and its service
// account is matched against a role's bound names and namespaces.
//
// Storage (all inside the View, so encrypted by the barrier):
//   config        KubernetesConfig
//   role/<name>   KubernetesRole
// Owns a cache of the parsed keys, rebuilt when the config changes.
// Thread-safe. The View's barrier must outlive this object.
class KubernetesAuth {
 public:
  explicit KubernetesAuth(barrier::View view,
                          std::function<absl::Time()> now = absl::Now);

  // INVALID_ARGUMENT unless issuer and audience are set and at least one
  // key is given, every PEM key and the JWKS parse, and the whole config is
  // under 1 MiB.
  absl::Status WriteConfig(const KubernetesConfig& config);
  // NOT_FOUND before the first WriteConfig.
  absl::StatusOr<KubernetesConfig> ReadConfig() const;

  // INVALID_ARGUMENT for a bad role name, empty bound names or namespaces,
  // "*" for both, a bad policy name, or negative/inconsistent TTLs.
  absl::Status WriteRole(std::string_view name, const KubernetesRole& role);
  absl::StatusOr<KubernetesRole> ReadRole(std::string_view name) const;
  absl::StatusOr<std::vector<std::string>> ListRoles() const;
  // NOT_FOUND if there is no such role.
  absl::Status DeleteRole(std::string_view name);

  // Verifies `jwt` for `role`. PERMISSION_DENIED with the reason (unknown
  // role, any JwtRefusal, no service-account claims, namespace or name not
  // bound); FAILED_PRECONDITION before the method is configured. The JWT
  // never appears in a message.
  absl::StatusOr<LoginGrant> Login(std::string_view role,
                                   std::string_view jwt);

  // Drops the parsed keys (call on seal; they are reloaded on next use).
  void Clear();

 private:
  // The verifier for the current config, parsed once per config change.
  struct Verifier {
    JwtKeySet keys;
    JwtVerifyOptions options;
  };
  absl::StatusOr<std::shared_ptr<const Verifier>> LoadVerifier();

  barrier::View view_;
  std::function<absl::Time()> now_;
  absl::Mutex mu_;
  std::string cached_config_ ABSL_GUARDED_BY(mu_);  // serialized
  std::shared_ptr<const Verifier> verifier_ ABSL_GUARDED_BY(mu_);
};

}  // namespace arca::auth

#endif  // ARCA_SERVER_AUTH_KUBERNETES_H_
