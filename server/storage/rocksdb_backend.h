#ifndef ARCA_SERVER_STORAGE_ROCKSDB_BACKEND_H_
#define ARCA_SERVER_STORAGE_ROCKSDB_BACKEND_H_

#include <memory>
#include <string>

#include "server/storage/backend.h"

namespace rocksdb {
class DB;
}

namespace arca::storage {

// RocksDbBackend is the embedded default: one RocksDB database in a local
// directory. The WAL is on and every write is synced (WriteOptions::sync)
// before it is acknowledged; RocksDB's group commit batches concurrent
// writers into one fsync. rocksdb::Status is converted to absl::Status here
// and nowhere else. Thread-safe.
class RocksDbBackend : public Backend {
 public:
  // Opens (creating if missing) the database in `dir`.
  static absl::StatusOr<std::unique_ptr<RocksDbBackend>> Open(
      const std::string& dir);
  ~RocksDbBackend() override;

  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) override;
  absl::Status Put(std::string_view key, std::string_view value) override;
  absl::Status Delete(std::string_view key) override;
  absl::StatusOr<std::vector<std::string>> List(
      std::string_view prefix) override;
  absl::Status Batch(const std::vector<Mutation>& mutations) override;

 private:
  explicit RocksDbBackend(std::unique_ptr<rocksdb::DB> db);
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace arca::storage

#endif  // ARCA_SERVER_STORAGE_ROCKSDB_BACKEND_H_
