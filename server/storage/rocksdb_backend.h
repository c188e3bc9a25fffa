#ifndef ARCA_SERVER_STORAGE_ROCKSDB_BACKEND_H_
#define ARCA_SERVER_STORAGE_ROCKSDB_BACKEND_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"

#include "server/storage/backend.h"
#include "server/storage/read_cache.h"

namespace rocksdb {
class DB;
class WriteBatch;
}

namespace arca::storage {

// RocksDbBackend is the embedded default: one RocksDB database in a local
// directory. The WAL is on and every write is synced (WriteOptions::sync)
// before it is acknowledged; RocksDB's group commit batches concurrent
// writers into one fsync. rocksdb::Status is converted to absl::Status here
// and nowhere else. Thread-safe.
//
// BatchAsync writes a lone batch on the caller's thread; batches that arrive
// while a write is in progress queue for one committer thread, which writes
// everything queued since its last sync as one atomic WriteBatch with one
// fdatasync and then calls each `done` in order, as etcd answers after its
// batched sync. Under load no thread but the committer waits on the disk;
// it starts with the first queued batch (an idle server keeps none).
//
// A failed write (full disk, I/O error) puts RocksDB in a read-only error
// state. Reads keep working; the next write first asks RocksDB to resume, so
// writes succeed again once space is freed, without a restart.
class RocksDbBackend : public Backend {
 public:
  struct Options {
    // Writes are refused (UNAVAILABLE, "disk full") while the filesystem has
    // less free space than this plus the write itself. RocksDB is not let
    // near ENOSPC: memtable flushes need room, and Debian's build asserts on
    // some write-after-I/O-error paths.
    uint64_t min_free_bytes = 64ull << 20;
    // Bytes of recently read values kept in a ReadCache in front of RocksDB
    // (0: none). A hot key then costs a hash lookup instead of a memtable
    // skip-list walk and a block-index search.
    size_t read_cache_bytes = 8 << 20;
  };

  // Opens (creating if missing) the database in `dir`.
  static absl::StatusOr<std::unique_ptr<RocksDbBackend>> Open(
      const std::string& dir, Options options);
  static absl::StatusOr<std::unique_ptr<RocksDbBackend>> Open(
      const std::string& dir) {
    return Open(dir, Options());
  }
  ~RocksDbBackend() override;

  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) override;
  absl::Status Put(std::string_view key, std::string_view value) override;
  absl::Status Delete(std::string_view key) override;
  absl::StatusOr<std::vector<std::string>> List(
      std::string_view prefix) override;
  absl::Status Batch(const std::vector<Mutation>& mutations) override;
  void BatchAsync(std::vector<Mutation> mutations,
                  std::function<void(absl::Status)> done) override;

 private:
  struct PendingBatch {
    std::vector<Mutation> mutations;
    std::function<void(absl::Status)> done;
  };

  RocksDbBackend(std::unique_ptr<rocksdb::DB> db, std::string dir,
                 Options options);
  // Writes `batch`, whose keys are `keys`, with the read cache told before
  // and after.
  absl::Status Write(rocksdb::WriteBatch* batch,
                     const std::vector<std::string_view>& keys,
                     std::string_view operation);
  absl::Status CheckFreeSpace(size_t write_bytes,
                              std::string_view operation) const;
  // Writes `group` as one synced WriteBatch, then calls each `done`.
  void CommitGroup(std::vector<PendingBatch>& group);
  // The committer thread: writes what BatchAsync queued, group by group.
  void CommitLoop();
  void StopCommitter();

  std::unique_ptr<rocksdb::DB> db_;
  const std::string dir_;
  const Options options_;
  std::unique_ptr<ReadCache> cache_;  // null when disabled
  absl::Mutex resume_mu_;
  std::atomic<bool> write_failed_{false};

  absl::Mutex commit_mu_;
  std::vector<PendingBatch> commit_queue_ ABSL_GUARDED_BY(commit_mu_);
  bool committing_ ABSL_GUARDED_BY(commit_mu_) = false;  // a group is written
  bool committer_started_ ABSL_GUARDED_BY(commit_mu_) = false;
  bool committer_stopping_ ABSL_GUARDED_BY(commit_mu_) = false;
  std::thread committer_;
};

}  // namespace arca::storage

#endif  // ARCA_SERVER_STORAGE_ROCKSDB_BACKEND_H_
