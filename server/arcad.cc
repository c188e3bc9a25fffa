// arcad: the Arca server. Opens the RocksDB store, starts sealed (or, with
// --dev, initializes and unseals itself) and serves the gRPC API.

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
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

int main(int argc, char** argv) {
  DisableCoreDumps();

  CLI::App app{"arcad: the Arca secrets server"};
  bool dev = false;
  std::string data_dir;
  std::string listen = "127.0.0.1:8200";
  std::string log_level = "info";
  app.add_flag("--dev", dev,
               "Development mode: data in ./arca-data unless --data-dir, one "
               "unseal share, initialized and unsealed at start, plaintext");
  app.add_option("--data-dir", data_dir, "Directory of the RocksDB store");
  app.add_option("--listen", listen, "HOST:PORT to serve gRPC on")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto logger = spdlog::stderr_color_mt("arcad");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(log_level));

  if (data_dir.empty()) {
    if (!dev) {
      std::cerr << "arcad: --data-dir is required (or use --dev)\n";
      return 1;
    }
    data_dir = "./arca-data";
  }
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    spdlog::error("cannot create data dir {}: {}", data_dir, ec.message());
    return 1;
  }
  chmod(data_dir.c_str(), 0700);

  // Signals are handled by one thread; block them before any other starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto backend = arca::storage::RocksDbBackend::Open(data_dir + "/db");
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

  arca::api::ServerOptions options;
  options.listen_address = listen;
  auto server = arca::api::ApiServer::Start(core->get(), options);
  if (!server.ok()) {
    spdlog::error("{}", std::string(server.status().message()));
    return 1;
  }
  auto status = (*core)->GetSealStatus();
  spdlog::info("arcad {} listening on {} (data dir {}, {})",
               arca::core::kVersion, listen, data_dir,
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
