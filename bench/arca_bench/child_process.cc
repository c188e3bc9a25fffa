#include "bench/arca_bench/child_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

extern char** environ;

namespace arca::bench {

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(
    const std::vector<std::string>& argv, const std::string& log_prefix,
    const std::vector<std::string>& extra_env, std::optional<RunAs> run_as) {
  std::vector<std::string> args = argv;
  std::vector<char*> c_argv;
  for (auto& a : args) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);

  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    // The token for --address is the bench's alone: no server it starts
    // (postgres runs as another user) may read it from its environment.
    if (std::string_view(*e).starts_with("ARCA_TOKEN=")) continue;
    env.emplace_back(*e);
  }
  env.insert(env.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> c_env;
  for (auto& e : env) c_env.push_back(e.data());
  c_env.push_back(nullptr);

  const std::string out = log_prefix + ".out";
  const std::string err = log_prefix + ".err";
  // Everything the child needs is prepared before fork(): in the child of a
  // multithreaded process only async-signal-safe calls may run until exec.
  const int in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int out_fd =
      open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int err_fd =
      open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  auto close_all = [&] {
    for (int fd : {in_fd, out_fd, err_fd}) {
      if (fd >= 0) close(fd);
    }
  };
  if (in_fd < 0 || out_fd < 0 || err_fd < 0) {
    close_all();
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open the log files ", log_prefix, ".{out,err}"));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    // Credentials first: changing them clears the parent-death signal.
    if (run_as.has_value()) {
      if (setgroups(0, nullptr) != 0 || setgid(run_as->gid) != 0 ||
          setuid(run_as->uid) != 0) {
        static constexpr char kSetuidFailed[] =
            "arca-bench: cannot switch to the server's user\n";
        [[maybe_unused]] ssize_t n =
            write(err_fd, kSetuidFailed, sizeof(kSetuidFailed) - 1);
        _exit(127);
      }
    }
    // The server dies with the bench, even when the bench is killed before
    // it can stop its servers: no orphaned arcad or etcd after a crash.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    // Its own process group: a Ctrl-C at the terminal reaches the bench,
    // which stops its servers in order, not the servers mid-step.
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    execve(c_argv[0], c_argv.data(), c_env.data());
    static constexpr char kExecFailed[] = "arca-bench: exec failed\n";
    [[maybe_unused]] ssize_t n = write(2, kExecFailed, sizeof(kExecFailed) - 1);
    _exit(127);
  }
  close_all();
  if (pid < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot start ", argv[0], ": ", std::strerror(errno)));
  }
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, log_prefix));
}

ChildProcess::~ChildProcess() { Stop(); }

void ChildProcess::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, stop_signal_);
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  int wstatus = 0;
  while (waitpid(pid_, &wstatus, WNOHANG) == 0) {
    if (absl::Now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &wstatus, 0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  pid_ = -1;
}

absl::Status ChildProcess::WaitForExit(absl::Duration timeout) {
  if (pid_ <= 0) return absl::FailedPreconditionError("process not running");
  const absl::Time deadline = absl::Now() + timeout;
  int wstatus = 0;
  while (waitpid(pid_, &wstatus, WNOHANG) == 0) {
    if (absl::Now() > deadline) {
      Stop();
      return absl::DeadlineExceededError(
          absl::StrCat("still running after ", absl::FormatDuration(timeout),
                       "; see ", log_prefix_, ".err"));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  pid_ = -1;
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "exited with status ", wstatus, "; see ", log_prefix_, ".err:\n",
      LogTail()));
}

std::string ChildProcess::LogTail() const {
  std::ifstream in(log_prefix_ + ".err");
  std::stringstream buf;
  buf << in.rdbuf();
  std::string s = buf.str();
  if (s.size() > 2000) s = s.substr(s.size() - 2000);
  return s;
}

absl::Status ChildProcess::WaitForPort(int port, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::FailedPreconditionError(
          absl::StrCat("process exited before listening on port ", port,
                       "; see ", log_prefix_, ".err:\n", LogTail()));
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool up =
        connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(fd);
    if (up) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(25));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "nothing listening on port ", port, " after ",
      absl::FormatDuration(timeout), "; see ", log_prefix_, ".err"));
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

absl::StatusOr<std::unique_ptr<TempDir>> TempDir::New(
    const std::filesystem::path& parent, const std::string& prefix) {
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  std::string tmpl = (parent / (prefix + "XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create a directory under ", parent.string(), ": ",
                     std::strerror(errno)));
  }
  return std::unique_ptr<TempDir>(new TempDir(tmpl));
}

TempDir::~TempDir() {
  if (keep_) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace arca::bench
