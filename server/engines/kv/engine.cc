#include "server/engines/kv/engine.h"

#include <algorithm>
#include <array>
#include <deque>
#include <functional>
#include <list>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "kms/mac.h"
#include "kms/status_macros.h"
#include "server/engines/kv/kv_records.pb.h"

// Layout inside the mount's View:
//   metadata/<path>                       MetadataRecord (one per secret)
//   data/<hex sha256(path)>/<version:020> DataRecord (one per retained version)
// Listing metadata/ yields the secret hierarchy. Data keys hash the path so
// that no path can collide with another path's version keys.
//
// Choices where the header is silent: Delete, Undelete, Destroy and
// DeleteMetadata of a path with no metadata are NOT_FOUND; versions in their
// list that are not retained (never written, or pruned) are skipped; version
// 0 in a list is INVALID_ARGUMENT. `cas` is compared with current_version,
// which is 0 only while no version was ever written (or after
// DeleteMetadata), as in Vault. PutMetadata lowering max_versions prunes at
// once.

namespace arca::engines::kv {
namespace {

constexpr char kMetadataPrefix[] = "metadata/";
constexpr char kDataPrefix[] = "data/";
// A writer holds its path's stripe across the synced write, so two paths
// sharing a stripe cannot share a group commit. With 64 stripes, 64
// concurrent writers to distinct paths collided about 23 times; with 1024
// about twice. 8 KiB of mutexes per mount.
constexpr size_t kStripes = 1024;

// Bounds on odd input (INVALID_ARGUMENT). Custom metadata limits follow
// Vault's documented ones.
constexpr size_t kMaxDataKeys = 4096;
constexpr uint32_t kMaxMaxVersions = 1000;
constexpr size_t kMaxVersionsPerRequest = 1000;
constexpr size_t kMaxCustomMetadataKeys = 64;
constexpr size_t kMaxCustomMetadataKeyBytes = 128;
constexpr size_t kMaxCustomMetadataValueBytes = 512;

// absl here is built with its own string_view type, distinct from std's.
absl::string_view AsAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

bool IsSegmentChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

std::string MetadataKey(std::string_view path) {
  return absl::StrCat(kMetadataPrefix, AsAbsl(path));
}

std::string DataDir(std::string_view path) {
  return absl::StrCat(kDataPrefix, absl::BytesToHexString(kms::Sha256(path)),
                      "/");
}

std::string DataKey(std::string_view path, uint64_t version) {
  return absl::StrCat(DataDir(path), absl::StrFormat("%020u", version));
}

absl::Status NoSecret(std::string_view path) {
  return absl::NotFoundError(absl::StrCat("no secret at path ", AsAbsl(path)));
}

absl::Status NoVersion(std::string_view path, uint64_t version) {
  return absl::NotFoundError(
      absl::StrCat("no live version ", version, " at path ", AsAbsl(path)));
}

VersionMetadata FromRecord(const records::VersionRecord& r) {
  VersionMetadata v;
  v.version = r.version();
  v.created_time_unix_ms = r.created_time_unix_ms();
  v.deletion_time_unix_ms = r.deletion_time_unix_ms();
  v.destroyed = r.destroyed();
  return v;
}

uint32_t EffectiveMaxVersions(const records::MetadataRecord& m) {
  return m.max_versions() == 0 ? Engine::kDefaultMaxVersions : m.max_versions();
}

// The retained record of `version`, or nullptr.
records::VersionRecord* FindVersion(records::MetadataRecord& m,
                                    uint64_t version) {
  for (auto& v : *m.mutable_versions()) {
    if (v.version() == version) return &v;
  }
  return nullptr;
}

// Drops the versions beyond max_versions from `m` and appends the deletes of
// their data to `mutations`.
void Prune(std::string_view path, records::MetadataRecord& m,
           std::vector<storage::Mutation>& mutations) {
  const uint64_t keep = EffectiveMaxVersions(m);
  if (m.current_version() <= keep) return;
  const uint64_t oldest_kept = m.current_version() - keep + 1;
  auto* versions = m.mutable_versions();
  auto first_kept = std::find_if(versions->begin(), versions->end(),
                                 [&](const records::VersionRecord& v) {
                                   return v.version() >= oldest_kept;
                                 });
  for (auto it = versions->begin(); it != first_kept; ++it) {
    // A destroyed version's data is already gone; deleting again is harmless.
    mutations.push_back(
        storage::Mutation::Delete(DataKey(path, it->version())));
  }
  versions->erase(versions->begin(), first_kept);
}

absl::Status ValidateData(const Data& data) {
  if (data.size() > kMaxDataKeys) {
    return absl::InvalidArgumentError(
        absl::StrCat("secret data has more than ", kMaxDataKeys, " keys"));
  }
  size_t total = 0;
  for (const auto& [key, value] : data) {
    if (key.empty()) {
      return absl::InvalidArgumentError("secret data has an empty key name");
    }
    total += key.size() + value.size();
  }
  if (total > Engine::kMaxSecretBytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "secret data exceeds ", Engine::kMaxSecretBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status ValidateCustomMetadata(
    const std::map<std::string, std::string>& custom) {
  if (custom.size() > kMaxCustomMetadataKeys) {
    return absl::InvalidArgumentError(absl::StrCat(
        "custom metadata has more than ", kMaxCustomMetadataKeys, " keys"));
  }
  for (const auto& [key, value] : custom) {
    if (key.empty() || key.size() > kMaxCustomMetadataKeyBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("custom metadata key names must be 1..",
                       kMaxCustomMetadataKeyBytes, " bytes"));
    }
    if (value.size() > kMaxCustomMetadataValueBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("custom metadata values must be at most ",
                       kMaxCustomMetadataValueBytes, " bytes"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::set<uint64_t>> ValidateVersions(
    const std::vector<uint64_t>& versions) {
  if (versions.size() > kMaxVersionsPerRequest) {
    return absl::InvalidArgumentError(absl::StrCat(
        "more than ", kMaxVersionsPerRequest, " versions in one request"));
  }
  std::set<uint64_t> out;
  for (uint64_t v : versions) {
    if (v == 0) return absl::InvalidArgumentError("version 0 does not exist");
    out.insert(v);
  }
  return out;
}

// The lock of a stripe of paths, granted in arrival order. Unlike a mutex,
// it is not tied to a thread: PutAsync takes it on the thread that submits
// a write, and the storage committer's thread releases it once the write is
// durable, handing it straight to the next waiter. An asynchronous waiter
// is a continuation run by the releasing thread, so no thread waits for a
// busy path.
class PathLock {
 public:
  void Lock() {
    absl::Notification granted;
    {
      absl::MutexLock lock(&mu_);
      if (!held_) {
        held_ = true;
        return;
      }
      waiters_.push_back([&granted] { granted.Notify(); });
    }
    granted.WaitForNotification();
  }
  // Takes the lock and returns true, or moves `then` into the queue, to run
  // with the lock held once it is released, and returns false.
  bool LockOrQueue(std::function<void()>& then) {
    absl::MutexLock lock(&mu_);
    if (!held_) {
      held_ = true;
      return true;
    }
    waiters_.push_back(std::move(then));
    return false;
  }
  void Unlock() {
    std::function<void()> next;
    {
      absl::MutexLock lock(&mu_);
      if (waiters_.empty()) {
        held_ = false;
        return;
      }
      next = std::move(waiters_.front());
      waiters_.pop_front();
    }
    // Still held: now the next waiter's. A waiter that fails at once
    // unlocks again from inside next(); those run one after another from
    // this loop instead of nesting, so a long queue of failing puts cannot
    // exhaust the stack.
    thread_local std::deque<std::function<void()>>* draining = nullptr;
    if (draining != nullptr) {
      draining->push_back(std::move(next));
      return;
    }
    std::deque<std::function<void()>> queue;
    draining = &queue;
    queue.push_back(std::move(next));
    while (!queue.empty()) {
      std::function<void()> run = std::move(queue.front());
      queue.pop_front();
      run();
    }
    draining = nullptr;
  }

 private:
  absl::Mutex mu_;
  bool held_ ABSL_GUARDED_BY(mu_) = false;
  // A list: an empty one allocates nothing (1,024 locks per mount).
  std::list<std::function<void()>> waiters_ ABSL_GUARDED_BY(mu_);
};

class PathLockGuard {
 public:
  explicit PathLockGuard(PathLock& lock) : lock_(lock) { lock_.Lock(); }
  ~PathLockGuard() { lock_.Unlock(); }
  PathLockGuard(const PathLockGuard&) = delete;
  PathLockGuard& operator=(const PathLockGuard&) = delete;

 private:
  PathLock& lock_;
};

// What a Put writes, prepared under the path's lock.
struct PreparedPut {
  std::vector<storage::Mutation> mutations;
  records::MetadataRecord metadata;  // as stored by `mutations`
  VersionMetadata version;
};

// The decrypted metadata of recently written paths, so that a put does not
// read back (and decrypt) what the previous write of its path stored. Only
// writers fill it, under the path's lock and after their write is durable;
// a writer drops the entry before it writes, so a failed write leaves none.
// Readers use it but never fill it. Bounded; lives until seal, when the
// mount's engine is dropped.
class MetadataCache {
 public:
  std::optional<records::MetadataRecord> Get(std::string_view path) {
    absl::MutexLock lock(&mu_);
    auto it = map_.find(AsAbsl(path));
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }
  void Set(std::string_view path, records::MetadataRecord m) {
    absl::MutexLock lock(&mu_);
    auto it = map_.find(AsAbsl(path));
    if (it != map_.end()) {
      it->second = std::move(m);
      return;
    }
    if (map_.size() >= kMaxEntries) map_.erase(map_.begin());
    map_.emplace(std::string(path), std::move(m));
  }
  void Erase(std::string_view path) {
    absl::MutexLock lock(&mu_);
    auto it = map_.find(AsAbsl(path));
    if (it != map_.end()) map_.erase(it);
  }
  void Clear() {
    absl::MutexLock lock(&mu_);
    map_.clear();
  }

 private:
  static constexpr size_t kMaxEntries = 4096;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, records::MetadataRecord> map_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace

struct Engine::Impl {
  Impl(barrier::View v, std::function<int64_t()> now)
      : view(std::move(v)), now_ms(std::move(now)) {
    if (!now_ms) {
      now_ms = [] { return absl::ToUnixMillis(absl::Now()); };
    }
  }

  // Serializes writers of `path`; readers never take it.
  PathLock& StripeFor(std::string_view path) {
    return stripes[std::hash<std::string_view>{}(path) % kStripes];
  }

  // The metadata record of `path`, or nullopt if the secret does not exist.
  absl::StatusOr<std::optional<records::MetadataRecord>> LoadMetadata(
      std::string_view path) const {
    if (std::optional<records::MetadataRecord> m = cache.Get(path)) return m;
    ASSIGN_OR_RETURN(std::optional<std::string> raw,
                     view.Get(MetadataKey(path)));
    if (!raw.has_value()) return std::nullopt;
    records::MetadataRecord m;
    if (!m.ParseFromString(*raw)) {
      return absl::DataLossError(
          absl::StrCat("corrupt kv metadata record at path ", AsAbsl(path)));
    }
    return m;
  }

  absl::StatusOr<records::MetadataRecord> LoadExistingMetadata(
      std::string_view path) const {
    ASSIGN_OR_RETURN(std::optional<records::MetadataRecord> m,
                     LoadMetadata(path));
    if (!m.has_value()) return NoSecret(path);
    return *std::move(m);
  }

  absl::StatusOr<PreparedPut> PreparePut(std::string_view path,
                                         std::string record,
                                         std::optional<uint64_t> cas,
                                         const Authorize& authorize);

  // Every write runs between BeginWrite (false once closed) and EndWrite,
  // so Close knows when the last one is done.
  bool BeginWrite() {
    absl::MutexLock lock(&life_mu);
    if (closed) return false;
    ++writes;
    return true;
  }
  void EndWrite() {
    absl::MutexLock lock(&life_mu);
    --writes;
  }

  // Writes `mutations` of `path` under its lock; they store `m`, or delete
  // the secret's metadata if `m` is null.
  absl::Status Commit(std::string_view path,
                      std::vector<storage::Mutation> mutations,
                      const records::MetadataRecord* m) {
    if (!BeginWrite()) return barrier::SealedError();
    cache.Erase(path);
    absl::Status st = view.Batch(std::move(mutations));
    if (st.ok() && m != nullptr) cache.Set(path, *m);
    EndWrite();
    return st;
  }
  // Commit without waiting for the disk: `done` gets the result once the
  // write is durable (see Backend::BatchAsync).
  void CommitAsync(std::string path, std::vector<storage::Mutation> mutations,
                   records::MetadataRecord m,
                   std::function<void(absl::Status)> done) {
    if (!BeginWrite()) return done(barrier::SealedError());
    cache.Erase(path);
    view.BatchAsync(std::move(mutations),
                    [this, path = std::move(path), m = std::move(m),
                     done = std::move(done)](absl::Status st) mutable {
                      if (st.ok()) cache.Set(path, std::move(m));
                      EndWrite();
                      done(std::move(st));
                    });
  }

  static storage::Mutation PutMetadataMutation(
      std::string_view path, const records::MetadataRecord& m) {
    return storage::Mutation::Put(MetadataKey(path), m.SerializeAsString());
  }

  barrier::View view;
  std::function<int64_t()> now_ms;
  std::array<PathLock, kStripes> stripes;
  mutable MetadataCache cache;
  absl::Mutex life_mu;
  bool closed ABSL_GUARDED_BY(life_mu) = false;
  int writes ABSL_GUARDED_BY(life_mu) = 0;  // submitted, not yet done
};

Engine::Engine(barrier::View view, std::function<int64_t()> now_ms)
    : impl_(std::make_unique<Impl>(std::move(view), std::move(now_ms))) {}

Engine::~Engine() = default;

absl::Status Engine::ValidatePath(std::string_view path) {
  if (path.empty()) {
    return absl::InvalidArgumentError("invalid secret path: empty");
  }
  if (path.size() > kMaxPathBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid secret path: longer than ", kMaxPathBytes, " bytes"));
  }
  size_t segment_start = 0;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i < path.size() && path[i] != '/') {
      if (!IsSegmentChar(path[i])) {
        return absl::InvalidArgumentError(
            "invalid secret path: segments may contain only [A-Za-z0-9._-]");
      }
      continue;
    }
    std::string_view segment = path.substr(segment_start, i - segment_start);
    if (segment.empty()) {
      return absl::InvalidArgumentError(
          "invalid secret path: empty segment (leading, trailing or "
          "doubled '/')");
    }
    if (segment == "." || segment == "..") {
      return absl::InvalidArgumentError(
          "invalid secret path: '.' and '..' segments are not allowed");
    }
    segment_start = i + 1;
  }
  return absl::OkStatus();
}

absl::StatusOr<Secret> Engine::Get(std::string_view path, uint64_t version) {
  RETURN_IF_ERROR(ValidatePath(path));
  ASSIGN_OR_RETURN(records::MetadataRecord m,
                   impl_->LoadExistingMetadata(path));
  if (version == 0) {
    version = m.current_version();
    if (version == 0) return NoSecret(path);
  }
  const records::VersionRecord* v = FindVersion(m, version);
  if (v == nullptr || v->destroyed() || v->deletion_time_unix_ms() != 0) {
    return NoVersion(path, version);
  }
  ASSIGN_OR_RETURN(std::optional<std::string> raw,
                   impl_->view.Get(DataKey(path, version)));
  // A writer may have pruned or destroyed the version since the metadata
  // was read: that is a miss, not corruption.
  if (!raw.has_value()) return NoVersion(path, version);
  records::DataRecord record;
  if (!record.ParseFromString(*raw)) {
    return absl::DataLossError(
        absl::StrCat("corrupt kv data record at path ", AsAbsl(path)));
  }
  Secret secret;
  for (const auto& pair : record.data()) {
    secret.data.emplace(pair.key(), pair.value());
  }
  secret.metadata = FromRecord(*v);
  return secret;
}

namespace {

std::string SerializeData(const Data& data) {
  records::DataRecord record;
  for (const auto& [key, value] : data) {
    auto* pair = record.add_data();
    pair->set_key(key);
    pair->set_value(value);
  }
  return record.SerializeAsString();
}

}  // namespace

// Under the path's lock: the new version's mutations, after the caller's
// authorization and the check-and-set rules.
absl::StatusOr<PreparedPut> Engine::Impl::PreparePut(
    std::string_view path, std::string record, std::optional<uint64_t> cas,
    const Authorize& authorize) {
  ASSIGN_OR_RETURN(std::optional<records::MetadataRecord> existing,
                   LoadMetadata(path));
  if (authorize) RETURN_IF_ERROR(authorize(existing.has_value()));
  const int64_t now = now_ms();
  records::MetadataRecord m;
  if (existing.has_value()) {
    m = *std::move(existing);
  } else {
    m.set_path(std::string(path));
    m.set_created_time_unix_ms(now);
  }
  if (m.cas_required() && !cas.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "secret at path ", AsAbsl(path), " requires a check-and-set version"));
  }
  if (cas.has_value() && *cas != m.current_version()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "check-and-set version ", *cas, " does not match the current version ",
        m.current_version(), " of path ", AsAbsl(path)));
  }

  const uint64_t version = m.current_version() + 1;
  m.set_current_version(version);
  m.set_updated_time_unix_ms(now);
  records::VersionRecord* v = m.add_versions();
  v->set_version(version);
  v->set_created_time_unix_ms(now);

  PreparedPut out;
  out.mutations.push_back(
      storage::Mutation::Put(DataKey(path, version), std::move(record)));
  Prune(path, m, out.mutations);
  out.mutations.push_back(PutMetadataMutation(path, m));
  out.metadata = std::move(m);
  out.version.version = version;
  out.version.created_time_unix_ms = now;
  return out;
}

absl::StatusOr<VersionMetadata> Engine::Put(std::string_view path,
                                            const Data& data,
                                            std::optional<uint64_t> cas,
                                            const Authorize& authorize) {
  RETURN_IF_ERROR(ValidatePath(path));
  RETURN_IF_ERROR(ValidateData(data));
  std::string record = SerializeData(data);
  PathLockGuard lock(impl_->StripeFor(path));
  ASSIGN_OR_RETURN(PreparedPut put, impl_->PreparePut(path, std::move(record),
                                                      cas, authorize));
  RETURN_IF_ERROR(
      impl_->Commit(path, std::move(put.mutations), &put.metadata));
  return put.version;
}

void Engine::PutAsync(std::string_view path, const Data& data,
                      std::optional<uint64_t> cas, Authorize authorize,
                      PutDone done) {
  absl::Status valid = ValidatePath(path);
  if (valid.ok()) valid = ValidateData(data);
  if (!valid.ok()) {
    done(valid);
    return;
  }
  PathLock& lock = impl_->StripeFor(path);
  // Runs with the path's lock held, now or when the writer before it is
  // done: prepares and submits the write, which releases the lock.
  std::function<void()> locked = [impl = impl_.get(), &lock,
                                  path = std::string(path),
                 record = SerializeData(data), cas,
                 authorize = std::move(authorize),
                 done = std::move(done)]() mutable {
    absl::StatusOr<PreparedPut> put =
        impl->PreparePut(path, std::move(record), cas, authorize);
    if (!put.ok()) {
      lock.Unlock();
      done(put.status());
      return;
    }
    impl->CommitAsync(
        std::move(path), std::move(put->mutations), std::move(put->metadata),
        [&lock, version = put->version,
         done = std::move(done)](absl::Status status) {
          // Released before `done`: the next writer of the path is prepared
          // while this one's reply is sent.
          lock.Unlock();
          if (status.ok()) {
            done(version);
          } else {
            done(status);
          }
        });
  };
  if (lock.LockOrQueue(locked)) locked();
}

void Engine::Close() {
  {
    absl::MutexLock lock(&impl_->life_mu);
    impl_->closed = true;
    impl_->life_mu.Await(absl::Condition(
        +[](Impl* impl) ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl->life_mu) {
          return impl->writes == 0;
        },
        impl_.get()));
  }
  impl_->cache.Clear();
}

absl::StatusOr<std::vector<std::string>> Engine::List(std::string_view prefix) {
  std::string dir = kMetadataPrefix;
  if (!prefix.empty()) {
    if (prefix.back() == '/') prefix.remove_suffix(1);
    RETURN_IF_ERROR(ValidatePath(prefix));
    absl::StrAppend(&dir, AsAbsl(prefix), "/");
  }
  ASSIGN_OR_RETURN(std::vector<std::string> children, impl_->view.List(dir));
  if (children.empty()) {
    return prefix.empty() ? absl::NotFoundError("no secrets in this mount")
                          : absl::NotFoundError(absl::StrCat(
                                "no secrets under path ", AsAbsl(prefix)));
  }
  return children;
}

absl::Status Engine::Delete(std::string_view path,
                            const std::vector<uint64_t>& versions) {
  RETURN_IF_ERROR(ValidatePath(path));
  ASSIGN_OR_RETURN(std::set<uint64_t> wanted, ValidateVersions(versions));

  PathLockGuard lock(impl_->StripeFor(path));
  ASSIGN_OR_RETURN(records::MetadataRecord m,
                   impl_->LoadExistingMetadata(path));
  if (wanted.empty()) {
    if (m.current_version() == 0) return NoSecret(path);
    wanted.insert(m.current_version());
  }
  const int64_t now = impl_->now_ms();
  bool changed = false;
  for (uint64_t version : wanted) {
    records::VersionRecord* v = FindVersion(m, version);
    // Versions never written or already pruned have nothing to delete.
    if (v == nullptr || v->destroyed() || v->deletion_time_unix_ms() != 0) {
      continue;
    }
    v->set_deletion_time_unix_ms(now);
    changed = true;
  }
  if (!changed) return absl::OkStatus();
  m.set_updated_time_unix_ms(now);
  return impl_->Commit(path, {Impl::PutMetadataMutation(path, m)}, &m);
}

absl::Status Engine::Undelete(std::string_view path,
                              const std::vector<uint64_t>& versions) {
  RETURN_IF_ERROR(ValidatePath(path));
  ASSIGN_OR_RETURN(std::set<uint64_t> wanted, ValidateVersions(versions));
  if (wanted.empty()) {
    return absl::InvalidArgumentError("undelete needs at least one version");
  }

  PathLockGuard lock(impl_->StripeFor(path));
  ASSIGN_OR_RETURN(records::MetadataRecord m,
                   impl_->LoadExistingMetadata(path));
  bool changed = false;
  for (uint64_t version : wanted) {
    records::VersionRecord* v = FindVersion(m, version);
    // A destroyed version has no data to bring back.
    if (v == nullptr || v->destroyed() || v->deletion_time_unix_ms() == 0) {
      continue;
    }
    v->set_deletion_time_unix_ms(0);
    changed = true;
  }
  if (!changed) return absl::OkStatus();
  m.set_updated_time_unix_ms(impl_->now_ms());
  return impl_->Commit(path, {Impl::PutMetadataMutation(path, m)}, &m);
}

absl::Status Engine::Destroy(std::string_view path,
                             const std::vector<uint64_t>& versions) {
  RETURN_IF_ERROR(ValidatePath(path));
  ASSIGN_OR_RETURN(std::set<uint64_t> wanted, ValidateVersions(versions));
  if (wanted.empty()) {
    return absl::InvalidArgumentError("destroy needs at least one version");
  }

  PathLockGuard lock(impl_->StripeFor(path));
  ASSIGN_OR_RETURN(records::MetadataRecord m,
                   impl_->LoadExistingMetadata(path));
  std::vector<storage::Mutation> mutations;
  for (uint64_t version : wanted) {
    records::VersionRecord* v = FindVersion(m, version);
    if (v == nullptr || v->destroyed()) continue;
    v->set_destroyed(true);
    mutations.push_back(storage::Mutation::Delete(DataKey(path, version)));
  }
  if (mutations.empty()) return absl::OkStatus();
  m.set_updated_time_unix_ms(impl_->now_ms());
  mutations.push_back(Impl::PutMetadataMutation(path, m));
  return impl_->Commit(path, std::move(mutations), &m);
}

absl::StatusOr<Metadata> Engine::GetMetadata(std::string_view path) {
  RETURN_IF_ERROR(ValidatePath(path));
  ASSIGN_OR_RETURN(records::MetadataRecord m,
                   impl_->LoadExistingMetadata(path));
  Metadata out;
  out.path = std::string(path);
  out.current_version = m.current_version();
  out.oldest_version = m.versions().empty() ? 0 : m.versions(0).version();
  out.max_versions = m.max_versions();
  out.cas_required = m.cas_required();
  out.created_time_unix_ms = m.created_time_unix_ms();
  out.updated_time_unix_ms = m.updated_time_unix_ms();
  out.versions.reserve(m.versions_size());
  for (const auto& v : m.versions()) out.versions.push_back(FromRecord(v));
  for (const auto& pair : m.custom_metadata()) {
    out.custom_metadata.emplace(pair.key(), pair.value());
  }
  return out;
}

absl::Status Engine::PutMetadata(std::string_view path,
                                 const MetadataUpdate& update) {
  RETURN_IF_ERROR(ValidatePath(path));
  if (update.max_versions.has_value() &&
      *update.max_versions > kMaxMaxVersions) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_versions must be at most ", kMaxMaxVersions));
  }
  if (update.custom_metadata.has_value()) {
    RETURN_IF_ERROR(ValidateCustomMetadata(*update.custom_metadata));
  }

  PathLockGuard lock(impl_->StripeFor(path));
  ASSIGN_OR_RETURN(std::optional<records::MetadataRecord> existing,
                   impl_->LoadMetadata(path));
  const int64_t now = impl_->now_ms();
  records::MetadataRecord m;
  if (existing.has_value()) {
    m = *std::move(existing);
  } else {
    m.set_path(std::string(path));
    m.set_created_time_unix_ms(now);
  }
  m.set_updated_time_unix_ms(now);
  if (update.max_versions.has_value()) {
    m.set_max_versions(*update.max_versions);
  }
  if (update.cas_required.has_value()) {
    m.set_cas_required(*update.cas_required);
  }
  if (update.custom_metadata.has_value()) {
    m.clear_custom_metadata();
    for (const auto& [key, value] : *update.custom_metadata) {
      auto* pair = m.add_custom_metadata();
      pair->set_key(key);
      pair->set_value(value);
    }
  }
  std::vector<storage::Mutation> mutations;
  // A lowered max_versions takes effect now, not at the next write.
  Prune(path, m, mutations);
  mutations.push_back(Impl::PutMetadataMutation(path, m));
  return impl_->Commit(path, std::move(mutations), &m);
}

absl::Status Engine::DeleteMetadata(std::string_view path) {
  RETURN_IF_ERROR(ValidatePath(path));

  PathLockGuard lock(impl_->StripeFor(path));
  ASSIGN_OR_RETURN(records::MetadataRecord m,
                   impl_->LoadExistingMetadata(path));
  // Sweep the whole data directory, not only the versions the metadata
  // names, so nothing of this path can outlive its metadata.
  const std::string dir = DataDir(path);
  ASSIGN_OR_RETURN(std::vector<std::string> stored, impl_->view.List(dir));
  std::vector<storage::Mutation> mutations;
  for (const std::string& child : stored) {
    mutations.push_back(storage::Mutation::Delete(absl::StrCat(dir, child)));
  }
  mutations.push_back(storage::Mutation::Delete(MetadataKey(path)));
  return impl_->Commit(path, std::move(mutations), nullptr);
}

}  // namespace arca::engines::kv
