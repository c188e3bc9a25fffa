#include "server/core/core.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "kms/mac.h"
#include "kms/random.h"
#include "kms/status_macros.h"
#include "spdlog/spdlog.h"

namespace arca::core {
namespace {

constexpr std::string_view kSealConfigKey = "core/seal-config";
constexpr std::string_view kMountTablePath = "core/mounts";

// The mounts every server has, by path and type. Adds those missing from
// `table` (a data dir from before a mount type existed); returns whether it
// added any.
bool AddDefaultMounts(MountTable& table) {
  bool added = false;
  for (const std::string_view type : {"kv", "transit", "tokenize", "database"}) {
    bool present = false;
    for (const Mount& m : table.mounts()) present |= m.path() == type;
    if (present) continue;
    Mount* m = table.add_mounts();
    m->set_path(std::string(type));
    m->set_type(std::string(type));
    m->set_uuid(absl::BytesToHexString(kms::RandomString(16)));
    added = true;
  }
  return added;
}

// Every key under `prefix`, depth first.
absl::Status CollectKeys(storage::Backend& backend, const std::string& prefix,
                         std::vector<storage::Mutation>* deletes) {
  ASSIGN_OR_RETURN(std::vector<std::string> children, backend.List(prefix));
  for (const std::string& child : children) {
    if (child.ends_with('/')) {
      RETURN_IF_ERROR(CollectKeys(backend, prefix + child, deletes));
    } else {
      deletes->push_back(storage::Mutation::Delete(prefix + child));
    }
  }
  return absl::OkStatus();
}

// Decodes and adds one share; on bad input the collector starts over, so a
// stray paste never leaves half a quorum behind.
absl::Status AddShare(ShareCollector& collector, std::string_view share_text,
                      int total) {
  absl::StatusOr<kms::SecretBytes> share = DecodeShare(share_text);
  absl::Status st =
      share.ok() ? collector.Add(std::move(*share), total) : share.status();
  if (st.ok()) return st;
  collector.Reset();
  return absl::InvalidArgumentError(
      absl::StrCat(std::string(st.message()), "; progress was reset"));
}

absl::Status NotInitialized() {
  return absl::FailedPreconditionError("arca is not initialized");
}

}  // namespace

std::string_view CapabilityName(Capability c) {
  return auth::CapabilityName(c);
}

Core::Core(std::unique_ptr<storage::Backend> backend, barrier::Options options)
    : backend_(std::move(backend)),
      barrier_(backend_.get(), options),
      leases_(barrier::View(&barrier_, "core/lease/")),
      tokens_(barrier::View(&barrier_, "core/token/"), &leases_),
      policies_(barrier::View(&barrier_, "core/policy/")),
      approle_(barrier::View(&barrier_, "auth/approle/")),
      kubernetes_(barrier::View(&barrier_, "auth/kubernetes/")) {
  leases_.RegisterRevoker(
      std::string(kTokenLeaseKind),
      [this](const lease::LeaseEntry& lease) -> absl::Status {
        std::string hash;
        if (!HexToBytes(lease.data(), &hash)) {
          return absl::OkStatus();  // nothing a retry could fix
        }
        return tokens_.Revoke(hash);
      });
  // Database logins: dropped by the engine of the mount that issued them
  // (UNAVAILABLE while PostgreSQL is down, so the manager retries), and
  // extended in PostgreSQL before their lease is.
  namespace db = engines::database;
  leases_.RegisterRevoker(
      db::kLeaseKind, [this](const lease::LeaseEntry& lease) -> absl::Status {
        ASSIGN_OR_RETURN(std::string mount, db::Engine::LeaseMount(lease.data()));
        ASSIGN_OR_RETURN(auto engine, DatabaseEngine(mount));
        return engine->RevokeLogin(lease.data());
      });
  leases_.RegisterRenewer(
      db::kLeaseKind, [this](const lease::LeaseEntry& lease) -> absl::Status {
        ASSIGN_OR_RETURN(std::string mount, db::Engine::LeaseMount(lease.data()));
        ASSIGN_OR_RETURN(auto engine, DatabaseEngine(mount));
        return engine->RenewLogin(lease.data(),
                                  absl::FromUnixMillis(lease.expire_unix_ms()));
      });
  expiry_thread_ = std::thread([this] { ExpiryLoop(); });
}

Core::~Core() {
  {
    absl::MutexLock lock(&expiry_mu_);
    stop_ = true;
  }
  expiry_thread_.join();
  absl::MutexLock lock(&mu_);
  PreSeal();
}

void Core::ExpiryLoop() {
  absl::MutexLock lock(&expiry_mu_);
  while (!stop_) {
    expiry_mu_.AwaitWithTimeout(absl::Condition(&stop_), absl::Seconds(1));
    if (stop_) break;
    expiry_mu_.Unlock();
    if (!barrier_.Sealed()) {
      const int n = leases_.ExpireDue(absl::Now());
      if (n > 0) spdlog::info("revoked {} expired leases", n);
    }
    expiry_mu_.Lock();
  }
}

absl::StatusOr<std::unique_ptr<Core>> Core::Open(
    std::unique_ptr<storage::Backend> backend, barrier::Options options) {
  kms::InitCrypto();
  return std::unique_ptr<Core>(new Core(std::move(backend), options));
}

absl::StatusOr<std::optional<SealConfig>> Core::LoadSealConfig() {
  ASSIGN_OR_RETURN(auto raw, backend_->Get(kSealConfigKey));
  if (!raw.has_value()) return std::nullopt;
  SealConfig config;
  if (!config.ParseFromString(*raw) ||
      !ValidateShareConfig(config.secret_shares(), config.secret_threshold())
           .ok()) {
    return absl::DataLossError("stored seal configuration is corrupt");
  }
  return config;
}

absl::Status Core::StoreSealConfig(const SealConfig& config) {
  return backend_->Put(kSealConfigKey, config.SerializeAsString());
}

SealStatus Core::StatusLocked(const std::optional<SealConfig>& config) const {
  SealStatus s;
  s.initialized = config.has_value();
  s.sealed = barrier_.Sealed();
  if (config.has_value()) {
    s.secret_shares = config->secret_shares();
    s.secret_threshold = config->secret_threshold();
  }
  s.progress = unseal_shares_.progress();
  return s;
}

absl::StatusOr<InitResult> Core::Init(int shares, int threshold) {
  absl::MutexLock lock(&mu_);
  RETURN_IF_ERROR(ValidateShareConfig(shares, threshold));
  ASSIGN_OR_RETURN(auto existing, LoadSealConfig());
  ASSIGN_OR_RETURN(bool barrier_init, barrier_.Initialized());
  if (existing.has_value()) {
    return absl::FailedPreconditionError("arca is already initialized");
  }
  if (barrier_init) RETURN_IF_ERROR(DiscardUnfinishedInit());
  ASSIGN_OR_RETURN(SplitKey split, NewSplitKey(shares, threshold));
  RETURN_IF_ERROR(barrier_.Initialize(split.unseal_key));
  RETURN_IF_ERROR(barrier_.Unseal(split.unseal_key));

  InitResult result;
  absl::Status st = [&]() -> absl::Status {
    RETURN_IF_ERROR(tokens_.Initialize());
    ASSIGN_OR_RETURN(IssuedToken root, tokens_.CreateRoot());
    result.root_token = std::move(root.token);
    MountTable table;
    AddDefaultMounts(table);
    RETURN_IF_ERROR(barrier_.Put(kMountTablePath, table.SerializeAsString()));
    SealConfig config;
    config.set_secret_shares(shares);
    config.set_secret_threshold(threshold);
    // Written last: a crash before this leaves the server uninitialized.
    return StoreSealConfig(config);
  }();
  tokens_.Clear();
  barrier_.Seal();
  RETURN_IF_ERROR(st);
  for (const auto& share : split.shares) {
    result.shares_base64.push_back(EncodeShare(share));
  }
  spdlog::info("initialized with {} key shares, threshold {}", shares,
               threshold);
  return result;
}

// The seal configuration is written last by Init, and shares are handed out
// only after it lands. A root key without it is an Init cut short by a crash:
// no one ever held its shares, so its records can go. Secrets under
// logical/ mean something else removed the configuration; then nothing is
// deleted.
absl::Status Core::DiscardUnfinishedInit() {
  ASSIGN_OR_RETURN(std::vector<std::string> logical,
                   backend_->List("logical/"));
  if (!logical.empty()) {
    return absl::DataLossError(
        "the seal configuration is missing but secrets are stored; refusing "
        "to initialize over them");
  }
  std::vector<storage::Mutation> deletes;
  RETURN_IF_ERROR(CollectKeys(*backend_, "barrier/", &deletes));
  RETURN_IF_ERROR(CollectKeys(*backend_, "core/", &deletes));
  spdlog::warn("an earlier init did not finish; discarding its {} records",
               deletes.size());
  return backend_->Batch(deletes);
}

absl::StatusOr<SealStatus> Core::GetSealStatus() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(auto config, LoadSealConfig());
  return StatusLocked(config);
}

absl::StatusOr<SealStatus> Core::Unseal(std::string_view share_text,
                                        bool reset) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(auto config, LoadSealConfig());
  if (!config.has_value()) return NotInitialized();
  if (reset) {
    unseal_shares_.Reset();
    return StatusLocked(config);
  }
  if (!barrier_.Sealed()) return StatusLocked(config);

  const int total = config->secret_shares();
  RETURN_IF_ERROR(AddShare(unseal_shares_, share_text, total));
  if (unseal_shares_.progress() < config->secret_threshold()) {
    return StatusLocked(config);
  }
  // Combine resets progress whatever happens next.
  ASSIGN_OR_RETURN(kms::SecretBytes key, unseal_shares_.Combine(total));
  absl::Status st = barrier_.Unseal(key);
  if (absl::IsInvalidArgument(st)) {
    spdlog::warn("unseal attempt failed: shares do not form the unseal key");
    return absl::InvalidArgumentError(
        "unseal failed: the shares do not reconstruct this server's unseal "
        "key; progress was reset");
  }
  RETURN_IF_ERROR(st);
  st = PostUnseal();
  if (!st.ok()) {
    PreSeal();
    return st;
  }
  spdlog::info("unsealed");
  return StatusLocked(config);
}

absl::Status Core::PostUnseal() {
  RETURN_IF_ERROR(tokens_.Load());
  RETURN_IF_ERROR(OpenAuditDevices());
  ASSIGN_OR_RETURN(auto raw, barrier_.Get(kMountTablePath));
  if (!raw.has_value()) return absl::DataLossError("mount table is missing");
  MountTable table;
  if (!table.ParseFromString(*raw)) {
    return absl::DataLossError("mount table is corrupt");
  }
  if (AddDefaultMounts(table)) {
    RETURN_IF_ERROR(barrier_.Put(kMountTablePath, table.SerializeAsString()));
  }
  {
    absl::MutexLock lock(&mounts_mu_);
    kv_mounts_.clear();
    tokenize_mounts_.clear();
    transit_mounts_.clear();
    database_mounts_.clear();
    for (const Mount& m : table.mounts()) {
      barrier::View view(&barrier_, absl::StrCat("logical/", m.uuid(), "/"));
      if (m.type() == "kv") {
        kv_mounts_[m.path()] = std::make_shared<engines::kv::Engine>(view);
      } else if (m.type() == "tokenize") {
        tokenize_mounts_[m.path()] =
            std::make_shared<engines::tokenize::Engine>(view);
      } else if (m.type() == "database") {
        database_mounts_[m.path()] =
            std::make_shared<engines::database::Engine>(view, m.path());
      } else if (m.type() == "transit") {
        TransitMount& t = transit_mounts_[m.path()];
        t.engine = std::make_shared<engines::transit::Engine>(view);
        t.create_on_encrypt = !m.transit().disable_create_on_encrypt();
      } else {
        kv_mounts_.clear();
        tokenize_mounts_.clear();
        transit_mounts_.clear();
        database_mounts_.clear();
        return absl::DataLossError(
            absl::StrCat("mount ", m.path(), " has unknown type"));
      }
    }
  }
  StartMaintenance();
  return absl::OkStatus();
}

void Core::StartMaintenance() {
  stop_maintenance_ = std::make_unique<absl::Notification>();
  absl::Notification* stop = stop_maintenance_.get();
  maintenance_ = std::thread([this, stop] {
    while (!stop->WaitForNotificationWithTimeout(kMaintenanceInterval)) {
      RunMaintenance();
    }
  });
}

void Core::StopMaintenance() {
  if (!maintenance_.joinable()) return;
  stop_maintenance_->Notify();
  maintenance_.join();
  stop_maintenance_.reset();
}

void Core::RunMaintenance() {
  std::vector<std::pair<std::string, std::shared_ptr<engines::transit::Engine>>>
      engines;
  std::vector<std::pair<std::string, std::shared_ptr<engines::tokenize::Engine>>>
      tokenize;
  {
    absl::MutexLock lock(&mounts_mu_);
    for (const auto& [path, m] : transit_mounts_) {
      engines.emplace_back(path, m.engine);
    }
    tokenize.assign(tokenize_mounts_.begin(), tokenize_mounts_.end());
  }
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  for (const auto& [path, engine] : engines) {
    absl::StatusOr<int> rotated = engine->MaybeAutoRotate(now_ms);
    if (!rotated.ok()) {
      spdlog::warn("transit maintenance at {} failed: {}", path,
                   rotated.status().ToString());
    } else if (*rotated > 0) {
      spdlog::info("transit at {}: auto-rotated {} keys", path, *rotated);
    }
  }
  for (const auto& [path, engine] : tokenize) {
    absl::StatusOr<int> purged = engine->PurgeExpired(now_ms);
    if (!purged.ok()) {
      spdlog::warn("tokenize maintenance at {} failed: {}", path,
                   purged.status().ToString());
    } else if (*purged > 0) {
      spdlog::info("tokenize at {}: purged {} expired tokens", path, *purged);
    }
  }
}

void Core::PreSeal() {
  StopMaintenance();
  absl::flat_hash_map<std::string, TransitMount> transit;
  std::vector<std::shared_ptr<engines::kv::Engine>> kv;
  {
    absl::MutexLock lock(&mounts_mu_);
    for (auto& [path, engine] : kv_mounts_) kv.push_back(engine);
    kv_mounts_.clear();
    // Engines still held by in-flight calls lose their keys now.
    for (auto& [path, engine] : tokenize_mounts_) engine->DropCache();
    tokenize_mounts_.clear();
    for (auto& [path, engine] : database_mounts_) engine->CloseConnections();
    database_mounts_.clear();
    transit.swap(transit_mounts_);
  }
  // A KV engine still held by in-flight puts must not write once the
  // barrier reopens under a new engine of the same mount (two engines would
  // hand out the same version): Close waits for its submitted writes and
  // refuses the rest.
  for (auto& engine : kv) engine->Close();
  // Usage statistics are written lazily; write them while the barrier is
  // still open, then drop every cached key from memory.
  for (auto& [path, m] : transit) {
    if (absl::Status st = m.engine->FlushUsage(); !st.ok()) {
      spdlog::warn("transit at {}: usage flush on seal failed: {}", path,
                   st.ToString());
    }
    m.engine->DropCache();
  }
  {
    absl::MutexLock lock(&audit_mu_);
    for (const auto& [name, device] : audit_files_) (void)audit_.Disable(name);
    for (const std::string& name : audit_.List()) (void)audit_.Disable(name);
    audit_files_.clear();
  }
  tokens_.Clear();
  policies_.Clear();
  approle_.Clear();
  kubernetes_.Clear();
  leases_.Clear();
  unseal_shares_.Reset();
  rekey_.reset();
  barrier_.Seal();
}

absl::Status Core::Seal() {
  absl::MutexLock lock(&mu_);
  PreSeal();
  spdlog::info("sealed");
  return absl::OkStatus();
}

absl::StatusOr<barrier::TermInfo> Core::Rotate() {
  ASSIGN_OR_RETURN(barrier::TermInfo info, barrier_.Rotate());
  spdlog::info("barrier key rotated to term {}", info.term);
  return info;
}

absl::StatusOr<barrier::TermInfo> Core::KeyStatus() {
  return barrier_.ActiveTerm();
}

absl::StatusOr<RekeyStatus> Core::RekeyInit(int shares, int threshold) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(auto config, LoadSealConfig());
  if (!config.has_value()) return NotInitialized();
  if (barrier_.Sealed()) return barrier::SealedError();
  RETURN_IF_ERROR(ValidateShareConfig(shares, threshold));
  if (rekey_.has_value()) {
    return absl::FailedPreconditionError(
        "a rekey is already in progress; cancel it with its nonce first");
  }
  rekey_.emplace();
  rekey_->nonce = absl::BytesToHexString(kms::RandomString(16));
  rekey_->shares = shares;
  rekey_->threshold = threshold;
  spdlog::info("rekey started: {} shares, threshold {}", shares, threshold);
  RekeyStatus s;
  s.started = true;
  s.nonce = rekey_->nonce;
  s.secret_shares = shares;
  s.secret_threshold = threshold;
  s.required = config->secret_threshold();
  return s;
}

RekeyStatus Core::GetRekeyStatus() {
  absl::MutexLock lock(&mu_);
  RekeyStatus s;
  if (!rekey_.has_value()) return s;
  auto config = LoadSealConfig();
  s.started = true;
  s.nonce = rekey_->nonce;
  s.secret_shares = rekey_->shares;
  s.secret_threshold = rekey_->threshold;
  s.progress = rekey_->collected.progress();
  if (config.ok() && config->has_value()) {
    s.required = (*config)->secret_threshold();
  }
  return s;
}

absl::StatusOr<RekeyResult> Core::RekeyUpdate(std::string_view nonce,
                                              std::string_view share_text) {
  absl::MutexLock lock(&mu_);
  if (barrier_.Sealed()) return barrier::SealedError();
  if (!rekey_.has_value()) {
    return absl::FailedPreconditionError("no rekey is in progress");
  }
  if (!kms::ConstantTimeEquals(nonce, rekey_->nonce)) {
    return absl::InvalidArgumentError(
        "nonce does not match the rekey in progress");
  }
  ASSIGN_OR_RETURN(auto config, LoadSealConfig());
  if (!config.has_value()) return NotInitialized();
  const int total = config->secret_shares();
  RETURN_IF_ERROR(AddShare(rekey_->collected, share_text, total));

  RekeyResult result;
  result.required = config->secret_threshold();
  result.progress = rekey_->collected.progress();
  if (result.progress < result.required) return result;

  ASSIGN_OR_RETURN(kms::SecretBytes old_key, rekey_->collected.Combine(total));
  if (!barrier_.VerifyUnsealKey(old_key).ok()) {
    return absl::InvalidArgumentError(
        "rekey: the shares do not reconstruct the current unseal key; "
        "progress was reset");
  }
  ASSIGN_OR_RETURN(SplitKey split,
                   NewSplitKey(rekey_->shares, rekey_->threshold));
  SealConfig new_config;
  new_config.set_secret_shares(rekey_->shares);
  new_config.set_secret_threshold(rekey_->threshold);
  // One batch: the new root key record and the new share configuration
  // land together or not at all.
  RETURN_IF_ERROR(barrier_.Rekey(
      split.unseal_key,
      {storage::Mutation::Put(std::string(kSealConfigKey),
                              new_config.SerializeAsString())}));
  rekey_.reset();
  result.complete = true;
  result.progress = 0;
  for (const auto& s : split.shares) {
    result.shares_base64.push_back(EncodeShare(s));
  }
  spdlog::info("rekey complete: {} shares, threshold {}",
               new_config.secret_shares(), new_config.secret_threshold());
  return result;
}

absl::Status Core::RekeyCancel(std::string_view nonce) {
  absl::MutexLock lock(&mu_);
  if (!rekey_.has_value()) {
    return absl::FailedPreconditionError("no rekey is in progress");
  }
  if (!kms::ConstantTimeEquals(nonce, rekey_->nonce)) {
    return absl::InvalidArgumentError(
        "nonce does not match the rekey in progress");
  }
  rekey_.reset();
  spdlog::info("rekey cancelled");
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<engines::kv::Engine>> Core::KvEngine(
    std::string_view mount) {
  if (barrier_.Sealed()) return barrier::SealedError();
  absl::MutexLock lock(&mounts_mu_);
  auto it = kv_mounts_.find(std::string(mount));
  if (it == kv_mounts_.end()) {
    return absl::NotFoundError("no kv engine is mounted at that path");
  }
  return it->second;
}

absl::StatusOr<std::shared_ptr<engines::tokenize::Engine>> Core::TokenizeEngine(
    std::string_view mount) {
  if (barrier_.Sealed()) return barrier::SealedError();
  absl::MutexLock lock(&mounts_mu_);
  auto it = tokenize_mounts_.find(std::string(mount));
  if (it == tokenize_mounts_.end()) {
    return absl::NotFoundError("no tokenize engine is mounted at that path");
  }
  return it->second;
}

absl::StatusOr<std::shared_ptr<engines::database::Engine>>
Core::DatabaseEngine(std::string_view mount) {
  if (barrier_.Sealed()) return barrier::SealedError();
  absl::MutexLock lock(&mounts_mu_);
  auto it = database_mounts_.find(std::string(mount));
  if (it == database_mounts_.end()) {
    return absl::NotFoundError("no database engine is mounted at that path");
  }
  return it->second;
}

absl::StatusOr<TransitMount> Core::TransitEngine(std::string_view mount) {
  if (barrier_.Sealed()) return barrier::SealedError();
  absl::MutexLock lock(&mounts_mu_);
  auto it = transit_mounts_.find(std::string(mount));
  if (it == transit_mounts_.end()) {
    return absl::NotFoundError("no transit engine is mounted at that path");
  }
  return it->second;
}

absl::Status Core::TuneTransitMount(std::string_view mount,
                                    bool create_on_encrypt) {
  absl::MutexLock lock(&mu_);  // serializes mount table writes
  if (barrier_.Sealed()) return barrier::SealedError();
  ASSIGN_OR_RETURN(auto raw, barrier_.Get(kMountTablePath));
  MountTable table;
  if (!raw.has_value() || !table.ParseFromString(*raw)) {
    return absl::DataLossError("mount table is missing or corrupt");
  }
  Mount* found = nullptr;
  for (Mount& m : *table.mutable_mounts()) {
    if (m.path() == mount && m.type() == "transit") found = &m;
  }
  if (found == nullptr) {
    return absl::NotFoundError("no transit engine is mounted at that path");
  }
  found->mutable_transit()->set_disable_create_on_encrypt(!create_on_encrypt);
  RETURN_IF_ERROR(barrier_.Put(kMountTablePath, table.SerializeAsString()));
  absl::MutexLock mounts_lock(&mounts_mu_);
  auto it = transit_mounts_.find(std::string(mount));
  if (it != transit_mounts_.end()) {
    it->second.create_on_encrypt = create_on_encrypt;
  }
  spdlog::info("transit mount {}: create_on_encrypt={}", mount,
               create_on_encrypt);
  return absl::OkStatus();
}

}  // namespace arca::core
