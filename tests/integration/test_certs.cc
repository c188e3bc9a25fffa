#include "tests/integration/test_certs.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace arca::testing {
namespace {

namespace fs = std::filesystem;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "test PKI: %s failed\n", what);
    std::abort();
  }
}

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const { X509_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

Key NewKey() {
  Key key(EVP_EC_gen("P-256"));
  Check(key != nullptr, "EVP_EC_gen");
  return key;
}

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  Check(ext != nullptr, "X509V3_EXT_conf_nid");
  Check(X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(ext);
}

// A certificate for `key` named `cn`, signed by `issuer_key` (self-signed
// when `issuer` is null), with extensions as (nid, value) pairs.
Cert NewCert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key,
             const std::vector<std::pair<int, const char*>>& extensions) {
  Cert cert(X509_new());
  Check(cert != nullptr, "X509_new");
  Check(X509_set_version(cert.get(), 2) == 1, "X509_set_version");
  unsigned char serial[16];
  Check(RAND_bytes(serial, sizeof(serial)) == 1, "RAND_bytes");
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  Check(bn != nullptr && BN_to_ASN1_INTEGER(
                             bn, X509_get_serialNumber(cert.get())) != nullptr,
        "serial");
  BN_free(bn);
  Check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr,
        "notBefore");
  Check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400) != nullptr,
        "notAfter");
  X509_NAME* name = X509_get_subject_name(cert.get());
  Check(X509_NAME_add_entry_by_txt(
            name, "CN", MBSTRING_ASC,
            reinterpret_cast<const unsigned char*>(cn), -1, -1, 0) == 1,
        "subject");
  Check(X509_set_issuer_name(cert.get(), issuer != nullptr
                                             ? X509_get_subject_name(issuer)
                                             : name) == 1,
        "issuer");
  Check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");
  X509* signer = issuer != nullptr ? issuer : cert.get();
  for (const auto& [nid, value] : extensions) {
    AddExtension(cert.get(), signer, nid, value);
  }
  Check(X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key,
                  EVP_sha256()) > 0,
        "X509_sign");
  return cert;
}

void WriteCert(const fs::path& path, X509* cert) {
  FILE* f = std::fopen(path.c_str(), "wb");
  Check(f != nullptr, "fopen cert");
  Check(PEM_write_X509(f, cert) == 1, "PEM_write_X509");
  std::fclose(f);
}

void WriteKey(const fs::path& path, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "wb");
  Check(f != nullptr, "fopen key");
  chmod(path.c_str(), 0600);
  Check(PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) ==
            1,
        "PEM_write_PrivateKey");
  std::fclose(f);
}

const std::vector<std::pair<int, const char*>> kCaExtensions = {
    {NID_basic_constraints, "critical,CA:TRUE"},
    {NID_key_usage, "critical,keyCertSign,cRLSign"},
    {NID_subject_key_identifier, "hash"},
};

}  // namespace

TestPki MakeTestPki(const fs::path& dir) {
  fs::create_directories(dir);
  TestPki pki;
  pki.ca_cert = dir / "ca.pem";
  pki.server_cert = dir / "server.pem";
  pki.server_key = dir / "server-key.pem";
  pki.client_cert = dir / "client.pem";
  pki.client_key = dir / "client-key.pem";
  pki.rogue_client_cert = dir / "rogue-client.pem";
  pki.rogue_client_key = dir / "rogue-client-key.pem";

  Key ca_key = NewKey();
  Cert ca = NewCert(ca_key.get(), "arca test CA", nullptr, nullptr,
                    kCaExtensions);
  WriteCert(pki.ca_cert, ca.get());

  Key server_key = NewKey();
  Cert server = NewCert(server_key.get(), "localhost", ca.get(), ca_key.get(),
                        {{NID_basic_constraints, "critical,CA:FALSE"},
                         {NID_key_usage, "critical,digitalSignature"},
                         {NID_ext_key_usage, "serverAuth"},
                         {NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"}});
  WriteCert(pki.server_cert, server.get());
  WriteKey(pki.server_key, server_key.get());

  Key client_key = NewKey();
  Cert client = NewCert(client_key.get(), "arca-test-client", ca.get(),
                        ca_key.get(),
                        {{NID_basic_constraints, "critical,CA:FALSE"},
                         {NID_key_usage, "critical,digitalSignature"},
                         {NID_ext_key_usage, "clientAuth"}});
  WriteCert(pki.client_cert, client.get());
  WriteKey(pki.client_key, client_key.get());

  Key rogue_ca_key = NewKey();
  Cert rogue_ca = NewCert(rogue_ca_key.get(), "rogue CA", nullptr, nullptr,
                          kCaExtensions);
  Key rogue_key = NewKey();
  Cert rogue = NewCert(rogue_key.get(), "arca-test-client", rogue_ca.get(),
                       rogue_ca_key.get(),
                       {{NID_basic_constraints, "critical,CA:FALSE"},
                        {NID_key_usage, "critical,digitalSignature"},
                        {NID_ext_key_usage, "clientAuth"}});
  WriteCert(pki.rogue_client_cert, rogue.get());
  WriteKey(pki.rogue_client_key, rogue_key.get());
  return pki;
}

}  // namespace arca::testing
