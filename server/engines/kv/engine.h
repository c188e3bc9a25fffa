#ifndef ARCA_SERVER_ENGINES_KV_ENGINE_H_
#define ARCA_SERVER_ENGINES_KV_ENGINE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/barrier/barrier.h"

namespace arca::engines::kv {

using Data = std::map<std::string, std::string>;

struct VersionMetadata {
  uint64_t version = 0;
  int64_t created_time_unix_ms = 0;
  int64_t deletion_time_unix_ms = 0;  // 0 when not deleted
  bool destroyed = false;
};

struct Secret {
  Data data;
  VersionMetadata metadata;
};

struct Metadata {
  std::string path;
  uint64_t current_version = 0;
  uint64_t oldest_version = 0;
  uint32_t max_versions = 0;  // 0: kDefaultMaxVersions
  bool cas_required = false;
  int64_t created_time_unix_ms = 0;
  int64_t updated_time_unix_ms = 0;
  std::vector<VersionMetadata> versions;  // ascending, only retained ones
  std::map<std::string, std::string> custom_metadata;
};

struct MetadataUpdate {
  std::optional<uint32_t> max_versions;
  std::optional<bool> cas_required;
  std::optional<std::map<std::string, std::string>> custom_metadata;
};

// Engine is a versioned key/value secrets store with KV v2 semantics, over
// one mount's barrier View. It knows nothing of gRPC or tokens: the core
// authorizes before calling it.
//
// Semantics (as Vault/OpenBao KV v2):
// * Put creates version current+1. With `cas`, writes only if the current
//   version equals it (0: only if no live version exists); mismatch is
//   FAILED_PRECONDITION. If the metadata has cas_required, Put without cas
//   is FAILED_PRECONDITION.
// * Only the newest max_versions (default 10) versions are kept; older ones
//   are removed in the same atomic batch as the write.
// * Delete is soft (sets deletion time; Undelete clears it); Destroy removes
//   the data for good and marks the version destroyed. Empty `versions` in
//   Delete means the latest version; Undelete and Destroy need versions.
// * Get of a missing, deleted or destroyed version is NOT_FOUND.
//
// Errors: bad path -> INVALID_ARGUMENT; data over kMaxSecretBytes ->
// RESOURCE_EXHAUSTED; barrier errors (UNAVAILABLE while sealed, DATA_LOSS)
// pass through unchanged. Messages never contain secret values.
//
// Thread-safe: writes to one path are serialized by a striped lock, writes to
// different paths run concurrently.
class Engine {
 public:
  static constexpr size_t kMaxSecretBytes = 512 * 1024;
  static constexpr uint32_t kDefaultMaxVersions = 10;
  static constexpr size_t kMaxPathBytes = 512;

  // `now_ms` returns the current Unix time in milliseconds; tests inject it.
  explicit Engine(barrier::View view,
                  std::function<int64_t()> now_ms = nullptr);
  ~Engine();

  // Called by Put under the path's lock with whether the secret exists, so
  // that the caller can require create or update (as in Vault); an error
  // fails the Put and writes nothing.
  using Authorize = std::function<absl::Status(bool exists)>;
  using PutDone = std::function<void(absl::StatusOr<VersionMetadata>)>;

  absl::StatusOr<Secret> Get(std::string_view path, uint64_t version = 0);
  absl::StatusOr<VersionMetadata> Put(std::string_view path, const Data& data,
                                      std::optional<uint64_t> cas,
                                      const Authorize& authorize = nullptr);
  // Put without holding a thread: checks and submits the write, then
  // returns; `done` gets Put's result once the write is durable, possibly
  // on another thread (the storage committer's: it must not block). If a
  // write to a path sharing this one's lock is in flight, this one is
  // queued behind it and prepared by the thread that finishes it; the
  // `authorize` check then runs there too.
  void PutAsync(std::string_view path, const Data& data,
                std::optional<uint64_t> cas, Authorize authorize,
                PutDone done);

  // At seal: waits for the writes already submitted, then refuses every
  // further write with the sealed error (queued puts included) and drops
  // the cached metadata. A new engine serves the mount after unseal; the
  // old one, still held by in-flight calls, must never write beside it.
  void Close();
  // Direct children of `prefix` ("" for the root, else a path, with or
  // without a trailing '/'); sub-folders end in '/'. NOT_FOUND if none.
  absl::StatusOr<std::vector<std::string>> List(std::string_view prefix);
  absl::Status Delete(std::string_view path,
                      const std::vector<uint64_t>& versions);
  absl::Status Undelete(std::string_view path,
                        const std::vector<uint64_t>& versions);
  absl::Status Destroy(std::string_view path,
                       const std::vector<uint64_t>& versions);
  absl::StatusOr<Metadata> GetMetadata(std::string_view path);
  absl::Status PutMetadata(std::string_view path, const MetadataUpdate& update);
  absl::Status DeleteMetadata(std::string_view path);

  // OK if `path` is a valid secret path: 1..kMaxPathBytes bytes, segments of
  // [A-Za-z0-9._-] separated by single '/', no leading or trailing '/', no
  // "." or ".." segment. The error message does not echo the path.
  static absl::Status ValidatePath(std::string_view path);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace arca::engines::kv

#endif  // ARCA_SERVER_ENGINES_KV_ENGINE_H_
