#include "server/api/sys_service.h"

#include "absl/strings/str_cat.h"
#include "kms/status_macros.h"
#include "server/api/handle.h"
#include "server/api/status.h"

namespace arca::api {
namespace {

void FillSealStatus(const core::SealStatus& s, v1::SealStatusResponse* out) {
  out->set_initialized(s.initialized);
  out->set_sealed(s.sealed);
  out->set_secret_shares(s.secret_shares);
  out->set_secret_threshold(s.secret_threshold);
  out->set_progress(s.progress);
  out->set_version(std::string(core::kVersion));
}

void FillTerm(const barrier::TermInfo& t, v1::KeyStatusResponse* out) {
  out->set_term(t.term);
  out->set_install_time_unix(t.install_time_unix);
  out->set_encryptions(t.encryptions);
}

void FillRekey(const core::RekeyStatus& s, v1::RekeyStatusResponse* out) {
  out->set_started(s.started);
  out->set_nonce(s.nonce);
  out->set_secret_shares(s.secret_shares);
  out->set_secret_threshold(s.secret_threshold);
  out->set_progress(s.progress);
  out->set_required(s.required);
}

// Share counts arrive as uint32; anything past int range is simply invalid.
int ToInt(uint32_t v) { return v > 1000 ? 1000 : static_cast<int>(v); }

}  // namespace

absl::Status SysService::Limit(const grpc::CallbackServerContext* ctx) {
  if (limiter_ == nullptr) return absl::OkStatus();
  return limiter_->Acquire(PeerHost(ctx->peer()));
}

grpc::ServerUnaryReactor* SysService::Init(grpc::CallbackServerContext* ctx,
                                           const v1::InitRequest* req,
                                           v1::InitResponse* resp) {
  return HandleEvent(core_, ctx, "sys.init", *req, resp, [&]() -> absl::Status {
    RETURN_IF_ERROR(Limit(ctx));
    ASSIGN_OR_RETURN(core::InitResult r,
                     core_->Init(ToInt(req->secret_shares()),
                                 ToInt(req->secret_threshold())));
    for (auto& s : r.shares_base64) resp->add_keys_base64(std::move(s));
    resp->set_root_token(std::move(r.root_token));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SysService::SealStatus(
    grpc::CallbackServerContext* ctx, const v1::SealStatusRequest* req,
    v1::SealStatusResponse* resp) {
  return HandleEvent(core_, ctx, "sys.seal_status", *req, resp,
                     [&]() -> absl::Status {
    RETURN_IF_ERROR(Limit(ctx));
    ASSIGN_OR_RETURN(core::SealStatus s, core_->GetSealStatus());
    FillSealStatus(s, resp);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SysService::Unseal(grpc::CallbackServerContext* ctx,
                                             const v1::UnsealRequest* req,
                                             v1::SealStatusResponse* resp) {
  return HandleEvent(core_, ctx, "sys.unseal", *req, resp,
                     [&]() -> absl::Status {
    RETURN_IF_ERROR(Limit(ctx));
    ASSIGN_OR_RETURN(core::SealStatus s, core_->Unseal(req->key(), req->reset()));
    FillSealStatus(s, resp);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SysService::Seal(grpc::CallbackServerContext* ctx,
                                           const v1::SealRequest* req,
                                           v1::SealResponse* resp) {
  return Handle(core_, ctx, "sys.seal", "sys/seal", core::Capability::kSudo,
                *req, resp, [&](core::Caller&) -> absl::Status {
    return core_->Seal();
  });
}

grpc::ServerUnaryReactor* SysService::Rotate(grpc::CallbackServerContext* ctx,
                                             const v1::RotateRequest* req,
                                             v1::KeyStatusResponse* resp) {
  return Handle(core_, ctx, "sys.rotate", "sys/rotate", core::Capability::kSudo,
                *req, resp, [&](core::Caller&) -> absl::Status {
    ASSIGN_OR_RETURN(barrier::TermInfo t, core_->Rotate());
    FillTerm(t, resp);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SysService::KeyStatus(
    grpc::CallbackServerContext* ctx, const v1::KeyStatusRequest* req,
    v1::KeyStatusResponse* resp) {
  return Handle(core_, ctx, "sys.key_status", "sys/key-status",
                core::Capability::kRead, *req, resp,
                [&](core::Caller&) -> absl::Status {
    ASSIGN_OR_RETURN(barrier::TermInfo t, core_->KeyStatus());
    FillTerm(t, resp);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SysService::RekeyInit(
    grpc::CallbackServerContext* ctx, const v1::RekeyInitRequest* req,
    v1::RekeyStatusResponse* resp) {
  return HandleEvent(core_, ctx, "sys.rekey_init", *req, resp,
                     [&]() -> absl::Status {
    RETURN_IF_ERROR(Limit(ctx));
    ASSIGN_OR_RETURN(core::RekeyStatus s,
                     core_->RekeyInit(ToInt(req->secret_shares()),
                                      ToInt(req->secret_threshold())));
    FillRekey(s, resp);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SysService::RekeyStatus(
    grpc::CallbackServerContext* ctx, const v1::RekeyStatusRequest* req,
    v1::RekeyStatusResponse* resp) {
  return HandleEvent(core_, ctx, "sys.rekey_status", *req, resp,
                     [&]() -> absl::Status {
    RETURN_IF_ERROR(Limit(ctx));
    FillRekey(core_->GetRekeyStatus(), resp);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SysService::RekeyUpdate(
    grpc::CallbackServerContext* ctx, const v1::RekeyUpdateRequest* req,
    v1::RekeyUpdateResponse* resp) {
  return HandleEvent(core_, ctx, "sys.rekey_update", *req, resp,
                     [&]() -> absl::Status {
    RETURN_IF_ERROR(Limit(ctx));
    ASSIGN_OR_RETURN(core::RekeyResult r,
                     core_->RekeyUpdate(req->nonce(), req->key()));
    resp->set_complete(r.complete);
    resp->set_progress(r.progress);
    resp->set_required(r.required);
    for (auto& s : r.shares_base64) resp->add_keys_base64(std::move(s));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* SysService::RekeyCancel(
    grpc::CallbackServerContext* ctx, const v1::RekeyCancelRequest* req,
    v1::RekeyCancelResponse* resp) {
  return HandleEvent(core_, ctx, "sys.rekey_cancel", *req, resp,
                     [&]() -> absl::Status {
                       RETURN_IF_ERROR(Limit(ctx));
                       return core_->RekeyCancel(req->nonce());
                     });
}

grpc::ServerUnaryReactor* SysService::TuneMount(
    grpc::CallbackServerContext* ctx, const v1::TuneMountRequest* req,
    v1::TuneMountResponse* resp) {
  return Handle(core_, ctx, "sys.tune_mount",
                absl::StrCat("sys/mounts/", req->path(), "/tune"),
                core::Capability::kSudo, *req, resp,
                [&](core::Caller&) -> absl::Status {
                  if (!req->has_transit_create_on_encrypt()) {
                    return absl::InvalidArgumentError(
                        "no mount option to change");
                  }
                  return core_->TuneTransitMount(
                      req->path(), req->transit_create_on_encrypt());
                });
}

}  // namespace arca::api
