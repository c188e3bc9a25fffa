#include "bench/arca_bench/servers.h"

#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "bench/arca_bench/postgres_server.h"
#include "client/client.h"
#include "client/token_source.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "kms/status_macros.h"

namespace arca::bench {
namespace {

constexpr absl::Duration kStartTimeout = absl::Seconds(30);

std::string LoopbackAddress(int port) {
  return absl::StrCat("127.0.0.1:", port);
}

}  // namespace

std::vector<std::shared_ptr<grpc::Channel>> OpenChannels(
    const std::string& address, int count) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    // Without a local pool, channels with equal arguments share one
    // connection and "N channels" would be one.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("arca_bench.channel_index", i);
    args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
    channels.push_back(grpc::CreateCustomChannel(
        address, grpc::InsecureChannelCredentials(), args));
  }
  return channels;
}

absl::StatusOr<ArcadInstance> StartArcad(const ServerOptions& options,
                                         const std::string& log_name) {
  auto server = std::make_unique<ServerHandle>();
  server->name = "arcad";
  ASSIGN_OR_RETURN(server->data_dir, TempDir::New(options.work_dir, "arcad-"));
  const int port = FreePort();
  server->address = LoopbackAddress(port);
  ASSIGN_OR_RETURN(
      server->process,
      ChildProcess::Spawn({options.arcad_path, "--data-dir",
                           (server->data_dir->path() / "data").string(),
                           "--listen", server->address, "--log-level", "warn",
                           // Plaintext like the echo floor: both sides of
                           // the ratio pay the same transport.
                           "--insecure-plaintext",
                           // login-approle measures logins, not the per-peer
                           // limit on token-less calls (5/s by default).
                           "--unauthenticated-rate", "0"},
                          (options.work_dir / log_name).string()));
  server->pid = server->process->pid();
  RETURN_IF_ERROR(server->process->WaitForPort(port, kStartTimeout));

  ClientOptions client_options;
  client_options.address = server->address;
  client_options.token_from_environment = false;
  ASSIGN_OR_RETURN(auto client, Client::New(client_options));
  v1::InitRequest init;
  init.set_secret_shares(1);
  init.set_secret_threshold(1);
  ASSIGN_OR_RETURN(v1::InitResponse initialized, client->Init(init));
  if (initialized.keys_base64_size() != 1) {
    return absl::InternalError("arcad init returned no unseal share");
  }
  v1::UnsealRequest unseal;
  unseal.set_key(initialized.keys_base64(0));
  ASSIGN_OR_RETURN(v1::SealStatusResponse status, client->Unseal(unseal));
  if (status.sealed()) return absl::InternalError("arcad is still sealed");
  server->channels = OpenChannels(server->address, options.channels);
  ArcadInstance instance;
  instance.server = std::move(server);
  instance.root_token = initialized.root_token();
  return instance;
}

absl::StatusOr<ServerHandle*> Servers::Get(ServerKind kind) {
  auto it = servers_.find(kind);
  if (it != servers_.end()) return it->second.get();
  std::unique_ptr<ServerHandle> server;
  switch (kind) {
    case ServerKind::kArcad:
      if (!options_.external_arcad_address.empty()) {
        server = std::make_unique<ServerHandle>();
        server->name = "arcad (external)";
        server->address = options_.external_arcad_address;
        ASSIGN_OR_RETURN(token_, ResolveToken(""));
        if (token_.empty()) {
          return absl::FailedPreconditionError(
              "--address needs a token in ARCA_TOKEN or ~/.arca-token");
        }
        server->channels = OpenChannels(server->address, options_.channels);
      } else {
        ASSIGN_OR_RETURN(ArcadInstance instance, StartArcad(options_, "arcad"));
        server = std::move(instance.server);
        token_ = std::move(instance.root_token);
      }
      break;
    case ServerKind::kEcho: {
      ASSIGN_OR_RETURN(server, StartEcho());
      break;
    }
    case ServerKind::kEtcd: {
      ASSIGN_OR_RETURN(server, StartEtcd());
      break;
    }
    case ServerKind::kPostgres: {
      ASSIGN_OR_RETURN(server, StartPostgres(options_, &postgres_));
      break;
    }
    case ServerKind::kInProcess:
      server = std::make_unique<ServerHandle>();
      server->name = "arca-bench (in-process)";
      server->pid = getpid();
      break;
  }
  ServerHandle* raw = server.get();
  servers_[kind] = std::move(server);
  return raw;
}

absl::StatusOr<std::unique_ptr<ServerHandle>> Servers::StartEcho() {
  auto server = std::make_unique<ServerHandle>();
  server->name = "echo_server";
  const int port = FreePort();
  server->address = LoopbackAddress(port);
  ASSIGN_OR_RETURN(server->process,
                   ChildProcess::Spawn(
                       {options_.echo_server_path, "--listen", server->address},
                       (options_.work_dir / "echo_server").string()));
  server->pid = server->process->pid();
  RETURN_IF_ERROR(server->process->WaitForPort(port, kStartTimeout));
  server->channels = OpenChannels(server->address, options_.channels);
  return server;
}

absl::StatusOr<std::unique_ptr<ServerHandle>> Servers::StartEtcd() {
  auto server = std::make_unique<ServerHandle>();
  server->name = "etcd";
  ASSIGN_OR_RETURN(server->data_dir, TempDir::New(options_.work_dir, "etcd-"));
  const int client_port = FreePort();
  int peer_port = FreePort();
  while (peer_port == client_port) peer_port = FreePort();
  server->address = LoopbackAddress(client_port);
  const std::string client_url = "http://" + server->address;
  const std::string peer_url = "http://" + LoopbackAddress(peer_port);
  // A single member with its defaults: every Put is fsynced to its WAL
  // before it is acknowledged, as arcad's RocksDB writes are.
  ASSIGN_OR_RETURN(
      server->process,
      ChildProcess::Spawn(
          {options_.etcd_path, "--name", "bench", "--data-dir",
           (server->data_dir->path() / "data").string(), "--listen-client-urls",
           client_url, "--advertise-client-urls", client_url,
           "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls",
           peer_url, "--initial-cluster", "bench=" + peer_url, "--logger",
           "zap", "--log-level", "warn"},
          (options_.work_dir / "etcd").string()));
  server->pid = server->process->pid();
  RETURN_IF_ERROR(server->process->WaitForPort(client_port, kStartTimeout));
  server->channels = OpenChannels(server->address, options_.channels);
  return server;
}

std::string EtcdVersion(const std::string& etcd_path) {
  const std::string command = "'" + etcd_path + "' --version 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  char line[256];
  std::string version;
  while (fgets(line, sizeof(line), pipe) != nullptr) {
    absl::string_view l(line);
    if (absl::ConsumePrefix(&l, "etcd Version: ")) {
      version = std::string(absl::StripSuffix(l, "\n"));
    }
  }
  pclose(pipe);
  return version;
}

}  // namespace arca::bench
