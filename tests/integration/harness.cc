#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "rocksdb/db.h"

extern char** environ;

namespace arca::testing {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "arca-test-XXXXXX").string();
  char* made = mkdtemp(tmpl.data());
  if (made == nullptr) std::abort();
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
  fs::remove_all(path_, ec);
}

bool CanLockMemory() {
  static const bool can = [] {
    pid_t child = fork();
    if (child == 0) {
      // Only async-signal-safe calls in the child of a threaded process.
      _exit(mlockall(MCL_CURRENT | MCL_FUTURE) == 0 ? 0 : 1);
    }
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) != child) return false;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }();
  return can;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
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

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

bool TreeContains(const fs::path& dir, const std::string& needle) {
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    if (ReadFile(entry.path()).find(needle) != std::string::npos) return true;
  }
  return false;
}

std::string ArcadPath() { return std::string(ARCA_BINARY_DIR) + "/server/arcad"; }
std::string ArcaPath() { return std::string(ARCA_BINARY_DIR) + "/cli/arca"; }

Arcad::Arcad(fs::path data_dir, fs::path log_dir)
    : data_dir_(std::move(data_dir)), log_dir_(std::move(log_dir)) {}

Arcad::~Arcad() {
  if (pid_ > 0) Kill(SIGKILL);
}

std::string Arcad::address() const {
  return "127.0.0.1:" + std::to_string(port_);
}

std::string Arcad::Log() const {
  std::string all;
  for (int i = 1; i <= starts_; ++i) {
    all += ReadFile(log_dir_ / ("arcad-" + std::to_string(i) + ".out"));
    all += ReadFile(log_dir_ / ("arcad-" + std::to_string(i) + ".err"));
  }
  return all;
}

static bool CanConnect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

bool Arcad::Start(std::vector<std::string> extra_args) {
  port_ = FreePort();
  ++starts_;
  std::vector<std::string> args = {ArcadPath(), "--data-dir", data_dir_.string(),
                                   "--listen", address()};
  if (tls_.has_value()) {
    args.insert(args.end(), {"--tls-cert", tls_->cert.string(), "--tls-key",
                             tls_->key.string()});
    if (!tls_->client_ca.empty()) {
      args.insert(args.end(), {"--tls-client-ca", tls_->client_ca.string()});
    }
  } else {
    args.push_back("--insecure-plaintext");
  }
  if (!CanLockMemory()) args.push_back("--disable-mlock");
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string out =
      (log_dir_ / ("arcad-" + std::to_string(starts_) + ".out")).string();
  const std::string err =
      (log_dir_ / ("arcad-" + std::to_string(starts_) + ".err")).string();
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    return false;
  }
  for (int i = 0; i < 300; ++i) {
    if (CanConnect(port_)) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::cerr << "arcad exited early:\n" << Log();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::cerr << "arcad did not come up:\n" << Log();
  return false;
}

void Arcad::Kill(int signal) {
  if (pid_ <= 0) return;
  kill(pid_, signal);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

CliResult RunCli(const std::vector<std::string>& args,
                 const std::string& stdin_data,
                 const std::map<std::string, std::string>& env) {
  return RunProgram(ArcaPath(), args, stdin_data, env);
}

CliResult RunProgram(const std::string& program,
                     const std::vector<std::string>& args,
                     const std::string& stdin_data,
                     const std::map<std::string, std::string>& env) {
  TempDir home;
  TempDir io;
  const auto in_path = io.path() / "stdin";
  const auto out_path = io.path() / "stdout";
  const auto err_path = io.path() / "stderr";
  { std::ofstream(in_path, std::ios::binary) << stdin_data; }

  std::vector<std::string> full = {program};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_strings = {"HOME=" + home.path().string(),
                                          "PATH=/usr/bin:/bin"};
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  CliResult result;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(),
                       envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return result;
  int status = 0;
  struct rusage usage {};
  wait4(pid, &status, 0, &usage);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  result.max_rss_kib = usage.ru_maxrss;
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

int TamperKvDataRecords(const fs::path& db_dir) {
  rocksdb::DB* raw = nullptr;
  rocksdb::Options options;
  if (!rocksdb::DB::Open(options, db_dir.string(), &raw).ok()) return -1;
  std::unique_ptr<rocksdb::DB> db(raw);
  std::vector<std::pair<std::string, std::string>> changed;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}));
  for (it->Seek("logical/"); it->Valid() && it->key().starts_with("logical/");
       it->Next()) {
    std::string key = it->key().ToString();
    if (key.find("/data/") == std::string::npos) continue;
    std::string value = it->value().ToString();
    value[value.size() / 2] ^= 0x01;
    changed.emplace_back(key, value);
  }
  it.reset();
  rocksdb::WriteOptions sync;
  sync.sync = true;
  for (const auto& [k, v] : changed) {
    if (!db->Put(sync, k, v).ok()) return -1;
  }
  return static_cast<int>(changed.size());
}

}  // namespace arca::testing
