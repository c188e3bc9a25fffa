#include "server/audit/file_device.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kms/status_macros.h"

namespace arca::audit {
namespace {

absl::Status Unavailable(const std::string& path, const char* what, int err) {
  return absl::UnavailableError(absl::StrCat("audit file ", path, ": ", what,
                                             " failed: ", std::strerror(err)));
}

// Members of a chain start/restart marker line.
std::string MarkerJson(std::string_view type, std::string_view reason) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j["type"] = std::string(type);
  j["time"] = FormatAuditTime(absl::Now());
  j["reason"] = std::string(reason);
  return j.dump(-1, ' ', false,
                nlohmann::ordered_json::error_handler_t::replace);
}

// pread everything in [offset, offset+len), retrying short reads.
absl::Status ReadAt(int fd, off_t offset, size_t len, char* out,
                    const std::string& path) {
  while (len > 0) {
    const ssize_t n = ::pread(fd, out, len, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Unavailable(path, "read", errno);
    }
    if (n == 0)
      return absl::UnavailableError(
          absl::StrCat("audit file ", path, ": shrank while being read"));
    out += n;
    offset += n;
    len -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// open(2) failing for one of these means the path itself is wrong (no
// such directory, not a directory, not allowed, a directory): the caller's
// input when a device is being enabled.
bool IsPathError(int err) {
  return err == ENOENT || err == ENOTDIR || err == EACCES || err == EISDIR;
}

}  // namespace

struct FileDevice::Waiter {
  std::string members;  // EntryToJson output
  absl::Status status;
  bool done = false;
};

absl::StatusOr<std::unique_ptr<FileDevice>> FileDevice::Open(
    FileDeviceOptions options, const kms::SecretBytes& salt) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("audit file path is empty");
  }
  ASSIGN_OR_RETURN(kms::SecretBytes chain_key, DeriveChainKey(salt));
  std::unique_ptr<FileDevice> device(
      new FileDevice(std::move(options), salt.Clone(), std::move(chain_key)));
  {
    absl::MutexLock lock(&device->write_mu_);
    RETURN_IF_ERROR(device->OpenLocked(/*new_device=*/true));
  }
  return device;
}

FileDevice::FileDevice(FileDeviceOptions options, kms::SecretBytes salt,
                       kms::SecretBytes chain_key)
    : options_(std::move(options)),
      salt_(std::move(salt)),
      chain_key_(std::move(chain_key)) {}

FileDevice::~FileDevice() {
  absl::MutexLock lock(&write_mu_);
  CloseLocked();
}

absl::Status FileDevice::OpenLocked(bool new_device) {
  const std::string& path = options_.path;
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC,
                        options_.mode);
  if (fd < 0) {
    const int err = errno;
    if (new_device && IsPathError(err)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "audit file ", path, ": open failed: ", std::strerror(err)));
    }
    return Unavailable(path, "open", err);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Unavailable(path, "fstat", err);
  }
  const bool regular = S_ISREG(st.st_mode);
  if (regular) {
    // One chain per file: a second writer would interleave two chains.
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        return absl::UnavailableError(
            absl::StrCat("audit file ", path,
                         ": in use by another audit device or process"));
      }
      return Unavailable(path, "flock", err);
    }
    if ((st.st_mode & 07777) != options_.mode &&
        ::fchmod(fd, options_.mode) != 0) {
      const int err = errno;
      ::close(fd);
      return Unavailable(path, "fchmod", err);
    }
  }
  fd_ = fd;
  regular_file_ = regular;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  absl::Status s = ResumeFromTailLocked();
  if (!s.ok()) CloseLocked();
  return s;
}

void FileDevice::CloseLocked() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

absl::Status FileDevice::ResumeFromTailLocked() {
  const std::string& path = options_.path;
  head_ = ChainHead{0, ZeroHmacHex()};
  needs_newline_ = false;
  needs_resync_ = false;
  pending_marker_.clear();
  // Devices and pipes have no tail to read: every open starts a chain.
  if (!regular_file_) {
    pending_marker_ = MarkerJson(kChainStartType, "new chain");
    return absl::OkStatus();
  }
  struct stat st;
  if (::fstat(fd_, &st) != 0) return Unavailable(path, "fstat", errno);
  const off_t size = st.st_size;
  if (size == 0) {
    pending_marker_ = MarkerJson(kChainStartType, "new file");
    return absl::OkStatus();
  }
  char last = 0;
  RETURN_IF_ERROR(ReadAt(fd_, size - 1, 1, &last, path));
  if (last != '\n') {
    needs_newline_ = true;
    pending_marker_ = MarkerJson(
        kChainRestartType, "the file ended in a partial line when reopened");
    return absl::OkStatus();
  }
  // Find the start of the last line, reading backwards in chunks.
  const off_t end = size - 1;  // offset of the final '\n'
  off_t start = 0;
  std::string chunk;
  for (off_t pos = end; pos > 0;) {
    const off_t len = std::min<off_t>(pos, 64 << 10);
    chunk.resize(static_cast<size_t>(len));
    RETURN_IF_ERROR(ReadAt(fd_, pos - len, chunk.size(), chunk.data(), path));
    const size_t nl = chunk.rfind('\n');
    if (nl != std::string::npos) {
      start = pos - len + static_cast<off_t>(nl) + 1;
      break;
    }
    pos -= len;
    if (end - pos > static_cast<off_t>(kMaxLineSize)) {
      start = -1;
      break;
    }
  }
  if (start < 0) {
    pending_marker_ =
        MarkerJson(kChainRestartType, "the last line was too long to verify");
    return absl::OkStatus();
  }
  std::string line(static_cast<size_t>(end - start), '\0');
  RETURN_IF_ERROR(ReadAt(fd_, start, line.size(), line.data(), path));
  auto checked = CheckLine(chain_key_, line);
  if (!checked.ok()) {
    pending_marker_ = MarkerJson(
        kChainRestartType,
        absl::StrCat("the last line did not verify when the file was "
                     "reopened: ",
                     checked.status().message()));
    return absl::OkStatus();
  }
  head_ = ChainHead{checked->seq, checked->hmac_hex};
  return absl::OkStatus();
}

absl::Status FileDevice::CheckFileStillThereLocked() {
  if (!regular_file_) return absl::OkStatus();
  struct stat st;
  if (::stat(options_.path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return absl::UnavailableError(
          absl::StrCat("audit file ", options_.path,
                       " was removed; reopen the audit device"));
    }
    return Unavailable(options_.path, "stat", errno);
  }
  if (st.st_dev != dev_ || st.st_ino != ino_) {
    return absl::UnavailableError(
        absl::StrCat("audit file ", options_.path,
                     " was replaced by another file; reopen the audit device"));
  }
  return absl::OkStatus();
}

absl::Status FileDevice::WriteBatch(const std::vector<Waiter*>& batch) {
  absl::MutexLock lock(&write_mu_);
  if (fd_ < 0) {
    return absl::UnavailableError(absl::StrCat(
        "audit file ", options_.path, " is not open; reopen the audit device"));
  }
  RETURN_IF_ERROR(CheckFileStillThereLocked());
  if (needs_resync_) RETURN_IF_ERROR(ResumeFromTailLocked());

  ChainHead head = head_;
  std::string out;
  if (needs_newline_) out += '\n';
  if (!pending_marker_.empty()) {
    out += SealLine(chain_key_, head, pending_marker_, &head);
  }
  for (const Waiter* w : batch) {
    out += SealLine(chain_key_, head, w->members, &head);
  }

  const char* p = out.data();
  size_t left = out.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      // Part of the batch may be in the file: re-read the tail next time.
      needs_resync_ = true;
      return Unavailable(options_.path, "write", errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (regular_file_ && ::fdatasync(fd_) != 0) {
    needs_resync_ = true;
    return Unavailable(options_.path, "fdatasync", errno);
  }
  head_ = std::move(head);
  pending_marker_.clear();
  needs_newline_ = false;
  return absl::OkStatus();
}

absl::Status FileDevice::Log(const Entry& entry) {
  Waiter self;
  self.members = EntryToJson(entry, salt_);
  absl::MutexLock lock(&mu_);
  queue_.push_back(&self);
  while (!self.done) {
    if (writing_) {
      done_cv_.Wait(&mu_);
      continue;
    }
    // Leader: commit everything queued so far in one write + sync.
    writing_ = true;
    std::vector<Waiter*> batch;
    batch.swap(queue_);
    mu_.Unlock();
    const absl::Status status = WriteBatch(batch);
    mu_.Lock();
    for (Waiter* w : batch) {
      w->status = status;
      w->done = true;
    }
    writing_ = false;
    done_cv_.SignalAll();
  }
  return self.status;
}

absl::Status FileDevice::Reopen() {
  absl::MutexLock lock(&write_mu_);
  CloseLocked();
  return OpenLocked(/*new_device=*/false);
}

ChainHead FileDevice::Head() {
  absl::MutexLock lock(&write_mu_);
  return head_;
}

}  // namespace arca::audit
