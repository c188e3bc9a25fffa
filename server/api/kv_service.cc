#include "server/api/kv_service.h"

#include <vector>

#include "kms/status_macros.h"
#include "server/api/handle.h"
#include "server/api/status.h"

namespace arca::api {
namespace {

using core::Capability;
using engines::kv::Engine;

std::string_view MountOf(const std::string& mount) {
  return mount.empty() ? std::string_view("kv") : std::string_view(mount);
}

// The resource path `<mount>/<area>/<path>` of a KV request.
std::string Resource(const std::string& mount, std::string_view area,
                     std::string_view path) {
  std::string resource(MountOf(mount));
  resource.append("/").append(area).append("/").append(path);
  return resource;
}

void ToProto(const engines::kv::VersionMetadata& v,
             v1::KvVersionMetadata* out) {
  out->set_version(v.version);
  out->set_created_time_unix_ms(v.created_time_unix_ms);
  out->set_deletion_time_unix_ms(v.deletion_time_unix_ms);
  out->set_destroyed(v.destroyed);
}

std::vector<uint64_t> Versions(
    const google::protobuf::RepeatedField<uint64_t>& versions) {
  return {versions.begin(), versions.end()};
}

}  // namespace

grpc::ServerUnaryReactor* KvService::Get(grpc::CallbackServerContext* ctx,
                                         const v1::KvGetRequest* req,
                                         v1::KvGetResponse* resp) {
  return Handle(
      core_, ctx, "kv.get", Resource(req->mount(), "data", req->path()),
      Capability::kRead, *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine, core_->KvEngine(MountOf(req->mount())));
        ASSIGN_OR_RETURN(engines::kv::Secret s,
                         engine->Get(req->path(), req->version()));
        for (auto& [k, v] : s.data) (*resp->mutable_data())[k] = std::move(v);
        ToProto(s.metadata, resp->mutable_metadata());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* KvService::Put(grpc::CallbackServerContext* ctx,
                                         const v1::KvPutRequest* req,
                                         v1::KvPutResponse* resp) {
  std::string resource = Resource(req->mount(), "data", req->path());
  // Create for a new secret, update for an existing one (as in Vault). The
  // pipeline lets through a caller with either; the engine asks for the
  // right one under the path's lock, where existence is certain, so the
  // metadata is read once per put.
  core::Request request =
      MakeRequest(ctx, "kv.put", resource, Capability::kUpdate, *req);
  request.or_capability = Capability::kCreate;
  // A synced write that holds no thread through its sync: it is committed
  // with the others in flight, and the reply sent from the commit.
  return HandleAsync(
      core_, ctx, std::move(request), resp,
      [&](core::Caller& caller, Finish finish) {
        absl::StatusOr<std::shared_ptr<Engine>> engine =
            core_->KvEngine(MountOf(req->mount()));
        if (!engine.ok()) return finish(engine.status());
        engines::kv::Data data(req->data().begin(), req->data().end());
        std::optional<uint64_t> cas;
        if (req->has_cas()) cas = req->cas();
        Engine::Authorize authorize = [&caller, resource](bool exists) {
          return caller.Require(resource, exists ? Capability::kUpdate
                                                 : Capability::kCreate);
        };
        // The engine (and with it the path's lock) lives until `done`.
        Engine::PutDone done =
            [resp, finish, keep = *engine](
                absl::StatusOr<engines::kv::VersionMetadata> v) {
              if (v.ok()) ToProto(*v, resp->mutable_metadata());
              finish(v.status());
            };
        (*engine)->PutAsync(req->path(), data, cas, std::move(authorize),
                            std::move(done));
      });
}

grpc::ServerUnaryReactor* KvService::List(grpc::CallbackServerContext* ctx,
                                          const v1::KvListRequest* req,
                                          v1::KvListResponse* resp) {
  return Handle(
      core_, ctx, "kv.list", Resource(req->mount(), "metadata", req->path()),
      Capability::kList, *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine, core_->KvEngine(MountOf(req->mount())));
        ASSIGN_OR_RETURN(auto keys, engine->List(req->path()));
        for (auto& k : keys) resp->add_keys(std::move(k));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* KvService::Delete(grpc::CallbackServerContext* ctx,
                                            const v1::KvDeleteRequest* req,
                                            v1::KvDeleteResponse* resp) {
  const bool latest = req->versions().empty();
  return Handle(core_, ctx, "kv.delete",
                Resource(req->mount(), latest ? "data" : "delete", req->path()),
                latest ? Capability::kDelete : Capability::kUpdate, *req, resp,
                [&](core::Caller&) -> absl::Status {
                  ASSIGN_OR_RETURN(auto engine,
                                   core_->KvEngine(MountOf(req->mount())));
                  return engine->Delete(req->path(), Versions(req->versions()));
                });
}

grpc::ServerUnaryReactor* KvService::Undelete(grpc::CallbackServerContext* ctx,
                                              const v1::KvUndeleteRequest* req,
                                              v1::KvUndeleteResponse* resp) {
  return Handle(
      core_, ctx, "kv.undelete",
      Resource(req->mount(), "undelete", req->path()), Capability::kUpdate,
      *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine, core_->KvEngine(MountOf(req->mount())));
        return engine->Undelete(req->path(), Versions(req->versions()));
      });
}

grpc::ServerUnaryReactor* KvService::Destroy(grpc::CallbackServerContext* ctx,
                                             const v1::KvDestroyRequest* req,
                                             v1::KvDestroyResponse* resp) {
  return Handle(
      core_, ctx, "kv.destroy", Resource(req->mount(), "destroy", req->path()),
      Capability::kUpdate, *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine, core_->KvEngine(MountOf(req->mount())));
        return engine->Destroy(req->path(), Versions(req->versions()));
      });
}

grpc::ServerUnaryReactor* KvService::GetMetadata(
    grpc::CallbackServerContext* ctx, const v1::KvGetMetadataRequest* req,
    v1::KvMetadata* resp) {
  return Handle(
      core_, ctx, "kv.get_metadata",
      Resource(req->mount(), "metadata", req->path()), Capability::kRead, *req,
      resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine, core_->KvEngine(MountOf(req->mount())));
        ASSIGN_OR_RETURN(engines::kv::Metadata m,
                         engine->GetMetadata(req->path()));
        resp->set_path(m.path);
        resp->set_current_version(m.current_version);
        resp->set_oldest_version(m.oldest_version);
        resp->set_max_versions(m.max_versions);
        resp->set_cas_required(m.cas_required);
        resp->set_created_time_unix_ms(m.created_time_unix_ms);
        resp->set_updated_time_unix_ms(m.updated_time_unix_ms);
        for (const auto& v : m.versions) ToProto(v, resp->add_versions());
        for (auto& [k, v] : m.custom_metadata) {
          (*resp->mutable_custom_metadata())[k] = v;
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* KvService::PutMetadata(
    grpc::CallbackServerContext* ctx, const v1::KvPutMetadataRequest* req,
    v1::KvPutMetadataResponse* resp) {
  return Handle(
      core_, ctx, "kv.put_metadata",
      Resource(req->mount(), "metadata", req->path()), Capability::kUpdate,
      *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine, core_->KvEngine(MountOf(req->mount())));
        engines::kv::MetadataUpdate update;
        if (req->has_max_versions()) update.max_versions = req->max_versions();
        if (req->has_cas_required()) update.cas_required = req->cas_required();
        if (!req->custom_metadata().empty()) {
          update.custom_metadata.emplace(req->custom_metadata().begin(),
                                         req->custom_metadata().end());
        }
        return engine->PutMetadata(req->path(), update);
      });
}

grpc::ServerUnaryReactor* KvService::DeleteMetadata(
    grpc::CallbackServerContext* ctx, const v1::KvDeleteMetadataRequest* req,
    v1::KvDeleteMetadataResponse* resp) {
  return Handle(
      core_, ctx, "kv.delete_metadata",
      Resource(req->mount(), "metadata", req->path()), Capability::kDelete,
      *req, resp, [&](core::Caller&) -> absl::Status {
        ASSIGN_OR_RETURN(auto engine, core_->KvEngine(MountOf(req->mount())));
        return engine->DeleteMetadata(req->path());
      });
}

}  // namespace arca::api
