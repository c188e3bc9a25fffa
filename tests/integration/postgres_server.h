#ifndef ARCA_TESTS_INTEGRATION_POSTGRES_SERVER_H_
#define ARCA_TESTS_INTEGRATION_POSTGRES_SERVER_H_

// A real PostgreSQL for database tests: a fresh cluster (initdb) in a temp
// dir, a superuser with a password (scram-sha-256 for every connection),
// served on a free loopback port. When the test runs as root the server
// runs as the `postgres` user (PostgreSQL refuses root), with the temp dir
// handed to it; otherwise as the current user.

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace arca::testing {

// Outcome of one SQL statement run by PostgresServer.
struct SqlResult {
  bool ok = false;
  std::string error;  // libpq's message when !ok
  std::vector<std::vector<std::string>> rows;  // text values, NULL as ""
};

// One PostgreSQL cluster, removed with its files on destruction. Not
// thread-safe. Every failure says why on stderr and returns false, so a
// test can ASSERT on it and fail loudly.
class PostgresServer {
 public:
  PostgresServer();
  ~PostgresServer();  // stops the server and removes the cluster

  // initdb (once) and start on a free port; waits until it accepts logins.
  bool Start();
  // Fast shutdown; waits until the server is gone.
  bool Stop();

  // SIGSTOPs the postmaster and every child of it: the server keeps its
  // sockets open but never answers (a hung host). Thaw sends SIGCONT to
  // the same processes; the destructor thaws too.
  bool Freeze();
  void Thaw();

  int port() const { return port_; }
  const std::string& superuser() const { return superuser_; }
  const std::string& superuser_password() const { return password_; }
  // "host=127.0.0.1 port=<port> dbname=postgres sslmode=disable"
  std::string ConnectionUrl() const;

  // Runs `sql` as the superuser.
  SqlResult Query(const std::string& sql) const;
  // Runs `sql` logged in as `user` / `password` (an issued login).
  SqlResult QueryAs(const std::string& user, const std::string& password,
                    const std::string& sql) const;

  // The server's log file so far.
  std::string Log() const;

 private:
  // Runs `argv` (as `postgres` when root) and waits; false if it failed.
  bool Run(const std::vector<std::string>& argv) const;

  std::filesystem::path dir_;
  std::filesystem::path bin_;
  std::string superuser_ = "arca_test_su";
  std::string password_;
  int port_ = 0;
  bool initialized_ = false;
  bool running_ = false;
  uid_t run_uid_ = 0;
  gid_t run_gid_ = 0;
  bool switch_user_ = false;
  std::vector<pid_t> frozen_;
};

}  // namespace arca::testing

#endif  // ARCA_TESTS_INTEGRATION_POSTGRES_SERVER_H_
