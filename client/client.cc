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
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> creds =
      ChannelCredentials(options.address, options.transport, options.tls);
  if (!creds.ok()) return creds.status();
  grpc::ChannelArguments args;
  if (!options.tls.server_name.empty()) {
    args.SetSslTargetNameOverride(options.tls.server_name);
  }
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(options.address, *creds, args);
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
      tokenize_(v1::TokenizeService::NewStub(channel_)),
      login_(v1::LoginService::NewStub(channel_)),
      auth_(v1::AuthService::NewStub(channel_)),
      policy_(v1::PolicyService::NewStub(channel_)),
      audit_(v1::AuditService::NewStub(channel_)),
      lease_(v1::LeaseService::NewStub(channel_)),
      transit_(v1::TransitService::NewStub(channel_)),
      database_(v1::DatabaseService::NewStub(channel_)) {}

Client::~Client() {
  // Best effort: do not leave the token in freed heap memory.
  for (std::string* secret : {&options_.token, &options_.tls.client_key_pem}) {
    if (!secret->empty()) explicit_bzero(secret->data(), secret->size());
  }
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

#define ARCA_TOKENIZE_RPC(Rpc, Req, Resp) \
  ARCA_CLIENT_RPC(Tokenize##Rpc, tokenize_, Rpc, Req, Resp, Auth::kToken)
#define ARCA_TOKENIZE_RPC_ONCE(Rpc, Req, Resp) \
  ARCA_CLIENT_RPC_ONCE(Tokenize##Rpc, tokenize_, Rpc, Req, Resp, Auth::kToken)
ARCA_TOKENIZE_RPC_ONCE(CreateTemplate, TokenizeCreateTemplateRequest,
                       TokenizeTemplate)
ARCA_TOKENIZE_RPC(ReadTemplate, TokenizeNameRequest, TokenizeTemplate)
ARCA_TOKENIZE_RPC(ListTemplates, TokenizeListRequest, TokenizeListResponse)
ARCA_TOKENIZE_RPC(DeleteTemplate, TokenizeNameRequest, TokenizeDeleteResponse)
ARCA_TOKENIZE_RPC_ONCE(CreateTransformation,
                       TokenizeCreateTransformationRequest,
                       TokenizeTransformation)
ARCA_TOKENIZE_RPC(ReadTransformation, TokenizeNameRequest,
                  TokenizeTransformation)
ARCA_TOKENIZE_RPC(ListTransformations, TokenizeListRequest,
                  TokenizeListResponse)
ARCA_TOKENIZE_RPC(DeleteTransformation, TokenizeNameRequest,
                  TokenizeDeleteResponse)
ARCA_TOKENIZE_RPC_ONCE(RotateTransformation, TokenizeNameRequest,
                       TokenizeTransformation)
ARCA_TOKENIZE_RPC(WriteRole, TokenizeWriteRoleRequest, TokenizeRole)
ARCA_TOKENIZE_RPC(ReadRole, TokenizeNameRequest, TokenizeRole)
ARCA_TOKENIZE_RPC(ListRoles, TokenizeListRequest, TokenizeListResponse)
ARCA_TOKENIZE_RPC(DeleteRole, TokenizeNameRequest, TokenizeDeleteResponse)
ARCA_TOKENIZE_RPC_ONCE(Encode, TokenizeEncodeRequest, TokenizeEncodeResponse)
ARCA_TOKENIZE_RPC_ONCE(BatchEncode, TokenizeBatchEncodeRequest,
                       TokenizeBatchEncodeResponse)
ARCA_TOKENIZE_RPC(Decode, TokenizeDecodeRequest, TokenizeDecodeResponse)
ARCA_TOKENIZE_RPC(BatchDecode, TokenizeBatchDecodeRequest,
                  TokenizeBatchDecodeResponse)
ARCA_TOKENIZE_RPC(Validate, TokenizeDecodeRequest, TokenizeValidateResponse)
ARCA_TOKENIZE_RPC(BatchValidate, TokenizeBatchDecodeRequest,
                  TokenizeBatchValidateResponse)
ARCA_TOKENIZE_RPC(Lookup, TokenizeLookupRequest, TokenizeLookupResponse)
#undef ARCA_TOKENIZE_RPC
#undef ARCA_TOKENIZE_RPC_ONCE
ARCA_CLIENT_RPC_ONCE(AppRoleLogin, login_, AppRoleLogin, AppRoleLoginRequest,
                     LoginResponse, Auth::kNone)
ARCA_CLIENT_RPC_ONCE(KubernetesLogin, login_, KubernetesLogin,
                     KubernetesLoginRequest, LoginResponse, Auth::kNone)
ARCA_CLIENT_RPC(AppRoleWriteRole, login_, AppRoleWriteRole,
                AppRoleWriteRoleRequest, AppRoleRole, Auth::kToken)
ARCA_CLIENT_RPC(AppRoleReadRole, login_, AppRoleReadRole, AppRoleRoleRequest,
                AppRoleRole, Auth::kToken)
ARCA_CLIENT_RPC(AppRoleListRoles, login_, AppRoleListRoles,
                AppRoleListRolesRequest, NameList, Auth::kToken)
ARCA_CLIENT_RPC(AppRoleDeleteRole, login_, AppRoleDeleteRole,
                AppRoleRoleRequest, LoginEmpty, Auth::kToken)
ARCA_CLIENT_RPC_ONCE(AppRoleGenerateSecretId, login_, AppRoleGenerateSecretId,
                     AppRoleGenerateSecretIdRequest, AppRoleSecretIdResponse,
                     Auth::kToken)
ARCA_CLIENT_RPC(AppRoleListSecretIds, login_, AppRoleListSecretIds,
                AppRoleRoleRequest, NameList, Auth::kToken)
ARCA_CLIENT_RPC(AppRoleLookupSecretId, login_, AppRoleLookupSecretId,
                AppRoleAccessorRequest, AppRoleSecretIdInfo, Auth::kToken)
ARCA_CLIENT_RPC(AppRoleDestroySecretId, login_, AppRoleDestroySecretId,
                AppRoleAccessorRequest, LoginEmpty, Auth::kToken)
ARCA_CLIENT_RPC(KubernetesWriteConfig, login_, KubernetesWriteConfig,
                KubernetesConfig, LoginEmpty, Auth::kToken)
ARCA_CLIENT_RPC(KubernetesReadConfig, login_, KubernetesReadConfig,
                KubernetesReadConfigRequest, KubernetesConfig, Auth::kToken)
ARCA_CLIENT_RPC(KubernetesWriteRole, login_, KubernetesWriteRole,
                KubernetesRole, LoginEmpty, Auth::kToken)
ARCA_CLIENT_RPC(KubernetesReadRole, login_, KubernetesReadRole,
                KubernetesRoleRequest, KubernetesRole, Auth::kToken)
ARCA_CLIENT_RPC(KubernetesListRoles, login_, KubernetesListRoles,
                KubernetesListRolesRequest, NameList, Auth::kToken)
ARCA_CLIENT_RPC(KubernetesDeleteRole, login_, KubernetesDeleteRole,
                KubernetesRoleRequest, LoginEmpty, Auth::kToken)
ARCA_CLIENT_RPC_ONCE(CreateToken, auth_, CreateToken, CreateTokenRequest,
                     CreateTokenResponse, Auth::kToken)
ARCA_CLIENT_RPC(LookupToken, auth_, LookupToken, LookupTokenRequest, TokenInfo,
                Auth::kToken)
ARCA_CLIENT_RPC(RenewToken, auth_, RenewToken, RenewTokenRequest, TokenInfo,
                Auth::kToken)
ARCA_CLIENT_RPC(RevokeToken, auth_, RevokeToken, RevokeTokenRequest,
                RevokeTokenResponse, Auth::kToken)

ARCA_CLIENT_RPC(WritePolicy, policy_, WritePolicy, WritePolicyRequest,
                WritePolicyResponse, Auth::kToken)
ARCA_CLIENT_RPC(ReadPolicy, policy_, ReadPolicy, ReadPolicyRequest,
                ReadPolicyResponse, Auth::kToken)
ARCA_CLIENT_RPC(ListPolicies, policy_, ListPolicies, ListPoliciesRequest,
                ListPoliciesResponse, Auth::kToken)
ARCA_CLIENT_RPC(DeletePolicy, policy_, DeletePolicy, DeletePolicyRequest,
                DeletePolicyResponse, Auth::kToken)
ARCA_CLIENT_RPC(ExplainPolicy, policy_, ExplainPolicy, ExplainPolicyRequest,
                ExplainPolicyResponse, Auth::kToken)

ARCA_CLIENT_RPC(EnableAuditDevice, audit_, EnableDevice, EnableDeviceRequest,
                EnableDeviceResponse, Auth::kToken)
ARCA_CLIENT_RPC(DisableAuditDevice, audit_, DisableDevice,
                DisableDeviceRequest, DisableDeviceResponse, Auth::kToken)
ARCA_CLIENT_RPC(ListAuditDevices, audit_, ListDevices, ListDevicesRequest,
                ListDevicesResponse, Auth::kToken)
ARCA_CLIENT_RPC(AuditHash, audit_, Hash, HashRequest, HashResponse,
                Auth::kToken)
ARCA_CLIENT_RPC(VerifyAuditDevice, audit_, VerifyDevice, VerifyDeviceRequest,
                VerifyLogResponse, Auth::kToken)

ARCA_CLIENT_RPC(LookupLease, lease_, LookupLease, LookupLeaseRequest, LeaseInfo,
                Auth::kToken)
ARCA_CLIENT_RPC(RenewLease, lease_, RenewLease, RenewLeaseRequest, LeaseInfo,
                Auth::kToken)
ARCA_CLIENT_RPC(RevokeLease, lease_, RevokeLease, RevokeLeaseRequest,
                RevokeLeaseResponse, Auth::kToken)
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

#define ARCA_DATABASE_RPC(Rpc, Req, Resp) \
  ARCA_CLIENT_RPC(Database##Rpc, database_, Rpc, Req, Resp, Auth::kToken)
#define ARCA_DATABASE_RPC_ONCE(Rpc, Req, Resp) \
  ARCA_CLIENT_RPC_ONCE(Database##Rpc, database_, Rpc, Req, Resp, Auth::kToken)
ARCA_DATABASE_RPC(WriteConnection, DatabaseWriteConnectionRequest,
                  DatabaseConnection)
ARCA_DATABASE_RPC(ReadConnection, DatabaseNameRequest, DatabaseConnection)
ARCA_DATABASE_RPC(ListConnections, DatabaseListRequest, DatabaseListResponse)
ARCA_DATABASE_RPC(DeleteConnection, DatabaseNameRequest,
                  DatabaseDeleteResponse)
ARCA_DATABASE_RPC_ONCE(RotateRoot, DatabaseNameRequest, DatabaseConnection)
ARCA_DATABASE_RPC(WriteRole, DatabaseWriteRoleRequest, DatabaseRole)
ARCA_DATABASE_RPC(ReadRole, DatabaseNameRequest, DatabaseRole)
ARCA_DATABASE_RPC(ListRoles, DatabaseListRequest, DatabaseListResponse)
ARCA_DATABASE_RPC(DeleteRole, DatabaseNameRequest, DatabaseDeleteResponse)
ARCA_DATABASE_RPC_ONCE(Creds, DatabaseCredsRequest, DatabaseCredsResponse)
#undef ARCA_DATABASE_RPC
#undef ARCA_DATABASE_RPC_ONCE

#undef ARCA_CLIENT_RPC

absl::StatusOr<v1::VerifyLogResponse> Client::VerifyAuditLog(
    const std::string& device, std::istream& log) {
  v1::VerifyLogResponse response;
  absl::Status status =
      Call(Auth::kToken, Retry::kOnce, [&](grpc::ClientContext* context) {
        std::unique_ptr<grpc::ClientWriter<v1::VerifyLogRequest>> writer =
            audit_->VerifyLog(context, &response);
        v1::VerifyLogRequest first;
        first.set_device(device);
        bool open = writer->Write(first);
        std::string buf(64 * 1024, '\0');
        while (open && log) {
          log.read(buf.data(), static_cast<std::streamsize>(buf.size()));
          const std::streamsize n = log.gcount();
          if (n <= 0) break;
          v1::VerifyLogRequest chunk;
          chunk.set_chunk(buf.data(), static_cast<size_t>(n));
          open = writer->Write(chunk);
        }
        writer->WritesDone();
        return writer->Finish();
      });
  if (!status.ok()) return status;
  return response;
}

}  // namespace arca
