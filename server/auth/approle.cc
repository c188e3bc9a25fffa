#include "server/auth/approle.h"

#include <string.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "kms/mac.h"
#include "kms/random.h"
#include "kms/status_macros.h"
#include "server/auth/cidr.h"
#include "server/auth/jwt.h"
#include "server/auth/policy.h"

namespace arca::auth {
namespace {

constexpr char kHmacKeyPath[] = "hmac-key";
constexpr char kRolePrefix[] = "role/";
constexpr char kRoleIdPrefix[] = "role-id/";
constexpr char kSecretIdPrefix[] = "secret-id/";
constexpr char kAccessorPrefix[] = "accessor/";
constexpr size_t kSecretIdBytes = 32;
constexpr size_t kMaxCidrs = 64;
constexpr size_t kMaxMetadataEntries = 32;
constexpr size_t kMaxMetadataBytes = 512;

// One message for an unknown role_id and an unknown secret_id, so a caller
// cannot probe which role_ids exist.
absl::Status InvalidCredentials() {
  return absl::PermissionDeniedError(
      "approle login refused: invalid role_id or secret_id");
}

std::string Hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  static constexpr char kDigits[] = "0123456789abcdef";
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

// A role_id: a random UUID (version 4 layout).
std::string NewRoleId() {
  std::string b = kms::RandomString(16);
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);
  const std::string h = Hex(b);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" +
         h.substr(16, 4) + "-" + h.substr(20);
}

bool IsHex(std::string_view s, size_t size) {
  return s.size() == size &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

absl::Status ValidateCidrs(const google::protobuf::RepeatedPtrField<std::string>&
                               cidrs) {
  if (static_cast<size_t>(cidrs.size()) > kMaxCidrs) {
    return absl::InvalidArgumentError("too many CIDR blocks (at most 64)");
  }
  for (const std::string& cidr : cidrs) RETURN_IF_ERROR(Cidr::Parse(cidr).status());
  return absl::OkStatus();
}

// True if `cidrs` is empty or one of them contains `address`.
bool Allowed(const google::protobuf::RepeatedPtrField<std::string>& cidrs,
             const std::optional<IpAddress>& address) {
  if (cidrs.empty()) return true;
  if (!address.has_value()) return false;
  for (const std::string& text : cidrs) {
    absl::StatusOr<Cidr> cidr = Cidr::Parse(text);
    if (cidr.ok() && cidr->Contains(*address)) return true;
  }
  return false;
}

absl::StatusOr<std::string> Serialize(const google::protobuf::Message& m) {
  std::string out;
  if (!m.SerializeToString(&out)) return absl::InternalError("serialize failed");
  return out;
}

template <typename T>
absl::StatusOr<T> ParseRecord(const std::string& bytes, const char* what) {
  T record;
  if (!record.ParseFromString(bytes)) {
    return absl::DataLossError(std::string("corrupt approle ") + what);
  }
  return record;
}

absl::Time ExpiryOf(const AppRoleSecretId& s) {
  return s.expires_unix() == 0 ? absl::InfiniteFuture()
                               : absl::FromUnixSeconds(s.expires_unix());
}

}  // namespace

AppRoleAuth::AppRoleAuth(barrier::View view, std::function<absl::Time()> now)
    : view_(std::move(view)), now_(std::move(now)) {}

void AppRoleAuth::Clear() {
  absl::MutexLock lock(&mu_);
  hmac_key_.reset();
}

absl::StatusOr<std::string> AppRoleAuth::Hmac(std::string_view data) {
  if (!hmac_key_.has_value()) {
    ASSIGN_OR_RETURN(std::optional<std::string> stored,
                     view_.Get(kHmacKeyPath));
    if (!stored.has_value()) {
      kms::SecretBytes key = kms::RandomSecret(32);
      RETURN_IF_ERROR(view_.Put(kHmacKeyPath, key.Reveal()));
      hmac_key_ = std::move(key);
    } else {
      if (stored->size() != 32) {
        return absl::DataLossError("corrupt approle hmac key");
      }
      hmac_key_ = kms::SecretBytes::CopyFrom(*stored);
      explicit_bzero(stored->data(), stored->size());
    }
  }
  return Hex(kms::HmacSha256(*hmac_key_, data));
}

absl::StatusOr<AppRoleRole> AppRoleAuth::ReadRoleLocked(std::string_view name) {
  RETURN_IF_ERROR(ValidateRoleName(name));
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   view_.Get(kRolePrefix + std::string(name)));
  if (!bytes.has_value()) {
    return absl::NotFoundError("no approle role named " + std::string(name));
  }
  return ParseRecord<AppRoleRole>(*bytes, "role");
}

absl::Status AppRoleAuth::WriteRole(std::string_view name,
                                    const AppRoleRole& input) {
  RETURN_IF_ERROR(ValidateRoleName(name));
  for (const std::string& policy : input.policies()) {
    if (policy != kDefaultPolicyName) RETURN_IF_ERROR(ValidateName(policy));
  }
  if (input.token_ttl_seconds() < 0 || input.token_max_ttl_seconds() < 0 ||
      input.secret_id_ttl_seconds() < 0 || input.secret_id_num_uses() < 0) {
    return absl::InvalidArgumentError("TTLs and use counts must not be negative");
  }
  if (input.token_max_ttl_seconds() > 0 &&
      input.token_ttl_seconds() > input.token_max_ttl_seconds()) {
    return absl::InvalidArgumentError("token_ttl exceeds token_max_ttl");
  }
  RETURN_IF_ERROR(ValidateCidrs(input.secret_id_bound_cidrs()));

  absl::MutexLock lock(&mu_);
  AppRoleRole role = input;
  absl::StatusOr<AppRoleRole> existing = ReadRoleLocked(name);
  std::vector<storage::Mutation> batch;
  if (existing.ok()) {
    role.set_role_id(existing->role_id());
  } else if (absl::IsNotFound(existing.status())) {
    role.set_role_id(NewRoleId());
    ASSIGN_OR_RETURN(std::string id_hmac, Hmac(role.role_id()));
    batch.push_back(
        storage::Mutation::Put(kRoleIdPrefix + id_hmac, std::string(name)));
  } else {
    return existing.status();
  }
  ASSIGN_OR_RETURN(std::string bytes, Serialize(role));
  batch.push_back(
      storage::Mutation::Put(kRolePrefix + std::string(name), bytes));
  return view_.Batch(std::move(batch));
}

absl::StatusOr<AppRoleRole> AppRoleAuth::ReadRole(std::string_view name) {
  absl::MutexLock lock(&mu_);
  return ReadRoleLocked(name);
}

absl::StatusOr<std::vector<std::string>> AppRoleAuth::ListRoles() {
  return view_.List(kRolePrefix);
}

absl::StatusOr<std::string> AppRoleAuth::RoleId(std::string_view name) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(AppRoleRole role, ReadRoleLocked(name));
  return role.role_id();
}

absl::Status AppRoleAuth::DeleteRole(std::string_view name) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(AppRoleRole role, ReadRoleLocked(name));
  const std::string secret_prefix = kSecretIdPrefix + std::string(name) + "/";
  ASSIGN_OR_RETURN(std::vector<std::string> hmacs, view_.List(secret_prefix));
  std::vector<storage::Mutation> batch;
  for (const std::string& hmac : hmacs) {
    ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                     view_.Get(secret_prefix + hmac));
    if (bytes.has_value()) {
      ASSIGN_OR_RETURN(AppRoleSecretId sid,
                       ParseRecord<AppRoleSecretId>(*bytes, "secret_id"));
      batch.push_back(
          storage::Mutation::Delete(kAccessorPrefix + sid.accessor()));
    }
    batch.push_back(storage::Mutation::Delete(secret_prefix + hmac));
  }
  ASSIGN_OR_RETURN(std::string id_hmac, Hmac(role.role_id()));
  batch.push_back(storage::Mutation::Delete(kRoleIdPrefix + id_hmac));
  batch.push_back(storage::Mutation::Delete(kRolePrefix + std::string(name)));
  return view_.Batch(std::move(batch));
}

absl::StatusOr<GeneratedSecretId> AppRoleAuth::GenerateSecretId(
    std::string_view name, const SecretIdOptions& options) {
  if (options.ttl < absl::ZeroDuration() || options.num_uses < 0) {
    return absl::InvalidArgumentError(
        "secret_id TTL and use count must not be negative");
  }
  if (options.metadata.size() > kMaxMetadataEntries) {
    return absl::InvalidArgumentError("too many metadata entries (at most 32)");
  }
  AppRoleSecretId record;
  for (const auto& [k, v] : options.metadata) {
    if (k.empty() || k.size() + v.size() > kMaxMetadataBytes) {
      return absl::InvalidArgumentError(
          "metadata keys must be non-empty and entries under 512 bytes");
    }
    (*record.mutable_metadata())[k] = v;
  }
  for (const std::string& cidr : options.cidrs) record.add_cidrs(cidr);
  RETURN_IF_ERROR(ValidateCidrs(record.cidrs()));

  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(AppRoleRole role, ReadRoleLocked(name));
  const absl::Time now = now_();
  const absl::Duration ttl = options.ttl > absl::ZeroDuration()
                                 ? options.ttl
                                 : absl::Seconds(role.secret_id_ttl_seconds());
  record.set_created_unix(absl::ToUnixSeconds(now));
  record.set_expires_unix(
      ttl > absl::ZeroDuration() ? absl::ToUnixSeconds(now + ttl) : 0);
  record.set_uses_left(options.num_uses > 0 ? options.num_uses
                                            : role.secret_id_num_uses());
  record.set_accessor(Hex(kms::RandomString(16)));

  GeneratedSecretId out;
  std::string encoded = EncodeBase64Url(kms::RandomString(kSecretIdBytes));
  out.secret_id = kms::SecretBytes::CopyFrom(encoded);
  explicit_bzero(encoded.data(), encoded.size());
  out.accessor = record.accessor();
  out.expiry = ExpiryOf(record);

  ASSIGN_OR_RETURN(std::string hmac, Hmac(out.secret_id.Reveal()));
  AppRoleAccessor accessor;
  accessor.set_role(std::string(name));
  accessor.set_secret_id_hmac(hmac);
  ASSIGN_OR_RETURN(std::string record_bytes, Serialize(record));
  ASSIGN_OR_RETURN(std::string accessor_bytes, Serialize(accessor));
  RETURN_IF_ERROR(view_.Batch(
      {storage::Mutation::Put(
           kSecretIdPrefix + std::string(name) + "/" + hmac, record_bytes),
       storage::Mutation::Put(kAccessorPrefix + record.accessor(),
                              accessor_bytes)}));
  return out;
}

absl::StatusOr<std::vector<std::string>> AppRoleAuth::ListSecretIdAccessors(
    std::string_view name) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(ReadRoleLocked(name).status());
  const std::string prefix = kSecretIdPrefix + std::string(name) + "/";
  ASSIGN_OR_RETURN(std::vector<std::string> hmacs, view_.List(prefix));
  const absl::Time now = now_();
  std::vector<std::string> accessors;
  for (const std::string& hmac : hmacs) {
    ASSIGN_OR_RETURN(std::optional<std::string> bytes, view_.Get(prefix + hmac));
    if (!bytes.has_value()) continue;
    ASSIGN_OR_RETURN(AppRoleSecretId sid,
                     ParseRecord<AppRoleSecretId>(*bytes, "secret_id"));
    if (now < ExpiryOf(sid)) accessors.push_back(sid.accessor());
  }
  std::sort(accessors.begin(), accessors.end());
  return accessors;
}

absl::StatusOr<std::pair<std::string, AppRoleSecretId>>
AppRoleAuth::FindByAccessorLocked(std::string_view name,
                                  std::string_view accessor) {
  RETURN_IF_ERROR(ReadRoleLocked(name).status());
  const absl::Status not_found = absl::NotFoundError(
      "no secret_id with that accessor in role " + std::string(name));
  if (!IsHex(accessor, 32)) return not_found;
  ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                   view_.Get(kAccessorPrefix + std::string(accessor)));
  if (!bytes.has_value()) return not_found;
  ASSIGN_OR_RETURN(AppRoleAccessor entry,
                   ParseRecord<AppRoleAccessor>(*bytes, "accessor"));
  // Another role's accessor is as unknown as a made-up one.
  if (entry.role() != name) return not_found;
  ASSIGN_OR_RETURN(std::optional<std::string> sid_bytes,
                   view_.Get(kSecretIdPrefix + std::string(name) + "/" +
                             entry.secret_id_hmac()));
  if (!sid_bytes.has_value()) return not_found;
  ASSIGN_OR_RETURN(AppRoleSecretId sid,
                   ParseRecord<AppRoleSecretId>(*sid_bytes, "secret_id"));
  return std::make_pair(entry.secret_id_hmac(), std::move(sid));
}

absl::StatusOr<SecretIdInfo> AppRoleAuth::LookupSecretIdByAccessor(
    std::string_view name, std::string_view accessor) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(auto found, FindByAccessorLocked(name, accessor));
  const AppRoleSecretId& sid = found.second;
  if (now_() >= ExpiryOf(sid)) {
    return absl::NotFoundError("no secret_id with that accessor in role " +
                               std::string(name));
  }
  SecretIdInfo info;
  info.accessor = sid.accessor();
  info.created = absl::FromUnixSeconds(sid.created_unix());
  info.expiry = ExpiryOf(sid);
  info.uses_left = sid.uses_left();
  info.cidrs.assign(sid.cidrs().begin(), sid.cidrs().end());
  info.metadata.insert(sid.metadata().begin(), sid.metadata().end());
  return info;
}

absl::Status AppRoleAuth::DeleteSecretIdLocked(std::string_view name,
                                               const std::string& hmac,
                                               const std::string& accessor) {
  return view_.Batch(
      {storage::Mutation::Delete(kSecretIdPrefix + std::string(name) + "/" +
                                 hmac),
       storage::Mutation::Delete(kAccessorPrefix + accessor)});
}

absl::Status AppRoleAuth::DestroySecretIdByAccessor(std::string_view name,
                                                    std::string_view accessor) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(auto found, FindByAccessorLocked(name, accessor));
  return DeleteSecretIdLocked(name, found.first, found.second.accessor());
}

absl::StatusOr<int> AppRoleAuth::TidyExpiredSecretIds() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(std::vector<std::string> roles, view_.List(kRolePrefix));
  const absl::Time now = now_();
  int removed = 0;
  for (const std::string& role : roles) {
    const std::string prefix = kSecretIdPrefix + role + "/";
    ASSIGN_OR_RETURN(std::vector<std::string> hmacs, view_.List(prefix));
    for (const std::string& hmac : hmacs) {
      ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                       view_.Get(prefix + hmac));
      if (!bytes.has_value()) continue;
      ASSIGN_OR_RETURN(AppRoleSecretId sid,
                       ParseRecord<AppRoleSecretId>(*bytes, "secret_id"));
      if (now >= ExpiryOf(sid)) {
        RETURN_IF_ERROR(DeleteSecretIdLocked(role, hmac, sid.accessor()));
        ++removed;
      }
    }
  }
  return removed;
}

absl::StatusOr<LoginGrant> AppRoleAuth::Login(
    std::string_view role_id, const kms::SecretBytes& secret_id,
    std::string_view remote_address) {
  if (role_id.empty() || role_id.size() > 256 || secret_id.empty() ||
      secret_id.size() > 256) {
    return InvalidCredentials();
  }
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(std::string id_hmac, Hmac(role_id));
  ASSIGN_OR_RETURN(std::optional<std::string> name,
                   view_.Get(kRoleIdPrefix + id_hmac));
  if (!name.has_value()) return InvalidCredentials();
  ASSIGN_OR_RETURN(AppRoleRole role, ReadRoleLocked(*name));
  ASSIGN_OR_RETURN(std::string sid_hmac, Hmac(secret_id.Reveal()));
  const std::string sid_path = kSecretIdPrefix + *name + "/" + sid_hmac;
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, view_.Get(sid_path));
  if (!bytes.has_value()) return InvalidCredentials();
  ASSIGN_OR_RETURN(AppRoleSecretId sid,
                   ParseRecord<AppRoleSecretId>(*bytes, "secret_id"));

  if (now_() >= ExpiryOf(sid)) {
    RETURN_IF_ERROR(DeleteSecretIdLocked(*name, sid_hmac, sid.accessor()));
    return absl::PermissionDeniedError(
        "approle login refused: the secret_id has expired");
  }
  const std::optional<IpAddress> address = ParseIpAddress(remote_address);
  if (!Allowed(role.secret_id_bound_cidrs(), address) ||
      !Allowed(sid.cidrs(), address)) {
    return absl::PermissionDeniedError(
        "approle login refused: the source address is outside the CIDR "
        "blocks bound to this secret_id");
  }
  if (sid.uses_left() == 1) {
    RETURN_IF_ERROR(DeleteSecretIdLocked(*name, sid_hmac, sid.accessor()));
  } else if (sid.uses_left() > 1) {
    sid.set_uses_left(sid.uses_left() - 1);
    ASSIGN_OR_RETURN(std::string updated, Serialize(sid));
    RETURN_IF_ERROR(view_.Put(sid_path, updated));
  }

  LoginGrant grant;
  grant.policies.assign(role.policies().begin(), role.policies().end());
  std::sort(grant.policies.begin(), grant.policies.end());
  grant.policies.erase(std::unique(grant.policies.begin(), grant.policies.end()),
                       grant.policies.end());
  grant.ttl = absl::Seconds(role.token_ttl_seconds());
  grant.max_ttl = absl::Seconds(role.token_max_ttl_seconds());
  grant.display_name = "approle-" + *name;
  grant.metadata = {sid.metadata().begin(), sid.metadata().end()};
  grant.metadata["role_name"] = *name;
  grant.metadata["secret_id_accessor"] = sid.accessor();
  return grant;
}

}  // namespace arca::auth
