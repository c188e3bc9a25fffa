#ifndef ARCA_CLIENT_TRANSPORT_H_
#define ARCA_CLIENT_TRANSPORT_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "grpcpp/security/credentials.h"

namespace arca {

// How the client secures its connection to arcad.
enum class Transport {
  // TLS, except plaintext to a loopback or unix-socket target when no CA or
  // client certificate is configured (the `arcad --dev` case).
  kAuto,
  // Always TLS; without a CA certificate the system trust store is used.
  kTls,
  // Never TLS; refused for targets that are not loopback or unix sockets.
  kPlaintext,
};

// TLS settings of a client, as PEM text. Empty fields are unused.
struct TlsConfig {
  std::string ca_cert_pem;      // trust anchors for the server certificate
  std::string client_cert_pem;  // mutual TLS: our certificate chain
  std::string client_key_pem;   // and its private key (wiped by the Client)
  // Name to verify the server certificate against instead of the host part
  // of the address (e.g. connecting by IP to a certificate for a DNS name).
  std::string server_name;
};

// True for unix-socket targets ("unix:/p", "unix:///p", "unix-abstract:")
// and for targets whose host is 127.0.0.0/8, ::1 or localhost, with or
// without a "dns:///" or "ipv4:"/"ipv6:" scheme.
bool IsLocalTarget(std::string_view target);
bool IsUnixTarget(std::string_view target);

// The channel credentials for `target` under `transport` and `tls`.
// INVALID_ARGUMENT for plaintext to a remote target, a client certificate
// without its key (or the reverse), or TLS settings on a unix target.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentials(
    std::string_view target, Transport transport, const TlsConfig& tls);

}  // namespace arca

#endif  // ARCA_CLIENT_TRANSPORT_H_
