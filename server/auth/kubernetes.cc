#include "server/auth/kubernetes.h"

#include <algorithm>
#include <utility>

#include "kms/status_macros.h"
#include "server/auth/policy.h"

namespace arca::auth {
namespace {

constexpr char kConfigPath[] = "config";
constexpr char kRolePrefix[] = "role/";
constexpr size_t kMaxConfigBytes = size_t{1} << 20;

absl::Status Denied(const std::string& reason) {
  return absl::PermissionDeniedError("kubernetes login refused: " + reason);
}

bool Bound(const google::protobuf::RepeatedPtrField<std::string>& bound,
           const std::string& value) {
  return std::any_of(bound.begin(), bound.end(), [&](const std::string& b) {
    return b == "*" || b == value;
  });
}

absl::Status ValidateBoundList(
    const google::protobuf::RepeatedPtrField<std::string>& list,
    const char* what) {
  if (list.empty()) {
    return absl::InvalidArgumentError(
        std::string(what) + " must list at least one entry (or \"*\")");
  }
  for (const std::string& entry : list) {
    if (entry.empty() || entry.size() > 253) {
      return absl::InvalidArgumentError(std::string(what) +
                                        " entries must be 1..253 characters");
    }
  }
  return absl::OkStatus();
}

// The service account of a verified token: the projected-token claim
// "kubernetes.io" when present, else the legacy secret-token claims.
struct ServiceAccount {
  std::string namespace_name;
  std::string name;
  std::string uid;
  std::string pod;
};

std::optional<std::string> StringAt(const nlohmann::json& obj,
                                    const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

absl::StatusOr<ServiceAccount> ServiceAccountOf(const nlohmann::json& claims) {
  ServiceAccount sa;
  auto k8s = claims.find("kubernetes.io");
  if (k8s != claims.end() && k8s->is_object()) {
    auto ns = StringAt(*k8s, "namespace");
    auto account = k8s->find("serviceaccount");
    if (ns && account != k8s->end() && account->is_object()) {
      sa.namespace_name = *ns;
      sa.name = StringAt(*account, "name").value_or("");
      sa.uid = StringAt(*account, "uid").value_or("");
    }
    auto pod = k8s->find("pod");
    if (pod != k8s->end() && pod->is_object()) {
      sa.pod = StringAt(*pod, "name").value_or("");
    }
  } else {
    sa.namespace_name =
        StringAt(claims, "kubernetes.io/serviceaccount/namespace").value_or("");
    sa.name =
        StringAt(claims, "kubernetes.io/serviceaccount/service-account.name")
            .value_or("");
    sa.uid =
        StringAt(claims, "kubernetes.io/serviceaccount/service-account.uid")
            .value_or("");
  }
  if (sa.namespace_name.empty() || sa.name.empty()) {
    return Denied("the token carries no service-account claims");
  }
  // "sub" must name the same account, so the claims cannot disagree.
  const std::string want_sub =
      "system:serviceaccount:" + sa.namespace_name + ":" + sa.name;
  if (StringAt(claims, "sub") != want_sub) {
    return Denied("the token's subject does not match its service account");
  }
  return sa;
}

absl::StatusOr<std::string> Serialize(const google::protobuf::Message& m) {
  std::string out;
  if (!m.SerializeToString(&out))
    return absl::InternalError("serialize failed");
  return out;
}

template <typename T>
absl::StatusOr<T> ParseRecord(const std::string& bytes, const char* what) {
  T record;
  if (!record.ParseFromString(bytes)) {
    return absl::DataLossError(std::string("corrupt kubernetes ") + what);
  }
  return record;
}

}  // namespace

KubernetesAuth::KubernetesAuth(barrier::View view,
                               std::function<absl::Time()> now)
    : view_(std::move(view)), now_(std::move(now)) {}

absl::Status KubernetesAuth::WriteConfig(const KubernetesConfig& config) {
  if (config.ByteSizeLong() > kMaxConfigBytes) {
    return absl::InvalidArgumentError("kubernetes config is over 1 MiB");
  }
  if (config.issuer().empty()) {
    return absl::InvalidArgumentError("kubernetes config needs an issuer");
  }
  if (config.audience().empty()) {
    return absl::InvalidArgumentError("kubernetes config needs an audience");
  }
  if (config.pem_keys().empty() && config.jwks().empty()) {
    return absl::InvalidArgumentError(
        "kubernetes config needs signing keys (PEM or JWKS)");
  }
  for (const std::string& pem : config.pem_keys()) {
    ASSIGN_OR_RETURN(JwtKeySet ignored, JwtKeySet::FromPem(pem));
    (void)ignored;
  }
  if (!config.jwks().empty()) {
    ASSIGN_OR_RETURN(JwtKeySet ignored, JwtKeySet::FromJwks(config.jwks()));
    (void)ignored;
  }
  ASSIGN_OR_RETURN(std::string bytes, Serialize(config));
  return view_.Put(kConfigPath, bytes);
}

absl::StatusOr<KubernetesConfig> KubernetesAuth::ReadConfig() const {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, view_.Get(kConfigPath));
  if (!bytes.has_value()) {
    return absl::NotFoundError("kubernetes login is not configured");
  }
  return ParseRecord<KubernetesConfig>(*bytes, "config");
}

absl::Status KubernetesAuth::WriteRole(std::string_view name,
                                       const KubernetesRole& role) {
  RETURN_IF_ERROR(ValidateRoleName(name));
  RETURN_IF_ERROR(ValidateBoundList(role.bound_service_account_names(),
                                    "bound_service_account_names"));
  RETURN_IF_ERROR(ValidateBoundList(role.bound_service_account_namespaces(),
                                    "bound_service_account_namespaces"));
  auto is_star = [](const auto& list) {
    return std::find(list.begin(), list.end(), "*") != list.end();
  };
  if (is_star(role.bound_service_account_names()) &&
      is_star(role.bound_service_account_namespaces())) {
    return absl::InvalidArgumentError(
        "bound_service_account_names and bound_service_account_namespaces "
        "cannot both be \"*\": that role would admit every pod");
  }
  for (const std::string& policy : role.policies()) {
    if (policy != kDefaultPolicyName) RETURN_IF_ERROR(ValidateName(policy));
  }
  if (role.token_ttl_seconds() < 0 || role.token_max_ttl_seconds() < 0) {
    return absl::InvalidArgumentError("token TTLs must not be negative");
  }
  if (role.token_max_ttl_seconds() > 0 &&
      role.token_ttl_seconds() > role.token_max_ttl_seconds()) {
    return absl::InvalidArgumentError("token_ttl exceeds token_max_ttl");
  }
  ASSIGN_OR_RETURN(std::string bytes, Serialize(role));
  return view_.Put(kRolePrefix + std::string(name), bytes);
}

absl::StatusOr<KubernetesRole> KubernetesAuth::ReadRole(
    std::string_view name) const {
  RETURN_IF_ERROR(ValidateRoleName(name));
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   view_.Get(kRolePrefix + std::string(name)));
  if (!bytes.has_value()) {
    return absl::NotFoundError("no kubernetes role named " + std::string(name));
  }
  return ParseRecord<KubernetesRole>(*bytes, "role");
}

absl::StatusOr<std::vector<std::string>> KubernetesAuth::ListRoles() const {
  return view_.List(kRolePrefix);
}

absl::Status KubernetesAuth::DeleteRole(std::string_view name) {
  RETURN_IF_ERROR(ReadRole(name).status());
  return view_.Delete(kRolePrefix + std::string(name));
}

void KubernetesAuth::Clear() {
  absl::MutexLock lock(&mu_);
  verifier_.reset();
  cached_config_.clear();
}

absl::StatusOr<std::shared_ptr<const KubernetesAuth::Verifier>>
KubernetesAuth::LoadVerifier() {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, view_.Get(kConfigPath));
  if (!bytes.has_value()) {
    return absl::FailedPreconditionError("kubernetes login is not configured");
  }
  absl::MutexLock lock(&mu_);
  if (verifier_ != nullptr && cached_config_ == *bytes) return verifier_;
  ASSIGN_OR_RETURN(KubernetesConfig config,
                   ParseRecord<KubernetesConfig>(*bytes, "config"));
  auto verifier = std::make_shared<Verifier>();
  for (const std::string& pem : config.pem_keys()) {
    ASSIGN_OR_RETURN(JwtKeySet keys, JwtKeySet::FromPem(pem));
    verifier->keys.Add(keys);
  }
  if (!config.jwks().empty()) {
    ASSIGN_OR_RETURN(JwtKeySet keys, JwtKeySet::FromJwks(config.jwks()));
    verifier->keys.Add(keys);
  }
  verifier->options.issuer = config.issuer();
  verifier->options.audience = config.audience();
  cached_config_ = *std::move(bytes);
  verifier_ = std::move(verifier);
  return verifier_;
}

absl::StatusOr<LoginGrant> KubernetesAuth::Login(std::string_view role_name,
                                                 std::string_view jwt) {
  ASSIGN_OR_RETURN(std::shared_ptr<const Verifier> verifier, LoadVerifier());
  if (!ValidateRoleName(role_name).ok()) return Denied("no such role");
  absl::StatusOr<KubernetesRole> role = ReadRole(role_name);
  if (absl::IsNotFound(role.status())) {
    return Denied("no role named " + std::string(role_name));
  }
  if (!role.ok()) return role.status();

  JwtVerifyOptions options = verifier->options;
  options.now = now_();
  absl::StatusOr<VerifiedJwt> token = VerifyJwt(jwt, verifier->keys, options);
  if (!token.ok()) {
    return absl::PermissionDeniedError("kubernetes login refused: " +
                                       std::string(token.status().message()));
  }
  ASSIGN_OR_RETURN(ServiceAccount sa, ServiceAccountOf(token->payload));
  if (!Bound(role->bound_service_account_namespaces(), sa.namespace_name)) {
    return Denied("namespace \"" + sa.namespace_name +
                  "\" is not bound to role \"" + std::string(role_name) + "\"");
  }
  if (!Bound(role->bound_service_account_names(), sa.name)) {
    return Denied("service account \"" + sa.name +
                  "\" is not bound to role \"" + std::string(role_name) + "\"");
  }

  LoginGrant grant;
  grant.policies.assign(role->policies().begin(), role->policies().end());
  std::sort(grant.policies.begin(), grant.policies.end());
  grant.policies.erase(
      std::unique(grant.policies.begin(), grant.policies.end()),
      grant.policies.end());
  grant.ttl = absl::Seconds(role->token_ttl_seconds());
  grant.max_ttl = absl::Seconds(role->token_max_ttl_seconds());
  grant.display_name = "kubernetes-" + sa.namespace_name + "-" + sa.name;
  grant.metadata["role"] = std::string(role_name);
  grant.metadata["service_account_namespace"] = sa.namespace_name;
  grant.metadata["service_account_name"] = sa.name;
  if (!sa.uid.empty()) grant.metadata["service_account_uid"] = sa.uid;
  if (!sa.pod.empty()) grant.metadata["pod_name"] = sa.pod;
  return grant;
}

}  // namespace arca::auth
