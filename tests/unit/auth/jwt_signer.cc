#include "tests/unit/auth/jwt_signer.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <cstdlib>

#include "server/auth/jwt.h"

namespace arca::testing {
namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "JwtSigner: %s failed\n", what);
    std::abort();
  }
}

std::string BnBytes(const BIGNUM* bn, int width) {
  std::string out(width > 0 ? width : BN_num_bytes(bn), '\0');
  Check(BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()),
                     static_cast<int>(out.size())) >= 0,
        "BN_bn2binpad");
  return out;
}

}  // namespace

struct JwtSigner::Impl {
  EVP_PKEY* pkey = nullptr;
  ~Impl() { EVP_PKEY_free(pkey); }
};

JwtSigner::JwtSigner(Type type, std::string kid)
    : type_(type), kid_(std::move(kid)), impl_(std::make_unique<Impl>()) {
  impl_->pkey = type == Type::kRsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
  Check(impl_->pkey != nullptr, "key generation");
}

JwtSigner::~JwtSigner() = default;

std::string JwtSigner::alg() const {
  return type_ == Type::kRsa ? "RS256" : "ES256";
}

std::string JwtSigner::PublicPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  Check(PEM_write_bio_PUBKEY(bio, impl_->pkey) == 1, "PEM_write_bio_PUBKEY");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pem;
}

nlohmann::json JwtSigner::Jwk() const {
  nlohmann::json jwk;
  if (!kid_.empty()) jwk["kid"] = kid_;
  jwk["use"] = "sig";
  if (type_ == Type::kRsa) {
    BIGNUM *n = nullptr, *e = nullptr;
    Check(EVP_PKEY_get_bn_param(impl_->pkey, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
              EVP_PKEY_get_bn_param(impl_->pkey, OSSL_PKEY_PARAM_RSA_E, &e) ==
                  1,
          "RSA params");
    jwk["kty"] = "RSA";
    jwk["alg"] = "RS256";
    jwk["n"] = auth::EncodeBase64Url(BnBytes(n, 0));
    jwk["e"] = auth::EncodeBase64Url(BnBytes(e, 0));
    BN_free(n);
    BN_free(e);
  } else {
    BIGNUM *x = nullptr, *y = nullptr;
    Check(EVP_PKEY_get_bn_param(impl_->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) ==
                  1 &&
              EVP_PKEY_get_bn_param(impl_->pkey, OSSL_PKEY_PARAM_EC_PUB_Y,
                                    &y) == 1,
          "EC params");
    jwk["kty"] = "EC";
    jwk["alg"] = "ES256";
    jwk["crv"] = "P-256";
    jwk["x"] = auth::EncodeBase64Url(BnBytes(x, 32));
    jwk["y"] = auth::EncodeBase64Url(BnBytes(y, 32));
    BN_free(x);
    BN_free(y);
  }
  return jwk;
}

std::string JwtSigner::RawSignature(const std::string& data) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  Check(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, impl_->pkey) ==
            1,
        "EVP_DigestSignInit");
  size_t len = 0;
  Check(EVP_DigestSign(ctx, nullptr, &len,
                       reinterpret_cast<const unsigned char*>(data.data()),
                       data.size()) == 1,
        "EVP_DigestSign size");
  std::string sig(len, '\0');
  Check(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(data.data()),
                       data.size()) == 1,
        "EVP_DigestSign");
  EVP_MD_CTX_free(ctx);
  sig.resize(len);
  if (type_ == Type::kRsa) return sig;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* ecdsa = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  Check(ecdsa != nullptr, "d2i_ECDSA_SIG");
  std::string raw = BnBytes(ECDSA_SIG_get0_r(ecdsa), 32) +
                    BnBytes(ECDSA_SIG_get0_s(ecdsa), 32);
  ECDSA_SIG_free(ecdsa);
  return raw;
}

std::string JwtSigner::SignWithHeader(const nlohmann::json& header,
                                      const nlohmann::json& payload) const {
  const std::string input = auth::EncodeBase64Url(header.dump()) + "." +
                            auth::EncodeBase64Url(payload.dump());
  return input + "." + auth::EncodeBase64Url(RawSignature(input));
}

std::string JwtSigner::Sign(const nlohmann::json& payload) const {
  nlohmann::json header = {{"alg", alg()}, {"typ", "JWT"}};
  if (!kid_.empty()) header["kid"] = kid_;
  return SignWithHeader(header, payload);
}

}  // namespace arca::testing
