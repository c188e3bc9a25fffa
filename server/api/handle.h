#ifndef ARCA_SERVER_API_HANDLE_H_
#define ARCA_SERVER_API_HANDLE_H_

#include <functional>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "server/core/core.h"

namespace arca::api {

// Flattens `message` into audit fields: "field", "outer.inner", "list.0",
// "map.key". Fields marked [(arca.v1.sensitive) = true] become
// Field::Sensitive (written only as an HMAC); with `omit_sensitive` they are
// left out entirely (lifecycle events carry no share material at all).
// Unset proto3 scalars are skipped; bytes are base64.
void AuditFields(const google::protobuf::Message& message,
                 core::AuditPayload* out, bool omit_sensitive = false);

// The core::Request for an RPC: bearer token and peer address from `ctx`;
// the audit payload is flattened from `request` by reflection only if an
// audit device is enabled, so `request` must outlive Core::BeginRequest.
core::Request MakeRequest(grpc::CallbackServerContext* ctx,
                          std::string_view operation, std::string resource_path,
                          core::Capability capability,
                          const google::protobuf::Message& request);

// Serves one authenticated unary RPC through the core pipeline:
//   token -> ACL check of (`resource_path`, `capability`) -> audit request
//   -> fn(caller) -> lease -> audit response (fields of `*response`).
// `fn` fills `*response`; it may ask for further capabilities with
// caller.Require(path, cap). Any failure, including an audit failure after
// `fn` ran, clears `*response` and finishes the call with the status.
// Typical use:
//   return Handle(core_, ctx, "kv.get", "kv/data/" + req->path(),
//                 Capability::kRead, *req, resp,
//                 [&](core::Caller& caller) -> absl::Status { ... });
grpc::ServerUnaryReactor* Handle(
    core::Core* core, grpc::CallbackServerContext* ctx,
    std::string_view operation, std::string resource_path,
    core::Capability capability, const google::protobuf::Message& request,
    google::protobuf::Message* response,
    absl::FunctionRef<absl::Status(core::Caller&)> fn);

// Like Handle, but the pipeline and `fn` run on BlockingPool::Default(),
// so a handler that waits on a synced write does not hold one of gRPC's few
// callback threads. `fn` runs after this returns: it must capture what it
// uses by value (the request and response protos stay valid until the call
// finishes), never the handler's locals or parameters by reference.
grpc::ServerUnaryReactor* HandleBlocking(
    core::Core* core, grpc::CallbackServerContext* ctx,
    std::string_view operation, std::string resource_path,
    core::Capability capability, const google::protobuf::Message& request,
    google::protobuf::Message* response,
    std::function<absl::Status(core::Caller&)> fn);

// Like Handle, for a handler that finishes later without holding a thread:
// `fn` gets the Caller and `finish`, which it must call exactly once, from
// any thread (also before `fn` returns), with its status once `*response`
// is filled. The Caller stays valid until then. The rest of the pipeline
// (lease, audit of the response) runs in `finish`, or on
// BlockingPool::Default() if it may wait on a disk, so `finish` never
// blocks its thread (typically the storage committer's).
using Finish = std::function<void(absl::Status)>;
// `request` comes from MakeRequest.
grpc::ServerUnaryReactor* HandleAsync(
    core::Core* core, grpc::CallbackServerContext* ctx, core::Request request,
    google::protobuf::Message* response,
    absl::FunctionRef<void(core::Caller&, Finish)> fn);

// Serves a login RPC (part B: AppRole, Kubernetes): like Handle, audited and
// failing closed, but no token is resolved and no ACL checked; `fn`
// verifies the credentials itself and may issue a token with
// Core::tokens().Create(nullptr, params). Sensitive request fields (secret
// ids, JWTs) and the issued token are written only as HMACs.
grpc::ServerUnaryReactor* HandleLogin(
    core::Core* core, grpc::CallbackServerContext* ctx,
    std::string_view operation, std::string resource_path,
    const google::protobuf::Message& request,
    google::protobuf::Message* response,
    absl::FunctionRef<absl::Status(core::Caller&)> fn);

// Serves an unauthenticated lifecycle RPC (init, unseal, seal-status): runs
// `fn`, then audits one event line with the non-sensitive fields of
// request and response (best effort; see Core::AuditEvent).
grpc::ServerUnaryReactor* HandleEvent(
    core::Core* core, grpc::CallbackServerContext* ctx,
    std::string_view operation, const google::protobuf::Message& request,
    google::protobuf::Message* response, absl::FunctionRef<absl::Status()> fn);

}  // namespace arca::api

#endif  // ARCA_SERVER_API_HANDLE_H_
