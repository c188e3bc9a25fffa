// The request pipeline (DESIGN.md section 2) and token creation rules.

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "kms/random.h"
#include "kms/status_macros.h"
#include "server/auth/policy.h"
#include "server/core/core.h"
#include "spdlog/spdlog.h"

namespace arca::core {
namespace {

absl::Status Denied(std::string_view path, Capability capability) {
  return absl::PermissionDeniedError(
      absl::StrCat("permission denied: ",
                   std::string(auth::CapabilityName(capability)), " on ",
                   std::string(path)));
}

// Paths the ACL can decide on: non-empty, no leading '/', no empty, "." or
// ".." segment (a trailing '/' is fine), no control characters.
absl::Status CheckResourcePath(std::string_view path) {
  if (path.empty() || path.front() == '/') {
    return absl::InvalidArgumentError("invalid path: empty or absolute");
  }
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(start, end - start);
    if ((seg.empty() && end != path.size()) || seg == "." || seg == "..") {
      return absl::InvalidArgumentError(
          "invalid path: empty, \".\" or \"..\" segment");
    }
    start = end + 1;
  }
  for (char c : path) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError("invalid path: control character");
    }
  }
  return absl::OkStatus();
}

std::string CodeName(const absl::Status& status) {
  return absl::StatusCodeToString(status.code());
}

}  // namespace

auth::Decision Caller::Check(std::string_view path,
                             Capability capability) const {
  if (acl_ == nullptr) return {};
  return acl_->Check(path, capability);
}

absl::Status Caller::Require(std::string_view path,
                             Capability capability) const {
  if (acl_ != nullptr && acl_->Allowed(path, capability)) {
    return absl::OkStatus();
  }
  return Denied(path, capability);
}

void Caller::AttachLease(
    lease::LeaseSpec spec,
    std::function<void(const lease::LeaseEntry&)> on_registered) {
  lease_ = std::move(spec);
  on_lease_ = std::move(on_registered);
}

absl::Status Core::AuditLog(const Caller& caller, audit::Entry::Kind kind,
                            const auth::Decision& decision,
                            const absl::Status* status,
                            absl::FunctionRef<void(AuditPayload*)> payload) {
  // No device, no line, and nothing built for one. Once a device is enabled
  // every line is written or the request fails (Broker::Log).
  if (audit_.empty()) return absl::OkStatus();
  if (caller.request_id_.empty()) {
    caller.request_id_ = absl::BytesToHexString(kms::RandomString(12));
  }
  audit::Entry entry;
  entry.kind = kind;
  entry.time = absl::Now();
  entry.request_id = caller.request_id_;
  entry.operation = caller.request_.operation;
  entry.path = caller.request_.path;
  entry.token_accessor = caller.token_.accessor();
  entry.decision.allowed = decision.allowed;
  entry.decision.policy = decision.policy;
  if (status != nullptr) entry.status = CodeName(*status);
  entry.remote_address = caller.request_.remote_address;
  payload(&entry.payload);
  return audit_.Log(entry);
}

absl::Status Core::AuditRequest(
    const Caller& caller,
    const std::function<void(AuditPayload*)>& describe,
    const auth::Decision& decision, const absl::Status* status) {
  return AuditLog(caller, audit::Entry::Kind::kRequest, decision, status,
                  [&](AuditPayload* out) {
                    if (describe) {
                      describe(out);
                    } else {
                      *out = caller.request_.payload;
                    }
                  });
}

absl::StatusOr<std::unique_ptr<Caller>> Core::BeginRequest(Request request) {
  if (barrier_.Sealed()) return barrier::SealedError();
  RETURN_IF_ERROR(CheckResourcePath(request.path));
  std::unique_ptr<Caller> caller(new Caller());
  std::string token = std::move(request.token);
  request.token.clear();
  // Only the request line uses it; it may point into the transport's
  // request, so it does not outlive this call.
  const std::function<void(AuditPayload*)> describe =
      std::move(request.describe);
  request.describe = nullptr;
  caller->request_ = std::move(request);
  const Request& req = caller->request_;

  if (!req.needs_token) {
    caller->decision_.allowed = true;
    caller->decision_.reason = "login: no token needed";
    RETURN_IF_ERROR(AuditRequest(*caller, describe, caller->decision_, nullptr));
    return caller;
  }

  // 1. Resolve the token.
  absl::StatusOr<TokenEntry> entry =
      token.empty() ? absl::UnauthenticatedError("missing token")
                    : tokens_.Lookup(token);
  if (!entry.ok()) {
    if (barrier::IsSealedError(entry.status())) return entry.status();
    const absl::Status st = entry.status();
    RETURN_IF_ERROR(AuditRequest(*caller, describe, {}, &st));
    return st;
  }
  caller->token_ = *std::move(entry);

  // 2. Policies -> ACL check.
  ASSIGN_OR_RETURN(caller->acl_,
                   policies_.AclFor({caller->token_.policies().begin(),
                                     caller->token_.policies().end()}));
  caller->decision_ = caller->acl_->Check(req.path, req.capability);
  if (!caller->decision_.allowed && req.or_capability.has_value()) {
    auth::Decision alternative =
        caller->acl_->Check(req.path, *req.or_capability);
    if (alternative.allowed) caller->decision_ = std::move(alternative);
  }
  const auth::Decision& decision = caller->decision_;

  // 3. Audit the request; no audit, no answer.
  absl::Status denied;
  if (!decision.allowed) {
    denied = req.or_capability.has_value()
                 ? absl::PermissionDeniedError(absl::StrCat(
                       "permission denied: ",
                       std::string(auth::CapabilityName(req.capability)),
                       " or ",
                       std::string(auth::CapabilityName(*req.or_capability)),
                       " on ", req.path))
                 : Denied(req.path, req.capability);
  }
  RETURN_IF_ERROR(
      AuditRequest(*caller, describe, decision,
                   decision.allowed ? nullptr : &denied));
  if (!decision.allowed) return denied;

  // A use-limited token spends a use on every request it is allowed to make.
  ASSIGN_OR_RETURN(caller->last_use_, tokens_.Use(caller->token_));
  return caller;
}

absl::Status Core::FinishRequest(Caller& caller, absl::Status status,
                                 const AuditPayload& response) {
  return FinishRequestWith(caller, std::move(status),
                           [&](AuditPayload* out) { *out = response; });
}

bool Core::FinishMayBlock(const Caller& caller) const {
  return !audit_.empty() || caller.lease_.has_value() || caller.last_use_;
}

absl::Status Core::FinishRequestWith(
    Caller& caller, absl::Status status,
    absl::FunctionRef<void(AuditPayload*)> describe_response) {
  // 5. Register the lease the response carries.
  if (status.ok() && caller.lease_.has_value()) {
    caller.lease_->owner = caller.token_.id_hash().empty()
                               ? std::string()
                               : TokenStore::OwnerId(caller.token_);
    absl::StatusOr<lease::LeaseEntry> lease = leases_.Register(*caller.lease_);
    if (lease.ok()) {
      if (caller.on_lease_) caller.on_lease_(*lease);
    } else {
      status = lease.status();
    }
  }
  // 6. Audit the response.
  // The response's fields only if it succeeded (and a device is enabled).
  absl::Status audited =
      AuditLog(caller, audit::Entry::Kind::kResponse, caller.decision_,
               &status, [&](AuditPayload* out) {
                 if (status.ok()) describe_response(out);
               });
  if (caller.last_use_) {
    if (absl::Status st = tokens_.Revoke(caller.token_.id_hash()); !st.ok()) {
      spdlog::warn("revoking a used-up token failed: {}",
                   std::string(st.message()));
    }
  }
  if (!audited.ok()) return audited;
  return status;
}

absl::Status Core::Handle(
    Request request, absl::FunctionRef<absl::Status(Caller&)> handler,
    absl::FunctionRef<void(AuditPayload*)> describe_response) {
  ASSIGN_OR_RETURN(std::unique_ptr<Caller> caller,
                   BeginRequest(std::move(request)));
  absl::Status status = handler(*caller);
  return FinishRequestWith(*caller, std::move(status), describe_response);
}

void Core::AuditEvent(std::string_view operation,
                      std::string_view remote_address, AuditPayload payload,
                      const absl::Status& status) {
  audit::Entry entry;
  entry.kind = audit::Entry::Kind::kResponse;
  entry.time = absl::Now();
  entry.request_id = absl::BytesToHexString(kms::RandomString(12));
  entry.operation = std::string(operation);
  entry.decision.allowed = true;
  entry.status = CodeName(status);
  entry.remote_address = std::string(remote_address);
  entry.payload = std::move(payload);
  if (absl::Status st = audit_.Log(entry); !st.ok()) {
    spdlog::warn("audit of {} event failed: {}", operation,
                 std::string(st.message()));
  }
}

absl::StatusOr<IssuedToken> Core::CreateToken(const Caller& caller,
                                              TokenParams params) {
  const TokenEntry& parent = caller.token();
  const bool parent_root = TokenStore::IsRoot(parent);
  if (params.policies.empty()) {
    params.policies.assign(parent.policies().begin(), parent.policies().end());
  }
  std::sort(params.policies.begin(), params.policies.end());
  params.policies.erase(
      std::unique(params.policies.begin(), params.policies.end()),
      params.policies.end());
  for (const std::string& p : params.policies) {
    if (p != auth::kRootPolicyName) RETURN_IF_ERROR(auth::ValidateName(p));
    if (!parent_root &&
        std::find(parent.policies().begin(), parent.policies().end(), p) ==
            parent.policies().end()) {
      return absl::PermissionDeniedError(absl::StrCat(
          "a child token may only get policies its parent holds; the parent "
          "does not hold \"", p, "\""));
    }
  }
  const bool root = std::find(params.policies.begin(), params.policies.end(),
                              auth::kRootPolicyName) != params.policies.end();
  if (!root &&
      std::find(params.policies.begin(), params.policies.end(),
                auth::kDefaultPolicyName) == params.policies.end()) {
    params.policies.push_back(std::string(auth::kDefaultPolicyName));
  }
  if (params.orphan) {
    RETURN_IF_ERROR(caller.Require("auth/token/create", Capability::kSudo));
  }
  return tokens_.Create(&parent, std::move(params));
}

}  // namespace arca::core
