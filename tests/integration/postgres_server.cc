#include "tests/integration/postgres_server.h"

#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "kms/random.h"
#include "absl/strings/escaping.h"
#include "tests/integration/harness.h"

namespace arca::testing {
namespace fs = std::filesystem;

namespace {

// The newest /usr/lib/postgresql/<version>/bin holding initdb.
fs::path FindBinDir() {
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    if (fs::exists(e.path() / "bin" / "initdb")) found.push_back(e.path() / "bin");
  }
  if (found.empty()) return {};
  std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) {
    return std::atoi(a.parent_path().filename().c_str()) <
           std::atoi(b.parent_path().filename().c_str());
  });
  return found.back();
}

SqlResult Exec(const std::string& url, const std::string& user,
               const std::string& password, const std::string& sql) {
  SqlResult r;
  const char* keys[] = {"dbname", "user", "password", "connect_timeout",
                        nullptr};
  const char* values[] = {url.c_str(), user.c_str(), password.c_str(), "5",
                          nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, 1);
  if (PQstatus(conn) != CONNECTION_OK) {
    r.error = PQerrorMessage(conn);
    PQfinish(conn);
    return r;
  }
  PGresult* res = PQexec(conn, sql.c_str());
  const ExecStatusType t = PQresultStatus(res);
  if (t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK) {
    r.ok = true;
    for (int i = 0; i < PQntuples(res); ++i) {
      std::vector<std::string> row;
      for (int j = 0; j < PQnfields(res); ++j) row.push_back(PQgetvalue(res, i, j));
      r.rows.push_back(std::move(row));
    }
  } else {
    r.error = PQresultErrorMessage(res);
  }
  PQclear(res);
  PQfinish(conn);
  return r;
}

}  // namespace

PostgresServer::PostgresServer() {
  std::string tmpl = (fs::temp_directory_path() / "arca-pg-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  dir_ = tmpl;
  bin_ = FindBinDir();
  password_ = "su-" + absl::BytesToHexString(kms::RandomString(16));
  if (geteuid() == 0) {
    const passwd* pw = getpwnam("postgres");
    if (pw != nullptr) {
      switch_user_ = true;
      run_uid_ = pw->pw_uid;
      run_gid_ = pw->pw_gid;
      // The server must own its directory and reach it.
      if (chown(dir_.c_str(), run_uid_, run_gid_) != 0) {
        std::cerr << "postgres fixture: chown " << dir_ << " failed\n";
      }
    } else {
      std::cerr << "postgres fixture: running as root but there is no "
                   "`postgres` user to run the server as\n";
    }
  }
}

PostgresServer::~PostgresServer() {
  Thaw();
  if (running_) Stop();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

bool PostgresServer::Run(const std::vector<std::string>& argv) const {
  const fs::path out = dir_ / "command.log";
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    if (switch_user_) {
      if (setgroups(0, nullptr) != 0 || setgid(run_gid_) != 0 ||
          setuid(run_uid_) != 0) {
        _exit(126);
      }
    }
    FILE* f = std::fopen(out.c_str(), "a");
    if (f != nullptr) {
      dup2(fileno(f), 1);
      dup2(fileno(f), 2);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::cerr << "postgres fixture: `" << argv[0] << "` failed (status "
              << status << "):\n"
              << ReadFile(out) << "\n";
    return false;
  }
  return true;
}

bool PostgresServer::Start() {
  if (bin_.empty()) {
    std::cerr << "postgres fixture: no PostgreSQL under "
                 "/usr/lib/postgresql/*/bin (install postgresql)\n";
    return false;
  }
  if (geteuid() == 0 && !switch_user_) return false;
  if (!initialized_) {
    const fs::path pwfile = dir_ / "pwfile";
    {
      std::ofstream f(pwfile);
      f << password_ << "\n";
    }
    if (switch_user_ && chown(pwfile.c_str(), run_uid_, run_gid_) != 0) {
      return false;
    }
    if (!Run({(bin_ / "initdb").string(), "-D", (dir_ / "data").string(),
              "-U", superuser_, "--pwfile=" + pwfile.string(),
              "--auth=scram-sha-256", "-E", "UTF8", "--locale=C",
              "--no-sync"})) {
      return false;
    }
    fs::remove(pwfile);
    initialized_ = true;
  }
  // A fresh free port each start: the previous one may be in TIME_WAIT or
  // taken meanwhile.
  if (port_ == 0) port_ = FreePort();
  std::ostringstream opts;
  opts << "-p " << port_ << " -c listen_addresses=127.0.0.1"
       << " -c unix_socket_directories=" << dir_.string()
       << " -c fsync=off -c shared_buffers=16MB -c max_connections=40";
  if (!Run({(bin_ / "pg_ctl").string(), "-D", (dir_ / "data").string(), "-l",
            (dir_ / "server.log").string(), "-o", opts.str(), "-w", "-t",
            "60", "start"})) {
    std::cerr << Log() << "\n";
    return false;
  }
  running_ = true;
  SqlResult probe = Query("SELECT 1");
  if (!probe.ok) {
    std::cerr << "postgres fixture: started but cannot log in: "
              << probe.error << "\n";
    return false;
  }
  return true;
}

bool PostgresServer::Stop() {
  if (!running_) return true;
  const bool ok = Run({(bin_ / "pg_ctl").string(), "-D",
                       (dir_ / "data").string(), "-m", "fast", "-w", "-t",
                       "60", "stop"});
  if (ok) running_ = false;
  return ok;
}

bool PostgresServer::Freeze() {
  std::ifstream pidfile(dir_ / "data" / "postmaster.pid");
  pid_t postmaster = 0;
  if (!(pidfile >> postmaster) || postmaster <= 0) {
    std::cerr << "postgres fixture: no postmaster.pid\n";
    return false;
  }
  // The postmaster first, so it forks no new child meanwhile.
  if (kill(postmaster, SIGSTOP) != 0) return false;
  frozen_.push_back(postmaster);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = ReadFile(e.path() / "stat");
    // "pid (comm) state ppid ...": comm may hold spaces, so parse after ')'.
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    pid_t ppid = 0;
    if (!(rest >> state >> ppid) || ppid != postmaster) continue;
    const pid_t child = static_cast<pid_t>(std::stol(name));
    if (kill(child, SIGSTOP) == 0) frozen_.push_back(child);
  }
  return true;
}

void PostgresServer::Thaw() {
  for (pid_t pid : frozen_) kill(pid, SIGCONT);
  frozen_.clear();
}

std::string PostgresServer::ConnectionUrl() const {
  return "host=127.0.0.1 port=" + std::to_string(port_) +
         " dbname=postgres sslmode=disable";
}

SqlResult PostgresServer::Query(const std::string& sql) const {
  return Exec(ConnectionUrl(), superuser_, password_, sql);
}

SqlResult PostgresServer::QueryAs(const std::string& user,
                                  const std::string& password,
                                  const std::string& sql) const {
  return Exec(ConnectionUrl(), user, password, sql);
}

std::string PostgresServer::Log() const { return ReadFile(dir_ / "server.log"); }

}  // namespace arca::testing
