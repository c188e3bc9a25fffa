#ifndef ARCA_SERVER_AUDIT_BROKER_H_
#define ARCA_SERVER_AUDIT_BROKER_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "server/audit/device.h"

namespace arca::audit {

// Broker fans an entry out to the enabled devices, by name.
//
// Log succeeds if at least one enabled device wrote the entry; if every
// device failed it returns UNAVAILABLE naming them (the core then refuses the
// request). With no device enabled, Log is a no-op that returns OK: auditing
// is opt-in, as in Vault, and enabling the first device is the operator's
// decision. Devices are shared (a Log in progress keeps a device alive while
// it is disabled). Thread-safe.
class Broker {
 public:
  Broker() = default;
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // ALREADY_EXISTS if `name` is taken; INVALID_ARGUMENT if empty or null.
  absl::Status Enable(std::string name, std::shared_ptr<Device> device);
  // NOT_FOUND if no device has that name.
  absl::Status Disable(std::string_view name);
  // Enabled device names, sorted.
  std::vector<std::string> List() const;
  std::shared_ptr<Device> Get(std::string_view name) const;

  absl::Status Log(const Entry& entry) const;

  // True while no device is enabled, so that Log would do nothing: callers
  // skip building the entry. Lock-free; a device enabled concurrently is
  // seen by the next call.
  bool empty() const { return enabled_.load(std::memory_order_acquire) == 0; }

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Device>, std::less<>> devices_
      ABSL_GUARDED_BY(mu_);
  std::atomic<size_t> enabled_{0};  // devices_.size(), written under mu_
};

}  // namespace arca::audit

#endif  // ARCA_SERVER_AUDIT_BROKER_H_
