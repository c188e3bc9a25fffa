#ifndef ARCA_SERVER_API_SERVER_H_
#define ARCA_SERVER_API_SERVER_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "kms/secret_bytes.h"
#include "server/api/login_service.h"
#include "server/api/rate_limiter.h"
#include "server/core/core.h"

namespace arca::api {

// TLS material for the TCP listener, as PEM text.
struct TlsOptions {
  std::string cert_chain_pem;
  kms::SecretBytes private_key_pem;
  // When set, clients must present a certificate signed by one of these CAs
  // (mutual TLS); a handshake without one is refused.
  std::string client_ca_pem;
};

struct ServerOptions {
  // HOST:PORT or [IPv6]:PORT; PORT in 0..65535, 0 meaning any free port (see
  // ApiServer::port() for the one bound).
  std::string listen_address = "127.0.0.1:8200";
  // TLS on the TCP listener. Without it the listener is plaintext, which
  // Start() allows only when `allow_plaintext` is set and the address is a
  // loopback one.
  std::optional<TlsOptions> tls;
  bool allow_plaintext = false;
  // Optional unix-socket listener for local clients (plaintext: access is
  // controlled by the socket's mode, 0600, and its directory).
  std::string unix_socket_path;
  // Larger requests get RESOURCE_EXHAUSTED from gRPC before any handler runs.
  int max_message_bytes = 4 * 1024 * 1024;
  // Per-peer limit on the RPCs that take no token.
  RateLimitOptions unauthenticated_rate;
};

// INVALID_ARGUMENT unless `address` is HOST:PORT or [IPv6]:PORT with a
// non-empty host and PORT decimal in 0..65535.
absl::Status CheckListenAddress(const std::string& address);

// True for "127.x.y.z:P", "[::1]:P" and "localhost:P".
bool IsLoopbackListenAddress(const std::string& address);

// ApiServer binds every arca.v1 service, the gRPC health service and server
// reflection to a TCP listener (TLS, or plaintext on loopback only) and an
// optional unix socket. Non-owning Core pointer; the Core must outlive the
// server. Shutdown() is safe to call from another thread.
class ApiServer {
 public:
  // INVALID_ARGUMENT for a refused configuration (plaintext off loopback,
  // bad max message size), UNAVAILABLE if a listener cannot be bound.
  // LoginService's logins share the per-peer limiter of the unauthenticated
  // sys RPCs.
  static absl::StatusOr<std::unique_ptr<ApiServer>> Start(
      core::Core* core, const ServerOptions& options);
  ~ApiServer();

  // The TCP port actually bound (useful with port 0).
  int port() const { return port_; }
  void Wait();
  void Shutdown();

 private:
  ApiServer() = default;
  struct Services;
  std::unique_ptr<Services> services_;
  std::unique_ptr<grpc::Server> server_;
  std::string unix_socket_path_;
  int port_ = 0;
};

}  // namespace arca::api

#endif  // ARCA_SERVER_API_SERVER_H_
