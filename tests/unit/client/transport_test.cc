#include "client/transport.h"

#include <gtest/gtest.h>

namespace arca {
namespace {

TEST(TransportTest, LocalTargetsAreLoopbackOrUnix) {
  for (const char* t :
       {"127.0.0.1:8200", "localhost:8200", "[::1]:8200", "dns:///localhost:1",
        "ipv4:127.0.0.1:1,127.0.0.2:2", "unix:/run/arca.sock",
        "unix:///run/arca.sock"}) {
    EXPECT_TRUE(IsLocalTarget(t)) << t;
  }
  for (const char* t :
       {"10.0.0.1:8200", "arca.internal:8200", "dns:///arca.internal:8200",
        "ipv4:127.0.0.1:1,10.0.0.1:2", "127.0.0.1.example:8200",
        "localhost.example:8200", "[::]:8200"}) {
    EXPECT_FALSE(IsLocalTarget(t)) << t;
  }
}

TEST(TransportTest, PlaintextToARemoteTargetIsRefused) {
  auto creds =
      ChannelCredentials("arca.internal:8200", Transport::kPlaintext, {});
  EXPECT_EQ(creds.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      ChannelCredentials("127.0.0.1:8200", Transport::kPlaintext, {}).ok());
}

TEST(TransportTest, ClientCertificateAndKeyMustComeTogether) {
  TlsConfig cert_only;
  cert_only.client_cert_pem = "cert";
  EXPECT_EQ(ChannelCredentials("h:1", Transport::kAuto, cert_only)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  TlsConfig key_only;
  key_only.client_key_pem = "key";
  auto status =
      ChannelCredentials("h:1", Transport::kAuto, key_only).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message().find("key\""), std::string_view::npos);
}

TEST(TransportTest, TlsSettingsOnAUnixTargetAreRefused) {
  TlsConfig tls;
  tls.ca_cert_pem = "ca";
  EXPECT_FALSE(ChannelCredentials("unix:/s", Transport::kAuto, tls).ok());
  EXPECT_FALSE(ChannelCredentials("unix:/s", Transport::kTls, {}).ok());
  EXPECT_TRUE(ChannelCredentials("unix:/s", Transport::kAuto, {}).ok());
}

TEST(TransportTest, PlaintextContradictingTlsSettingsIsRefused) {
  TlsConfig tls;
  tls.ca_cert_pem = "ca";
  EXPECT_FALSE(
      ChannelCredentials("127.0.0.1:1", Transport::kPlaintext, tls).ok());
}

}  // namespace
}  // namespace arca
