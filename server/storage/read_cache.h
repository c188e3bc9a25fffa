#ifndef ARCA_SERVER_STORAGE_READ_CACHE_H_
#define ARCA_SERVER_STORAGE_READ_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace arca::storage {

// ReadCache keeps recently read values of a Backend in memory (least recently
// used first out, bounded in bytes), so a hot key costs a hash lookup instead
// of a trip through the database's memtable and block index. It holds what
// the backend holds: barrier ciphertext, never plaintext. Thread-safe; 16
// shards, each with its own lock.
//
// Writers bracket every write with BeginWrite / EndWrite. Between the two,
// reads of the written keys bypass the cache and nothing is cached for them,
// so a reader never sees an older value from the cache after it has seen a
// newer one from the database (batches stay atomic to readers). A reader that
// missed takes a Ticket, reads the database, and Insert() keeps the value only
// if no write to that shard ended in between.
class ReadCache {
 public:
  // What a missed Lookup hands to Insert.
  struct Ticket {
    bool may_insert = false;
    uint64_t generation = 0;
  };

  explicit ReadCache(size_t capacity_bytes);
  ReadCache(const ReadCache&) = delete;
  ReadCache& operator=(const ReadCache&) = delete;

  // The cached value of `key`, or nullopt (a miss) with `ticket` filled in.
  std::optional<std::string> Lookup(std::string_view key, Ticket* ticket);
  // Caches `value` as read from the database after the Lookup that gave
  // `ticket`, unless a write to the shard began or ended since.
  void Insert(std::string_view key, std::string_view value,
              const Ticket& ticket);

  // Call before writing `keys` to the database and EndWrite after, whether
  // the write succeeded or not.
  void BeginWrite(const std::vector<std::string_view>& keys);
  void EndWrite(const std::vector<std::string_view>& keys);

  size_t bytes() const;  // cached bytes now, for tests

 private:
  static constexpr int kShards = 16;
  struct Entry {
    std::string key;
    std::string value;
  };
  struct Shard {
    mutable absl::Mutex mu;
    std::list<Entry> lru ABSL_GUARDED_BY(mu);  // most recent first
    absl::flat_hash_map<std::string, std::list<Entry>::iterator> index
        ABSL_GUARDED_BY(mu);
    absl::flat_hash_map<std::string, int> writing ABSL_GUARDED_BY(mu);
    uint64_t generation ABSL_GUARDED_BY(mu) = 0;
    size_t bytes ABSL_GUARDED_BY(mu) = 0;
  };

  static size_t Cost(const Entry& e) {
    return e.key.size() + e.value.size() + 64;
  }
  Shard& ShardOf(std::string_view key);
  static void Erase(Shard& shard, std::string_view key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);

  const size_t shard_capacity_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace arca::storage

#endif  // ARCA_SERVER_STORAGE_READ_CACHE_H_
