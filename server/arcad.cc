// arcad: the Arca server. Opens the RocksDB store, starts sealed (or, with
// --dev, initializes and unseals itself) and serves the gRPC API.

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/stubs/logging.h"
#include "kms/secret_bytes.h"
#include "server/api/server.h"
#include "server/core/core.h"
#include "server/storage/rocksdb_backend.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace {

constexpr char kDevShareFile[] = "dev-unseal-key";

// Keys must never reach a core file.
void DisableCoreDumps() {
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  struct rlimit limit = {0, 0};
  setrlimit(RLIMIT_CORE, &limit);
}

// Every thread's stack is resident under mlockall, and glibc's default is
// 8 MiB. gRPC and RocksDB create their threads with default attributes, so
// this must run before either starts one. Our deepest recursion (protobuf
// and JSON parsing) is bounded far below this.
constexpr size_t kThreadStackBytes = 256 * 1024;

absl::Status SetSmallThreadStacks() {
  pthread_attr_t attr;
  if (pthread_getattr_default_np(&attr) != 0) {
    return absl::InternalError("pthread_getattr_default_np failed");
  }
  int rc = pthread_attr_setstacksize(&attr, kThreadStackBytes);
  if (rc == 0) rc = pthread_setattr_default_np(&attr);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    return absl::InternalError(std::string("cannot set thread stack size: ") +
                               strerror(rc));
  }
  return absl::OkStatus();
}

// Keeps every page (keys included) out of swap. MCL_ONFAULT locks a page
// when it is first touched rather than faulting in every mapped page now:
// otherwise all of gRPC's, RocksDB's and OpenSSL's code becomes resident
// and idle RSS grows by ~20 MiB for pages that hold no secret.
absl::Status LockMemory() {
  if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0) {
    const int err = errno;
    return absl::FailedPreconditionError(
        std::string("mlockall failed (") + strerror(err) +
        "): grant CAP_IPC_LOCK or raise RLIMIT_MEMLOCK (systemd: "
        "LimitMEMLOCK=infinity), or start with --disable-mlock to run with "
        "swappable memory");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError("cannot read " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// Fills `tls` from the PEM files. The private key goes to SecretBytes and the
// temporary copy is wiped.
absl::Status LoadTls(const std::string& cert, const std::string& key,
                     const std::string& client_ca,
                     arca::api::TlsOptions* tls) {
  auto chain = ReadWholeFile(cert);
  if (!chain.ok()) return chain.status();
  auto key_pem = ReadWholeFile(key);
  if (!key_pem.ok()) return key_pem.status();
  tls->cert_chain_pem = *std::move(chain);
  tls->private_key_pem = arca::kms::SecretBytes::CopyFrom(*key_pem);
  explicit_bzero(key_pem->data(), key_pem->size());
  if (!client_ca.empty()) {
    auto ca = ReadWholeFile(client_ca);
    if (!ca.ok()) return ca.status();
    tls->client_ca_pem = *std::move(ca);
  }
  if (tls->cert_chain_pem.find("-----BEGIN CERTIFICATE-----") ==
      std::string::npos) {
    return absl::InvalidArgumentError(cert + " holds no PEM certificate");
  }
  if (tls->private_key_pem.Reveal().find("PRIVATE KEY-----") ==
      std::string_view::npos) {
    return absl::InvalidArgumentError(key + " holds no PEM private key");
  }
  if (!client_ca.empty() && tls->client_ca_pem.find(
                                "-----BEGIN CERTIFICATE-----") ==
                                std::string::npos) {
    return absl::InvalidArgumentError(client_ca +
                                      " holds no PEM certificate");
  }
  return absl::OkStatus();
}

absl::Status WritePrivateFile(const std::filesystem::path& path,
                              const std::string& contents) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::UnavailableError("cannot write " + path.string());
  bool ok = write(fd, contents.data(), contents.size()) ==
                static_cast<ssize_t>(contents.size()) &&
            fsync(fd) == 0;
  close(fd);
  return ok ? absl::OkStatus()
            : absl::UnavailableError("cannot write " + path.string());
}

// Creates the data dir (mode 0700) if missing. An existing directory keeps
// its mode: it may be shared (--data-dir /tmp), so arcad never chmods it, and
// warns when group or others may enter it. The store itself (db/) and the
// files arcad writes are created 0700/0600 under umask 077.
absl::Status PrepareDataDir(const std::string& data_dir) {
  std::error_code ec;
  if (std::filesystem::exists(data_dir, ec)) {
    struct stat st;
    if (stat(data_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError("data dir " + data_dir +
                                           " is not a directory");
    }
    if ((st.st_mode & 077) != 0) {
      spdlog::warn(
          "data dir {} is accessible to group/others (mode {:o}); arcad "
          "leaves an existing directory's mode alone: use a directory only "
          "arcad's user can enter",
          data_dir, st.st_mode & 07777);
    }
    return absl::OkStatus();
  }
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return absl::UnavailableError("cannot create data dir " + data_dir +
                                  ": " + ec.message());
  }
  if (chmod(data_dir.c_str(), 0700) != 0) {
    return absl::UnavailableError("cannot set mode 0700 on data dir " +
                                  data_dir);
  }
  return absl::OkStatus();
}

// Dev mode: initialize with one share on first start (printing the share and
// root token once), keep the share in the data dir, and unseal with it.
absl::Status DevInitAndUnseal(arca::core::Core& core,
                              const std::filesystem::path& data_dir) {
  auto status = core.GetSealStatus();
  if (!status.ok()) return status.status();
  const auto share_file = data_dir / kDevShareFile;
  std::string share;
  if (!status->initialized) {
    auto init = core.Init(1, 1);
    if (!init.ok()) return init.status();
    share = init->shares_base64[0];
    if (auto st = WritePrivateFile(share_file, share + "\n"); !st.ok()) {
      return st;
    }
    std::cout << "arcad dev mode: initialized with 1 unseal share.\n"
              << "Unseal Key: " << share << "\n"
              << "Root Token: " << init->root_token << "\n"
              << "The unseal key is kept in " << share_file.string()
              << " so dev mode can unseal itself. Never do this in "
                 "production.\n"
              << std::flush;
  } else {
    std::ifstream in(share_file);
    std::stringstream buf;
    buf << in.rdbuf();
    share = std::string(absl::StripAsciiWhitespace(buf.str()));
    if (share.empty()) {
      return absl::FailedPreconditionError(
          "dev mode: data dir is initialized but has no " +
          std::string(kDevShareFile));
    }
  }
  auto unsealed = core.Unseal(share, false);
  if (!unsealed.ok()) return unsealed.status();
  return absl::OkStatus();
}

}  // namespace

namespace {

// libprotobuf reports a malformed request (e.g. invalid UTF-8 in a string
// field) on stderr, once per request, outside our log. Route it through
// spdlog, at most one line a second, so a client cannot flood the log; its
// messages name the field, never the value.
void LogProtobufMessage(google::protobuf::LogLevel level,
                        const char* filename, int line,
                        const std::string& message) {
  static std::atomic<int64_t> last_second{0};
  const int64_t now = time(nullptr);
  if (level < google::protobuf::LOGLEVEL_FATAL &&
      last_second.exchange(now) == now) {
    return;
  }
  spdlog::warn("protobuf: {}", message);
}

}  // namespace

int main(int argc, char** argv) {
  DisableCoreDumps();
  // Debian's abseil records every lock acquisition in a global graph to
  // detect lock-order cycles (4.5% of arcad's CPU under kv-get load). Our
  // lock order is checked by thread-safety annotations and tests instead.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Files and the unix socket arcad creates are for its own user only.
  umask(077);

  CLI::App app{"arcad: the Arca secrets server"};
  bool dev = false;
  std::string data_dir;
  std::string listen = "127.0.0.1:8200";
  std::string log_level = "info";
  app.add_flag("--dev", dev,
               "Development mode: data in ./arca-data unless --data-dir, one "
               "unseal share, initialized and unsealed at start, plaintext "
               "on loopback unless --tls-cert is given");
  app.add_option("--data-dir", data_dir, "Directory of the RocksDB store");
  app.add_option("--listen", listen,
                 "HOST:PORT to serve gRPC on (port 0: any free port, logged)")
      ->capture_default_str();
  app.add_option("--log-level", log_level,
                 "trace|debug|info|warn|error|critical|off")
      ->capture_default_str();
  std::string tls_cert, tls_key, tls_client_ca, unix_socket;
  bool insecure_plaintext = false;
  bool disable_mlock = false;
  arca::api::ServerOptions options;
  app.add_option("--tls-cert", tls_cert,
                 "PEM certificate chain served on --listen");
  app.add_option("--tls-key", tls_key, "PEM private key of --tls-cert");
  app.add_option("--tls-client-ca", tls_client_ca,
                 "PEM CA bundle: require client certificates signed by it "
                 "(mutual TLS)");
  app.add_flag("--insecure-plaintext", insecure_plaintext,
               "Serve --listen without TLS; refused unless it is a loopback "
               "address");
  app.add_option("--unix-socket", unix_socket,
                 "Also serve on this unix socket (mode 0600, plaintext)");
  app.add_option("--max-message-bytes", options.max_message_bytes,
                 "Largest request or response; larger ones get "
                 "RESOURCE_EXHAUSTED")
      ->capture_default_str();
  app.add_option("--unauthenticated-rate", options.unauthenticated_rate.per_second,
                 "Requests per second per client address for init, unseal, "
                 "seal-status and rekey (0: unlimited)")
      ->capture_default_str();
  app.add_option("--unauthenticated-burst", options.unauthenticated_rate.burst,
                 "Burst size of --unauthenticated-rate")
      ->capture_default_str();
  arca::storage::RocksDbBackend::Options storage_options;
  app.add_option("--min-free-space", storage_options.min_free_bytes,
                 "Bytes kept free on the data filesystem: writes are refused "
                 "(UNAVAILABLE, disk full) below it; 0 turns the reserve off")
      ->check(CLI::Validator(
          [](std::string& v) {
            return !v.empty() &&
                           v.find_first_not_of("0123456789") ==
                               std::string::npos &&
                           v.size() <= 19
                       ? std::string()
                       : std::string("--min-free-space must be a byte count "
                                     "(0 to 9999999999999999999)");
          },
          "BYTES"))
      ->capture_default_str();
  app.add_flag("--disable-mlock", disable_mlock,
               "Start even if memory cannot be locked (keys may reach swap)");
  CLI11_PARSE(app, argc, argv);
  // spdlog's from_str turns an unknown name into "off": silence by typo.
  const spdlog::level::level_enum level = spdlog::level::from_str(log_level);
  if (level == spdlog::level::off && log_level != "off") {
    std::cerr << "arcad: --log-level must be one of trace, debug, info, "
                 "warn, error, critical, off\n";
    return 1;
  }
  if (auto st = arca::api::CheckListenAddress(listen); !st.ok()) {
    std::cerr << "arcad: --listen: " << st.message() << "\n";
    return 1;
  }

  if (auto st = SetSmallThreadStacks(); !st.ok()) {
    std::cerr << "arcad: " << st.message() << "\n";
    return 1;
  }
  if (auto st = LockMemory(); !st.ok()) {
    std::cerr << "arcad: " << st.message() << "\n";
    // Dev mode holds no real secrets and must run as an ordinary user.
    if (!disable_mlock && !dev) return 1;
    std::cerr << "arcad: continuing with swappable memory ("
              << (dev ? "--dev" : "--disable-mlock") << ")\n";
  }
  if (tls_cert.empty() != tls_key.empty()) {
    std::cerr << "arcad: --tls-cert and --tls-key go together\n";
    return 1;
  }
  if (!tls_client_ca.empty() && tls_cert.empty()) {
    std::cerr << "arcad: --tls-client-ca needs --tls-cert and --tls-key\n";
    return 1;
  }
  if (!tls_cert.empty() && insecure_plaintext) {
    std::cerr << "arcad: --insecure-plaintext contradicts --tls-cert\n";
    return 1;
  }
  options.listen_address = listen;
  options.unix_socket_path = unix_socket;
  // Dev mode may serve plaintext; Start() still keeps it on loopback.
  options.allow_plaintext = insecure_plaintext || dev;
  if (!tls_cert.empty()) {
    arca::api::TlsOptions tls;
    if (auto st = LoadTls(tls_cert, tls_key, tls_client_ca, &tls); !st.ok()) {
      std::cerr << "arcad: " << st.message() << "\n";
      return 1;
    }
    options.tls = std::move(tls);
  } else if (!options.allow_plaintext) {
    std::cerr << "arcad: no TLS certificate: pass --tls-cert and --tls-key, "
                 "or --insecure-plaintext to serve plaintext on a loopback "
                 "address\n";
    return 1;
  } else if (!arca::api::IsLoopbackListenAddress(listen)) {
    std::cerr << "arcad: plaintext is refused on non-loopback address "
              << listen << ": configure --tls-cert and --tls-key\n";
    return 1;
  }

  auto logger = spdlog::stderr_color_mt("arcad");
  spdlog::set_default_logger(logger);
  spdlog::set_level(level);
  google::protobuf::SetLogHandler(&LogProtobufMessage);

  if (data_dir.empty()) {
    if (!dev) {
      std::cerr << "arcad: --data-dir is required (or use --dev)\n";
      return 1;
    }
    data_dir = "./arca-data";
  }
  if (auto st = PrepareDataDir(data_dir); !st.ok()) {
    spdlog::error("{}", std::string(st.message()));
    return 1;
  }

  // Signals are handled by one thread; block them before any other starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto backend =
      arca::storage::RocksDbBackend::Open(data_dir + "/db", storage_options);
  if (!backend.ok()) {
    spdlog::error("cannot open storage: {}", std::string(backend.status().message()));
    return 1;
  }
  auto core = arca::core::Core::Open(std::move(*backend));
  if (!core.ok()) {
    spdlog::error("cannot start core: {}", std::string(core.status().message()));
    return 1;
  }
  if (dev) {
    if (auto st = DevInitAndUnseal(**core, data_dir); !st.ok()) {
      spdlog::error("dev mode start failed: {}", std::string(st.message()));
      return 1;
    }
  }

  auto server = arca::api::ApiServer::Start(core->get(), options);
  if (!server.ok()) {
    spdlog::error("{}", std::string(server.status().message()));
    return 1;
  }
  auto status = (*core)->GetSealStatus();
  // The port bound, which differs from --listen's with port 0.
  const std::string bound = absl::StrCat(
      listen.substr(0, listen.rfind(':')), ":", (*server)->port());
  spdlog::info("arcad {} listening on {} ({}{}{}; data dir {}, {})",
               arca::core::kVersion, bound,
               options.tls.has_value()
                   ? (options.tls->client_ca_pem.empty() ? "TLS" : "mutual TLS")
                   : "PLAINTEXT",
               unix_socket.empty() ? "" : ", unix:", unix_socket, data_dir,
               status.ok() && !status->sealed ? "unsealed" : "sealed");

  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    spdlog::info("signal {}: shutting down", sig);
    (*server)->Shutdown();
  });
  (*server)->Wait();
  signal_thread.join();
  (*core)->Seal().IgnoreError();
  spdlog::info("stopped");
  return 0;
}
