#include "server/api/handle.h"

#include <atomic>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "arca/v1/options.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"
#include "server/api/blocking_pool.h"
#include "server/api/status.h"

namespace arca::api {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// One value of a scalar field as text; `index` < 0 for a singular field.
std::string ScalarText(const Message& m, const FieldDescriptor* f, int index) {
  const Reflection* r = m.GetReflection();
  const bool rep = index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(rep ? r->GetRepeatedInt32(m, f, index)
                              : r->GetInt32(m, f));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(rep ? r->GetRepeatedInt64(m, f, index)
                              : r->GetInt64(m, f));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(rep ? r->GetRepeatedUInt32(m, f, index)
                              : r->GetUInt32(m, f));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(rep ? r->GetRepeatedUInt64(m, f, index)
                              : r->GetUInt64(m, f));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrCat(rep ? r->GetRepeatedDouble(m, f, index)
                              : r->GetDouble(m, f));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return absl::StrCat(rep ? r->GetRepeatedFloat(m, f, index)
                              : r->GetFloat(m, f));
    case FieldDescriptor::CPPTYPE_BOOL:
      return (rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f))
                 ? "true"
                 : "false";
    case FieldDescriptor::CPPTYPE_ENUM:
      return std::string(
          (rep ? r->GetRepeatedEnum(m, f, index) : r->GetEnum(m, f))->name());
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string v =
          rep ? r->GetRepeatedString(m, f, index) : r->GetString(m, f);
      if (f->type() == FieldDescriptor::TYPE_BYTES)
        return absl::Base64Escape(v);
      return v;
    }
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return "";
}

void Add(core::AuditPayload* out, std::string name, std::string value,
         bool sensitive) {
  (*out)[std::move(name)] = sensitive
                                ? audit::Field::Sensitive(std::move(value))
                                : audit::Field::Clear(std::move(value));
}

void Flatten(const Message& m, const std::string& prefix, bool inherited,
             bool omit_sensitive, core::AuditPayload* out, int depth) {
  if (depth > 16) return;
  const Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    const bool sensitive =
        inherited || f->options().GetExtension(arca::v1::sensitive);
    if (sensitive && omit_sensitive) continue;
    const std::string name = absl::StrCat(prefix, f->name());
    if (f->is_map()) {
      const FieldDescriptor* key = f->message_type()->map_key();
      const FieldDescriptor* value = f->message_type()->map_value();
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        const Message& entry = r->GetRepeatedMessage(m, f, i);
        const std::string entry_name =
            absl::StrCat(name, ".", ScalarText(entry, key, -1));
        if (value->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          Flatten(entry.GetReflection()->GetMessage(entry, value),
                  entry_name + ".", sensitive, omit_sensitive, out, depth + 1);
        } else {
          Add(out, entry_name, ScalarText(entry, value, -1), sensitive);
        }
      }
    } else if (f->is_repeated()) {
      for (int i = 0; i < r->FieldSize(m, f); ++i) {
        const std::string item = absl::StrCat(name, ".", i);
        if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
          Flatten(r->GetRepeatedMessage(m, f, i), item + ".", sensitive,
                  omit_sensitive, out, depth + 1);
        } else {
          Add(out, item, ScalarText(m, f, i), sensitive);
        }
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      Flatten(r->GetMessage(m, f), name + ".", sensitive, omit_sensitive, out,
              depth + 1);
    } else {
      Add(out, name, ScalarText(m, f, -1), sensitive);
    }
  }
}

}  // namespace

void AuditFields(const Message& message, core::AuditPayload* out,
                 bool omit_sensitive) {
  Flatten(message, "", false, omit_sensitive, out, 0);
}

core::Request MakeRequest(grpc::CallbackServerContext* ctx,
                          std::string_view operation, std::string resource_path,
                          core::Capability capability, const Message& request) {
  core::Request r;
  r.operation = std::string(operation);
  r.path = std::move(resource_path);
  r.capability = capability;
  r.token = BearerToken(ctx);
  r.remote_address = ctx->peer();
  // Flattened only if a device will write it; `request` outlives
  // BeginRequest, the only caller.
  r.describe = [&request](core::AuditPayload* out) {
    AuditFields(request, out);
  };
  return r;
}

grpc::ServerUnaryReactor* Handle(
    core::Core* core, grpc::CallbackServerContext* ctx,
    std::string_view operation, std::string resource_path,
    core::Capability capability, const Message& request, Message* response,
    absl::FunctionRef<absl::Status(core::Caller&)> fn) {
  absl::Status status = core->Handle(
      MakeRequest(ctx, operation, std::move(resource_path), capability,
                  request),
      fn,
      [&](core::AuditPayload* payload) { AuditFields(*response, payload); });
  if (!status.ok()) response->Clear();
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerUnaryReactor* HandleBlocking(
    core::Core* core, grpc::CallbackServerContext* ctx,
    std::string_view operation, std::string resource_path,
    core::Capability capability, const Message& request, Message* response,
    std::function<absl::Status(core::Caller&)> fn) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  // Everything taken from `ctx` and `request` is copied now.
  core::Request r = MakeRequest(ctx, operation, std::move(resource_path),
                                capability, request);
  auto serve = [core, reactor, response, r = std::move(r),
                fn = std::move(fn)]() mutable {
    absl::Status status = core->Handle(
        std::move(r), fn,
        [&](core::AuditPayload* payload) { AuditFields(*response, payload); });
    if (!status.ok()) response->Clear();
    reactor->Finish(ToGrpcStatus(status));
  };
  // Always handed off, even when alone: a handler that waits on another
  // server (PostgreSQL's connect timeout) must never hold one of gRPC's
  // few callback threads.
  BlockingPool::Default().Run(std::move(serve));
  return reactor;
}

grpc::ServerUnaryReactor* HandleAsync(
    core::Core* core, grpc::CallbackServerContext* ctx, core::Request request,
    Message* response, absl::FunctionRef<void(core::Caller&, Finish)> fn) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::StatusOr<std::unique_ptr<core::Caller>> begun =
      core->BeginRequest(std::move(request));
  if (!begun.ok()) {
    response->Clear();
    reactor->Finish(ToGrpcStatus(begun.status()));
    return reactor;
  }
  std::shared_ptr<core::Caller> caller = *std::move(begun);
  core::Caller* raw = caller.get();
  auto complete = [core, reactor, response,
                   caller = std::move(caller)](absl::Status status) mutable {
    status = core->FinishRequestWith(
        *caller, std::move(status),
        [&](core::AuditPayload* payload) { AuditFields(*response, payload); });
    caller.reset();
    if (!status.ok()) response->Clear();
    reactor->Finish(ToGrpcStatus(status));
  };
  // `complete` owns the Caller, so `raw` lives as long as `finish` may run.
  fn(*raw, [core, raw, complete = std::move(complete)](
               absl::Status status) mutable {
    if (!core->FinishMayBlock(*raw)) return complete(std::move(status));
    BlockingPool::Default().Run(
        [complete = std::move(complete), status = std::move(status)]() mutable {
          complete(std::move(status));
        });
  });
  return reactor;
}

grpc::ServerUnaryReactor* HandleLogin(
    core::Core* core, grpc::CallbackServerContext* ctx,
    std::string_view operation, std::string resource_path,
    const Message& request, Message* response,
    absl::FunctionRef<absl::Status(core::Caller&)> fn) {
  core::Request r = MakeRequest(ctx, operation, std::move(resource_path),
                                core::Capability::kUpdate, request);
  r.needs_token = false;
  r.token.clear();
  absl::Status status = core->Handle(
      std::move(r), fn,
      [&](core::AuditPayload* payload) { AuditFields(*response, payload); });
  if (!status.ok()) response->Clear();
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

grpc::ServerUnaryReactor* HandleEvent(core::Core* core,
                                      grpc::CallbackServerContext* ctx,
                                      std::string_view operation,
                                      const Message& request, Message* response,
                                      absl::FunctionRef<absl::Status()> fn) {
  absl::Status status = fn();
  core::AuditPayload payload;
  AuditFields(request, &payload, /*omit_sensitive=*/true);
  if (status.ok()) {
    core::AuditPayload out;
    AuditFields(*response, &out, /*omit_sensitive=*/true);
    for (auto& [k, v] : out) payload["response." + k] = std::move(v);
  }
  core->AuditEvent(operation, ctx->peer(), std::move(payload), status);
  if (!status.ok()) response->Clear();
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace arca::api
