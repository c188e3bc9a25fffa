#ifndef ARCA_SERVER_API_TOKENIZE_SERVICE_H_
#define ARCA_SERVER_API_TOKENIZE_SERVICE_H_

#include <string>
#include <string_view>

#include "arca/v1/tokenize.grpc.pb.h"
#include "server/core/core.h"

namespace arca::api {

// The resource path a TokenizeService RPC authorizes (tokenize.proto):
// "<mount>/<area>[/<name>][/<suffix>]", mount "" meaning "tokenize".
std::string TokenizeResourcePath(std::string_view mount, std::string_view area,
                                 std::string_view name,
                                 std::string_view suffix = "");

// gRPC adapter for arca.v1.TokenizeService: authorizes the resource path
// named in tokenize.proto (one call at the top of each handler), then calls
// the mount's tokenize::Engine. Non-owning Core pointer. Thread-safe.
class TokenizeService final : public arca::v1::TokenizeService::CallbackService {
 public:
  explicit TokenizeService(core::Core* core) : core_(core) {}

#define ARCA_TOKENIZE_RPC(Rpc, Req, Resp)                                  \
  grpc::ServerUnaryReactor* Rpc(grpc::CallbackServerContext* ctx,          \
                                const v1::Req* req, v1::Resp* resp) override;
  ARCA_TOKENIZE_RPC(CreateTemplate, TokenizeCreateTemplateRequest,
                    TokenizeTemplate)
  ARCA_TOKENIZE_RPC(ReadTemplate, TokenizeNameRequest, TokenizeTemplate)
  ARCA_TOKENIZE_RPC(ListTemplates, TokenizeListRequest, TokenizeListResponse)
  ARCA_TOKENIZE_RPC(DeleteTemplate, TokenizeNameRequest, TokenizeDeleteResponse)
  ARCA_TOKENIZE_RPC(CreateTransformation, TokenizeCreateTransformationRequest,
                    TokenizeTransformation)
  ARCA_TOKENIZE_RPC(ReadTransformation, TokenizeNameRequest,
                    TokenizeTransformation)
  ARCA_TOKENIZE_RPC(ListTransformations, TokenizeListRequest,
                    TokenizeListResponse)
  ARCA_TOKENIZE_RPC(DeleteTransformation, TokenizeNameRequest,
                    TokenizeDeleteResponse)
  ARCA_TOKENIZE_RPC(RotateTransformation, TokenizeNameRequest,
                    TokenizeTransformation)
  ARCA_TOKENIZE_RPC(WriteRole, TokenizeWriteRoleRequest, TokenizeRole)
  ARCA_TOKENIZE_RPC(ReadRole, TokenizeNameRequest, TokenizeRole)
  ARCA_TOKENIZE_RPC(ListRoles, TokenizeListRequest, TokenizeListResponse)
  ARCA_TOKENIZE_RPC(DeleteRole, TokenizeNameRequest, TokenizeDeleteResponse)
  ARCA_TOKENIZE_RPC(Encode, TokenizeEncodeRequest, TokenizeEncodeResponse)
  ARCA_TOKENIZE_RPC(BatchEncode, TokenizeBatchEncodeRequest,
                    TokenizeBatchEncodeResponse)
  ARCA_TOKENIZE_RPC(Decode, TokenizeDecodeRequest, TokenizeDecodeResponse)
  ARCA_TOKENIZE_RPC(BatchDecode, TokenizeBatchDecodeRequest,
                    TokenizeBatchDecodeResponse)
  ARCA_TOKENIZE_RPC(Validate, TokenizeDecodeRequest, TokenizeValidateResponse)
  ARCA_TOKENIZE_RPC(BatchValidate, TokenizeBatchDecodeRequest,
                    TokenizeBatchValidateResponse)
  ARCA_TOKENIZE_RPC(Lookup, TokenizeLookupRequest, TokenizeLookupResponse)
#undef ARCA_TOKENIZE_RPC

 private:
  core::Core* core_;
};

}  // namespace arca::api

#endif  // ARCA_SERVER_API_TOKENIZE_SERVICE_H_
