#ifndef ARCA_SERVER_STORAGE_BACKEND_H_
#define ARCA_SERVER_STORAGE_BACKEND_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace arca::storage {

// One write in an atomic Batch.
struct Mutation {
  enum class Kind { kPut, kDelete };
  Kind kind;
  std::string key;
  std::string value;  // kPut only

  static Mutation Put(std::string key, std::string value) {
    return {Kind::kPut, std::move(key), std::move(value)};
  }
  static Mutation Delete(std::string key) {
    return {Kind::kDelete, std::move(key), {}};
  }
};

// Backend is the physical key/value store under the barrier. It is
// untrusted: the barrier assumes an attacker can read and modify anything in
// it, so a Backend stores opaque bytes and never sees plaintext.
//
// Keys are non-empty byte strings ordered bytewise. A missing key is not an
// error: Get returns std::nullopt. Every write that returns OK is durable
// (synced to stable storage where the backend has one). A failing device
// returns UNAVAILABLE (for example a full disk); detected corruption is
// DATA_LOSS; anything else INTERNAL.
// Implementations are thread-safe.
class Backend {
 public:
  virtual ~Backend() = default;

  virtual absl::StatusOr<std::optional<std::string>> Get(
      std::string_view key) = 0;
  virtual absl::Status Put(std::string_view key, std::string_view value) = 0;
  // Deleting a missing key is OK.
  virtual absl::Status Delete(std::string_view key) = 0;

  // The direct children of `prefix`, sorted, with the prefix removed: for
  // keys "a/b", "a/c/d" and "a/c/e", List("a/") returns {"b", "c/"}.
  // A child that has children of its own ends in '/'; if a key "a/c" also
  // exists, both "c" and "c/" are returned.
  virtual absl::StatusOr<std::vector<std::string>> List(
      std::string_view prefix) = 0;

  // Applies every mutation or none, atomically, in order.
  virtual absl::Status Batch(const std::vector<Mutation>& mutations) = 0;

  // Batch without holding the calling thread through the sync: `done` is
  // called exactly once with Batch's result, on this thread or another,
  // once the mutations are durable or have failed. A backend may commit
  // concurrent calls together in one atomic, synced write; `done` must not
  // block for long, as later writes may wait for it. By default the batch
  // is written inline.
  virtual void BatchAsync(std::vector<Mutation> mutations,
                          std::function<void(absl::Status)> done) {
    done(Batch(mutations));
  }
};

}  // namespace arca::storage

#endif  // ARCA_SERVER_STORAGE_BACKEND_H_
