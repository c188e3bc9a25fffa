#include "bench/arca_bench/postgres_server.h"

#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "kms/random.h"
#include "kms/status_macros.h"

namespace arca::bench {
namespace {

constexpr char kAdminUser[] = "arca_bench";
constexpr absl::Duration kInitTimeout = absl::Seconds(120);
constexpr absl::Duration kStartTimeout = absl::Seconds(60);

std::string RandomPassword() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string password(32, 'x');
  for (char& c : password) {
    uint8_t b = 0;
    do {
      kms::RandomBytes(&b, 1);
    } while (b >= 248);  // 248 = 4 * 62: no bias
    c = kAlphabet[b % 62];
  }
  return password;
}

absl::Status ChownTo(const std::filesystem::path& path,
                     const ChildProcess::RunAs& user) {
  if (chown(path.c_str(), user.uid, user.gid) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot give ", path.string(), " to the postgres user"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string FindPostgresBinDir() {
  std::error_code ec;
  int best = -1;
  std::string dir;
  for (const auto& entry :
       std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
    int major = 0;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &major)) continue;
    if (major > best &&
        std::filesystem::exists(entry.path() / "bin/postgres")) {
      best = major;
      dir = (entry.path() / "bin").string();
    }
  }
  return dir;
}

std::string PostgresVersion(const std::string& bin_dir) {
  if (bin_dir.empty()) return "";
  const std::string command =
      "'" + bin_dir + "/postgres' --version 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  char line[256];
  std::string version;
  if (fgets(line, sizeof(line), pipe) != nullptr) {
    // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)": the word
    // after "(PostgreSQL) ".
    absl::string_view l = absl::StripSuffix(absl::string_view(line), "\n");
    constexpr absl::string_view kMarker = "(PostgreSQL) ";
    const size_t at = l.find(kMarker);
    if (at != absl::string_view::npos) l.remove_prefix(at + kMarker.size());
    version = std::string(l.substr(0, l.find(' ')));
  }
  pclose(pipe);
  return version;
}

absl::StatusOr<std::unique_ptr<ServerHandle>> StartPostgres(
    const ServerOptions& options, PostgresInfo* info) {
  const std::string bin = options.postgres_bin_dir.empty()
                              ? FindPostgresBinDir()
                              : options.postgres_bin_dir;
  if (bin.empty()) {
    return absl::FailedPreconditionError(
        "no PostgreSQL under /usr/lib/postgresql (install postgresql, or "
        "give --postgres-bin-dir)");
  }
  std::optional<ChildProcess::RunAs> run_as;
  if (geteuid() == 0) {
    const passwd* pw = getpwnam("postgres");
    if (pw == nullptr) {
      return absl::FailedPreconditionError(
          "running as root, and there is no postgres user to run PostgreSQL "
          "as");
    }
    run_as = ChildProcess::RunAs{pw->pw_uid, pw->pw_gid};
    // Traverse only: the postgres user reaches its own data dir, lists
    // nothing (arcad's data dir stays 0700 root).
    if (chmod(options.work_dir.c_str(), 0711) != 0) {
      return absl::FailedPreconditionError(
          "cannot make the work dir traversable for the postgres user");
    }
  }

  auto server = std::make_unique<ServerHandle>();
  server->name = "postgres";
  ASSIGN_OR_RETURN(server->data_dir,
                   TempDir::New(options.work_dir, "postgres-"));
  const std::filesystem::path root = server->data_dir->path();
  const std::filesystem::path data = root / "data";
  const std::filesystem::path pwfile = root / "pwfile";
  const std::string password = RandomPassword();
  {
    std::ofstream out(pwfile, std::ios::trunc);
    out << password << "\n";
    if (!out) return absl::FailedPreconditionError("cannot write the pwfile");
  }
  chmod(pwfile.c_str(), 0600);
  if (run_as.has_value()) {
    RETURN_IF_ERROR(ChownTo(root, *run_as));
    RETURN_IF_ERROR(ChownTo(pwfile, *run_as));
  }

  {
    // --no-sync: the cluster is new and thrown away; the server itself
    // keeps fsync on.
    ASSIGN_OR_RETURN(
        auto initdb,
        ChildProcess::Spawn(
            {bin + "/initdb", "--pgdata", data.string(), "--username",
             kAdminUser, "--pwfile", pwfile.string(), "--auth-local", "trust",
             "--auth-host", "scram-sha-256", "--encoding", "UTF8",
             "--no-locale", "--no-sync"},
            (options.work_dir / "initdb").string(), {}, run_as));
    absl::Status initialized = initdb->WaitForExit(kInitTimeout);
    std::filesystem::remove(pwfile);
    if (!initialized.ok()) {
      return absl::Status(initialized.code(),
                          absl::StrCat("initdb ", initialized.message()));
    }
  }

  const int port = FreePort();
  ASSIGN_OR_RETURN(
      server->process,
      ChildProcess::Spawn(
          {bin + "/postgres", "-D", data.string(), "-c",
           "listen_addresses=127.0.0.1", "-c", absl::StrCat("port=", port),
           "-c", "unix_socket_directories=" + root.string()},
          (options.work_dir / "postgres").string(), {}, run_as));
  server->process->set_stop_signal(SIGINT);
  server->pid = server->process->pid();
  server->cpu_includes_children = true;
  server->address = absl::StrCat("127.0.0.1:", port);
  RETURN_IF_ERROR(server->process->WaitForPort(port, kStartTimeout));
  // The port opens before recovery ends; pg_isready says when logins work.
  const absl::Time deadline = absl::Now() + kStartTimeout;
  for (;;) {
    ASSIGN_OR_RETURN(
        auto ready,
        ChildProcess::Spawn({bin + "/pg_isready", "-q", "-h", "127.0.0.1", "-p",
                             absl::StrCat(port)},
                            (options.work_dir / "pg_isready").string()));
    if (ready->WaitForExit(absl::Seconds(10)).ok()) break;
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          "PostgreSQL did not accept logins; see postgres.err");
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  info->port = port;
  info->admin_user = kAdminUser;
  info->admin_password = password;
  return server;
}

}  // namespace arca::bench
