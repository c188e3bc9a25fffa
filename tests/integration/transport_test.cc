// Transport security of a real arcad: TLS through the CLI, plaintext clients
// against TLS, mutual TLS, the unix socket, the message size limit and the
// rate limit of unauthenticated sys RPCs.

#include <sys/stat.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/harness.h"
#include "tests/integration/test_certs.h"

namespace arca::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class TransportTest : public ::testing::Test {
 protected:
  TransportTest()
      : pki_(MakeTestPki(dir_.path())),
        arcad_(dir_.path() / "data", dir_.path()) {}

  // Runs the CLI against arcad with `env` on top of the address and token.
  CliResult Cli(std::vector<std::string> args, const std::string& in = "",
                std::map<std::string, std::string> env = {},
                std::string address = "") {
    env["ARCA_ADDR"] = address.empty() ? arcad_.address() : address;
    if (!root_token_.empty()) env["ARCA_TOKEN"] = root_token_;
    return RunCli(args, in, env);
  }

  std::map<std::string, std::string> TrustCa() {
    return {{"ARCA_CACERT", pki_.ca_cert.string()}};
  }
  std::map<std::string, std::string> ClientCert() {
    auto env = TrustCa();
    env["ARCA_CLIENT_CERT"] = pki_.client_cert.string();
    env["ARCA_CLIENT_KEY"] = pki_.client_key.string();
    return env;
  }

  // operator init (1 share) + unseal with the given transport settings.
  void InitAndUnseal(const std::map<std::string, std::string>& env,
                     const std::string& address = "") {
    CliResult init = Cli({"operator", "init", "--key-shares", "1",
                          "--key-threshold", "1", "--format", "json"},
                         "", env, address);
    ASSERT_EQ(init.exit_code, 0) << init.err;
    auto j = nlohmann::json::parse(init.out);
    root_token_ = j["root_token"];
    const std::string share = j["keys_base64"][0];
    CliResult unseal = Cli({"operator", "unseal"}, share + "\n", env, address);
    ASSERT_EQ(unseal.exit_code, 0) << unseal.err;
  }

  TempDir dir_;
  TestPki pki_;
  Arcad arcad_;
  std::string root_token_;
};

TEST_F(TransportTest, TlsServesTheCliEndToEndWithTheCaCert) {
  arcad_.UseTls({pki_.server_cert, pki_.server_key, {}});
  ASSERT_TRUE(arcad_.Start());
  InitAndUnseal(TrustCa());
  ASSERT_EQ(Cli({"kv", "put", "app/db", "user=alice"}, "", TrustCa()).exit_code,
            0);
  CliResult get = Cli({"kv", "get", "app/db", "--field", "user"}, "", TrustCa());
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.out, "alice");
  // The CA also works as a flag, and "localhost" matches the certificate.
  CliResult by_flag = Cli({"operator", "status", "--ca-cert",
                           pki_.ca_cert.string()},
                          "", {}, "localhost:" + std::to_string(arcad_.port()));
  EXPECT_EQ(by_flag.exit_code, 0) << by_flag.err;
  EXPECT_THAT(arcad_.Log(), HasSubstr("(TLS"));
}

TEST_F(TransportTest, PlaintextClientAgainstTlsPortFailsCleanly) {
  arcad_.UseTls({pki_.server_cert, pki_.server_key, {}});
  ASSERT_TRUE(arcad_.Start());
  // No CA: a loopback address is spoken to in plaintext, which the TLS
  // listener does not understand.
  CliResult r = Cli({"operator", "status"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("UNAVAILABLE"));
  EXPECT_EQ(r.out, "");
  // The server is unharmed.
  EXPECT_EQ(Cli({"operator", "status"}, "", TrustCa()).exit_code, 2);
}

TEST_F(TransportTest, ServerCertificateFromAnotherCaIsRejected) {
  arcad_.UseTls({pki_.server_cert, pki_.server_key, {}});
  ASSERT_TRUE(arcad_.Start());
  // The rogue client certificate is self-issued by another CA; use it as
  // the trust anchor so verification of arcad's certificate must fail.
  CliResult r = Cli({"operator", "status"}, "",
                    {{"ARCA_CACERT", pki_.rogue_client_cert.string()}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("UNAVAILABLE"));
}

TEST_F(TransportTest, MutualTlsRefusesClientsWithoutAValidCertificate) {
  arcad_.UseTls({pki_.server_cert, pki_.server_key, pki_.ca_cert});
  ASSERT_TRUE(arcad_.Start());

  CliResult no_cert = Cli({"operator", "status"}, "", TrustCa());
  EXPECT_EQ(no_cert.exit_code, 1);
  EXPECT_THAT(no_cert.err, HasSubstr("UNAVAILABLE"));

  auto rogue = TrustCa();
  rogue["ARCA_CLIENT_CERT"] = pki_.rogue_client_cert.string();
  rogue["ARCA_CLIENT_KEY"] = pki_.rogue_client_key.string();
  CliResult bad_cert = Cli({"operator", "status"}, "", rogue);
  EXPECT_EQ(bad_cert.exit_code, 1);
  EXPECT_THAT(bad_cert.err, HasSubstr("UNAVAILABLE"));

  // The refused handshakes did not hurt the server: a proper client works.
  InitAndUnseal(ClientCert());
  CliResult status = Cli({"operator", "status"}, "", ClientCert());
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_THAT(arcad_.Log(), HasSubstr("mutual TLS"));
}

TEST_F(TransportTest, ClientKeyWithoutCertificateIsAUsageError) {
  arcad_.UseTls({pki_.server_cert, pki_.server_key, pki_.ca_cert});
  ASSERT_TRUE(arcad_.Start());
  auto env = TrustCa();
  env["ARCA_CLIENT_KEY"] = pki_.client_key.string();
  CliResult r = Cli({"operator", "status"}, "", env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT"));
  // The key file's contents never reach the error.
  EXPECT_THAT(r.err, Not(HasSubstr("PRIVATE KEY")));
}

TEST_F(TransportTest, UnixSocketHasMode0600AndServesTheCli) {
  const auto socket = dir_.path() / "arcad.sock";
  arcad_.UseTls({pki_.server_cert, pki_.server_key, {}});
  ASSERT_TRUE(arcad_.Start({"--unix-socket", socket.string()}));
  struct stat st;
  ASSERT_EQ(lstat(socket.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  const std::string unix_address = "unix:" + socket.string();
  InitAndUnseal({}, unix_address);
  ASSERT_EQ(Cli({"kv", "put", "local/x", "v=1"}, "", {}, unix_address)
                .exit_code,
            0);
  CliResult get =
      Cli({"kv", "get", "local/x", "--field", "v"}, "", {}, unix_address);
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.out, "1");
  // The same server over TLS sees the same data.
  EXPECT_EQ(
      Cli({"kv", "get", "local/x", "--field", "v"}, "", TrustCa()).out, "1");
}

TEST_F(TransportTest, RequestLargerThanTheLimitIsResourceExhausted) {
  ASSERT_TRUE(arcad_.Start({"--max-message-bytes", "65536"}));
  InitAndUnseal({});
  const auto big = dir_.path() / "big";
  std::ofstream(big, std::ios::binary) << std::string(70000, 'x');
  CliResult r = Cli({"kv", "put", "big/x", "v=@" + big.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("RESOURCE_EXHAUSTED"));
  // A request under the limit still works.
  EXPECT_EQ(Cli({"kv", "put", "small/x", "v=1"}).exit_code, 0);
}

TEST_F(TransportTest, DefaultLimitRefusesFiveMebibyteRequest) {
  ASSERT_TRUE(arcad_.Start());
  InitAndUnseal({});
  const auto big = dir_.path() / "big";
  std::ofstream(big, std::ios::binary) << std::string(5 << 20, 'x');
  CliResult r = Cli({"kv", "put", "big/x", "v=@" + big.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("RESOURCE_EXHAUSTED"));
}

TEST_F(TransportTest, UnauthenticatedSysRpcsAreRateLimitedPerPeer) {
  ASSERT_TRUE(arcad_.Start(
      {"--unauthenticated-rate", "0.01", "--unauthenticated-burst", "3"}));
  for (int i = 0; i < 3; ++i) {
    CliResult r = Cli({"operator", "status"});
    EXPECT_EQ(r.exit_code, 2) << i << ": " << r.err;  // sealed, not limited
  }
  CliResult limited = Cli({"operator", "status"});
  EXPECT_EQ(limited.exit_code, 1);
  EXPECT_THAT(limited.err, HasSubstr("RESOURCE_EXHAUSTED"));
  CliResult unseal = Cli({"operator", "unseal"}, "AAAA\n");
  EXPECT_THAT(unseal.err, HasSubstr("RESOURCE_EXHAUSTED"));
}

TEST_F(TransportTest, PlaintextOnANonLoopbackAddressIsRefusedAtStart) {
  CliResult r;
  // arcad run directly (not through the harness, which adds --listen).
  std::vector<std::string> args = {"--data-dir",
                                   (dir_.path() / "d").string(), "--listen",
                                   "0.0.0.0:0", "--insecure-plaintext",
                                   "--disable-mlock"};
  r = RunProgram(ArcadPath(), args);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("plaintext is refused on non-loopback"));

  r = RunProgram(ArcadPath(), {"--data-dir", (dir_.path() / "d").string(),
                               "--listen", "127.0.0.1:0", "--disable-mlock"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no TLS certificate"));
}

}  // namespace
}  // namespace arca::testing
