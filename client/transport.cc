#include "client/transport.h"

#include <string.h>


namespace arca {
namespace {

// The host part of "host:port", "[v6]:port" or a bare host.
std::string_view HostOf(std::string_view hostport) {
  if (hostport.starts_with("[")) {
    const size_t close = hostport.find(']');
    return close == std::string_view::npos ? hostport
                                           : hostport.substr(1, close - 1);
  }
  const size_t colon = hostport.rfind(':');
  if (colon != std::string_view::npos &&
      hostport.find(':') == colon) {  // one colon: host:port
    return hostport.substr(0, colon);
  }
  return hostport;
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  if (!host.starts_with("127.")) return false;
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

}  // namespace

bool IsUnixTarget(std::string_view target) {
  return target.starts_with("unix:") ||
         target.starts_with("unix-abstract:");
}

bool IsLocalTarget(std::string_view target) {
  if (IsUnixTarget(target)) return true;
  for (std::string_view scheme : {"dns:///", "dns:", "ipv4:", "ipv6:"}) {
    if (target.starts_with(scheme)) {
      target.remove_prefix(scheme.size());
      break;
    }
  }
  // ipv4:/ipv6: may list several addresses; every one must be local.
  while (!target.empty()) {
    const size_t comma = target.find(',');
    if (!IsLoopbackHost(HostOf(target.substr(0, comma)))) return false;
    if (comma == std::string_view::npos) break;
    target.remove_prefix(comma + 1);
  }
  return true;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentials(
    std::string_view target, Transport transport, const TlsConfig& tls) {
  if (tls.client_cert_pem.empty() != tls.client_key_pem.empty()) {
    return absl::InvalidArgumentError(
        "a client certificate and its key must be given together");
  }
  const bool tls_configured =
      !tls.ca_cert_pem.empty() || !tls.client_cert_pem.empty();
  if (IsUnixTarget(target)) {
    if (transport == Transport::kTls || tls_configured) {
      return absl::InvalidArgumentError(
          "unix-socket targets are plaintext; drop the TLS settings");
    }
    return grpc::InsecureChannelCredentials();
  }
  bool use_tls = true;
  switch (transport) {
    case Transport::kAuto:
      use_tls = tls_configured || !IsLocalTarget(target);
      break;
    case Transport::kTls:
      break;
    case Transport::kPlaintext:
      if (tls_configured) {
        return absl::InvalidArgumentError(
            "plaintext transport contradicts the TLS settings");
      }
      if (!IsLocalTarget(target)) {
        return absl::InvalidArgumentError(
            "plaintext is only allowed to loopback or unix-socket targets, "
            "not " +
            std::string(target));
      }
      use_tls = false;
      break;
  }
  if (!use_tls) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = tls.ca_cert_pem;
  ssl.pem_cert_chain = tls.client_cert_pem;
  ssl.pem_private_key = tls.client_key_pem;
  auto creds = grpc::SslCredentials(ssl);
  explicit_bzero(ssl.pem_private_key.data(), ssl.pem_private_key.size());
  return creds;
}

}  // namespace arca
