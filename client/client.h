#ifndef ARCA_CLIENT_CLIENT_H_
#define ARCA_CLIENT_CLIENT_H_

#include <functional>
#include <istream>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "arca/v1/audit.grpc.pb.h"
#include "arca/v1/auth.grpc.pb.h"
#include "arca/v1/database.grpc.pb.h"
#include "arca/v1/database.pb.h"
#include "arca/v1/kv.grpc.pb.h"
#include "arca/v1/lease.grpc.pb.h"
#include "arca/v1/policy.grpc.pb.h"
#include "arca/v1/kv.pb.h"
#include "arca/v1/login.grpc.pb.h"
#include "arca/v1/login.pb.h"
#include "arca/v1/sys.grpc.pb.h"
#include "arca/v1/sys.pb.h"
#include "arca/v1/tokenize.grpc.pb.h"
#include "arca/v1/tokenize.pb.h"
#include "arca/v1/transit.grpc.pb.h"
#include "arca/v1/transit.pb.h"
#include "client/retry.h"
#include "client/transport.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace arca {

// Default address of arcad.
inline constexpr char kDefaultAddress[] = "127.0.0.1:8200";

// How to reach arcad and how patient to be with it.
struct ClientOptions {
  // gRPC target, e.g. "127.0.0.1:8200", "dns:///arca.internal:8200" or
  // "unix:/run/arca/arcad.sock".
  std::string address = kDefaultAddress;
  // Token sent as `authorization: Bearer <token>` on authenticated RPCs.
  // When empty and `token_from_environment` is true, New() looks it up with
  // ResolveToken() (ARCA_TOKEN, then ~/.arca-token).
  std::string token;
  bool token_from_environment = true;
  // Deadline of each attempt of each RPC.
  absl::Duration deadline = absl::Seconds(30);
  RetryPolicy retry;
  // Transport security. With kAuto a configured CA or client certificate
  // means TLS, a loopback or unix target without them means plaintext (the
  // dev server), and any other target means TLS with the system trust store.
  Transport transport = Transport::kAuto;
  TlsConfig tls;
};

// Client is the C++ API of arcad: one method per RPC of SysService,
// KvService, TransitService, DatabaseService, TokenizeService,
// LoginService, AuthService, PolicyService, AuditService and LeaseService,
// each returning the response proto or an absl::Status with the server's
// code and message. It owns one gRPC channel; calls carry the
// configured deadline and are retried with exponential backoff on
// UNAVAILABLE only. Thread-safe: one Client may be shared by many threads.
class Client {
 public:
  // Validates `options`, resolves the token and opens a channel (lazily
  // connected: an unreachable server shows up as UNAVAILABLE on the first
  // call, not here).
  static absl::StatusOr<std::unique_ptr<Client>> New(ClientOptions options);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // SysService (see proto/arca/v1/sys.proto for semantics and permissions).
  absl::StatusOr<v1::InitResponse> Init(const v1::InitRequest& request);
  absl::StatusOr<v1::SealStatusResponse> SealStatus(
      const v1::SealStatusRequest& request = {});
  absl::StatusOr<v1::SealStatusResponse> Unseal(
      const v1::UnsealRequest& request);
  absl::StatusOr<v1::SealResponse> Seal(const v1::SealRequest& request = {});
  absl::StatusOr<v1::KeyStatusResponse> Rotate(
      const v1::RotateRequest& request = {});
  absl::StatusOr<v1::KeyStatusResponse> KeyStatus(
      const v1::KeyStatusRequest& request = {});
  absl::StatusOr<v1::RekeyStatusResponse> RekeyInit(
      const v1::RekeyInitRequest& request);
  absl::StatusOr<v1::RekeyStatusResponse> RekeyStatus(
      const v1::RekeyStatusRequest& request = {});
  absl::StatusOr<v1::RekeyUpdateResponse> RekeyUpdate(
      const v1::RekeyUpdateRequest& request);
  absl::StatusOr<v1::RekeyCancelResponse> RekeyCancel(
      const v1::RekeyCancelRequest& request);

  // KvService (see proto/arca/v1/kv.proto). An empty `mount` is sent as is;
  // the server treats it as "kv".
  absl::StatusOr<v1::KvGetResponse> KvGet(const v1::KvGetRequest& request);
  absl::StatusOr<v1::KvPutResponse> KvPut(const v1::KvPutRequest& request);
  absl::StatusOr<v1::KvListResponse> KvList(const v1::KvListRequest& request);
  absl::StatusOr<v1::KvDeleteResponse> KvDelete(
      const v1::KvDeleteRequest& request);
  absl::StatusOr<v1::KvUndeleteResponse> KvUndelete(
      const v1::KvUndeleteRequest& request);
  absl::StatusOr<v1::KvDestroyResponse> KvDestroy(
      const v1::KvDestroyRequest& request);
  absl::StatusOr<v1::KvMetadata> KvGetMetadata(
      const v1::KvGetMetadataRequest& request);
  absl::StatusOr<v1::KvPutMetadataResponse> KvPutMetadata(
      const v1::KvPutMetadataRequest& request);
  absl::StatusOr<v1::KvDeleteMetadataResponse> KvDeleteMetadata(
      const v1::KvDeleteMetadataRequest& request);

  // TokenizeService (see proto/arca/v1/tokenize.proto). An empty `mount` is
  // the server's "tokenize". Creates, rotation and encodes are not retried
  // (a vaulted encode repeated after a lost answer would mint a second
  // token); the rest are.
  absl::StatusOr<v1::TokenizeTemplate> TokenizeCreateTemplate(
      const v1::TokenizeCreateTemplateRequest& request);
  absl::StatusOr<v1::TokenizeTemplate> TokenizeReadTemplate(
      const v1::TokenizeNameRequest& request);
  absl::StatusOr<v1::TokenizeListResponse> TokenizeListTemplates(
      const v1::TokenizeListRequest& request);
  absl::StatusOr<v1::TokenizeDeleteResponse> TokenizeDeleteTemplate(
      const v1::TokenizeNameRequest& request);
  absl::StatusOr<v1::TokenizeTransformation> TokenizeCreateTransformation(
      const v1::TokenizeCreateTransformationRequest& request);
  absl::StatusOr<v1::TokenizeTransformation> TokenizeReadTransformation(
      const v1::TokenizeNameRequest& request);
  absl::StatusOr<v1::TokenizeListResponse> TokenizeListTransformations(
      const v1::TokenizeListRequest& request);
  absl::StatusOr<v1::TokenizeDeleteResponse> TokenizeDeleteTransformation(
      const v1::TokenizeNameRequest& request);
  absl::StatusOr<v1::TokenizeTransformation> TokenizeRotateTransformation(
      const v1::TokenizeNameRequest& request);
  absl::StatusOr<v1::TokenizeRole> TokenizeWriteRole(
      const v1::TokenizeWriteRoleRequest& request);
  absl::StatusOr<v1::TokenizeRole> TokenizeReadRole(
      const v1::TokenizeNameRequest& request);
  absl::StatusOr<v1::TokenizeListResponse> TokenizeListRoles(
      const v1::TokenizeListRequest& request);
  absl::StatusOr<v1::TokenizeDeleteResponse> TokenizeDeleteRole(
      const v1::TokenizeNameRequest& request);
  absl::StatusOr<v1::TokenizeEncodeResponse> TokenizeEncode(
      const v1::TokenizeEncodeRequest& request);
  absl::StatusOr<v1::TokenizeBatchEncodeResponse> TokenizeBatchEncode(
      const v1::TokenizeBatchEncodeRequest& request);
  absl::StatusOr<v1::TokenizeDecodeResponse> TokenizeDecode(
      const v1::TokenizeDecodeRequest& request);
  absl::StatusOr<v1::TokenizeBatchDecodeResponse> TokenizeBatchDecode(
      const v1::TokenizeBatchDecodeRequest& request);
  absl::StatusOr<v1::TokenizeValidateResponse> TokenizeValidate(
      const v1::TokenizeDecodeRequest& request);
  absl::StatusOr<v1::TokenizeBatchValidateResponse> TokenizeBatchValidate(
      const v1::TokenizeBatchDecodeRequest& request);
  absl::StatusOr<v1::TokenizeLookupResponse> TokenizeLookup(
      const v1::TokenizeLookupRequest& request);
  // LoginService (see proto/arca/v1/login.proto). Logins send no token and
  // are never retried (a single-use secret_id would be spent twice).
  absl::StatusOr<v1::LoginResponse> AppRoleLogin(
      const v1::AppRoleLoginRequest& request);
  absl::StatusOr<v1::LoginResponse> KubernetesLogin(
      const v1::KubernetesLoginRequest& request);
  absl::StatusOr<v1::AppRoleRole> AppRoleWriteRole(
      const v1::AppRoleWriteRoleRequest& request);
  absl::StatusOr<v1::AppRoleRole> AppRoleReadRole(
      const v1::AppRoleRoleRequest& request);
  absl::StatusOr<v1::NameList> AppRoleListRoles(
      const v1::AppRoleListRolesRequest& request = {});
  absl::StatusOr<v1::LoginEmpty> AppRoleDeleteRole(
      const v1::AppRoleRoleRequest& request);
  absl::StatusOr<v1::AppRoleSecretIdResponse> AppRoleGenerateSecretId(
      const v1::AppRoleGenerateSecretIdRequest& request);
  absl::StatusOr<v1::NameList> AppRoleListSecretIds(
      const v1::AppRoleRoleRequest& request);
  absl::StatusOr<v1::AppRoleSecretIdInfo> AppRoleLookupSecretId(
      const v1::AppRoleAccessorRequest& request);
  absl::StatusOr<v1::LoginEmpty> AppRoleDestroySecretId(
      const v1::AppRoleAccessorRequest& request);
  absl::StatusOr<v1::LoginEmpty> KubernetesWriteConfig(
      const v1::KubernetesConfig& request);
  absl::StatusOr<v1::KubernetesConfig> KubernetesReadConfig(
      const v1::KubernetesReadConfigRequest& request = {});
  absl::StatusOr<v1::LoginEmpty> KubernetesWriteRole(
      const v1::KubernetesRole& request);
  absl::StatusOr<v1::KubernetesRole> KubernetesReadRole(
      const v1::KubernetesRoleRequest& request);
  absl::StatusOr<v1::NameList> KubernetesListRoles(
      const v1::KubernetesListRolesRequest& request = {});
  absl::StatusOr<v1::LoginEmpty> KubernetesDeleteRole(
      const v1::KubernetesRoleRequest& request);
  // AuthService (proto/arca/v1/auth.proto). CreateToken is never retried:
  // a retry after a lost answer would mint a second token.
  absl::StatusOr<v1::CreateTokenResponse> CreateToken(
      const v1::CreateTokenRequest& request);
  absl::StatusOr<v1::TokenInfo> LookupToken(
      const v1::LookupTokenRequest& request);
  absl::StatusOr<v1::TokenInfo> RenewToken(const v1::RenewTokenRequest& request);
  absl::StatusOr<v1::RevokeTokenResponse> RevokeToken(
      const v1::RevokeTokenRequest& request);

  // PolicyService (proto/arca/v1/policy.proto).
  absl::StatusOr<v1::WritePolicyResponse> WritePolicy(
      const v1::WritePolicyRequest& request);
  absl::StatusOr<v1::ReadPolicyResponse> ReadPolicy(
      const v1::ReadPolicyRequest& request);
  absl::StatusOr<v1::ListPoliciesResponse> ListPolicies(
      const v1::ListPoliciesRequest& request = {});
  absl::StatusOr<v1::DeletePolicyResponse> DeletePolicy(
      const v1::DeletePolicyRequest& request);
  absl::StatusOr<v1::ExplainPolicyResponse> ExplainPolicy(
      const v1::ExplainPolicyRequest& request);

  // LeaseService (proto/arca/v1/lease.proto).
  absl::StatusOr<v1::LeaseInfo> LookupLease(const v1::LookupLeaseRequest& request);
  absl::StatusOr<v1::LeaseInfo> RenewLease(const v1::RenewLeaseRequest& request);
  absl::StatusOr<v1::RevokeLeaseResponse> RevokeLease(
      const v1::RevokeLeaseRequest& request);

  // AuditService (proto/arca/v1/audit.proto).
  absl::StatusOr<v1::EnableDeviceResponse> EnableAuditDevice(
      const v1::EnableDeviceRequest& request);
  absl::StatusOr<v1::DisableDeviceResponse> DisableAuditDevice(
      const v1::DisableDeviceRequest& request);
  absl::StatusOr<v1::ListDevicesResponse> ListAuditDevices(
      const v1::ListDevicesRequest& request = {});
  absl::StatusOr<v1::HashResponse> AuditHash(const v1::HashRequest& request);
  // Streams `log` (read to its end, in 64 KiB chunks) to the server, which
  // checks its hash chain with `device`'s salt ("" = the only device).
  // Not retried: the stream is consumed.
  absl::StatusOr<v1::VerifyLogResponse> VerifyAuditLog(const std::string& device,
                                                       std::istream& log);
  // Verifies the device's live file on the server, tail included.
  absl::StatusOr<v1::VerifyLogResponse> VerifyAuditDevice(
      const v1::VerifyDeviceRequest& request);
  // TransitService (see proto/arca/v1/transit.proto). An empty `mount` is
  // sent as is; the server treats it as "transit". Reads, decrypt, HMAC,
  // verify and sign are retried on UNAVAILABLE; calls that create or change
  // a key or consume a nonce (create, rotate, encrypt, rewrap, datakey) are
  // not, so a dropped answer never rotates or encrypts twice.
  absl::StatusOr<v1::TransitKey> TransitCreateKey(
      const v1::TransitCreateKeyRequest& request);
  absl::StatusOr<v1::TransitKey> TransitReadKey(
      const v1::TransitReadKeyRequest& request);
  absl::StatusOr<v1::TransitListKeysResponse> TransitListKeys(
      const v1::TransitListKeysRequest& request);
  absl::StatusOr<v1::TransitKey> TransitRotateKey(
      const v1::TransitRotateKeyRequest& request);
  absl::StatusOr<v1::TransitKey> TransitConfigureKey(
      const v1::TransitConfigureKeyRequest& request);
  absl::StatusOr<v1::TransitKey> TransitTrimKey(
      const v1::TransitTrimKeyRequest& request);
  absl::StatusOr<v1::TransitDeleteKeyResponse> TransitDeleteKey(
      const v1::TransitDeleteKeyRequest& request);
  absl::StatusOr<v1::TransitExportKeyResponse> TransitExportKey(
      const v1::TransitExportKeyRequest& request);
  absl::StatusOr<v1::TransitEncryptResponse> TransitEncrypt(
      const v1::TransitEncryptRequest& request);
  absl::StatusOr<v1::TransitDecryptResponse> TransitDecrypt(
      const v1::TransitDecryptRequest& request);
  absl::StatusOr<v1::TransitEncryptResponse> TransitRewrap(
      const v1::TransitRewrapRequest& request);
  absl::StatusOr<v1::TransitBatchResponse> TransitBatchEncrypt(
      const v1::TransitBatchRequest& request);
  absl::StatusOr<v1::TransitBatchResponse> TransitBatchDecrypt(
      const v1::TransitBatchRequest& request);
  absl::StatusOr<v1::TransitBatchResponse> TransitBatchRewrap(
      const v1::TransitBatchRequest& request);
  absl::StatusOr<v1::TransitDataKeyResponse> TransitGenerateDataKey(
      const v1::TransitDataKeyRequest& request);
  absl::StatusOr<v1::TransitHmacResponse> TransitHmac(
      const v1::TransitHmacRequest& request);
  absl::StatusOr<v1::TransitVerifyResponse> TransitVerify(
      const v1::TransitVerifyRequest& request);
  absl::StatusOr<v1::TransitSignResponse> TransitSign(
      const v1::TransitSignRequest& request);

  // DatabaseService (see proto/arca/v1/database.proto). An empty `mount` is
  // the server's "database". Creds and RotateRoot are not retried: after a
  // lost answer a repeat would create a second login in PostgreSQL, or
  // change the admin password again; the rest are.
  absl::StatusOr<v1::DatabaseConnection> DatabaseWriteConnection(
      const v1::DatabaseWriteConnectionRequest& request);
  absl::StatusOr<v1::DatabaseConnection> DatabaseReadConnection(
      const v1::DatabaseNameRequest& request);
  absl::StatusOr<v1::DatabaseListResponse> DatabaseListConnections(
      const v1::DatabaseListRequest& request);
  absl::StatusOr<v1::DatabaseDeleteResponse> DatabaseDeleteConnection(
      const v1::DatabaseNameRequest& request);
  absl::StatusOr<v1::DatabaseConnection> DatabaseRotateRoot(
      const v1::DatabaseNameRequest& request);
  absl::StatusOr<v1::DatabaseRole> DatabaseWriteRole(
      const v1::DatabaseWriteRoleRequest& request);
  absl::StatusOr<v1::DatabaseRole> DatabaseReadRole(
      const v1::DatabaseNameRequest& request);
  absl::StatusOr<v1::DatabaseListResponse> DatabaseListRoles(
      const v1::DatabaseListRequest& request);
  absl::StatusOr<v1::DatabaseDeleteResponse> DatabaseDeleteRole(
      const v1::DatabaseNameRequest& request);
  absl::StatusOr<v1::DatabaseCredsResponse> DatabaseCreds(
      const v1::DatabaseCredsRequest& request);

  // SysService TuneMount: sys/mounts/<path>/tune, sudo.
  absl::StatusOr<v1::TuneMountResponse> TuneMount(
      const v1::TuneMountRequest& request);

 private:
  // Whether an RPC carries the token. Unauthenticated RPCs (init, unseal,
  // seal-status, rekey) never see it, so it is not exposed needlessly.
  enum class Auth { kNone, kToken };
  // Whether a failed attempt may be repeated. UNAVAILABLE can arrive after
  // the server acted (the connection dropped before the answer); repeating
  // Init, RekeyUpdate or a KV put would then lose shares or write twice.
  enum class Retry { kIdempotent, kOnce };

  Client(ClientOptions options, std::shared_ptr<grpc::Channel> channel);

  // Runs `attempt` (one RPC on a fresh ClientContext) under the retry policy.
  absl::Status Call(
      Auth auth, Retry retry,
      const std::function<grpc::Status(grpc::ClientContext*)>& attempt) const;

  template <typename Response, typename Fn>
  absl::StatusOr<Response> Invoke(Auth auth, Retry retry, Fn fn) const;

  ClientOptions options_;  // not modified after construction
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::SysService::Stub> sys_;
  std::unique_ptr<v1::KvService::Stub> kv_;
  std::unique_ptr<v1::TokenizeService::Stub> tokenize_;
  std::unique_ptr<v1::LoginService::Stub> login_;
  std::unique_ptr<v1::AuthService::Stub> auth_;
  std::unique_ptr<v1::PolicyService::Stub> policy_;
  std::unique_ptr<v1::AuditService::Stub> audit_;
  std::unique_ptr<v1::LeaseService::Stub> lease_;
  std::unique_ptr<v1::TransitService::Stub> transit_;
  std::unique_ptr<v1::DatabaseService::Stub> database_;
};

}  // namespace arca

#endif  // ARCA_CLIENT_CLIENT_H_
