#include "server/api/server.h"

#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "server/api/audit_service.h"
#include "server/api/auth_service.h"
#include "server/api/kv_service.h"
#include "server/api/lease_service.h"
#include "server/api/policy_service.h"
#include "server/api/sys_service.h"
#include "server/api/database_service.h"
#include "server/api/tokenize_service.h"
#include "server/api/transit_service.h"

namespace arca::api {
namespace {

std::shared_ptr<grpc::ServerCredentials> TlsCredentials(
    const TlsOptions& tls) {
  grpc::SslServerCredentialsOptions ssl(
      tls.client_ca_pem.empty()
          ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
          : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = tls.client_ca_pem;
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  pair.private_key = std::string(tls.private_key_pem.Reveal());
  pair.cert_chain = tls.cert_chain_pem;
  ssl.pem_key_cert_pairs.push_back(std::move(pair));
  auto creds = grpc::SslServerCredentials(ssl);
  // gRPC copied the key; do not leave this copy in freed heap memory.
  std::string& key = ssl.pem_key_cert_pairs[0].private_key;
  explicit_bzero(key.data(), key.size());
  return creds;
}

// Splits HOST:PORT or [IPv6]:PORT; false if there is no colon.
bool SplitHostPort(const std::string& address, std::string* host,
                   std::string* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  *host = address.substr(0, colon);
  *port = address.substr(colon + 1);
  if (absl::StartsWith(*host, "[") && absl::EndsWith(*host, "]")) {
    *host = host->substr(1, host->size() - 2);
  }
  return true;
}

// gRPC reports a failed bind only as "no port": bind the address ourselves
// to learn the OS's reason ("Address already in use", "Cannot assign
// requested address", ...). Empty if it binds (or cannot be resolved).
std::string BindFailureReason(const std::string& address) {
  std::string host, port;
  if (!SplitHostPort(address, &host, &port)) return "";
  struct addrinfo hints = {};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  struct addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
      rc != 0) {
    return gai_strerror(rc);
  }
  std::string reason;
  for (struct addrinfo* a = found; a != nullptr && reason.empty();
       a = a->ai_next) {
    int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
                    a->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0) reason = strerror(errno);
    close(fd);
  }
  freeaddrinfo(found);
  return reason;
}

}  // namespace

absl::Status CheckListenAddress(const std::string& address) {
  std::string host, port;
  uint32_t number = 0;
  const bool digits =
      SplitHostPort(address, &host, &port) && !port.empty() &&
      port.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || host.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen address \"", address, "\" is not HOST:PORT"));
  }
  if (!absl::SimpleAtoi(port, &number) || number > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address \"", address,
                     "\": port must be 0..65535 (0: any free port)"));
  }
  return absl::OkStatus();
}

bool IsLoopbackListenAddress(const std::string& address) {
  std::string host;
  if (absl::StartsWith(address, "[")) {
    const size_t close = address.find(']');
    if (close == std::string::npos) return false;
    host = address.substr(1, close - 1);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == std::string::npos) return false;
    host = address.substr(0, colon);
    // A bare IPv6 address without brackets is ambiguous; refuse it.
    if (host.find(':') != std::string::npos) return false;
  }
  if (host == "localhost" || host == "::1") return true;
  // 127.0.0.0/8, dotted quad only.
  if (!absl::StartsWith(host, "127.")) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

struct ApiServer::Services {
  Services(core::Core* core, const RateLimitOptions& rate)
      : limiter(rate),
        sys(core, &limiter),
        kv(core),
        auth(core),
        policy(core),
        audit(core),
        lease(core),
        tokenize(core),
        transit(core),
        database(core),
        login(core, &limiter) {}
  PeerRateLimiter limiter;
  SysService sys;
  KvService kv;
  AuthService auth;
  PolicyService policy;
  AuditService audit;
  LeaseService lease;
  TokenizeService tokenize;
  TransitService transit;
  DatabaseService database;
  LoginService login;
};

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Start(
    core::Core* core, const ServerOptions& options) {
  if (absl::Status s = CheckListenAddress(options.listen_address); !s.ok()) {
    return s;
  }
  if (!options.tls.has_value()) {
    if (!options.allow_plaintext) {
      return absl::InvalidArgumentError(
          "no TLS certificate configured: pass --tls-cert and --tls-key "
          "(or --insecure-plaintext on a loopback address)");
    }
    if (!IsLoopbackListenAddress(options.listen_address)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "plaintext is refused on non-loopback address ",
          options.listen_address,
          ": configure TLS (--tls-cert, --tls-key) or listen on 127.0.0.1"));
    }
  }
  if (options.max_message_bytes < 1024) {
    return absl::InvalidArgumentError(
        "max message size must be at least 1024 bytes");
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  std::unique_ptr<ApiServer> server(new ApiServer());
  server->services_ =
      std::make_unique<Services>(core, options.unauthenticated_rate);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen_address,
                           options.tls.has_value()
                               ? TlsCredentials(*options.tls)
                               : grpc::InsecureServerCredentials(),
                           &server->port_);
  if (!options.unix_socket_path.empty()) {
    // A stale socket from a killed arcad would make the bind fail; anything
    // that is not a socket is left alone (and the bind fails loudly).
    struct stat st;
    if (lstat(options.unix_socket_path.c_str(), &st) == 0 &&
        S_ISSOCK(st.st_mode)) {
      unlink(options.unix_socket_path.c_str());
    }
    builder.AddListeningPort("unix:" + options.unix_socket_path,
                             grpc::InsecureServerCredentials());
  }
  // Without this a second arcad on the same port would share it silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  builder.RegisterService(&server->services_->sys);
  builder.RegisterService(&server->services_->kv);
  builder.RegisterService(&server->services_->auth);
  builder.RegisterService(&server->services_->policy);
  builder.RegisterService(&server->services_->audit);
  builder.RegisterService(&server->services_->lease);
  builder.RegisterService(&server->services_->tokenize);
  builder.RegisterService(&server->services_->transit);
  builder.RegisterService(&server->services_->database);
  builder.RegisterService(&server->services_->login);
  // The socket is created with the process umask; arcad sets 077 at start so
  // it is never reachable by others, and the chmod below makes it exactly
  // 0600 (owner read/write, no execute bit).
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    // The reason is only probed after gRPC failed, so no bind races it.
    const std::string reason =
        server->port_ == 0 ? BindFailureReason(options.listen_address) : "";
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen_address,
                     options.unix_socket_path.empty()
                         ? ""
                         : " and unix:" + options.unix_socket_path,
                     reason.empty() ? "" : ": " + reason));
  }
  if (!options.unix_socket_path.empty()) {
    server->unix_socket_path_ = options.unix_socket_path;
    if (chmod(options.unix_socket_path.c_str(), 0600) != 0) {
      server->Shutdown();
      return absl::UnavailableError(absl::StrCat(
          "cannot set mode 0600 on ", options.unix_socket_path, ": ",
          strerror(errno)));
    }
  }
  return server;
}

ApiServer::~ApiServer() { Shutdown(); }

void ApiServer::Wait() {
  if (server_) server_->Wait();
}

void ApiServer::Shutdown() {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::seconds(5));
  }
  if (!unix_socket_path_.empty()) {
    unlink(unix_socket_path_.c_str());
    unix_socket_path_.clear();
  }
}

}  // namespace arca::api
