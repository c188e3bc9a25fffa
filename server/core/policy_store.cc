#include "server/core/policy_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "kms/status_macros.h"
#include "server/auth/policy.h"
#include "server/core/core_records.pb.h"

namespace arca::core {
namespace {

absl::Status CheckStoredName(std::string_view name) {
  if (name == auth::kRootPolicyName) {
    return absl::InvalidArgumentError("the root policy is built in and cannot be changed");
  }
  return auth::ValidateName(name);
}

}  // namespace

absl::StatusOr<std::optional<auth::Policy>> PolicyStore::Get(
    std::string_view name) {
  if (name == auth::kRootPolicyName) return auth::RootPolicy();
  if (!auth::ValidateName(name).ok()) return std::nullopt;
  ASSIGN_OR_RETURN(auto raw, view_.Get(name));
  if (!raw.has_value()) {
    if (name == auth::kDefaultPolicyName) return auth::DefaultPolicy();
    return std::nullopt;
  }
  PolicyRecord record;
  if (!record.ParseFromString(*raw)) {
    return absl::DataLossError(absl::StrCat("policy ", std::string(std::string(name)), " is corrupt"));
  }
  ASSIGN_OR_RETURN(auth::Policy policy, auth::ParsePolicy(record.json()));
  return policy;
}

absl::Status PolicyStore::Write(std::string_view name, std::string_view json) {
  RETURN_IF_ERROR(CheckStoredName(name));
  RETURN_IF_ERROR(auth::ParsePolicy(json).status());
  PolicyRecord record;
  record.set_name(std::string(name));
  record.set_json(std::string(json));
  RETURN_IF_ERROR(view_.Put(name, record.SerializeAsString()));
  Clear();
  return absl::OkStatus();
}

absl::StatusOr<std::string> PolicyStore::Read(std::string_view name) {
  if (name != auth::kRootPolicyName && name != auth::kDefaultPolicyName) {
    RETURN_IF_ERROR(auth::ValidateName(name));
  }
  if (name != auth::kRootPolicyName) {
    ASSIGN_OR_RETURN(auto raw, view_.Get(name));
    if (raw.has_value()) {
      PolicyRecord record;
      if (!record.ParseFromString(*raw)) {
        return absl::DataLossError(absl::StrCat("policy ", std::string(std::string(name)), " is corrupt"));
      }
      return record.json();
    }
  }
  ASSIGN_OR_RETURN(auto policy, Get(name));
  if (!policy.has_value()) {
    return absl::NotFoundError(absl::StrCat("no policy named \"", std::string(std::string(name)), "\""));
  }
  return auth::PolicyToJson(*policy);
}

absl::StatusOr<std::vector<std::string>> PolicyStore::List() {
  ASSIGN_OR_RETURN(std::vector<std::string> names, view_.List(""));
  names.push_back(std::string(auth::kRootPolicyName));
  names.push_back(std::string(auth::kDefaultPolicyName));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

absl::Status PolicyStore::Delete(std::string_view name) {
  if (name == auth::kDefaultPolicyName) {
    return absl::InvalidArgumentError("the default policy cannot be deleted");
  }
  RETURN_IF_ERROR(CheckStoredName(name));
  ASSIGN_OR_RETURN(auto raw, view_.Get(name));
  if (!raw.has_value()) {
    return absl::NotFoundError(absl::StrCat("no policy named \"", std::string(std::string(name)), "\""));
  }
  RETURN_IF_ERROR(view_.Delete(name));
  Clear();
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const auth::Acl>> PolicyStore::AclFor(
    const std::vector<std::string>& names) {
  std::vector<std::string> key = names;
  std::sort(key.begin(), key.end());
  key.erase(std::unique(key.begin(), key.end()), key.end());
  uint64_t generation;
  {
    absl::MutexLock lock(&mu_);
    auto it = acls_.find(key);
    if (it != acls_.end()) return it->second;
    generation = generation_;
  }
  std::vector<std::pair<std::string, auth::Policy>> policies;
  for (const std::string& name : key) {
    ASSIGN_OR_RETURN(auto policy, Get(name));
    if (policy.has_value()) policies.emplace_back(name, *std::move(policy));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<auth::Acl> acl,
                   auth::Acl::New(std::move(policies)));
  std::shared_ptr<const auth::Acl> shared(std::move(acl));
  absl::MutexLock lock(&mu_);
  if (generation == generation_) acls_[key] = shared;
  return shared;
}

void PolicyStore::Clear() {
  absl::MutexLock lock(&mu_);
  acls_.clear();
  ++generation_;
}

}  // namespace arca::core
