#include "server/audit/broker.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "spdlog/spdlog.h"

namespace arca::audit {

absl::Status Broker::Enable(std::string name, std::shared_ptr<Device> device) {
  if (name.empty()) {
    return absl::InvalidArgumentError("audit device name is empty");
  }
  if (device == nullptr) {
    return absl::InvalidArgumentError("audit device is null");
  }
  absl::MutexLock lock(&mu_);
  if (devices_.count(name) != 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("audit device ", name, " is already enabled"));
  }
  devices_.emplace(std::move(name), std::move(device));
  enabled_.store(devices_.size(), std::memory_order_release);
  return absl::OkStatus();
}

absl::Status Broker::Disable(std::string_view name) {
  absl::MutexLock lock(&mu_);
  auto it = devices_.find(name);
  if (it == devices_.end()) {
    return absl::NotFoundError(absl::StrCat(
        "no audit device named ", absl::string_view(name.data(), name.size())));
  }
  devices_.erase(it);
  enabled_.store(devices_.size(), std::memory_order_release);
  return absl::OkStatus();
}

std::vector<std::string> Broker::List() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::string> names;
  for (const auto& [name, device] : devices_) names.push_back(name);
  return names;
}

std::shared_ptr<Device> Broker::Get(std::string_view name) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = devices_.find(name);
  return it == devices_.end() ? nullptr : it->second;
}

absl::Status Broker::Log(const Entry& entry) const {
  std::vector<std::pair<std::string, std::shared_ptr<Device>>> devices;
  {
    absl::ReaderMutexLock lock(&mu_);
    devices.assign(devices_.begin(), devices_.end());
  }
  if (devices.empty()) return absl::OkStatus();
  size_t written = 0;
  std::vector<std::string> failures;
  for (const auto& [name, device] : devices) {
    const absl::Status s = device->Log(entry);
    if (s.ok()) {
      ++written;
    } else {
      failures.push_back(absl::StrCat(name, ": ", s.message()));
    }
  }
  if (written > 0) {
    // Device messages carry paths and errno text, never entry contents.
    for (const std::string& f : failures) {
      spdlog::warn("audit device failed (entry kept by another device): {}", f);
    }
    return absl::OkStatus();
  }
  return absl::UnavailableError(absl::StrCat(
      "no audit device accepted the entry: ", absl::StrJoin(failures, "; ")));
}

}  // namespace arca::audit
