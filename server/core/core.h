#ifndef ARCA_SERVER_CORE_CORE_H_
#define ARCA_SERVER_CORE_CORE_H_

#include <cstdint>
#include <memory>
#include <map>
#include <optional>
#include <thread>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/auth/approle.h"
#include "server/auth/kubernetes.h"
#include "server/barrier/barrier.h"
#include "server/core/core_records.pb.h"
#include "absl/functional/function_ref.h"
#include "server/audit/broker.h"
#include "server/audit/chain.h"
#include "server/audit/file_device.h"
#include "server/core/policy_store.h"
#include "server/core/request.h"
#include "server/core/shares.h"
#include "server/core/token_store.h"
#include "server/engines/database/engine.h"
#include "server/engines/kv/engine.h"
#include "server/engines/tokenize/engine.h"
#include "server/lease/manager.h"
#include "server/engines/transit/engine.h"
#include "server/storage/backend.h"

namespace arca::core {

inline constexpr std::string_view kVersion = "0.1.0";

// Capability is auth::Capability (request.h); this names it.
std::string_view CapabilityName(Capability c);

// A mounted transit engine and its mount options.
struct TransitMount {
  std::shared_ptr<engines::transit::Engine> engine;
  bool create_on_encrypt = true;
};

// How often an unsealed core runs engine maintenance (transit auto-rotation
// and usage flushes, tokenize purge of expired tokens).
inline constexpr absl::Duration kMaintenanceInterval = absl::Minutes(1);

struct InitResult {
  std::vector<std::string> shares_base64;
  std::string root_token;
};

struct SealStatus {
  bool initialized = false;
  bool sealed = true;
  uint32_t secret_shares = 0;
  uint32_t secret_threshold = 0;
  uint32_t progress = 0;
};

struct RekeyStatus {
  bool started = false;
  std::string nonce;
  uint32_t secret_shares = 0;     // new configuration
  uint32_t secret_threshold = 0;  // new configuration
  uint32_t progress = 0;
  uint32_t required = 0;
};

struct RekeyResult {
  bool complete = false;
  uint32_t progress = 0;
  uint32_t required = 0;
  std::vector<std::string> shares_base64;
};

// Core is the server without its transport: seal state, unseal and rekey
// progress, tokens, policies, leases, audit devices, the mount table, and
// the request pipeline every authenticated RPC goes through (BeginRequest /
// FinishRequest, or Handle for both). It owns the storage backend, the
// barrier, the mounted engines, the lease manager and its expiry thread, and
// while unsealed a maintenance thread (every kMaintenanceInterval: transit
// auto-rotation and usage flushes, tokenize purge of expired tokens).
// Thread-safe.
//
// Storage layout: "core/seal-config" in the clear (needed while sealed);
// through the barrier: "core/mounts", "core/token/...", "core/policy/<name>",
// "core/audit/<name>", "core/lease/...", the login methods' views
// "auth/approle/" and "auth/kubernetes/", and each mount's view
// "logical/<uuid>/". Init mounts "kv", "transit", "tokenize" and "database"; a data dir
// from before a mount type existed gets its mount added at the next unseal.
class Core {
 public:
  static absl::StatusOr<std::unique_ptr<Core>> Open(
      std::unique_ptr<storage::Backend> backend,
      barrier::Options barrier_options = {});
  ~Core();

  // Initializes storage once; leaves the server sealed.
  absl::StatusOr<InitResult> Init(int shares, int threshold);
  absl::StatusOr<SealStatus> GetSealStatus();
  // Adds one share (or resets). When the threshold is reached, unseals, or
  // returns INVALID_ARGUMENT with progress reset if the shares are wrong.
  absl::StatusOr<SealStatus> Unseal(std::string_view share_text, bool reset);
  absl::Status Seal();

  absl::StatusOr<barrier::TermInfo> Rotate();
  absl::StatusOr<barrier::TermInfo> KeyStatus();

  absl::StatusOr<RekeyStatus> RekeyInit(int shares, int threshold);
  RekeyStatus GetRekeyStatus();
  absl::StatusOr<RekeyResult> RekeyUpdate(std::string_view nonce,
                                          std::string_view share_text);
  absl::Status RekeyCancel(std::string_view nonce);

  // The request pipeline (DESIGN.md section 2), first half: sealed ->
  // UNAVAILABLE; resolve the token (UNAUTHENTICATED); ACL check of
  // request.path / request.capability; audit the request with the decision
  // (an audit failure is UNAVAILABLE and nothing runs); PERMISSION_DENIED if
  // denied; spend one use of a use-limited token. Returns the Caller the
  // handler works with.
  absl::StatusOr<std::unique_ptr<Caller>> BeginRequest(Request request);
  // Second half: register the lease the handler attached (if `status` is
  // OK), audit the response with `response` fields and the final status,
  // revoke a token whose last use this was. Returns the status to send: the
  // handler's, or UNAVAILABLE if the response could not be audited (the
  // response must then be discarded).
  absl::Status FinishRequest(Caller& caller, absl::Status status,
                             const AuditPayload& response);
  // FinishRequest with the response's fields built only if a device will
  // write them.
  absl::Status FinishRequestWith(
      Caller& caller, absl::Status status,
      absl::FunctionRef<void(AuditPayload*)> describe_response);
  // True if FinishRequest may wait on a disk for `caller`: an audit device
  // is enabled (synced lines), a lease is attached, or the token's last use
  // revokes it.
  bool FinishMayBlock(const Caller& caller) const;
  // BeginRequest, `handler`, `describe_response` (only on success), then
  // FinishRequest.
  absl::Status Handle(Request request,
                      absl::FunctionRef<absl::Status(Caller&)> handler,
                      absl::FunctionRef<void(AuditPayload*)> describe_response);
  // Audits an unauthenticated lifecycle event (init, unseal, seal-status)
  // to every enabled device; best effort, as these return no stored secret
  // and must work while audit devices are sealed away.
  void AuditEvent(std::string_view operation, std::string_view remote_address,
                  AuditPayload payload, const absl::Status& status);

  // Tokens. Creates a token for `caller`: without policies it inherits the
  // caller's; a non-root caller may only hand out policies it holds
  // (PERMISSION_DENIED); an orphan needs sudo on auth/token/create. Every
  // non-root token also gets "default".
  absl::StatusOr<IssuedToken> CreateToken(const Caller& caller,
                                          TokenParams params);
  TokenStore& tokens() { return tokens_; }
  PolicyStore& policies() { return policies_; }
  lease::Manager& leases() { return leases_; }
  // The login methods, over the views "auth/approle/" and
  // "auth/kubernetes/"; their cached keys are dropped at seal.
  auth::AppRoleAuth& approle() { return approle_; }
  auth::KubernetesAuth& kubernetes() { return kubernetes_; }

  // Audit devices. `type` must be "file" with `path` set. The device gets a
  // fresh salt kept in the barrier; enabled devices reopen at unseal.
  absl::Status EnableAudit(std::string_view name, std::string_view type,
                           std::string_view path);
  absl::Status DisableAudit(std::string_view name);
  // Enabled devices (salts cleared), sorted by name.
  absl::StatusOr<std::vector<AuditDeviceRecord>> ListAudit();
  // HashForAudit(device salt, value): what the device writes for `value`.
  absl::StatusOr<std::string> AuditHash(std::string_view name,
                                        std::string_view value);
  // The device's salt (for verification, inside the server only) and its
  // live chain head if it is a file device that is open.
  absl::StatusOr<kms::SecretBytes> AuditSalt(std::string_view name);
  std::optional<audit::ChainHead> AuditHead(std::string_view name);
  // The file an open device writes.
  std::optional<std::string> AuditPath(std::string_view name);
  // The single device's name if exactly one is enabled.
  absl::StatusOr<std::string> SoleAuditDevice();

  // The KV engine mounted at `mount`; NOT_FOUND if there is none.
  absl::StatusOr<std::shared_ptr<engines::kv::Engine>> KvEngine(
      std::string_view mount);
  // The tokenize engine mounted at `mount`; NOT_FOUND if there is none.
  absl::StatusOr<std::shared_ptr<engines::tokenize::Engine>> TokenizeEngine(
      std::string_view mount);

  // The database engine mounted at `mount`; NOT_FOUND if there is none.
  absl::StatusOr<std::shared_ptr<engines::database::Engine>> DatabaseEngine(
      std::string_view mount);

  // The transit engine mounted at `mount`; NOT_FOUND if there is none.
  absl::StatusOr<TransitMount> TransitEngine(std::string_view mount);

  // Sets a transit mount's create-on-encrypt option and stores it in the
  // mount table. NOT_FOUND if no transit engine is mounted at `mount`.
  absl::Status TuneTransitMount(std::string_view mount,
                                bool create_on_encrypt);

 private:
  Core(std::unique_ptr<storage::Backend> backend, barrier::Options options);
  absl::StatusOr<std::optional<SealConfig>> LoadSealConfig();
  absl::Status StoreSealConfig(const SealConfig& config);
  absl::Status DiscardUnfinishedInit() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After the barrier is unsealed: load tokens, mounts and audit devices.
  absl::Status PostUnseal() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status OpenAuditDevices();
  // Writes one line if any device is enabled; `payload` fills its fields
  // and is not called otherwise.
  absl::Status AuditLog(const Caller& caller, audit::Entry::Kind kind,
                        const auth::Decision& decision,
                        const absl::Status* status,
                        absl::FunctionRef<void(AuditPayload*)> payload);
  // The request line: fields from `describe` if set, else the request's
  // payload.
  absl::Status AuditRequest(const Caller& caller,
                            const std::function<void(AuditPayload*)>& describe,
                            const auth::Decision& decision,
                            const absl::Status* status);
  void ExpiryLoop();
  void PreSeal() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts / stops the maintenance thread (under mu_).
  void StartMaintenance() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StopMaintenance() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RunMaintenance();
  SealStatus StatusLocked(const std::optional<SealConfig>& config) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::unique_ptr<storage::Backend> backend_;
  barrier::Barrier barrier_;
  lease::Manager leases_;
  TokenStore tokens_;
  PolicyStore policies_;
  auth::AppRoleAuth approle_;
  auth::KubernetesAuth kubernetes_;
  audit::Broker audit_;
  absl::Mutex audit_mu_;  // enable/disable
  std::map<std::string, std::shared_ptr<audit::FileDevice>, std::less<>>
      audit_files_ ABSL_GUARDED_BY(audit_mu_);

  absl::Mutex mu_;  // lifecycle: init, unseal, seal, rekey
  ShareCollector unseal_shares_ ABSL_GUARDED_BY(mu_);
  struct Rekey {
    std::string nonce;
    int shares = 0;
    int threshold = 0;
    ShareCollector collected;
  };
  std::optional<Rekey> rekey_ ABSL_GUARDED_BY(mu_);

  absl::Mutex mounts_mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<engines::kv::Engine>>
      kv_mounts_ ABSL_GUARDED_BY(mounts_mu_);
  absl::flat_hash_map<std::string, std::shared_ptr<engines::tokenize::Engine>>
      tokenize_mounts_ ABSL_GUARDED_BY(mounts_mu_);
  absl::flat_hash_map<std::string, std::shared_ptr<engines::database::Engine>>
      database_mounts_ ABSL_GUARDED_BY(mounts_mu_);

  // The expiry thread wakes once a second; stop_ ends it.
  absl::Mutex expiry_mu_;
  bool stop_ ABSL_GUARDED_BY(expiry_mu_) = false;
  std::thread expiry_thread_;
  absl::flat_hash_map<std::string, TransitMount> transit_mounts_
      ABSL_GUARDED_BY(mounts_mu_);

  // The maintenance thread runs between PostUnseal and PreSeal; it takes
  // mounts_mu_ only to copy the engine list, never mu_.
  std::unique_ptr<absl::Notification> stop_maintenance_ ABSL_GUARDED_BY(mu_);
  std::thread maintenance_ ABSL_GUARDED_BY(mu_);
};

}  // namespace arca::core

#endif  // ARCA_SERVER_CORE_CORE_H_
