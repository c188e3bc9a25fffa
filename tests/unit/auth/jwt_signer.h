#ifndef ARCA_TESTS_UNIT_AUTH_JWT_SIGNER_H_
#define ARCA_TESTS_UNIT_AUTH_JWT_SIGNER_H_

// Test-only JWT issuer: generates an RSA-2048 or P-256 key and signs compact
// JWS tokens with it, so tests never depend on canned tokens.

#include <memory>
#include <string>

#include "nlohmann/json.hpp"

namespace arca::testing {

class JwtSigner {
 public:
  enum class Type { kRsa, kEc };
  // A fresh key of `type`. `kid` is put in headers (when non-empty) and JWKs.
  JwtSigner(Type type, std::string kid = "");
  ~JwtSigner();
  JwtSigner(const JwtSigner&) = delete;
  JwtSigner& operator=(const JwtSigner&) = delete;

  // "RS256" or "ES256".
  std::string alg() const;
  // The public key as a PEM "PUBLIC KEY" block.
  std::string PublicPem() const;
  // The public key as one JWK object.
  nlohmann::json Jwk() const;

  // header.payload.signature with {"alg", "kid"?, "typ": "JWT"} as header.
  std::string Sign(const nlohmann::json& payload) const;
  // Same with a caller-made header (which may lie about "alg").
  std::string SignWithHeader(const nlohmann::json& header,
                             const nlohmann::json& payload) const;
  // The raw signature of `data` (JWS form: r||s for EC).
  std::string RawSignature(const std::string& data) const;

 private:
  Type type_;
  std::string kid_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace arca::testing

#endif  // ARCA_TESTS_UNIT_AUTH_JWT_SIGNER_H_
