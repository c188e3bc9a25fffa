#include "server/storage/rocksdb_backend.h"

#include <sys/statvfs.h>

#include <cstdarg>
#include <cstdio>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"

#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/slice.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "server/storage/list_children.h"
#include "server/storage/rocksdb_status.h"
#include "spdlog/spdlog.h"

namespace arca::storage {
namespace {

using internal::FromRocksDb;

// Memory is kept small on purpose: arcad has an idle-RSS target of 40 MiB,
// and a secrets store holds little data.
constexpr size_t kBlockCacheBytes = 8 << 20;
constexpr size_t kWriteBufferBytes = 16 << 20;

rocksdb::Slice ToSlice(std::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}

absl::Status CheckKey(std::string_view key) {
  if (key.empty()) return absl::InvalidArgumentError("storage key is empty");
  return absl::OkStatus();
}

// An upper bound of the bytes `mutations` take in a WriteBatch (a tag and
// two varint lengths each, after the 12-byte header), so that a batch is
// allocated once instead of grown by copying.
size_t EncodedSize(const std::vector<Mutation>& mutations) {
  size_t bytes = 0;
  for (const Mutation& m : mutations) bytes += 11 + m.key.size() + m.value.size();
  return bytes;
}

// Adds `mutations` (keys already checked) to `batch` and their keys to
// `keys`.
absl::Status AppendTo(rocksdb::WriteBatch* batch,
                      const std::vector<Mutation>& mutations,
                      std::vector<std::string_view>* keys) {
  for (const Mutation& m : mutations) {
    keys->push_back(m.key);
    rocksdb::Status status = m.kind == Mutation::Kind::kPut
                                 ? batch->Put(ToSlice(m.key), ToSlice(m.value))
                                 : batch->Delete(ToSlice(m.key));
    if (absl::Status s = FromRocksDb(status, "batch"); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// RocksDB's own LOG file is a writer that asserts (SIGABRT in Debian's
// build) when used again after a full-disk error, so RocksDB logs through
// spdlog instead. Its warnings and errors go to debug: every error that
// matters reaches us as a rocksdb::Status and is reported by the caller, and
// some are routine (a missing directory on first open). RocksDB does not put
// values in its log.
class SpdlogRocksDbLogger : public rocksdb::Logger {
 public:
  SpdlogRocksDbLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const rocksdb::InfoLogLevel level, const char* format,
            va_list ap) override {
    if (level < GetInfoLogLevel() || !spdlog::should_log(spdlog::level::debug)) {
      return;
    }
    char line[512];
    std::vsnprintf(line, sizeof(line), format, ap);
    spdlog::debug("rocksdb: {}", line);
  }
};

// Every acknowledged write is synced to disk through the WAL.
rocksdb::WriteOptions SyncedWrite() {
  rocksdb::WriteOptions options;
  options.sync = true;
  options.disableWAL = false;
  return options;
}

rocksdb::Options DbOptions() {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  // Every acknowledged write was synced, so only an unacknowledged write can
  // be torn at the WAL's tail. Corruption anywhere else must stop the open
  // (DATA_LOSS) instead of silently replaying up to the damaged record.
  options.wal_recovery_mode =
      rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  options.write_buffer_size = kWriteBufferBytes;
  options.max_write_buffer_number = 2;
  options.max_background_jobs = 2;
  // Group commit: concurrent writers queue behind a leader, which writes the
  // whole group to the WAL with one fdatasync and then to the memtable. With
  // concurrent memtable writes each follower is woken twice (to insert its
  // own batch, then to learn the group is done); on a small machine the
  // wake-ups cost more than the inserts, so the leader inserts for all and
  // wakes each follower once. Adaptive yield spins waiting writers on
  // sched_yield, burning a core that the leader needs. Neither changes what
  // is synced or when a write is acknowledged.
  options.allow_concurrent_memtable_write = false;
  options.enable_write_thread_adaptive_yield = false;
  options.max_open_files = 256;
  options.keep_log_file_num = 4;
  options.max_total_wal_size = 4 * kWriteBufferBytes;
  // Start-up and shutdown write nothing that is not needed: the WAL already
  // holds every acknowledged write. A flush onto a full disk during recovery
  // hits an assertion in Debian's RocksDB (SIGABRT) instead of an error.
  options.avoid_flush_during_recovery = true;
  options.avoid_flush_during_shutdown = true;
  options.info_log = std::make_shared<SpdlogRocksDbLogger>();
  // Values are barrier ciphertext, which does not compress: compressing
  // them on every flush and compaction only burns CPU.
  options.compression = rocksdb::kNoCompression;

  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(kBlockCacheBytes);
  table.cache_index_and_filter_blocks = true;
  // A whole index or filter block of a 64 MiB table is about 1 MiB, more
  // than one shard of the 8 MiB cache holds, so it was read back from the
  // file on every lookup (a quarter of arcad's CPU under vaulted
  // tokenization). Partitioned into 4 KiB pieces under a small pinned top
  // level, they stay cached; the Bloom filter answers most lookups of keys
  // a table does not hold (new paths, unused tokens) without its index.
  table.index_type =
      rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.pin_top_level_index_and_filter = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return options;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RocksDbBackend>> RocksDbBackend::Open(
    const std::string& dir, Options options) {
  rocksdb::DB* raw = nullptr;
  rocksdb::Status status = rocksdb::DB::Open(DbOptions(), dir, &raw);
  std::unique_ptr<rocksdb::DB> db(raw);
  if (absl::Status s = FromRocksDb(status, "open"); !s.ok()) return s;
  return std::unique_ptr<RocksDbBackend>(
      new RocksDbBackend(std::move(db), dir, options));
}

RocksDbBackend::RocksDbBackend(std::unique_ptr<rocksdb::DB> db,
                               std::string dir, Options options)
    : db_(std::move(db)), dir_(std::move(dir)), options_(options) {
  if (options_.read_cache_bytes > 0) {
    cache_ = std::make_unique<ReadCache>(options_.read_cache_bytes);
  }
}

absl::Status RocksDbBackend::CheckFreeSpace(size_t write_bytes,
                                            std::string_view operation) const {
  struct statvfs fs;
  if (::statvfs(dir_.c_str(), &fs) != 0) return absl::OkStatus();
  const uint64_t free_bytes =
      static_cast<uint64_t>(fs.f_bavail) * static_cast<uint64_t>(fs.f_frsize);
  if (free_bytes >= options_.min_free_bytes + 2 * write_bytes) {
    return absl::OkStatus();
  }
  return absl::UnavailableError(absl::StrCat(
      "storage ", std::string(operation), " refused: disk full (",
      free_bytes >> 20, " MiB free, ", options_.min_free_bytes >> 20,
      " MiB kept in reserve)"));
}

RocksDbBackend::~RocksDbBackend() {
  StopCommitter();
  if (db_ != nullptr) {
    // Close flushes nothing we need (the WAL already holds every write);
    // its status has no one left to report to.
    db_->Close().PermitUncheckedError();
  }
}

absl::StatusOr<std::optional<std::string>> RocksDbBackend::Get(
    std::string_view key) {
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  ReadCache::Ticket ticket;
  if (cache_ != nullptr) {
    if (std::optional<std::string> cached = cache_->Lookup(key, &ticket)) {
      return cached;
    }
  }
  std::string value;
  rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), ToSlice(key), &value);
  if (status.IsNotFound()) return std::nullopt;
  if (absl::Status s = FromRocksDb(status, "get"); !s.ok()) return s;
  if (cache_ != nullptr) cache_->Insert(key, value, ticket);
  return value;
}

absl::Status RocksDbBackend::Put(std::string_view key, std::string_view value) {
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  rocksdb::WriteBatch batch;
  if (absl::Status s = FromRocksDb(batch.Put(ToSlice(key), ToSlice(value)),
                                   "put");
      !s.ok()) {
    return s;
  }
  return Write(&batch, {key}, "put");
}

absl::Status RocksDbBackend::Delete(std::string_view key) {
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  rocksdb::WriteBatch batch;
  if (absl::Status s = FromRocksDb(batch.Delete(ToSlice(key)), "delete");
      !s.ok()) {
    return s;
  }
  return Write(&batch, {key}, "delete");
}

absl::StatusOr<std::vector<std::string>> RocksDbBackend::List(
    std::string_view prefix) {
  std::vector<std::string> children;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions()));
  it->Seek(ToSlice(prefix));
  while (it->Valid()) {
    std::string_view key = it->key().ToStringView();
    if (!key.starts_with(prefix)) break;
    bool is_folder = false;
    std::string child = internal::ChildOf(prefix, key, &is_folder);
    if (child.empty()) {
      it->Next();
      continue;
    }
    if (is_folder) {
      // Skip every key inside this child folder in one seek.
      it->Seek(internal::PastFolder(std::string(prefix) + child));
    } else {
      it->Next();
    }
    children.push_back(std::move(child));
  }
  if (absl::Status s = FromRocksDb(it->status(), "list"); !s.ok()) return s;
  return children;
}

absl::Status RocksDbBackend::Batch(const std::vector<Mutation>& mutations) {
  for (const Mutation& m : mutations) {
    if (absl::Status s = CheckKey(m.key); !s.ok()) return s;
  }
  rocksdb::WriteBatch batch(12 + EncodedSize(mutations));
  std::vector<std::string_view> keys;
  keys.reserve(mutations.size());
  if (absl::Status s = AppendTo(&batch, mutations, &keys); !s.ok()) return s;
  return Write(&batch, keys, "batch");
}

void RocksDbBackend::BatchAsync(std::vector<Mutation> mutations,
                                std::function<void(absl::Status)> done) {
  for (const Mutation& m : mutations) {
    if (absl::Status s = CheckKey(m.key); !s.ok()) {
      done(s);
      return;
    }
  }
  {
    absl::MutexLock lock(&commit_mu_);
    if (committer_stopping_) {
      done(absl::UnavailableError("storage is closing"));
      return;
    }
    if (committing_ || !commit_queue_.empty()) {
      // A write is in progress: join the next group.
      commit_queue_.push_back({std::move(mutations), std::move(done)});
      if (!committer_started_) {
        committer_started_ = true;
        committer_ = std::thread([this] { CommitLoop(); });
      }
      return;
    }
    // Alone: write on this thread, as a lone writer gains nothing from a
    // hand-off and would pay a wake-up. Writers arriving meanwhile queue
    // for the committer thread.
    committing_ = true;
  }
  std::vector<PendingBatch> group;
  group.push_back({std::move(mutations), std::move(done)});
  CommitGroup(group);
  absl::MutexLock lock(&commit_mu_);
  committing_ = false;
}

void RocksDbBackend::CommitGroup(std::vector<PendingBatch>& group) {
  // One WriteBatch for the whole group: atomic and synced as one, so each
  // caller's mutations are applied entirely or not at all.
  size_t bytes = 12;
  size_t count = 0;
  for (const PendingBatch& p : group) {
    bytes += EncodedSize(p.mutations);
    count += p.mutations.size();
  }
  rocksdb::WriteBatch batch(bytes);
  std::vector<std::string_view> keys;
  keys.reserve(count);
  absl::Status status;
  for (const PendingBatch& p : group) {
    if (status.ok()) status = AppendTo(&batch, p.mutations, &keys);
  }
  if (status.ok()) status = Write(&batch, keys, "batch");
  for (PendingBatch& p : group) p.done(status);
}

void RocksDbBackend::CommitLoop() {
  std::vector<PendingBatch> group;
  while (true) {
    {
      absl::MutexLock lock(&commit_mu_);
      commit_mu_.Await(absl::Condition(
          +[](RocksDbBackend* b) ABSL_EXCLUSIVE_LOCKS_REQUIRED(b->commit_mu_) {
            return (!b->commit_queue_.empty() && !b->committing_) ||
                   (b->committer_stopping_ && !b->committing_);
          },
          this));
      if (commit_queue_.empty()) return;  // stopping, nothing left
      group.swap(commit_queue_);
      committing_ = true;
    }
    CommitGroup(group);
    group.clear();
    absl::MutexLock lock(&commit_mu_);
    committing_ = false;
  }
}

void RocksDbBackend::StopCommitter() {
  {
    absl::MutexLock lock(&commit_mu_);
    committer_stopping_ = true;
  }
  // The committer drains the queue before it ends.
  if (committer_.joinable()) committer_.join();
}

absl::Status RocksDbBackend::Write(rocksdb::WriteBatch* batch,
                                   const std::vector<std::string_view>& keys,
                                   std::string_view operation) {
  if (absl::Status s = CheckFreeSpace(batch->GetDataSize(), operation);
      !s.ok()) {
    return s;
  }
  if (write_failed_.load(std::memory_order_acquire)) {
    absl::MutexLock lock(&resume_mu_);
    if (write_failed_.load(std::memory_order_relaxed)) {
      if (absl::Status s = FromRocksDb(db_->Resume(), operation); !s.ok()) {
        return s;
      }
      write_failed_.store(false, std::memory_order_release);
    }
  }
  if (cache_ != nullptr) cache_->BeginWrite(keys);
  rocksdb::Status status = db_->Write(SyncedWrite(), batch);
  if (cache_ != nullptr) cache_->EndWrite(keys);
  if (status.IsIOError() || status.IsNoSpace()) {
    write_failed_.store(true, std::memory_order_release);
  }
  return FromRocksDb(status, operation);
}

}  // namespace arca::storage
