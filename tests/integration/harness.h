#ifndef ARCA_TESTS_INTEGRATION_HARNESS_H_
#define ARCA_TESTS_INTEGRATION_HARNESS_H_

// Test harness for integration tests: a real arcad process on a free
// loopback port with a temporary data dir, and a runner for the real `arca`
// CLI binary.

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace arca::testing {

// A fresh temporary directory, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// True if a process like this one may lock all its memory (CAP_IPC_LOCK or
// an unlimited RLIMIT_MEMLOCK), probed once in a forked child. When false,
// Arcad::Start adds --disable-mlock, since arcad would refuse to start.
bool CanLockMemory();

// Returns a loopback TCP port that was free a moment ago.
int FreePort();

// Reads a whole file (binary).
std::string ReadFile(const std::filesystem::path& path);

// True if `needle` occurs in any file under `dir` (recursively, binary).
bool TreeContains(const std::filesystem::path& dir, const std::string& needle);

// TLS files for arcad's listener (see test_certs.h to make them).
struct ArcadTls {
  std::filesystem::path cert;
  std::filesystem::path key;
  std::filesystem::path client_ca;  // empty: no client certificates asked
};

// One arcad process. stdout and stderr go to files in `log_dir`. It serves
// plaintext on loopback (--insecure-plaintext) unless UseTls() was called.
class Arcad {
 public:
  Arcad(std::filesystem::path data_dir, std::filesystem::path log_dir);
  ~Arcad();  // SIGKILLs the process if still running

  // Later Start()s serve TLS with these files instead of plaintext.
  void UseTls(ArcadTls tls) { tls_ = std::move(tls); }

  // Starts arcad on a free port and waits until it accepts connections.
  // Returns false (with the log on stderr) if it does not come up.
  bool Start(std::vector<std::string> extra_args = {});
  void Kill(int signal);  // sends `signal` and reaps the process
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string address() const;
  std::string Log() const;  // stdout + stderr so far

 private:
  std::filesystem::path data_dir_;
  std::filesystem::path log_dir_;
  std::optional<ArcadTls> tls_;
  int port_ = 0;
  pid_t pid_ = -1;
  int starts_ = 0;
};

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  long max_rss_kib = 0;  // peak resident set of the arca process (wait4)
};

// Runs `program` with `args`, feeding `stdin_data`, with `env` added to a
// minimal environment (HOME is a fresh temp dir), and waits for it.
CliResult RunProgram(const std::string& program,
                     const std::vector<std::string>& args,
                     const std::string& stdin_data = "",
                     const std::map<std::string, std::string>& env = {});

// Runs the `arca` binary with `args`, feeding `stdin_data`, with `env`
// added to a minimal environment (HOME is a fresh temp dir).
CliResult RunCli(const std::vector<std::string>& args,
                 const std::string& stdin_data = "",
                 const std::map<std::string, std::string>& env = {});

// Opens the (stopped) server's RocksDB directly and flips one byte in the
// middle of every KV version record ("logical/<uuid>/data/..."). Returns how
// many records it changed.
int TamperKvDataRecords(const std::filesystem::path& db_dir);

std::string ArcadPath();
std::string ArcaPath();

}  // namespace arca::testing

#endif  // ARCA_TESTS_INTEGRATION_HARNESS_H_
