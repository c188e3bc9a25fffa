#ifndef ARCA_SERVER_AUDIT_FILE_DEVICE_H_
#define ARCA_SERVER_AUDIT_FILE_DEVICE_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "kms/secret_bytes.h"
#include "server/audit/chain.h"
#include "server/audit/device.h"

namespace arca::audit {

// Where and how a FileDevice writes.
struct FileDeviceOptions {
  std::string path;
  // Mode of a file the device creates (and forced on an existing regular
  // file): audit lines name paths and accessors.
  mode_t mode = 0600;
};

// FileDevice appends one chained JSON line per entry to a file (chain.h has
// the wire format). Entry members after "seq" and "prev", in this order:
// "type" ("request"/"response"), "time" (RFC 3339, UTC), "request_id",
// "operation", "path", "accessor", "auth" {"allowed", "policy"}, "status",
// "remote_address", "data" {field: value or "hmac-sha256:<hex>"}.
//
// Durability: Log returns OK only after the line is written (O_APPEND) and
// fdatasync'ed. Concurrent callers are group-committed: whoever finds no
// write in progress takes every queued entry, writes them with one write()
// and one fdatasync, then wakes the others with the shared result.
//
// Fail closed: a failed write or sync, or a file that was removed or
// replaced under the device, returns UNAVAILABLE for every entry of the batch.
// The next batch re-reads the file tail first (a partial line gets a new
// chain segment). A removed file stays an error until Reopen (log rotation).
//
// Restart: Open reads the last line of an existing file; if it verifies, the
// chain continues from it, otherwise the next write starts a new segment with
// an "audit.chain_restart" marker. The file is flock'ed so that two devices
// (or processes) cannot interleave chains in it.
//
// Owns the file descriptor and a copy of the salt. Thread-safe.
class FileDevice : public Device {
 public:
  // `salt` must be kSaltSize bytes (INVALID_ARGUMENT). INVALID_ARGUMENT if
  // the path cannot be opened (ENOENT, ENOTDIR, EACCES, EISDIR: the path
  // given is wrong); UNAVAILABLE for other open failures or if the file
  // cannot be locked. Writes nothing until the first Log.
  static absl::StatusOr<std::unique_ptr<FileDevice>> Open(
      FileDeviceOptions options, const kms::SecretBytes& salt);

  ~FileDevice() override;
  FileDevice(const FileDevice&) = delete;
  FileDevice& operator=(const FileDevice&) = delete;

  absl::Status Log(const Entry& entry) override;

  // Closes and reopens the path (creating it), resuming from its tail: call
  // after the file was rotated away (SIGHUP). UNAVAILABLE on failure.
  absl::Status Reopen();

  // The last line durably written by this device (or read from the tail on
  // open). Lets a verifier detect lines removed from the end of the file.
  ChainHead Head();

  const std::string& path() const { return options_.path; }

 private:
  struct Waiter;

  FileDevice(FileDeviceOptions options, kms::SecretBytes salt,
             kms::SecretBytes chain_key);

  // `new_device`: path errors are INVALID_ARGUMENT (Open), not
  // UNAVAILABLE (Reopen of a device already in use).
  absl::Status OpenLocked(bool new_device)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  void CloseLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  // Reads the tail of the open file and sets head_ / pending_marker_.
  absl::Status ResumeFromTailLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status CheckFileStillThereLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  absl::Status WriteBatch(const std::vector<Waiter*>& batch)
      ABSL_LOCKS_EXCLUDED(write_mu_);

  const FileDeviceOptions options_;
  const kms::SecretBytes salt_;
  const kms::SecretBytes chain_key_;

  // Group commit queue. Never held while writing.
  absl::Mutex mu_;
  std::vector<Waiter*> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  absl::CondVar done_cv_;

  // File and chain state, held by the one thread writing a batch.
  absl::Mutex write_mu_ ABSL_ACQUIRED_AFTER(mu_);
  int fd_ ABSL_GUARDED_BY(write_mu_) = -1;
  bool regular_file_ ABSL_GUARDED_BY(write_mu_) = false;
  dev_t dev_ ABSL_GUARDED_BY(write_mu_) = 0;
  ino_t ino_ ABSL_GUARDED_BY(write_mu_) = 0;
  ChainHead head_ ABSL_GUARDED_BY(write_mu_);
  // Marker to write before the next entry: start/restart of a segment.
  std::string pending_marker_ ABSL_GUARDED_BY(write_mu_);
  // The file does not end with '\n' (a torn line): write one first.
  bool needs_newline_ ABSL_GUARDED_BY(write_mu_) = false;
  // A write failed part-way: re-read the tail before the next batch.
  bool needs_resync_ ABSL_GUARDED_BY(write_mu_) = false;
};

}  // namespace arca::audit

#endif  // ARCA_SERVER_AUDIT_FILE_DEVICE_H_
