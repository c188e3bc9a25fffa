#include "server/auth/jwt.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cmath>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace arca::auth {

struct JwtKeySet::Key {
  std::string kid;
  JwtAlgorithm algorithm;
  EVP_PKEY* pkey;
  ~Key() { EVP_PKEY_free(pkey); }
};

namespace {

constexpr char kRefusalPayload[] = "type.arca/auth.JwtRefusal";

// Our headers speak std::string_view; this abseil build has its own.
absl::string_view Absl(std::string_view s) { return {s.data(), s.size()}; }

absl::Status Refuse(JwtRefusal refusal, std::string_view detail) {
  absl::Status status = absl::PermissionDeniedError(
      absl::StrCat(Absl(JwtRefusalName(refusal)), ": ", Absl(detail)));
  status.SetPayload(kRefusalPayload, absl::Cord(Absl(JwtRefusalName(refusal))));
  return status;
}

// --- OpenSSL helpers -------------------------------------------------------

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using MdCtxPtr =
    std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using PkeyCtxPtr =
    std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using ParamBldPtr =
    std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using EcdsaSigPtr =
    std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;

// The algorithm a key may be used with, or INVALID_ARGUMENT for key types
// and sizes we do not accept.
absl::StatusOr<JwtAlgorithm> AlgorithmForKey(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    if (EVP_PKEY_get_bits(pkey) < 2048) {
      return absl::InvalidArgumentError("RSA key shorter than 2048 bits");
    }
    return JwtAlgorithm::kRs256;
  }
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char group[64] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                       sizeof(group), &len) != 1 ||
        std::string_view(group, len) != "prime256v1") {
      return absl::InvalidArgumentError("EC key is not on P-256");
    }
    return JwtAlgorithm::kEs256;
  }
  return absl::InvalidArgumentError("key is neither RSA nor EC P-256");
}

absl::StatusOr<std::shared_ptr<const JwtKeySet::Key>> MakeKey(
    PkeyPtr pkey, std::string kid) {
  absl::StatusOr<JwtAlgorithm> algorithm = AlgorithmForKey(pkey.get());
  if (!algorithm.ok()) return algorithm.status();
  auto key = std::make_shared<JwtKeySet::Key>();
  key->kid = std::move(kid);
  key->algorithm = *algorithm;
  key->pkey = pkey.release();
  return key;
}

BnPtr BignumFrom(std::string_view bytes) {
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                         static_cast<int>(bytes.size()), nullptr));
}

// Builds a public key from OSSL_PARAMs of `type` ("RSA" or "EC").
PkeyPtr FromData(const char* type, OSSL_PARAM_BLD* bld) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (params == nullptr || ctx == nullptr ||
      EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) !=
          1) {
    ERR_clear_error();
    return nullptr;
  }
  PkeyPtr pkey(raw);
  // fromdata does not check that an EC point is on the curve.
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return nullptr;
  }
  return pkey;
}

// The base64url member `name` of a JWK, decoded.
absl::StatusOr<std::string> JwkBytes(const nlohmann::json& jwk,
                                     const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("JWK member \"", name, "\" missing or not a string"));
  }
  std::optional<std::string> bytes =
      DecodeBase64Url(it->get_ref<const std::string&>());
  if (!bytes.has_value() || bytes->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("JWK member \"", name, "\" is not base64url"));
  }
  return *std::move(bytes);
}

absl::StatusOr<PkeyPtr> RsaFromJwk(const nlohmann::json& jwk) {
  absl::StatusOr<std::string> n = JwkBytes(jwk, "n");
  if (!n.ok()) return n.status();
  absl::StatusOr<std::string> e = JwkBytes(jwk, "e");
  if (!e.ok()) return e.status();
  BnPtr bn_n = BignumFrom(*n), bn_e = BignumFrom(*e);
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bn_n == nullptr || bn_e == nullptr || bld == nullptr ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) !=
          1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) !=
          1) {
    return absl::InvalidArgumentError("bad RSA JWK");
  }
  PkeyPtr pkey = FromData("RSA", bld.get());
  if (pkey == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("bad RSA JWK");
  }
  return pkey;
}

absl::StatusOr<PkeyPtr> EcFromJwk(const nlohmann::json& jwk) {
  auto crv = jwk.find("crv");
  if (crv == jwk.end() || !crv->is_string() || *crv != "P-256") {
    return absl::InvalidArgumentError("EC JWK is not on curve P-256");
  }
  absl::StatusOr<std::string> x = JwkBytes(jwk, "x");
  if (!x.ok()) return x.status();
  absl::StatusOr<std::string> y = JwkBytes(jwk, "y");
  if (!y.ok()) return y.status();
  if (x->size() != 32 || y->size() != 32) {
    return absl::InvalidArgumentError("EC JWK coordinates are not 32 bytes");
  }
  std::string point = "\x04" + *x + *y;
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                      "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                       point.data(), point.size()) != 1) {
    return absl::InvalidArgumentError("bad EC JWK");
  }
  PkeyPtr pkey = FromData("EC", bld.get());
  if (pkey == nullptr) {
    return absl::InvalidArgumentError("EC JWK point is not on the curve");
  }
  return pkey;
}

// ES256 signatures are r || s (32 bytes each); OpenSSL verifies DER.
std::optional<std::string> EcdsaRawToDer(std::string_view raw) {
  if (raw.size() != 64) return std::nullopt;
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32,
                        nullptr);
  BIGNUM* s = BN_bin2bn(
      reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr ||
      ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return std::nullopt;
  std::string der(static_cast<size_t>(len), '\0');
  unsigned char* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != len) return std::nullopt;
  return der;
}

bool VerifyWithKey(const JwtKeySet::Key& key, std::string_view signed_data,
                   std::string_view signature) {
  std::string der;
  if (key.algorithm == JwtAlgorithm::kEs256) {
    std::optional<std::string> converted = EcdsaRawToDer(signature);
    if (!converted.has_value()) return false;
    der = *std::move(converted);
    signature = der;
  }
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                           key.pkey) != 1) {
    return false;
  }
  const bool ok =
      EVP_DigestVerify(
          ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
          signature.size(),
          reinterpret_cast<const unsigned char*>(signed_data.data()),
          signed_data.size()) == 1;
  // A failed verification leaves errors queued on this thread; they belong
  // to no later OpenSSL call.
  if (!ok) ERR_clear_error();
  return ok;
}

// --- JSON ------------------------------------------------------------------

// Parses a JSON object, refusing duplicate member names at any depth (two
// "exp" or "aud" members would let the signer and us read different
// claims).
std::optional<nlohmann::json> ParseObject(std::string_view text) {
  std::vector<std::set<std::string>> seen;
  bool duplicate = false;
  auto callback = [&](int, nlohmann::json::parse_event_t event,
                      nlohmann::json& parsed) {
    switch (event) {
      case nlohmann::json::parse_event_t::object_start:
        seen.emplace_back();
        break;
      case nlohmann::json::parse_event_t::object_end:
        if (!seen.empty()) seen.pop_back();
        break;
      case nlohmann::json::parse_event_t::key:
        if (!seen.empty() && parsed.is_string() &&
            !seen.back().insert(parsed.get<std::string>()).second) {
          duplicate = true;
        }
        break;
      default:
        break;
    }
    return true;
  };
  nlohmann::json json = nlohmann::json::parse(text.begin(), text.end(),
                                              callback,
                                              /*allow_exceptions=*/false);
  if (duplicate || json.is_discarded() || !json.is_object()) {
    return std::nullopt;
  }
  return json;
}

// A NumericDate claim, if present. Refuses non-numbers and absurd values.
absl::StatusOr<std::optional<absl::Time>> DateClaim(
    const nlohmann::json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end()) return std::nullopt;
  if (!it->is_number()) {
    return Refuse(JwtRefusal::kMalformed,
                  absl::StrCat("claim \"", name, "\" is not a number"));
  }
  const double seconds = it->get<double>();
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e11) {
    return Refuse(JwtRefusal::kMalformed,
                  absl::StrCat("claim \"", name, "\" is out of range"));
  }
  return absl::FromUnixSeconds(static_cast<int64_t>(seconds));
}

int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

}  // namespace

std::string_view JwtRefusalName(JwtRefusal refusal) {
  switch (refusal) {
    case JwtRefusal::kMalformed:
      return "jwt malformed";
    case JwtRefusal::kUnsupportedAlgorithm:
      return "jwt algorithm not supported";
    case JwtRefusal::kNoKey:
      return "no configured key for this jwt";
    case JwtRefusal::kBadSignature:
      return "jwt signature invalid";
    case JwtRefusal::kExpired:
      return "jwt expired";
    case JwtRefusal::kNotYetValid:
      return "jwt not yet valid";
    case JwtRefusal::kWrongIssuer:
      return "jwt issuer mismatch";
    case JwtRefusal::kWrongAudience:
      return "jwt audience mismatch";
  }
  return "jwt refused";
}

std::optional<JwtRefusal> GetJwtRefusal(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kRefusalPayload);
  if (!payload.has_value()) return std::nullopt;
  for (JwtRefusal r :
       {JwtRefusal::kMalformed, JwtRefusal::kUnsupportedAlgorithm,
        JwtRefusal::kNoKey, JwtRefusal::kBadSignature, JwtRefusal::kExpired,
        JwtRefusal::kNotYetValid, JwtRefusal::kWrongIssuer,
        JwtRefusal::kWrongAudience}) {
    if (*payload == Absl(JwtRefusalName(r))) return r;
  }
  return std::nullopt;
}

std::optional<std::string> DecodeBase64Url(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = Base64UrlValue(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero, so every byte string has one encoding.
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string EncodeBase64Url(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

absl::StatusOr<JwtKeySet> JwtKeySet::FromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  JwtKeySet set;
  for (int block = 1;; ++block) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) break;
    const std::string block_name = name;
    const unsigned char* p = data;
    PkeyPtr pkey;
    if (block_name == "PUBLIC KEY") {
      pkey.reset(d2i_PUBKEY(nullptr, &p, len));
    } else if (block_name == "CERTIFICATE") {
      X509Ptr cert(d2i_X509(nullptr, &p, len));
      if (cert != nullptr) pkey.reset(X509_get_pubkey(cert.get()));
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    if (block_name != "PUBLIC KEY" && block_name != "CERTIFICATE") {
      return absl::InvalidArgumentError(absl::StrCat(
          "PEM block ", block, " is a \"", block_name,
          "\"; only PUBLIC KEY and CERTIFICATE blocks are accepted"));
    }
    if (pkey == nullptr) {
      ERR_clear_error();
      return absl::InvalidArgumentError(
          absl::StrCat("PEM block ", block, " does not parse"));
    }
    absl::StatusOr<std::shared_ptr<const Key>> key = MakeKey(std::move(pkey), "");
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("PEM block ", block, ": ", key.status().message()));
    }
    set.keys_.push_back(*std::move(key));
  }
  // The loop ends on a "no start line" error; do not leave it queued.
  ERR_clear_error();
  if (set.keys_.empty()) {
    return absl::InvalidArgumentError("no PEM public key found");
  }
  return set;
}

absl::StatusOr<JwtKeySet> JwtKeySet::FromJwks(std::string_view jwks) {
  std::optional<nlohmann::json> doc = ParseObject(jwks);
  if (!doc.has_value()) {
    return absl::InvalidArgumentError("JWKS is not a JSON object");
  }
  auto keys = doc->find("keys");
  if (keys == doc->end() || !keys->is_array()) {
    return absl::InvalidArgumentError("JWKS has no \"keys\" array");
  }
  JwtKeySet set;
  int index = 0;
  for (const nlohmann::json& jwk : *keys) {
    const std::string where = absl::StrCat("JWKS key ", index++);
    if (!jwk.is_object()) {
      return absl::InvalidArgumentError(where + " is not an object");
    }
    auto kty = jwk.find("kty");
    if (kty == jwk.end() || !kty->is_string()) {
      return absl::InvalidArgumentError(where + " has no \"kty\"");
    }
    auto use = jwk.find("use");
    if (use != jwk.end() && (!use->is_string() || *use != "sig")) {
      return absl::InvalidArgumentError(where + " is not a signing key");
    }
    std::string kid;
    if (auto it = jwk.find("kid"); it != jwk.end()) {
      if (!it->is_string()) {
        return absl::InvalidArgumentError(where + " has a non-string kid");
      }
      kid = it->get<std::string>();
    }
    absl::StatusOr<PkeyPtr> pkey = absl::InvalidArgumentError("");
    std::string_view expected_alg;
    if (*kty == "RSA") {
      pkey = RsaFromJwk(jwk);
      expected_alg = "RS256";
    } else if (*kty == "EC") {
      pkey = EcFromJwk(jwk);
      expected_alg = "ES256";
    } else {
      continue;  // a key type no supported algorithm uses
    }
    if (!pkey.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": ", pkey.status().message()));
    }
    if (auto alg = jwk.find("alg");
        alg != jwk.end() && (!alg->is_string() || *alg != expected_alg)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": \"alg\" must be ", Absl(expected_alg)));
    }
    absl::StatusOr<std::shared_ptr<const Key>> key =
        MakeKey(*std::move(pkey), std::move(kid));
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": ", key.status().message()));
    }
    set.keys_.push_back(*std::move(key));
  }
  if (set.keys_.empty()) {
    return absl::InvalidArgumentError("JWKS holds no RSA or EC P-256 key");
  }
  return set;
}

void JwtKeySet::Add(const JwtKeySet& other) {
  keys_.insert(keys_.end(), other.keys_.begin(), other.keys_.end());
}

absl::Status JwtKeySet::Verify(JwtAlgorithm algorithm, std::string_view kid,
                               std::string_view signed_data,
                               std::string_view signature) const {
  bool kid_known = false;
  if (!kid.empty()) {
    for (const auto& key : keys_) kid_known |= key->kid == kid;
  }
  bool tried = false;
  for (const auto& key : keys_) {
    if (key->algorithm != algorithm) continue;
    if (kid_known && key->kid != kid) continue;
    tried = true;
    if (VerifyWithKey(*key, signed_data, signature)) return absl::OkStatus();
  }
  if (!tried) {
    return Refuse(JwtRefusal::kNoKey,
                  algorithm == JwtAlgorithm::kRs256
                      ? "no RSA key is configured"
                      : "no EC P-256 key is configured");
  }
  return Refuse(JwtRefusal::kBadSignature,
                "the signature does not verify with any configured key");
}

absl::StatusOr<VerifiedJwt> VerifyJwt(std::string_view token,
                                      const JwtKeySet& keys,
                                      const JwtVerifyOptions& options) {
  if (token.size() > kMaxJwtBytes) {
    return Refuse(JwtRefusal::kMalformed, "token is too long");
  }
  const size_t dot1 = token.find('.');
  const size_t dot2 =
      dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos ||
      token.find('.', dot2 + 1) != std::string_view::npos) {
    return Refuse(JwtRefusal::kMalformed, "not three dot-separated parts");
  }
  std::optional<std::string> header_json =
      DecodeBase64Url(token.substr(0, dot1));
  std::optional<std::string> payload_json =
      DecodeBase64Url(token.substr(dot1 + 1, dot2 - dot1 - 1));
  std::optional<std::string> signature = DecodeBase64Url(token.substr(dot2 + 1));
  if (!header_json || !payload_json || !signature) {
    return Refuse(JwtRefusal::kMalformed, "a part is not unpadded base64url");
  }
  std::optional<nlohmann::json> header = ParseObject(*header_json);
  if (!header.has_value()) {
    return Refuse(JwtRefusal::kMalformed,
                  "header is not a JSON object with unique members");
  }
  std::optional<nlohmann::json> payload = ParseObject(*payload_json);
  if (!payload.has_value()) {
    return Refuse(JwtRefusal::kMalformed,
                  "payload is not a JSON object with unique members");
  }

  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string()) {
    return Refuse(JwtRefusal::kMalformed, "header has no \"alg\"");
  }
  VerifiedJwt out;
  if (*alg == "RS256") {
    out.algorithm = JwtAlgorithm::kRs256;
  } else if (*alg == "ES256") {
    out.algorithm = JwtAlgorithm::kEs256;
  } else {
    return Refuse(JwtRefusal::kUnsupportedAlgorithm,
                  "only RS256 and ES256 are accepted");
  }
  if (header->contains("crit")) {
    return Refuse(JwtRefusal::kMalformed,
                  "header has critical extensions (\"crit\")");
  }
  if (auto typ = header->find("typ"); typ != header->end()) {
    if (!typ->is_string() ||
        !absl::EqualsIgnoreCase(Absl(typ->get_ref<const std::string&>()), "JWT")) {
      return Refuse(JwtRefusal::kMalformed, "header \"typ\" is not JWT");
    }
  }
  std::string kid;
  if (auto it = header->find("kid"); it != header->end()) {
    if (!it->is_string()) {
      return Refuse(JwtRefusal::kMalformed, "header \"kid\" is not a string");
    }
    kid = it->get<std::string>();
  }
  // The signature first: no claim of an unauthenticated token is looked at.
  if (absl::Status s = keys.Verify(out.algorithm, kid, token.substr(0, dot2),
                                   *signature);
      !s.ok()) {
    return s;
  }

  const absl::Time now =
      options.now == absl::InfiniteFuture() ? absl::Now() : options.now;
  absl::StatusOr<std::optional<absl::Time>> exp = DateClaim(*payload, "exp");
  if (!exp.ok()) return exp.status();
  if (!exp->has_value()) {
    return Refuse(JwtRefusal::kMalformed, "claim \"exp\" is missing");
  }
  if (now > **exp + options.leeway) {
    return Refuse(JwtRefusal::kExpired, "the token's \"exp\" has passed");
  }
  absl::StatusOr<std::optional<absl::Time>> nbf = DateClaim(*payload, "nbf");
  if (!nbf.ok()) return nbf.status();
  if (nbf->has_value() && now + options.leeway < **nbf) {
    return Refuse(JwtRefusal::kNotYetValid, "the token's \"nbf\" is ahead");
  }
  if (!options.issuer.empty()) {
    auto iss = payload->find("iss");
    if (iss == payload->end() || !iss->is_string() ||
        *iss != options.issuer) {
      return Refuse(JwtRefusal::kWrongIssuer,
                    "\"iss\" is not the configured issuer");
    }
  }
  if (!options.audience.empty()) {
    bool found = false;
    auto aud = payload->find("aud");
    if (aud != payload->end() && aud->is_string()) {
      found = *aud == options.audience;
    } else if (aud != payload->end() && aud->is_array()) {
      for (const auto& a : *aud) found |= a.is_string() && a == options.audience;
    }
    if (!found) {
      return Refuse(JwtRefusal::kWrongAudience,
                    "\"aud\" does not include the configured audience");
    }
  }
  out.expiry = **exp;
  out.header = *std::move(header);
  out.payload = *std::move(payload);
  return out;
}

}  // namespace arca::auth
