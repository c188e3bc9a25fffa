#ifndef ARCA_SERVER_STORAGE_ROCKSDB_STATUS_H_
#define ARCA_SERVER_STORAGE_ROCKSDB_STATUS_H_

#include <string_view>

#include "absl/status/status.h"

namespace rocksdb {
class Status;
}

namespace arca::storage::internal {

// The one place a rocksdb::Status becomes an absl::Status. `operation` names
// what failed ("put", "open"); keys and values never appear in the message.
//   ok                          -> OK
//   NoSpace, other IOError      -> UNAVAILABLE (the device is failing or full)
//   Corruption                  -> DATA_LOSS
//   anything else               -> INTERNAL
absl::Status FromRocksDb(const rocksdb::Status& status,
                         std::string_view operation);

}  // namespace arca::storage::internal

#endif  // ARCA_SERVER_STORAGE_ROCKSDB_STATUS_H_
