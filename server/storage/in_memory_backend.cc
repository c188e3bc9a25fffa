#include "server/storage/in_memory_backend.h"

#include <utility>

#include "server/storage/list_children.h"

namespace arca::storage {
namespace {

absl::Status CheckKey(std::string_view key) {
  if (key.empty()) return absl::InvalidArgumentError("storage key is empty");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::optional<std::string>> InMemoryBackend::Get(
    std::string_view key) {
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  absl::ReaderMutexLock lock(&mu_);
  auto it = data_.find(key);
  if (it == data_.end()) return std::nullopt;
  return it->second;
}

absl::Status InMemoryBackend::Put(std::string_view key,
                                  std::string_view value) {
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  data_.insert_or_assign(std::string(key), std::string(value));
  return absl::OkStatus();
}

absl::Status InMemoryBackend::Delete(std::string_view key) {
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto it = data_.find(key);
  if (it != data_.end()) data_.erase(it);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> InMemoryBackend::List(
    std::string_view prefix) {
  std::vector<std::string> children;
  absl::ReaderMutexLock lock(&mu_);
  auto it = data_.lower_bound(prefix);
  while (it != data_.end() && std::string_view(it->first).starts_with(prefix)) {
    bool is_folder = false;
    std::string child = internal::ChildOf(prefix, it->first, &is_folder);
    if (child.empty()) {
      ++it;
      continue;
    }
    if (is_folder) {
      it = data_.lower_bound(internal::PastFolder(std::string(prefix) + child));
    } else {
      ++it;
    }
    children.push_back(std::move(child));
  }
  return children;
}

absl::Status InMemoryBackend::Batch(const std::vector<Mutation>& mutations) {
  // Validate everything first so a bad mutation leaves nothing applied.
  for (const Mutation& m : mutations) {
    if (absl::Status s = CheckKey(m.key); !s.ok()) return s;
  }
  absl::MutexLock lock(&mu_);
  for (const Mutation& m : mutations) {
    if (m.kind == Mutation::Kind::kPut) {
      data_.insert_or_assign(m.key, m.value);
    } else {
      auto it = data_.find(m.key);
      if (it != data_.end()) data_.erase(it);
    }
  }
  return absl::OkStatus();
}

std::map<std::string, std::string> InMemoryBackend::Snapshot() const {
  absl::ReaderMutexLock lock(&mu_);
  return std::map<std::string, std::string>(data_.begin(), data_.end());
}

}  // namespace arca::storage
