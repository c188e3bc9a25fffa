#include "server/storage/read_cache.h"

#include "absl/hash/hash.h"

namespace arca::storage {
namespace {

// Debian's abseil has its own string_view, which the hash maps look up by.
absl::string_view A(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace

ReadCache::ReadCache(size_t capacity_bytes)
    : shard_capacity_(capacity_bytes / kShards),
      shards_(std::make_unique<Shard[]>(kShards)) {}

ReadCache::Shard& ReadCache::ShardOf(std::string_view key) {
  return shards_[absl::HashOf(A(key)) % kShards];
}

void ReadCache::Erase(Shard& shard, std::string_view key) {
  auto it = shard.index.find(A(key));
  if (it == shard.index.end()) return;
  shard.bytes -= Cost(*it->second);
  shard.lru.erase(it->second);
  shard.index.erase(it);
}

std::optional<std::string> ReadCache::Lookup(std::string_view key,
                                             Ticket* ticket) {
  Shard& shard = ShardOf(key);
  absl::MutexLock lock(&shard.mu);
  *ticket = Ticket{};
  if (shard.writing.contains(A(key))) return std::nullopt;
  auto it = shard.index.find(A(key));
  if (it == shard.index.end()) {
    ticket->may_insert = true;
    ticket->generation = shard.generation;
    return std::nullopt;
  }
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  return it->second->value;
}

void ReadCache::Insert(std::string_view key, std::string_view value,
                       const Ticket& ticket) {
  if (!ticket.may_insert) return;
  Shard& shard = ShardOf(key);
  Entry entry{std::string(key), std::string(value)};
  const size_t cost = Cost(entry);
  // One large value must not flush a whole shard.
  if (cost > shard_capacity_ / 4) return;
  absl::MutexLock lock(&shard.mu);
  if (shard.generation != ticket.generation || shard.writing.contains(A(key))) {
    return;
  }
  Erase(shard, key);
  shard.lru.push_front(std::move(entry));
  shard.index.emplace(shard.lru.front().key, shard.lru.begin());
  shard.bytes += cost;
  while (shard.bytes > shard_capacity_ && !shard.lru.empty()) {
    Erase(shard, shard.lru.back().key);
  }
}

void ReadCache::BeginWrite(const std::vector<std::string_view>& keys) {
  for (std::string_view key : keys) {
    Shard& shard = ShardOf(key);
    absl::MutexLock lock(&shard.mu);
    ++shard.writing[A(key)];
  }
}

void ReadCache::EndWrite(const std::vector<std::string_view>& keys) {
  for (std::string_view key : keys) {
    Shard& shard = ShardOf(key);
    absl::MutexLock lock(&shard.mu);
    Erase(shard, key);
    auto it = shard.writing.find(A(key));
    if (it != shard.writing.end() && --it->second == 0) shard.writing.erase(it);
    ++shard.generation;
  }
}

size_t ReadCache::bytes() const {
  size_t total = 0;
  for (int i = 0; i < kShards; ++i) {
    absl::MutexLock lock(&shards_[i].mu);
    total += shards_[i].bytes;
  }
  return total;
}

}  // namespace arca::storage
