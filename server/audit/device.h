#ifndef ARCA_SERVER_AUDIT_DEVICE_H_
#define ARCA_SERVER_AUDIT_DEVICE_H_

#include "absl/status/status.h"
#include "server/audit/entry.h"

namespace arca::audit {

// An audit sink. Log returns OK only once the entry is durable at the sink;
// any failure is UNAVAILABLE so the core refuses the request (fail closed).
// Implementations are thread-safe.
class Device {
 public:
  virtual ~Device() = default;
  virtual absl::Status Log(const Entry& entry) = 0;
};

}  // namespace arca::audit

#endif  // ARCA_SERVER_AUDIT_DEVICE_H_
