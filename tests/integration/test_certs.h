#ifndef ARCA_TESTS_INTEGRATION_TEST_CERTS_H_
#define ARCA_TESTS_INTEGRATION_TEST_CERTS_H_

// Throw-away PKI for TLS tests, made with OpenSSL's C API (no `openssl`
// binary needed): a CA, a server certificate for localhost/127.0.0.1 and a
// client certificate, all P-256 and valid for one day.

#include <filesystem>

namespace arca::testing {

// PEM files written by MakeTestPki. Keys are mode 0600.
struct TestPki {
  std::filesystem::path ca_cert;
  std::filesystem::path server_cert;  // SAN DNS:localhost, IP:127.0.0.1
  std::filesystem::path server_key;
  std::filesystem::path client_cert;  // CN arca-test-client, clientAuth
  std::filesystem::path client_key;
  // A client certificate from a different CA, which arcad must refuse.
  std::filesystem::path rogue_client_cert;
  std::filesystem::path rogue_client_key;
};

// Writes a fresh PKI into `dir`. Aborts the test binary on an OpenSSL
// failure (a broken test environment, not a test result).
TestPki MakeTestPki(const std::filesystem::path& dir);  // creates `dir`

}  // namespace arca::testing

#endif  // ARCA_TESTS_INTEGRATION_TEST_CERTS_H_
