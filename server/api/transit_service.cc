#include "server/api/transit_service.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/arena.h"
#include "kms/status_macros.h"
#include "server/api/handle.h"
#include "server/api/status.h"

namespace arca::api {
namespace {

using core::Capability;
using engines::transit::BatchInput;
using engines::transit::BatchResult;
using engines::transit::CryptoOptions;
using engines::transit::Engine;
using engines::transit::KeyInfo;

std::string_view MountOf(const std::string& mount) {
  return mount.empty() ? std::string_view("transit") : std::string_view(mount);
}

// "<mount>/<area>/<name>", or "<mount>/<area>" for an empty name.
std::string Resource(std::string_view mount, std::string_view area,
                     std::string_view name = {}) {
  // Plain appends: this abseil's string_view is not std::string_view.
  std::string r;
  r.append(mount).append("/").append(area);
  if (!name.empty()) r.append("/").append(name);
  return r;
}

// A field this server does not know is refused rather than ignored: a
// client built against some other schema might be sending a nonce, and a
// caller-chosen nonce is never accepted.
absl::Status RefuseUnknownFields(const google::protobuf::Message& req) {
  if (req.GetReflection()->GetUnknownFields(req).empty()) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      "request has fields this server does not know; a caller-supplied "
      "nonce is never accepted");
}

void ToProto(const KeyInfo& k, v1::TransitKey* out) {
  out->set_name(k.name);
  out->set_type(std::string(engines::transit::KeyTypeName(k.type)));
  out->set_derived(k.derived);
  out->set_convergent(k.convergent);
  out->set_exportable(k.exportable);
  out->set_deletion_allowed(k.deletion_allowed);
  out->set_auto_rotate_period_ms(k.auto_rotate_period_ms);
  out->set_latest_version(k.latest_version);
  out->set_min_decryption_version(k.min_decryption_version);
  out->set_min_encryption_version(k.min_encryption_version);
  out->set_min_available_version(k.min_available_version);
  out->set_created_time_unix_ms(k.created_time_unix_ms);
  out->set_updated_time_unix_ms(k.updated_time_unix_ms);
  for (const auto& v : k.versions) {
    v1::TransitKeyVersion* pv = out->add_versions();
    pv->set_version(v.version);
    pv->set_created_time_unix_ms(v.created_time_unix_ms);
    pv->set_encryptions(v.encryptions);
    pv->set_decryptions(v.decryptions);
    pv->set_last_used_unix_ms(v.last_used_unix_ms);
    pv->set_public_key(v.public_key);
  }
}

// Views of the request's items: the engine reads the bytes in place.
std::vector<BatchInput> Items(const v1::TransitBatchRequest& req) {
  std::vector<BatchInput> items;
  items.reserve(req.items_size());
  for (const auto& i : req.items()) {
    items.push_back({i.input(), i.context(), i.associated_data()});
  }
  return items;
}

// Results in input order, each with its request item's reference.
void ToProto(const v1::TransitBatchRequest& req,
             std::vector<BatchResult>& results, v1::TransitBatchResponse* out) {
  out->mutable_results()->Reserve(static_cast<int>(results.size()));
  for (size_t i = 0; i < results.size(); ++i) {
    BatchResult& r = results[i];
    v1::TransitBatchResult* pr = out->add_results();
    const std::string& reference = req.items(static_cast<int>(i)).reference();
    if (!reference.empty()) pr->set_reference(reference);
    if (!r.status.ok()) {
      pr->set_error_code(static_cast<int32_t>(r.status.code()));
      pr->set_error(std::string(r.status.message()));
      continue;
    }
    pr->set_output(std::move(r.output));
    pr->set_key_version(r.key_version);
  }
}

// One call's request and response, and the arena that owns both.
class ArenaMessages final
    : public grpc::MessageHolder<v1::TransitBatchRequest,
                                 v1::TransitBatchResponse> {
 public:
  ArenaMessages() : arena_(Options()) {
    set_request(google::protobuf::Arena::CreateMessage<v1::TransitBatchRequest>(
        &arena_));
    set_response(
        google::protobuf::Arena::CreateMessage<v1::TransitBatchResponse>(
            &arena_));
  }
  void Release() override { delete this; }

 private:
  static google::protobuf::ArenaOptions Options() {
    google::protobuf::ArenaOptions o;
    // A 1,000-item call needs ~250 KiB of message objects; blocks stay
    // below malloc's mmap threshold.
    o.start_block_size = 16 << 10;
    o.max_block_size = 64 << 10;
    return o;
  }
  google::protobuf::Arena arena_;
};

}  // namespace

grpc::MessageHolder<v1::TransitBatchRequest, v1::TransitBatchResponse>*
BatchArenaAllocator::AllocateMessages() {
  return new ArenaMessages();
}

TransitService::TransitService(core::Core* core) : core_(core) {
  SetMessageAllocatorFor_BatchEncrypt(&batch_allocator_);
  SetMessageAllocatorFor_BatchDecrypt(&batch_allocator_);
  SetMessageAllocatorFor_BatchRewrap(&batch_allocator_);
}

grpc::ServerUnaryReactor* TransitService::CreateKey(
    grpc::CallbackServerContext* ctx, const v1::TransitCreateKeyRequest* req,
    v1::TransitKey* resp) {
  const std::string_view m = MountOf(req->mount());
  return Handle(core_, ctx, "transit.create_key",
                Resource(m, "keys", req->name()), Capability::kCreate, *req,
                resp, [&](core::Caller& caller) -> absl::Status {
                  ASSIGN_OR_RETURN(auto mount, core_->TransitEngine(m));
                  engines::transit::KeyOptions options;
                  ASSIGN_OR_RETURN(options.type,
                                   engines::transit::ParseKeyType(req->type()));
                  options.derived = req->derived();
                  options.convergent = req->convergent();
                  options.exportable = req->exportable();
                  options.deletion_allowed = req->deletion_allowed();
                  options.auto_rotate_period_ms = req->auto_rotate_period_ms();
                  ASSIGN_OR_RETURN(
                      KeyInfo k, mount.engine->CreateKey(req->name(), options));
                  ToProto(k, resp);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* TransitService::ReadKey(
    grpc::CallbackServerContext* ctx, const v1::TransitReadKeyRequest* req,
    v1::TransitKey* resp) {
  const std::string_view m = MountOf(req->mount());
  return Handle(
      core_, ctx, "transit.read_key", Resource(m, "keys", req->name()),
      Capability::kRead, *req, resp, [&](core::Caller& caller) -> absl::Status {
        ASSIGN_OR_RETURN(auto mount, core_->TransitEngine(m));
        ASSIGN_OR_RETURN(KeyInfo k, mount.engine->ReadKey(req->name()));
        ToProto(k, resp);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TransitService::ListKeys(
    grpc::CallbackServerContext* ctx, const v1::TransitListKeysRequest* req,
    v1::TransitListKeysResponse* resp) {
  const std::string_view m = MountOf(req->mount());
  return Handle(core_, ctx, "transit.list_keys", Resource(m, "keys"),
                Capability::kList, *req, resp,
                [&](core::Caller& caller) -> absl::Status {
                  ASSIGN_OR_RETURN(auto mount, core_->TransitEngine(m));
                  ASSIGN_OR_RETURN(std::vector<std::string> keys,
                                   mount.engine->ListKeys());
                  for (auto& k : keys) resp->add_keys(std::move(k));
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* TransitService::RotateKey(
    grpc::CallbackServerContext* ctx, const v1::TransitRotateKeyRequest* req,
    v1::TransitKey* resp) {
  const std::string_view m = MountOf(req->mount());
  return Handle(core_, ctx, "transit.rotate_key",
                absl::StrCat(Resource(m, "keys", req->name()), "/rotate"),
                Capability::kUpdate, *req, resp,
                [&](core::Caller& caller) -> absl::Status {
                  ASSIGN_OR_RETURN(auto mount, core_->TransitEngine(m));
                  ASSIGN_OR_RETURN(KeyInfo k,
                                   mount.engine->RotateKey(req->name()));
                  ToProto(k, resp);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* TransitService::ConfigureKey(
    grpc::CallbackServerContext* ctx, const v1::TransitConfigureKeyRequest* req,
    v1::TransitKey* resp) {
  const std::string_view m = MountOf(req->mount());
  return Handle(
      core_, ctx, "transit.configure_key",
      absl::StrCat(Resource(m, "keys", req->name()), "/config"),
      Capability::kUpdate, *req, resp,
      [&](core::Caller& caller) -> absl::Status {
        ASSIGN_OR_RETURN(auto mount, core_->TransitEngine(m));
        engines::transit::KeyConfigUpdate update;
        if (req->has_min_decryption_version()) {
          update.min_decryption_version = req->min_decryption_version();
        }
        if (req->has_min_encryption_version()) {
          update.min_encryption_version = req->min_encryption_version();
        }
        if (req->has_deletion_allowed()) {
          update.deletion_allowed = req->deletion_allowed();
        }
        if (req->has_exportable()) update.exportable = req->exportable();
        if (req->has_auto_rotate_period_ms()) {
          update.auto_rotate_period_ms = req->auto_rotate_period_ms();
        }
        ASSIGN_OR_RETURN(KeyInfo k,
                         mount.engine->ConfigureKey(req->name(), update));
        ToProto(k, resp);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TransitService::TrimKey(
    grpc::CallbackServerContext* ctx, const v1::TransitTrimKeyRequest* req,
    v1::TransitKey* resp) {
  const std::string_view m = MountOf(req->mount());
  return Handle(
      core_, ctx, "transit.trim_key",
      absl::StrCat(Resource(m, "keys", req->name()), "/trim"),
      Capability::kUpdate, *req, resp,
      [&](core::Caller& caller) -> absl::Status {
        ASSIGN_OR_RETURN(auto mount, core_->TransitEngine(m));
        ASSIGN_OR_RETURN(
            KeyInfo k,
            mount.engine->TrimKey(req->name(), req->min_available_version()));
        ToProto(k, resp);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TransitService::DeleteKey(
    grpc::CallbackServerContext* ctx, const v1::TransitDeleteKeyRequest* req,
    v1::TransitDeleteKeyResponse* resp) {
  const std::string_view m = MountOf(req->mount());
  return Handle(core_, ctx, "transit.delete_key",
                Resource(m, "keys", req->name()), Capability::kDelete, *req,
                resp, [&](core::Caller& caller) -> absl::Status {
                  ASSIGN_OR_RETURN(auto mount, core_->TransitEngine(m));
                  return mount.engine->DeleteKey(req->name());
                });
}

grpc::ServerUnaryReactor* TransitService::ExportKey(
    grpc::CallbackServerContext* ctx, const v1::TransitExportKeyRequest* req,
    v1::TransitExportKeyResponse* resp) {
  const std::string_view m = MountOf(req->mount());
  return Handle(
      core_, ctx, "transit.export_key",
      Resource(m, absl::StrCat("export/", req->kind()), req->name()),
      Capability::kRead, *req, resp, [&](core::Caller& caller) -> absl::Status {
        ASSIGN_OR_RETURN(auto mount, core_->TransitEngine(m));
        Engine::ExportKind kind;
        if (req->kind() == "encryption-key") {
          kind = Engine::ExportKind::kEncryptionKey;
        } else if (req->kind() == "signing-key") {
          kind = Engine::ExportKind::kSigningKey;
        } else if (req->kind() == "hmac-key") {
          kind = Engine::ExportKind::kHmacKey;
        } else {
          return absl::InvalidArgumentError(
              "export kind must be encryption-key, signing-key or hmac-key");
        }
        ASSIGN_OR_RETURN(KeyInfo info, mount.engine->ReadKey(req->name()));
        ASSIGN_OR_RETURN(auto keys, mount.engine->ExportKey(req->name(), kind,
                                                            req->version()));
        resp->set_name(info.name);
        resp->set_type(std::string(engines::transit::KeyTypeName(info.type)));
        for (const auto& [version, key] : keys) {
          (*resp->mutable_keys())[version] = std::string(key.Reveal());
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TransitService::Encrypt(
    grpc::CallbackServerContext* ctx, const v1::TransitEncryptRequest* req,
    v1::TransitEncryptResponse* resp) {
  const std::string_view m = MountOf(req->mount());
  return Handle(
      core_, ctx, "transit.encrypt", Resource(m, "encrypt", req->name()),
      Capability::kUpdate, *req, resp,
      [&](core::Caller& caller) -> absl::Status {
        ASSIGN_OR_RETURN(auto mount, core_->TransitEngine(m));
        RETURN_IF_ERROR(RefuseUnknownFields(*req));
        CryptoOptions options{req->context(), req->associated_data(),
                              req->key_version()};
        auto result =
            mount.engine->Encrypt(req->name(), req->plaintext(), options);
        // Create-on-encrypt: only for a missing key, only where the mount
        // allows it and the caller may create the key.
        if (absl::IsNotFound(result.status()) && mount.create_on_encrypt &&
            caller
                .Require(Resource(m, "keys", req->name()), Capability::kCreate)
                .ok()) {
          result = mount.engine->Encrypt(req->name(), req->plaintext(), options,
                                         /*create_if_missing=*/true);
        }
        RETURN_IF_ERROR(result.status());
        resp->set_ciphertext(std::move(result->ciphertext));
        resp->set_key_version(result->key_version);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TransitService::Decrypt(
    grpc::CallbackServerContext* ctx, const v1::TransitDecryptRequest* req,
    v1::TransitDecryptResponse* resp) {
  const std::string_view m = MountOf(req->mount());
  return Handle(
      core_, ctx, "transit.decrypt", Resource(m, "decrypt", req->name()),
      Capability::kUpdate, *req, resp,
      [&](core::Caller& caller) -> absl::Status {
        ASSIGN_OR_RETURN(auto mount, core_->TransitEngine(m));
        CryptoOptions options{req->context(), req->associated_data(), 0};
        ASSIGN_OR_RETURN(
            std::string plaintext,
            mount.engine->Decrypt(req->name(), req->ciphertext(), options));
        resp->set_plaintext(std::move(plaintext));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TransitService::Rewrap(
    grpc::CallbackServerContext* ctx, const v1::TransitRewrapRequest* req,
    v1::TransitEncryptResponse* resp) {
  const std::string_view m = MountOf(req->mount());
  return Handle(
      core_, ctx, "transit.rewrap", Resource(m, "rewrap", req->name()),
      Capability::kUpdate, *req, resp,
      [&](core::Caller& caller) -> absl::Status {
        ASSIGN_OR_RETURN(auto mount, core_->TransitEngine(m));
        RETURN_IF_ERROR(RefuseUnknownFields(*req));
        CryptoOptions options{req->context(), req->associated_data(), 0};
        ASSIGN_OR_RETURN(
            auto result,
            mount.engine->Rewrap(req->name(), req->ciphertext(), options));
        resp->set_ciphertext(std::move(result.ciphertext));
        resp->set_key_version(result.key_version);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TransitService::BatchEncrypt(
    grpc::CallbackServerContext* ctx, const v1::TransitBatchRequest* req,
    v1::TransitBatchResponse* resp) {
  const std::string_view m = MountOf(req->mount());
  return Handle(
      core_, ctx, "transit.batch_encrypt", Resource(m, "encrypt", req->name()),
      Capability::kUpdate, *req, resp,
      [&](core::Caller& caller) -> absl::Status {
        ASSIGN_OR_RETURN(auto mount, core_->TransitEngine(m));
        RETURN_IF_ERROR(RefuseUnknownFields(*req));
        for (const auto& item : req->items()) {
          RETURN_IF_ERROR(RefuseUnknownFields(item));
        }
        const std::vector<BatchInput> items = Items(*req);
        auto results = mount.engine->BatchEncrypt(req->name(), items);
        if (absl::IsNotFound(results.status()) && mount.create_on_encrypt &&
            caller
                .Require(Resource(m, "keys", req->name()), Capability::kCreate)
                .ok()) {
          results = mount.engine->BatchEncrypt(req->name(), items,
                                               /*create_if_missing=*/true);
        }
        RETURN_IF_ERROR(results.status());
        ToProto(*req, *results, resp);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TransitService::BatchDecrypt(
    grpc::CallbackServerContext* ctx, const v1::TransitBatchRequest* req,
    v1::TransitBatchResponse* resp) {
  const std::string_view m = MountOf(req->mount());
  return Handle(core_, ctx, "transit.batch_decrypt",
                Resource(m, "decrypt", req->name()), Capability::kUpdate, *req,
                resp, [&](core::Caller& caller) -> absl::Status {
                  ASSIGN_OR_RETURN(auto mount, core_->TransitEngine(m));
                  ASSIGN_OR_RETURN(auto results, mount.engine->BatchDecrypt(
                                                     req->name(), Items(*req)));
                  ToProto(*req, results, resp);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* TransitService::BatchRewrap(
    grpc::CallbackServerContext* ctx, const v1::TransitBatchRequest* req,
    v1::TransitBatchResponse* resp) {
  const std::string_view m = MountOf(req->mount());
  return Handle(core_, ctx, "transit.batch_rewrap",
                Resource(m, "rewrap", req->name()), Capability::kUpdate, *req,
                resp, [&](core::Caller& caller) -> absl::Status {
                  ASSIGN_OR_RETURN(auto mount, core_->TransitEngine(m));
                  ASSIGN_OR_RETURN(auto results, mount.engine->BatchRewrap(
                                                     req->name(), Items(*req)));
                  ToProto(*req, results, resp);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* TransitService::GenerateDataKey(
    grpc::CallbackServerContext* ctx, const v1::TransitDataKeyRequest* req,
    v1::TransitDataKeyResponse* resp) {
  const std::string_view m = MountOf(req->mount());
  const bool wrapped_only = req->wrapped_only();
  return Handle(
      core_, ctx, "transit.generate_data_key",
      Resource(m, wrapped_only ? "datakey/wrapped" : "datakey/plaintext",
               req->name()),
      Capability::kUpdate, *req, resp,
      [&](core::Caller& caller) -> absl::Status {
        ASSIGN_OR_RETURN(auto mount, core_->TransitEngine(m));
        RETURN_IF_ERROR(RefuseUnknownFields(*req));
        CryptoOptions options{req->context(), req->associated_data(), 0};
        const int bits = req->bits() == 0 ? 256 : req->bits();
        ASSIGN_OR_RETURN(engines::transit::DataKey key,
                         mount.engine->GenerateDataKey(req->name(), bits,
                                                       !wrapped_only, options));
        if (!wrapped_only)
          resp->set_plaintext(std::string(key.plaintext.Reveal()));
        resp->set_ciphertext(std::move(key.ciphertext));
        resp->set_key_version(key.key_version);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* TransitService::Hmac(
    grpc::CallbackServerContext* ctx, const v1::TransitHmacRequest* req,
    v1::TransitHmacResponse* resp) {
  const std::string_view m = MountOf(req->mount());
  return Handle(core_, ctx, "transit.hmac", Resource(m, "hmac", req->name()),
                Capability::kUpdate, *req, resp,
                [&](core::Caller& caller) -> absl::Status {
                  ASSIGN_OR_RETURN(auto mount, core_->TransitEngine(m));
                  CryptoOptions options;
                  options.key_version = req->key_version();
                  ASSIGN_OR_RETURN(
                      std::string tag,
                      mount.engine->Hmac(req->name(), req->input(), options));
                  resp->set_hmac(std::move(tag));
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* TransitService::Verify(
    grpc::CallbackServerContext* ctx, const v1::TransitVerifyRequest* req,
    v1::TransitVerifyResponse* resp) {
  const std::string_view m = MountOf(req->mount());
  return Handle(core_, ctx, "transit.verify",
                Resource(m, "verify", req->name()), Capability::kUpdate, *req,
                resp, [&](core::Caller& caller) -> absl::Status {
                  ASSIGN_OR_RETURN(auto mount, core_->TransitEngine(m));
                  absl::StatusOr<bool> valid;
                  switch (req->tag_case()) {
                    case v1::TransitVerifyRequest::kHmac:
                      valid = mount.engine->VerifyHmac(
                          req->name(), req->input(), req->hmac());
                      break;
                    case v1::TransitVerifyRequest::kSignature:
                      valid = mount.engine->VerifySignature(
                          req->name(), req->input(), req->signature());
                      break;
                    default:
                      return absl::InvalidArgumentError(
                          "verify needs an hmac or a signature");
                  }
                  RETURN_IF_ERROR(valid.status());
                  resp->set_valid(*valid);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* TransitService::Sign(
    grpc::CallbackServerContext* ctx, const v1::TransitSignRequest* req,
    v1::TransitSignResponse* resp) {
  const std::string_view m = MountOf(req->mount());
  return Handle(core_, ctx, "transit.sign", Resource(m, "sign", req->name()),
                Capability::kUpdate, *req, resp,
                [&](core::Caller& caller) -> absl::Status {
                  ASSIGN_OR_RETURN(auto mount, core_->TransitEngine(m));
                  CryptoOptions options;
                  options.key_version = req->key_version();
                  ASSIGN_OR_RETURN(
                      std::string sig,
                      mount.engine->Sign(req->name(), req->input(), options));
                  resp->set_signature(std::move(sig));
                  return absl::OkStatus();
                });
}

}  // namespace arca::api
