#ifndef ARCA_BENCH_ARCA_BENCH_SERVERS_H_
#define ARCA_BENCH_ARCA_BENCH_SERVERS_H_

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/arca_bench/child_process.h"
#include "bench/arca_bench/scenario.h"
#include "grpcpp/channel.h"

namespace arca::bench {

// Where the bench finds or puts its servers.
struct ServerOptions {
  std::string arcad_path;
  std::string echo_server_path;
  std::string etcd_path;
  // PostgreSQL's bin dir (initdb, postgres, pg_isready); "" finds the
  // newest under /usr/lib/postgresql.
  std::string postgres_bin_dir;
  // Parent of the data directories (arcad's and etcd's on the same disk).
  std::filesystem::path work_dir;
  // When set, kArcad targets this arcad instead of starting one; the token
  // then comes from ARCA_TOKEN (or ~/.arca-token).
  std::string external_arcad_address;
  int channels = 4;
};

// A running server and the channels the load goes over. `pid` is -1 for an
// arcad the bench did not start (no /proc figures then).
struct ServerHandle {
  std::string name;  // "arcad", "echo_server", "etcd", "postgres", ...
  std::string address;  // host:port
  pid_t pid = -1;
  // Whether the server's CPU includes its child processes (PostgreSQL's
  // backends).
  bool cpu_includes_children = false;
  // Declared before `process`, so it is removed only after the process has
  // stopped.
  std::unique_ptr<TempDir> data_dir;
  std::unique_ptr<ChildProcess> process;
  // `channels` distinct connections (local subchannel pools), so load spreads
  // over several HTTP/2 connections like a fleet of clients would.
  std::vector<std::shared_ptr<grpc::Channel>> channels;
};

// A fresh arcad the bench started and initialized (one share) and unsealed.
struct ArcadInstance {
  std::unique_ptr<ServerHandle> server;
  std::string root_token;  // kept in memory only, never printed
};

// Starts arcad on a free port with a new data dir under `work_dir`, then
// Init (1 share) and Unseal through the client library.
absl::StatusOr<ArcadInstance> StartArcad(const ServerOptions& options,
                                         const std::string& log_name);

// Opens `count` independent channels to `address`.
std::vector<std::shared_ptr<grpc::Channel>> OpenChannels(
    const std::string& address, int count);

// Starts each kind of server on first use and keeps it until destruction.
// Not thread-safe.
class Servers {
 public:
  explicit Servers(ServerOptions options) : options_(std::move(options)) {}

  absl::StatusOr<ServerHandle*> Get(ServerKind kind);
  // arcad's token (the root token of the bench's own arcad, or ARCA_TOKEN).
  const std::string& token() const { return token_; }
  // How to log in to the bench's PostgreSQL; valid once Get(kPostgres)
  // succeeded.
  const PostgresInfo& postgres() const { return postgres_; }
  const ServerOptions& options() const { return options_; }

 private:
  absl::StatusOr<std::unique_ptr<ServerHandle>> StartEcho();
  absl::StatusOr<std::unique_ptr<ServerHandle>> StartEtcd();

  ServerOptions options_;
  std::string token_;
  PostgresInfo postgres_;
  std::map<ServerKind, std::unique_ptr<ServerHandle>> servers_;
};

// "etcd Version: 3.4.23" -> "3.4.23"; "" if it cannot be run.
std::string EtcdVersion(const std::string& etcd_path);

}  // namespace arca::bench

#endif  // ARCA_BENCH_ARCA_BENCH_SERVERS_H_
