#ifndef ARCA_SERVER_API_TRANSIT_SERVICE_H_
#define ARCA_SERVER_API_TRANSIT_SERVICE_H_

#include "arca/v1/transit.grpc.pb.h"
#include "grpcpp/support/message_allocator.h"
#include "server/core/core.h"

namespace arca::api {

// Allocates the request and response of each batch call on one protobuf
// arena, so the 2,000 messages of a 1,000-item call cost bump allocations
// and one release instead of 2,000 mallocs and frees. Stateless and
// thread-safe; must outlive the server.
class BatchArenaAllocator final
    : public grpc::MessageAllocator<v1::TransitBatchRequest,
                                    v1::TransitBatchResponse> {
 public:
  grpc::MessageHolder<v1::TransitBatchRequest, v1::TransitBatchResponse>*
  AllocateMessages() override;
};

// gRPC adapter for arca.v1.TransitService: authorizes the resource path
// named in transit.proto, then calls the mount's transit::Engine.
// Non-owning Core pointer. Thread-safe.
class TransitService final : public arca::v1::TransitService::CallbackService {
 public:
  explicit TransitService(core::Core* core);

  grpc::ServerUnaryReactor* CreateKey(grpc::CallbackServerContext* ctx,
                                      const v1::TransitCreateKeyRequest* req,
                                      v1::TransitKey* resp) override;
  grpc::ServerUnaryReactor* ReadKey(grpc::CallbackServerContext* ctx,
                                    const v1::TransitReadKeyRequest* req,
                                    v1::TransitKey* resp) override;
  grpc::ServerUnaryReactor* ListKeys(
      grpc::CallbackServerContext* ctx, const v1::TransitListKeysRequest* req,
      v1::TransitListKeysResponse* resp) override;
  grpc::ServerUnaryReactor* RotateKey(grpc::CallbackServerContext* ctx,
                                      const v1::TransitRotateKeyRequest* req,
                                      v1::TransitKey* resp) override;
  grpc::ServerUnaryReactor* ConfigureKey(
      grpc::CallbackServerContext* ctx,
      const v1::TransitConfigureKeyRequest* req, v1::TransitKey* resp) override;
  grpc::ServerUnaryReactor* TrimKey(grpc::CallbackServerContext* ctx,
                                    const v1::TransitTrimKeyRequest* req,
                                    v1::TransitKey* resp) override;
  grpc::ServerUnaryReactor* DeleteKey(
      grpc::CallbackServerContext* ctx, const v1::TransitDeleteKeyRequest* req,
      v1::TransitDeleteKeyResponse* resp) override;
  grpc::ServerUnaryReactor* ExportKey(
      grpc::CallbackServerContext* ctx, const v1::TransitExportKeyRequest* req,
      v1::TransitExportKeyResponse* resp) override;
  grpc::ServerUnaryReactor* Encrypt(grpc::CallbackServerContext* ctx,
                                    const v1::TransitEncryptRequest* req,
                                    v1::TransitEncryptResponse* resp) override;
  grpc::ServerUnaryReactor* Decrypt(grpc::CallbackServerContext* ctx,
                                    const v1::TransitDecryptRequest* req,
                                    v1::TransitDecryptResponse* resp) override;
  grpc::ServerUnaryReactor* Rewrap(grpc::CallbackServerContext* ctx,
                                   const v1::TransitRewrapRequest* req,
                                   v1::TransitEncryptResponse* resp) override;
  grpc::ServerUnaryReactor* BatchEncrypt(
      grpc::CallbackServerContext* ctx, const v1::TransitBatchRequest* req,
      v1::TransitBatchResponse* resp) override;
  grpc::ServerUnaryReactor* BatchDecrypt(
      grpc::CallbackServerContext* ctx, const v1::TransitBatchRequest* req,
      v1::TransitBatchResponse* resp) override;
  grpc::ServerUnaryReactor* BatchRewrap(
      grpc::CallbackServerContext* ctx, const v1::TransitBatchRequest* req,
      v1::TransitBatchResponse* resp) override;
  grpc::ServerUnaryReactor* GenerateDataKey(
      grpc::CallbackServerContext* ctx, const v1::TransitDataKeyRequest* req,
      v1::TransitDataKeyResponse* resp) override;
  grpc::ServerUnaryReactor* Hmac(grpc::CallbackServerContext* ctx,
                                 const v1::TransitHmacRequest* req,
                                 v1::TransitHmacResponse* resp) override;
  grpc::ServerUnaryReactor* Verify(grpc::CallbackServerContext* ctx,
                                   const v1::TransitVerifyRequest* req,
                                   v1::TransitVerifyResponse* resp) override;
  grpc::ServerUnaryReactor* Sign(grpc::CallbackServerContext* ctx,
                                 const v1::TransitSignRequest* req,
                                 v1::TransitSignResponse* resp) override;

 private:
  core::Core* core_;
  BatchArenaAllocator batch_allocator_;
};

}  // namespace arca::api

#endif  // ARCA_SERVER_API_TRANSIT_SERVICE_H_
