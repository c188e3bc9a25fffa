// Audit device management: enable/disable/list, salts kept in the barrier,
// devices reopened at unseal.

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kms/random.h"
#include "kms/status_macros.h"
#include "server/auth/policy.h"
#include "server/core/core.h"
#include "spdlog/spdlog.h"

namespace arca::core {
namespace {

constexpr char kAuditPrefix[] = "core/audit/";

// A configured device that could not be opened at unseal: it fails every
// write, so requests fail closed until the operator fixes or disables it.
class BrokenDevice : public audit::Device {
 public:
  explicit BrokenDevice(std::string reason) : reason_(std::move(reason)) {}
  absl::Status Log(const audit::Entry&) override {
    return absl::UnavailableError(reason_);
  }

 private:
  std::string reason_;
};

absl::Status CheckDeviceName(std::string_view name) {
  if (name.empty() || name.size() > 64 ||
      !std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '_';
      })) {
    return absl::InvalidArgumentError(
        "an audit device name is 1..64 characters of [a-z0-9_-]");
  }
  return absl::OkStatus();
}

absl::StatusOr<AuditDeviceRecord> Parse(const std::string& raw) {
  AuditDeviceRecord record;
  if (!record.ParseFromString(raw) || record.salt().size() != audit::kSaltSize) {
    return absl::DataLossError("audit device record is corrupt");
  }
  return record;
}

}  // namespace

absl::Status Core::OpenAuditDevices() {
  ASSIGN_OR_RETURN(std::vector<std::string> names, barrier_.List(kAuditPrefix));
  absl::MutexLock lock(&audit_mu_);
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(auto raw, barrier_.Get(absl::StrCat(kAuditPrefix, std::string(std::string(name)))));
    if (!raw.has_value()) continue;
    ASSIGN_OR_RETURN(AuditDeviceRecord record, Parse(*raw));
    const kms::SecretBytes salt = kms::SecretBytes::CopyFrom(record.salt());
    audit::FileDeviceOptions options;
    options.path = record.path();
    absl::StatusOr<std::unique_ptr<audit::FileDevice>> device =
        audit::FileDevice::Open(options, salt);
    std::shared_ptr<audit::Device> enabled;
    if (device.ok()) {
      std::shared_ptr<audit::FileDevice> file = std::move(*device);
      audit_files_[name] = file;
      enabled = file;
    } else {
      spdlog::error("audit device {} cannot be opened; requests will fail "
                    "until it is fixed or disabled: {}",
                    name, std::string(device.status().message()));
      enabled = std::make_shared<BrokenDevice>(absl::StrCat(
          "audit device ", std::string(std::string(name)), " is not open: ", device.status().message()));
    }
    (void)audit_.Disable(name);
    RETURN_IF_ERROR(audit_.Enable(name, std::move(enabled)));
  }
  return absl::OkStatus();
}

absl::Status Core::EnableAudit(std::string_view name, std::string_view type,
                               std::string_view path) {
  if (barrier_.Sealed()) return barrier::SealedError();
  RETURN_IF_ERROR(CheckDeviceName(name));
  if (type != "file") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown audit device type \"", std::string(type), "\"; only \"file\""));
  }
  if (path.empty() || path.front() != '/') {
    return absl::InvalidArgumentError("a file device needs an absolute path");
  }
  absl::MutexLock lock(&audit_mu_);
  ASSIGN_OR_RETURN(auto existing, barrier_.Get(absl::StrCat(kAuditPrefix, std::string(std::string(name)))));
  if (existing.has_value()) {
    return absl::AlreadyExistsError(
        absl::StrCat("an audit device named \"", std::string(std::string(name)), "\" is enabled"));
  }
  for (const auto& [other, device] : audit_files_) {
    if (device->path() == path) {
      return absl::AlreadyExistsError(
          absl::StrCat("audit device ", other, " already writes that file"));
    }
  }
  kms::SecretBytes salt = kms::RandomSecret(audit::kSaltSize);
  audit::FileDeviceOptions options;
  options.path = std::string(path);
  ASSIGN_OR_RETURN(std::unique_ptr<audit::FileDevice> device,
                   audit::FileDevice::Open(options, salt));
  std::shared_ptr<audit::FileDevice> file = std::move(device);
  // A device that cannot write now would lock every request out (even the
  // disable that could remove it): write one line before enabling it.
  audit::Entry probe;
  probe.kind = audit::Entry::Kind::kResponse;
  probe.time = absl::Now();
  probe.operation = "audit.device_enabled";
  probe.path = absl::StrCat("sys/audit/", std::string(name));
  probe.status = "OK";
  RETURN_IF_ERROR(file->Log(probe));
  AuditDeviceRecord record;
  record.set_name(std::string(name));
  record.set_type(std::string(type));
  record.set_path(std::string(path));
  record.set_salt(std::string(salt.Reveal()));
  RETURN_IF_ERROR(barrier_.Put(absl::StrCat(kAuditPrefix, std::string(std::string(name))),
                               record.SerializeAsString()));
  RETURN_IF_ERROR(audit_.Enable(std::string(name), file));
  audit_files_[std::string(name)] = file;
  spdlog::info("audit device {} enabled", name);
  return absl::OkStatus();
}

absl::Status Core::DisableAudit(std::string_view name) {
  if (barrier_.Sealed()) return barrier::SealedError();
  RETURN_IF_ERROR(CheckDeviceName(name));
  absl::MutexLock lock(&audit_mu_);
  ASSIGN_OR_RETURN(auto existing, barrier_.Get(absl::StrCat(kAuditPrefix, std::string(std::string(name)))));
  if (!existing.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("no audit device named \"", std::string(std::string(name)), "\""));
  }
  RETURN_IF_ERROR(barrier_.Delete(absl::StrCat(kAuditPrefix, std::string(std::string(name)))));
  (void)audit_.Disable(name);
  audit_files_.erase(std::string(name));
  spdlog::info("audit device {} disabled", name);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<AuditDeviceRecord>> Core::ListAudit() {
  if (barrier_.Sealed()) return barrier::SealedError();
  ASSIGN_OR_RETURN(std::vector<std::string> names, barrier_.List(kAuditPrefix));
  std::sort(names.begin(), names.end());
  std::vector<AuditDeviceRecord> out;
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(auto raw, barrier_.Get(absl::StrCat(kAuditPrefix, std::string(std::string(name)))));
    if (!raw.has_value()) continue;
    ASSIGN_OR_RETURN(AuditDeviceRecord record, Parse(*raw));
    record.clear_salt();
    out.push_back(std::move(record));
  }
  return out;
}

absl::StatusOr<kms::SecretBytes> Core::AuditSalt(std::string_view name) {
  if (barrier_.Sealed()) return barrier::SealedError();
  RETURN_IF_ERROR(CheckDeviceName(name));
  ASSIGN_OR_RETURN(auto raw, barrier_.Get(absl::StrCat(kAuditPrefix, std::string(std::string(name)))));
  if (!raw.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("no audit device named \"", std::string(std::string(name)), "\""));
  }
  ASSIGN_OR_RETURN(AuditDeviceRecord record, Parse(*raw));
  kms::SecretBytes salt = kms::SecretBytes::CopyFrom(record.salt());
  std::fill(record.mutable_salt()->begin(), record.mutable_salt()->end(), '\0');
  return salt;
}

absl::StatusOr<std::string> Core::AuditHash(std::string_view name,
                                            std::string_view value) {
  ASSIGN_OR_RETURN(kms::SecretBytes salt, AuditSalt(name));
  return audit::HashForAudit(salt, value);
}

std::optional<audit::ChainHead> Core::AuditHead(std::string_view name) {
  absl::MutexLock lock(&audit_mu_);
  auto it = audit_files_.find(name);
  if (it == audit_files_.end()) return std::nullopt;
  return it->second->Head();
}

std::optional<std::string> Core::AuditPath(std::string_view name) {
  absl::MutexLock lock(&audit_mu_);
  auto it = audit_files_.find(name);
  if (it == audit_files_.end()) return std::nullopt;
  return it->second->path();
}

absl::StatusOr<std::string> Core::SoleAuditDevice() {
  ASSIGN_OR_RETURN(std::vector<AuditDeviceRecord> devices, ListAudit());
  if (devices.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        devices.size(), " audit devices are enabled; name one with --device"));
  }
  return devices[0].name();
}

}  // namespace arca::core
