#ifndef ARCA_SERVER_API_KV_SERVICE_H_
#define ARCA_SERVER_API_KV_SERVICE_H_

#include "arca/v1/kv.grpc.pb.h"
#include "server/core/core.h"

namespace arca::api {

// gRPC adapter for arca.v1.KvService: authorizes the resource path named in
// kv.proto, then calls the mount's kv::Engine. Non-owning Core pointer.
// Thread-safe.
class KvService final : public arca::v1::KvService::CallbackService {
 public:
  explicit KvService(core::Core* core) : core_(core) {}

  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* ctx,
                                const v1::KvGetRequest* req,
                                v1::KvGetResponse* resp) override;
  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* ctx,
                                const v1::KvPutRequest* req,
                                v1::KvPutResponse* resp) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* ctx,
                                 const v1::KvListRequest* req,
                                 v1::KvListResponse* resp) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* ctx,
                                   const v1::KvDeleteRequest* req,
                                   v1::KvDeleteResponse* resp) override;
  grpc::ServerUnaryReactor* Undelete(grpc::CallbackServerContext* ctx,
                                     const v1::KvUndeleteRequest* req,
                                     v1::KvUndeleteResponse* resp) override;
  grpc::ServerUnaryReactor* Destroy(grpc::CallbackServerContext* ctx,
                                    const v1::KvDestroyRequest* req,
                                    v1::KvDestroyResponse* resp) override;
  grpc::ServerUnaryReactor* GetMetadata(grpc::CallbackServerContext* ctx,
                                        const v1::KvGetMetadataRequest* req,
                                        v1::KvMetadata* resp) override;
  grpc::ServerUnaryReactor* PutMetadata(
      grpc::CallbackServerContext* ctx, const v1::KvPutMetadataRequest* req,
      v1::KvPutMetadataResponse* resp) override;
  grpc::ServerUnaryReactor* DeleteMetadata(
      grpc::CallbackServerContext* ctx, const v1::KvDeleteMetadataRequest* req,
      v1::KvDeleteMetadataResponse* resp) override;

 private:
  core::Core* core_;
};

}  // namespace arca::api

#endif  // ARCA_SERVER_API_KV_SERVICE_H_
