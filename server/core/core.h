#ifndef ARCA_SERVER_CORE_CORE_H_
#define ARCA_SERVER_CORE_CORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/barrier/barrier.h"
#include "server/core/core_records.pb.h"
#include "server/core/shares.h"
#include "server/core/token_store.h"
#include "server/engines/kv/engine.h"
#include "server/engines/transit/engine.h"
#include "server/storage/backend.h"

namespace arca::core {

inline constexpr std::string_view kVersion = "0.1.0";

enum class Capability { kCreate, kRead, kUpdate, kDelete, kList, kSudo };
std::string_view CapabilityName(Capability c);

// A mounted transit engine and its mount options.
struct TransitMount {
  std::shared_ptr<engines::transit::Engine> engine;
  bool create_on_encrypt = true;
};

// How often an unsealed core runs engine maintenance (transit auto-rotation
// and usage flushes).
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
// progress, the token store, the mount table, and Authorize, the single
// place every request is authorized. It owns the storage backend, the
// barrier and the mounted engines, and while unsealed a maintenance thread
// (every kMaintenanceInterval: transit auto-rotation and usage flushes).
// Thread-safe.
//
// Storage layout: "core/seal-config" in the clear (needed while sealed);
// through the barrier: "core/mounts", "core/token/..." and each mount's view
// "logical/<uuid>/". Init mounts "kv" and "transit"; a data dir from before
// transit existed gets the "transit" mount added at its next unseal.
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

  // UNAVAILABLE while sealed, UNAUTHENTICATED for a missing or unknown
  // token, PERMISSION_DENIED if the token's policies do not grant
  // `capability` on `path`. Only the root policy exists so far.
  absl::Status Authorize(std::string_view token, std::string_view path,
                         Capability capability);

  // The KV engine mounted at `mount`; NOT_FOUND if there is none.
  absl::StatusOr<std::shared_ptr<engines::kv::Engine>> KvEngine(
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
  // After the barrier is unsealed: load tokens and mounts.
  absl::Status PostUnseal() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PreSeal() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts / stops the maintenance thread (under mu_).
  void StartMaintenance() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StopMaintenance() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RunMaintenance();
  SealStatus StatusLocked(const std::optional<SealConfig>& config) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  std::unique_ptr<storage::Backend> backend_;
  barrier::Barrier barrier_;
  TokenStore tokens_;

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
  absl::flat_hash_map<std::string, TransitMount> transit_mounts_
      ABSL_GUARDED_BY(mounts_mu_);

  // The maintenance thread runs between PostUnseal and PreSeal; it takes
  // mounts_mu_ only to copy the engine list, never mu_.
  std::unique_ptr<absl::Notification> stop_maintenance_ ABSL_GUARDED_BY(mu_);
  std::thread maintenance_ ABSL_GUARDED_BY(mu_);
};

}  // namespace arca::core

#endif  // ARCA_SERVER_CORE_CORE_H_
