#include "server/storage/rocksdb_status.h"

#include "absl/strings/str_cat.h"
#include "rocksdb/status.h"

namespace arca::storage::internal {

absl::Status FromRocksDb(const rocksdb::Status& status,
                         std::string_view operation) {
  if (status.ok()) return absl::OkStatus();
  // RocksDB's own text names files and error kinds, never keys or values.
  // absl::string_view is not std::string_view in this abseil build.
  const std::string op(operation);
  const std::string detail = status.ToString();
  if (status.IsNoSpace()) {
    return absl::UnavailableError(
        absl::StrCat("storage ", op, " failed: disk full (", detail, ")"));
  }
  if (status.IsIOError()) {
    return absl::UnavailableError(
        absl::StrCat("storage ", op, " failed: I/O error (", detail, ")"));
  }
  if (status.IsBusy()) {
    // Resume() while RocksDB still recovers from a write error on its own
    // (a full disk that was just freed): it clears by itself.
    return absl::UnavailableError(absl::StrCat(
        "storage ", op, " failed: recovering from a write error (", detail,
        ")"));
  }
  if (status.IsCorruption()) {
    return absl::DataLossError(
        absl::StrCat("storage ", op, " failed: corruption (", detail, ")"));
  }
  return absl::InternalError(absl::StrCat("storage ", op, " failed: ", detail));
}

}  // namespace arca::storage::internal
