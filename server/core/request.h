#ifndef ARCA_SERVER_CORE_REQUEST_H_
#define ARCA_SERVER_CORE_REQUEST_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/audit/entry.h"
#include "server/auth/acl.h"
#include "server/core/core_records.pb.h"
#include "server/lease/manager.h"

namespace arca::core {

using Capability = auth::Capability;
// Audit payload: field name -> value, sensitive values hashed by the device.
using AuditPayload = std::map<std::string, audit::Field>;

// One request as the transport hands it to the core pipeline.
struct Request {
  std::string operation;  // e.g. "kv.get"
  std::string path;       // resource path checked against the ACL
  Capability capability = Capability::kRead;
  // If set, also enough for the pipeline's check (create-or-update of a KV
  // put); the handler then requires the exact one with Caller::Require.
  std::optional<Capability> or_capability;
  std::string token;      // from the authorization metadata; never logged
  std::string remote_address;
  AuditPayload payload;   // request fields for the audit log
  // If set, fills the request fields instead of `payload`. Called only when
  // an audit device is enabled, so that a server without one never pays for
  // building them (the adapters flatten the request proto by reflection),
  // and only within BeginRequest.
  std::function<void(AuditPayload*)> describe;
  // False only for login RPCs, which create the token: no token is
  // resolved and no ACL checked, but request and response are audited and
  // fail closed like every other request.
  bool needs_token = true;
};

// Caller is what a handler knows about the request it serves: the resolved
// token entry, its ACL (to ask for further capabilities) and the request
// id. It may also attach a lease that the core registers, owned by the
// token, once the handler succeeds. Created by Core::BeginRequest and used
// by one request on one thread.
class Caller {
 public:
  // Empty for a login request (Request::needs_token false).
  const TokenEntry& token() const { return token_; }
  // The id in this request's audit lines; empty until a line is written
  // (no audit device, no id).
  const std::string& request_id() const { return request_id_; }
  const Request& request() const { return request_; }

  // The ACL's decision on a further `capability` on `path`.
  auth::Decision Check(std::string_view path, Capability capability) const;
  // PERMISSION_DENIED unless the token's policies grant it.
  absl::Status Require(std::string_view path, Capability capability) const;

  // Registers `spec` (owner: this token) after the handler returns OK, then
  // calls `on_registered` so the handler's response can carry the lease.
  void AttachLease(lease::LeaseSpec spec,
                   std::function<void(const lease::LeaseEntry&)> on_registered);

 private:
  friend class Core;
  Caller() = default;

  Request request_;
  TokenEntry token_;
  std::shared_ptr<const auth::Acl> acl_;
  mutable std::string request_id_;  // set by the first audit line
  auth::Decision decision_;  // of the request, repeated on the response
  bool last_use_ = false;
  std::optional<lease::LeaseSpec> lease_;
  std::function<void(const lease::LeaseEntry&)> on_lease_;
};

}  // namespace arca::core

#endif  // ARCA_SERVER_CORE_REQUEST_H_
