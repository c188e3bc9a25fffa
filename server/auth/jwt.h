#ifndef ARCA_SERVER_AUTH_JWT_H_
#define ARCA_SERVER_AUTH_JWT_H_

// Verification of compact-serialized JSON Web Tokens (RFC 7519 over RFC 7515
// JWS): RS256 (RSASSA-PKCS1-v1_5 with SHA-256, RSA keys of 2048 bits or
// more) and ES256 (ECDSA P-256 with SHA-256; the signature is the 64-byte
// big-endian r || s of RFC 7518 §3.4, not DER).
//
// Parsing is strict: exactly three base64url parts without padding and
// with zero unused bits, header and payload JSON objects without duplicate
// member names, no "crit" header, "typ" absent or "JWT", and a token of at
// most kMaxJwtBytes. Every refusal is PERMISSION_DENIED with a message
// naming its reason (JwtRefusal); the token itself never appears in one.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace arca::auth {

inline constexpr size_t kMaxJwtBytes = 64 * 1024;

enum class JwtAlgorithm { kRs256, kEs256 };

// Why a token was refused; the prefix of every refusal message, so callers
// and tests can tell the cases apart.
enum class JwtRefusal {
  kMalformed,
  kUnsupportedAlgorithm,
  kNoKey,
  kBadSignature,
  kExpired,
  kNotYetValid,
  kWrongIssuer,
  kWrongAudience,
};
std::string_view JwtRefusalName(JwtRefusal refusal);
// The refusal a status from VerifyJwt carries, if it is one.
std::optional<JwtRefusal> GetJwtRefusal(const absl::Status& status);

// JwtKeySet is the set of public keys a verifier trusts, each bound to the
// one algorithm its type allows (RSA: RS256, P-256: ES256), so a token can
// never choose how its own signature is checked. Immutable after building;
// cheap to copy (keys are shared); thread-safe for concurrent verification.
class JwtKeySet {
 public:
  // One or more PEM blocks, each "PUBLIC KEY" (SubjectPublicKeyInfo) or
  // "CERTIFICATE" (its public key is used). INVALID_ARGUMENT for any other
  // block, an RSA key under 2048 bits, an EC key not on P-256, or no key.
  static absl::StatusOr<JwtKeySet> FromPem(std::string_view pem);
  // A JWKS document ({"keys": [...]}, RFC 7517): RSA keys ("n", "e") and EC
  // P-256 keys ("x", "y"). Keys whose "use" is not "sig" or whose "alg"
  // contradicts their type are refused; keys of other types ("oct", "OKP")
  // are skipped. INVALID_ARGUMENT if no usable key remains.
  static absl::StatusOr<JwtKeySet> FromJwks(std::string_view jwks);

  // Adds every key of `other`.
  void Add(const JwtKeySet& other);
  size_t size() const { return keys_.size(); }

  // OK if one key for `algorithm` (restricted to those carrying `kid`, when
  // non-empty and some key does) verifies `signature` over `signed_data`.
  // Otherwise a kNoKey or kBadSignature refusal.
  absl::Status Verify(JwtAlgorithm algorithm, std::string_view kid,
                      std::string_view signed_data,
                      std::string_view signature) const;

  struct Key;  // defined in jwt.cc

 private:
  std::vector<std::shared_ptr<const Key>> keys_;
};

// Which claims must hold.
struct JwtVerifyOptions {
  // If non-empty, "iss" must equal it.
  std::string issuer;
  // If non-empty, "aud" (a string or an array of strings) must contain it.
  std::string audience;
  // Clock skew tolerated on "exp" and "nbf".
  absl::Duration leeway = absl::Seconds(60);
  // The time to check against (tests pass a fixed one).
  absl::Time now = absl::InfiniteFuture();  // InfiniteFuture: absl::Now()
};

// A token whose signature and claims checked out.
struct VerifiedJwt {
  nlohmann::json header;
  nlohmann::json payload;
  JwtAlgorithm algorithm = JwtAlgorithm::kRs256;
  absl::Time expiry;
};

// Verifies `token` against `keys` and `options`. "exp" is required. If the
// header names a "kid" that some key of the set carries, only those keys are
// tried; otherwise every key of the header's algorithm is.
absl::StatusOr<VerifiedJwt> VerifyJwt(std::string_view token,
                                      const JwtKeySet& keys,
                                      const JwtVerifyOptions& options);

// Strict base64url without padding (RFC 7515 §2); nullopt if `in` has any
// other character, padding, an impossible length or non-zero unused bits.
std::optional<std::string> DecodeBase64Url(std::string_view in);
std::string EncodeBase64Url(std::string_view in);

}  // namespace arca::auth

#endif  // ARCA_SERVER_AUTH_JWT_H_
