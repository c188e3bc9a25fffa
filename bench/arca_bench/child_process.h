#ifndef ARCA_BENCH_ARCA_BENCH_CHILD_PROCESS_H_
#define ARCA_BENCH_ARCA_BENCH_CHILD_PROCESS_H_

#include <signal.h>
#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace arca::bench {

// A server process the bench started (arcad, echo_server, etcd, postgres).
// stdout and stderr go to `<log_prefix>.out` / `.err`. The destructor sends
// the stop signal (SIGTERM unless set), waits up to five seconds, then
// SIGKILLs and reaps; if the bench dies first, the kernel kills the child
// (PR_SET_PDEATHSIG). Spawn from the thread that
// lives longest (main): the signal follows the spawning thread. Not
// thread-safe.
class ChildProcess {
 public:
  // A user the child runs as instead of the bench's own (PostgreSQL refuses
  // to run as root).
  struct RunAs {
    uid_t uid;
    gid_t gid;
  };

  // Spawns `argv` (argv[0] is the executable path) with the environment of
  // the bench plus `extra_env` ("NAME=value"), as `run_as` when given (the
  // bench must be root then).
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(
      const std::vector<std::string>& argv, const std::string& log_prefix,
      const std::vector<std::string>& extra_env = {},
      std::optional<RunAs> run_as = std::nullopt);
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // Waits for the process to exit by itself (a one-shot tool such as
  // initdb): OK on exit status 0, otherwise an error with the tail of its
  // stderr. Kills it after `timeout`.
  absl::Status WaitForExit(absl::Duration timeout);
  // Waits until 127.0.0.1:`port` accepts TCP connections. Fails early if the
  // process exits, with the tail of its stderr in the message.
  absl::Status WaitForPort(int port, absl::Duration timeout);
  // Stops the process (the stop signal, then SIGKILL after five seconds)
  // and reaps it.
  void Stop();
  // The signal Stop() sends first (default SIGTERM; PostgreSQL wants SIGINT,
  // its fast shutdown, since SIGTERM waits for every client to leave).
  void set_stop_signal(int signal) { stop_signal_ = signal; }

 private:
  ChildProcess(pid_t pid, std::string log_prefix)
      : pid_(pid), log_prefix_(std::move(log_prefix)) {}
  std::string LogTail() const;

  pid_t pid_;
  std::string log_prefix_;
  int stop_signal_ = SIGTERM;
};

// A loopback TCP port that was free a moment ago.
int FreePort();

// A fresh directory under `parent`, removed recursively on destruction
// unless Keep() was called.
class TempDir {
 public:
  static absl::StatusOr<std::unique_ptr<TempDir>> New(
      const std::filesystem::path& parent, const std::string& prefix);
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  // Leaves the directory in place on destruction (to keep logs for a look).
  void Keep() { keep_ = true; }

 private:
  explicit TempDir(std::filesystem::path path) : path_(std::move(path)) {}
  std::filesystem::path path_;
  bool keep_ = false;
};

}  // namespace arca::bench

#endif  // ARCA_BENCH_ARCA_BENCH_CHILD_PROCESS_H_
