#ifndef ARCA_SERVER_STORAGE_IN_MEMORY_BACKEND_H_
#define ARCA_SERVER_STORAGE_IN_MEMORY_BACKEND_H_

#include <map>
#include <string>

#include "absl/synchronization/mutex.h"
#include "server/storage/backend.h"

namespace arca::storage {

// InMemoryBackend keeps everything in a sorted map, for unit tests.
// Thread-safe. Tests may reach the raw map to tamper with stored bytes.
class InMemoryBackend : public Backend {
 public:
  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) override;
  absl::Status Put(std::string_view key, std::string_view value) override;
  absl::Status Delete(std::string_view key) override;
  absl::StatusOr<std::vector<std::string>> List(
      std::string_view prefix) override;
  absl::Status Batch(const std::vector<Mutation>& mutations) override;

  // For tests: a copy of everything stored.
  std::map<std::string, std::string> Snapshot() const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::string, std::less<>> data_ ABSL_GUARDED_BY(mu_);
};

}  // namespace arca::storage

#endif  // ARCA_SERVER_STORAGE_IN_MEMORY_BACKEND_H_
