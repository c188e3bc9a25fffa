#include "client/client.h"

#include <string.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/status.h"
#include "client/token_source.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace arca {
namespace {

// gRPC metadata values must be printable ASCII; anything else would make
// every call fail with an opaque INTERNAL error.
bool IsValidMetadataValue(const std::string& value) {
  for (unsigned char c : value) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> Client::New(ClientOptions options) {
  if (options.address.empty()) {
    return absl::InvalidArgumentError("client address is empty");
  }
  if (options.deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("client deadline must be positive");
  }
  if (absl::Status s = ValidateRetryPolicy(options.retry); !s.ok()) return s;
  if (options.token.empty() && options.token_from_environment) {
    absl::StatusOr<std::string> token = ResolveToken("");
    if (!token.ok()) return token.status();
    options.token = *std::move(token);
  }
  if (!IsValidMetadataValue(options.token)) {
    return absl::InvalidArgumentError(
        "token contains characters that are not printable ASCII");
  }
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(options.address, grpc::InsecureChannelCredentials());
  if (channel == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot create a channel to ", options.address));
  }
  return std::unique_ptr<Client>(
      new Client(std::move(options), std::move(channel)));
}

Client::Client(ClientOptions options, std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      sys_(v1::SysService::NewStub(channel_)),
      kv_(v1::KvService::NewStub(channel_)),
      transit_(v1::TransitService::NewStub(channel_)) {}

Client::~Client() {
  // Best effort: do not leave the token in freed heap memory.
  std::string& token = options_.token;
  if (!token.empty()) explicit_bzero(token.data(), token.size());
}

absl::Status Client::Call(
    Auth auth, Retry retry_mode,
    const std::function<grpc::Status(grpc::ClientContext*)>& attempt) const {
  absl::Status status;
  for (int retry = 0;; ++retry) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + options_.deadline));
    if (auth == Auth::kToken && !options_.token.empty()) {
      context.AddMetadata("authorization",
                          absl::StrCat("Bearer ", options_.token));
    }
    status = FromGrpcStatus(attempt(&context));
    if (status.ok() || !IsRetryable(status) ||
        retry_mode == Retry::kOnce || retry >= options_.retry.max_retries) {
      return status;
    }
    absl::SleepFor(BackoffDelay(options_.retry, retry));
  }
}

template <typename Response, typename Fn>
absl::StatusOr<Response> Client::Invoke(Auth auth, Retry retry,
                                        Fn fn) const {
  Response response;
  absl::Status status = Call(auth, retry, [&](grpc::ClientContext* context) {
    response.Clear();
    return fn(context, &response);
  });
  if (!status.ok()) return status;
  return response;
}

// One line per RPC: which stub method, whether it carries the token, and
// whether it may be retried.
#define ARCA_CLIENT_RPC_R(Method, Stub, Rpc, Req, Resp, AuthMode, RetryMode) \
  absl::StatusOr<v1::Resp> Client::Method(const v1::Req& request) {          \
    return Invoke<v1::Resp>(                                                 \
        AuthMode, RetryMode,                                                 \
        [&](grpc::ClientContext* context, v1::Resp* resp) {                  \
          return Stub->Rpc(context, request, resp);                          \
        });                                                                  \
  }
#define ARCA_CLIENT_RPC(Method, Stub, Rpc, Req, Resp, AuthMode) \
  ARCA_CLIENT_RPC_R(Method, Stub, Rpc, Req, Resp, AuthMode, Retry::kIdempotent)
#define ARCA_CLIENT_RPC_ONCE(Method, Stub, Rpc, Req, Resp, AuthMode) \
  ARCA_CLIENT_RPC_R(Method, Stub, Rpc, Req, Resp, AuthMode, Retry::kOnce)

ARCA_CLIENT_RPC_ONCE(Init, sys_, Init, InitRequest, InitResponse, Auth::kNone)
ARCA_CLIENT_RPC(SealStatus, sys_, SealStatus, SealStatusRequest,
                SealStatusResponse, Auth::kNone)
ARCA_CLIENT_RPC(Unseal, sys_, Unseal, UnsealRequest, SealStatusResponse,
                Auth::kNone)
ARCA_CLIENT_RPC(Seal, sys_, Seal, SealRequest, SealResponse, Auth::kToken)
ARCA_CLIENT_RPC_ONCE(Rotate, sys_, Rotate, RotateRequest, KeyStatusResponse,
                Auth::kToken)
ARCA_CLIENT_RPC(KeyStatus, sys_, KeyStatus, KeyStatusRequest, KeyStatusResponse,
                Auth::kToken)
ARCA_CLIENT_RPC_ONCE(RekeyInit, sys_, RekeyInit, RekeyInitRequest,
                RekeyStatusResponse, Auth::kNone)
ARCA_CLIENT_RPC(RekeyStatus, sys_, RekeyStatus, RekeyStatusRequest,
                RekeyStatusResponse, Auth::kNone)
ARCA_CLIENT_RPC_ONCE(RekeyUpdate, sys_, RekeyUpdate, RekeyUpdateRequest,
                RekeyUpdateResponse, Auth::kNone)
ARCA_CLIENT_RPC(RekeyCancel, sys_, RekeyCancel, RekeyCancelRequest,
                RekeyCancelResponse, Auth::kNone)

ARCA_CLIENT_RPC(KvGet, kv_, Get, KvGetRequest, KvGetResponse, Auth::kToken)
ARCA_CLIENT_RPC_ONCE(KvPut, kv_, Put, KvPutRequest, KvPutResponse, Auth::kToken)
ARCA_CLIENT_RPC(KvList, kv_, List, KvListRequest, KvListResponse, Auth::kToken)
ARCA_CLIENT_RPC(KvDelete, kv_, Delete, KvDeleteRequest, KvDeleteResponse,
                Auth::kToken)
ARCA_CLIENT_RPC(KvUndelete, kv_, Undelete, KvUndeleteRequest,
                KvUndeleteResponse, Auth::kToken)
ARCA_CLIENT_RPC(KvDestroy, kv_, Destroy, KvDestroyRequest, KvDestroyResponse,
                Auth::kToken)
ARCA_CLIENT_RPC(KvGetMetadata, kv_, GetMetadata, KvGetMetadataRequest,
                KvMetadata, Auth::kToken)
ARCA_CLIENT_RPC(KvPutMetadata, kv_, PutMetadata, KvPutMetadataRequest,
                KvPutMetadataResponse, Auth::kToken)
ARCA_CLIENT_RPC(KvDeleteMetadata, kv_, DeleteMetadata, KvDeleteMetadataRequest,
                KvDeleteMetadataResponse, Auth::kToken)

ARCA_CLIENT_RPC_ONCE(TuneMount, sys_, TuneMount, TuneMountRequest,
                     TuneMountResponse, Auth::kToken)

ARCA_CLIENT_RPC_ONCE(TransitCreateKey, transit_, CreateKey,
                     TransitCreateKeyRequest, TransitKey, Auth::kToken)
ARCA_CLIENT_RPC(TransitReadKey, transit_, ReadKey, TransitReadKeyRequest,
                TransitKey, Auth::kToken)
ARCA_CLIENT_RPC(TransitListKeys, transit_, ListKeys, TransitListKeysRequest,
                TransitListKeysResponse, Auth::kToken)
ARCA_CLIENT_RPC_ONCE(TransitRotateKey, transit_, RotateKey,
                     TransitRotateKeyRequest, TransitKey, Auth::kToken)
ARCA_CLIENT_RPC(TransitConfigureKey, transit_, ConfigureKey,
                TransitConfigureKeyRequest, TransitKey, Auth::kToken)
ARCA_CLIENT_RPC(TransitTrimKey, transit_, TrimKey, TransitTrimKeyRequest,
                TransitKey, Auth::kToken)
ARCA_CLIENT_RPC(TransitDeleteKey, transit_, DeleteKey, TransitDeleteKeyRequest,
                TransitDeleteKeyResponse, Auth::kToken)
ARCA_CLIENT_RPC(TransitExportKey, transit_, ExportKey, TransitExportKeyRequest,
                TransitExportKeyResponse, Auth::kToken)
ARCA_CLIENT_RPC_ONCE(TransitEncrypt, transit_, Encrypt, TransitEncryptRequest,
                     TransitEncryptResponse, Auth::kToken)
ARCA_CLIENT_RPC(TransitDecrypt, transit_, Decrypt, TransitDecryptRequest,
                TransitDecryptResponse, Auth::kToken)
ARCA_CLIENT_RPC_ONCE(TransitRewrap, transit_, Rewrap, TransitRewrapRequest,
                     TransitEncryptResponse, Auth::kToken)
ARCA_CLIENT_RPC_ONCE(TransitBatchEncrypt, transit_, BatchEncrypt,
                     TransitBatchRequest, TransitBatchResponse, Auth::kToken)
ARCA_CLIENT_RPC(TransitBatchDecrypt, transit_, BatchDecrypt,
                TransitBatchRequest, TransitBatchResponse, Auth::kToken)
ARCA_CLIENT_RPC_ONCE(TransitBatchRewrap, transit_, BatchRewrap,
                     TransitBatchRequest, TransitBatchResponse, Auth::kToken)
ARCA_CLIENT_RPC_ONCE(TransitGenerateDataKey, transit_, GenerateDataKey,
                     TransitDataKeyRequest, TransitDataKeyResponse,
                     Auth::kToken)
ARCA_CLIENT_RPC(TransitHmac, transit_, Hmac, TransitHmacRequest,
                TransitHmacResponse, Auth::kToken)
ARCA_CLIENT_RPC(TransitVerify, transit_, Verify, TransitVerifyRequest,
                TransitVerifyResponse, Auth::kToken)
ARCA_CLIENT_RPC(TransitSign, transit_, Sign, TransitSignRequest,
                TransitSignResponse, Auth::kToken)

#undef ARCA_CLIENT_RPC

}  // namespace arca
