#include "server/api/audit_service.h"

#include <memory>
#include <optional>
#include <string>

#include "kms/status_macros.h"
#include "server/api/handle.h"
#include "server/api/status.h"
#include "server/audit/chain.h"

namespace arca::api {
namespace {

using core::Capability;

// The device a request names, or the only enabled one.
std::string DeviceOr(core::Core* core, const std::string& name) {
  if (!name.empty()) return name;
  absl::StatusOr<std::string> sole = core->SoleAuditDevice();
  return sole.ok() ? *sole : std::string();
}

// Reads the streamed file into a ChainVerifier. The first message goes
// through the pipeline (token, ACL on sys/audit/<device> sudo, audit); the
// response is audited when the stream ends.
class VerifyReactor : public grpc::ServerReadReactor<v1::VerifyLogRequest> {
 public:
  VerifyReactor(core::Core* core, grpc::CallbackServerContext* ctx,
                v1::VerifyLogResponse* resp)
      : core_(core), ctx_(ctx), resp_(resp) {
    StartRead(&req_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      End();
      return;
    }
    if (caller_ == nullptr) {
      absl::Status st = Begin();
      if (!st.ok()) {
        Finish(ToGrpcStatus(st));
        return;
      }
    }
    verifier_->Update(req_.chunk());
    req_.Clear();
    StartRead(&req_);
  }

  void OnDone() override { delete this; }

 private:
  absl::Status Begin() {
    device_ = DeviceOr(core_, req_.device());
    v1::VerifyLogRequest head;
    head.set_device(device_);
    ASSIGN_OR_RETURN(caller_, core_->BeginRequest(MakeRequest(
                                  ctx_, "audit.verify", "sys/audit/" + device_,
                                  Capability::kSudo, head)));
    absl::StatusOr<kms::SecretBytes> salt = core_->AuditSalt(device_);
    absl::StatusOr<audit::ChainVerifier> verifier =
        salt.ok() ? audit::ChainVerifier::Create(*salt)
                  : absl::StatusOr<audit::ChainVerifier>(salt.status());
    if (!verifier.ok()) {
      absl::Status st = core_->FinishRequest(*caller_, verifier.status(), {});
      caller_.reset();
      return st;
    }
    verifier_.emplace(*std::move(verifier));
    return absl::OkStatus();
  }

  void End() {
    if (caller_ == nullptr) {
      // An empty stream: nothing named a device.
      Finish(ToGrpcStatus(
          absl::InvalidArgumentError("the stream carried no message")));
      return;
    }
    audit::VerifyResult r = verifier_->Finish();
    resp_->set_ok(r.ok);
    resp_->set_lines(r.lines);
    resp_->set_first_bad_line(r.first_bad_line);
    resp_->set_reason(r.reason);
    core::AuditPayload payload;
    AuditFields(*resp_, &payload);
    absl::Status st = core_->FinishRequest(*caller_, absl::OkStatus(), payload);
    if (!st.ok()) resp_->Clear();
    Finish(ToGrpcStatus(st));
  }

  core::Core* core_;
  grpc::CallbackServerContext* ctx_;
  v1::VerifyLogResponse* resp_;
  v1::VerifyLogRequest req_;
  std::string device_;
  std::unique_ptr<core::Caller> caller_;
  std::optional<audit::ChainVerifier> verifier_;
};

}  // namespace

grpc::ServerUnaryReactor* AuditService::EnableDevice(
    grpc::CallbackServerContext* ctx, const v1::EnableDeviceRequest* req,
    v1::EnableDeviceResponse* resp) {
  return Handle(core_, ctx, "audit.enable", "sys/audit/" + req->name(),
                Capability::kSudo, *req, resp,
                [&](core::Caller&) -> absl::Status {
    return core_->EnableAudit(req->name(), req->type(), req->path());
  });
}

grpc::ServerUnaryReactor* AuditService::DisableDevice(
    grpc::CallbackServerContext* ctx, const v1::DisableDeviceRequest* req,
    v1::DisableDeviceResponse* resp) {
  return Handle(core_, ctx, "audit.disable", "sys/audit/" + req->name(),
                Capability::kSudo, *req, resp,
                [&](core::Caller&) -> absl::Status {
    return core_->DisableAudit(req->name());
  });
}

grpc::ServerUnaryReactor* AuditService::ListDevices(
    grpc::CallbackServerContext* ctx, const v1::ListDevicesRequest* req,
    v1::ListDevicesResponse* resp) {
  return Handle(core_, ctx, "audit.list", "sys/audit", Capability::kSudo, *req,
                resp, [&](core::Caller&) -> absl::Status {
    ASSIGN_OR_RETURN(auto devices, core_->ListAudit());
    for (const auto& d : devices) {
      v1::AuditDevice* out = resp->add_devices();
      out->set_name(d.name());
      out->set_type(d.type());
      out->set_path(d.path());
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AuditService::Hash(grpc::CallbackServerContext* ctx,
                                             const v1::HashRequest* req,
                                             v1::HashResponse* resp) {
  const std::string device = DeviceOr(core_, req->device());
  return Handle(core_, ctx, "audit.hash", "sys/audit-hash/" + device,
                Capability::kUpdate, *req, resp,
                [&](core::Caller&) -> absl::Status {
    if (device.empty()) {
      return absl::InvalidArgumentError(
          "name the audit device (more or fewer than one is enabled)");
    }
    ASSIGN_OR_RETURN(std::string hash, core_->AuditHash(device, req->value()));
    resp->set_hash(std::move(hash));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AuditService::VerifyDevice(
    grpc::CallbackServerContext* ctx, const v1::VerifyDeviceRequest* req,
    v1::VerifyLogResponse* resp) {
  const std::string device = DeviceOr(core_, req->device());
  return Handle(core_, ctx, "audit.verify_device", "sys/audit/" + device,
                Capability::kSudo, *req, resp,
                [&](core::Caller&) -> absl::Status {
    if (device.empty()) {
      return absl::InvalidArgumentError(
          "name the audit device (more or fewer than one is enabled)");
    }
    ASSIGN_OR_RETURN(kms::SecretBytes salt, core_->AuditSalt(device));
    std::optional<audit::ChainHead> head = core_->AuditHead(device);
    std::optional<std::string> path = core_->AuditPath(device);
    if (!head.has_value() || !path.has_value()) {
      return absl::FailedPreconditionError(
          "audit device " + device + " is not open");
    }
    audit::VerifyResult r = audit::Verify(*path, salt, head);
    resp->set_ok(r.ok);
    resp->set_lines(r.lines);
    resp->set_first_bad_line(r.first_bad_line);
    resp->set_reason(r.reason);
    return absl::OkStatus();
  });
}

grpc::ServerReadReactor<v1::VerifyLogRequest>* AuditService::VerifyLog(
    grpc::CallbackServerContext* ctx, v1::VerifyLogResponse* resp) {
  return new VerifyReactor(core_, ctx, resp);
}

}  // namespace arca::api
