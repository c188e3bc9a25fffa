#include "server/auth/jwt.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>

#include "absl/strings/str_split.h"
#include "tests/unit/auth/jwt_signer.h"

namespace arca::auth {
namespace {

using ::arca::testing::JwtSigner;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

nlohmann::json Claims() {
  return {{"iss", "https://k8s.example"},
          {"aud", "arca"},
          {"sub", "system:serviceaccount:ns:sa"},
          {"exp", 1'800'000'600},
          {"nbf", 1'799'999'000},
          {"iat", 1'799'999'000}};
}

JwtVerifyOptions Options() {
  JwtVerifyOptions o;
  o.issuer = "https://k8s.example";
  o.audience = "arca";
  o.now = kNow;
  return o;
}

JwtKeySet PemKeys(const JwtSigner& signer) {
  auto keys = JwtKeySet::FromPem(signer.PublicPem());
  EXPECT_TRUE(keys.ok()) << keys.status();
  return *std::move(keys);
}

// Asserts `result` is the refusal `want` and that its message does not
// reveal the token or any of its parts.
template <typename T>
void ExpectRefused(const absl::StatusOr<T>& result, JwtRefusal want,
                   const std::string& token) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(GetJwtRefusal(result.status()), want) << result.status();
  EXPECT_THAT(std::string(result.status().message()),
              HasSubstr(std::string(JwtRefusalName(want))));
  for (absl::string_view part : absl::StrSplit(token, '.')) {
    if (part.size() >= 8) {
      EXPECT_THAT(std::string(result.status().message()),
                  Not(HasSubstr(std::string(part))));
    }
  }
}

std::string ReplacePart(const std::string& token, int index,
                        const std::string& part) {
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  parts[index] = part;
  return parts[0] + "." + parts[1] + "." + parts[2];
}

TEST(JwtTest, Rs256TokenFromAPemKeyVerifiesAndExposesClaims) {
  JwtSigner signer(JwtSigner::Type::kRsa);
  auto jwt = VerifyJwt(signer.Sign(Claims()), PemKeys(signer), Options());
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  EXPECT_EQ(jwt->algorithm, JwtAlgorithm::kRs256);
  EXPECT_EQ(jwt->payload["sub"], "system:serviceaccount:ns:sa");
  EXPECT_EQ(jwt->expiry, absl::FromUnixSeconds(1'800'000'600));
}

TEST(JwtTest, Es256TokenFromAJwksKeyVerifies) {
  JwtSigner signer(JwtSigner::Type::kEc, "k1");
  nlohmann::json jwks = {{"keys", {signer.Jwk()}}};
  auto keys = JwtKeySet::FromJwks(jwks.dump());
  ASSERT_TRUE(keys.ok()) << keys.status();
  auto jwt = VerifyJwt(signer.Sign(Claims()), *keys, Options());
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  EXPECT_EQ(jwt->algorithm, JwtAlgorithm::kEs256);
}

TEST(JwtTest, RsaJwksKeyVerifies) {
  JwtSigner signer(JwtSigner::Type::kRsa, "r1");
  nlohmann::json jwks = {{"keys", {signer.Jwk()}}};
  auto keys = JwtKeySet::FromJwks(jwks.dump());
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_TRUE(VerifyJwt(signer.Sign(Claims()), *keys, Options()).ok());
}

TEST(JwtTest, TokenSignedByAnotherKeyIsABadSignature) {
  for (auto type : {JwtSigner::Type::kRsa, JwtSigner::Type::kEc}) {
    JwtSigner trusted(type), attacker(type);
    const std::string token = attacker.Sign(Claims());
    ExpectRefused(VerifyJwt(token, PemKeys(trusted), Options()),
                  JwtRefusal::kBadSignature, token);
  }
}

TEST(JwtTest, ChangedPayloadBreaksTheSignature) {
  JwtSigner signer(JwtSigner::Type::kEc);
  const std::string good = signer.Sign(Claims());
  nlohmann::json claims = Claims();
  claims["sub"] = "system:serviceaccount:kube-system:admin";
  const std::string forged =
      ReplacePart(good, 1, EncodeBase64Url(claims.dump()));
  ExpectRefused(VerifyJwt(forged, PemKeys(signer), Options()),
                JwtRefusal::kBadSignature, forged);
}

TEST(JwtTest, AlgorithmNoneAndHmacAreRefused) {
  JwtSigner signer(JwtSigner::Type::kRsa);
  for (const char* alg : {"none", "HS256", "RS512", "PS256", "rs256"}) {
    const std::string token =
        signer.SignWithHeader({{"alg", alg}, {"typ", "JWT"}}, Claims());
    ExpectRefused(VerifyJwt(token, PemKeys(signer), Options()),
                  JwtRefusal::kUnsupportedAlgorithm, token);
  }
  // An unsigned token with an empty signature part.
  const std::string unsigned_token =
      EncodeBase64Url(R"({"alg":"none"})") + "." +
      EncodeBase64Url(Claims().dump()) + ".";
  ExpectRefused(VerifyJwt(unsigned_token, PemKeys(signer), Options()),
                JwtRefusal::kUnsupportedAlgorithm, unsigned_token);
}

TEST(JwtTest, HeaderCannotPickAnAlgorithmTheKeyIsNotFor) {
  // An RSA key is only ever used for RS256: a token claiming ES256 finds no
  // key instead of being checked with the RSA key some other way.
  JwtSigner rsa(JwtSigner::Type::kRsa);
  const std::string token = rsa.SignWithHeader({{"alg", "ES256"}}, Claims());
  ExpectRefused(VerifyJwt(token, PemKeys(rsa), Options()), JwtRefusal::kNoKey,
                token);
}

TEST(JwtTest, ExpiryIsEnforcedWithTheLeeway) {
  JwtSigner signer(JwtSigner::Type::kEc);
  const std::string token = signer.Sign(Claims());
  JwtVerifyOptions o = Options();
  o.now = absl::FromUnixSeconds(1'800'000'600 + 59);  // inside 60 s leeway
  EXPECT_TRUE(VerifyJwt(token, PemKeys(signer), o).ok());
  o.now = absl::FromUnixSeconds(1'800'000'600 + 61);
  ExpectRefused(VerifyJwt(token, PemKeys(signer), o), JwtRefusal::kExpired,
                token);
}

TEST(JwtTest, NotBeforeIsEnforcedWithTheLeeway) {
  JwtSigner signer(JwtSigner::Type::kEc);
  nlohmann::json claims = Claims();
  claims["nbf"] = 1'800'000'100;
  const std::string token = signer.Sign(claims);
  ExpectRefused(VerifyJwt(token, PemKeys(signer), Options()),
                JwtRefusal::kNotYetValid, token);
  claims["nbf"] = 1'800'000'030;  // 30 s ahead: clock skew, accepted
  EXPECT_TRUE(VerifyJwt(signer.Sign(claims), PemKeys(signer), Options()).ok());
}

TEST(JwtTest, MissingExpiryIsRefused) {
  JwtSigner signer(JwtSigner::Type::kEc);
  nlohmann::json claims = Claims();
  claims.erase("exp");
  const std::string token = signer.Sign(claims);
  ExpectRefused(VerifyJwt(token, PemKeys(signer), Options()),
                JwtRefusal::kMalformed, token);
}

TEST(JwtTest, WrongIssuerIsRefused) {
  JwtSigner signer(JwtSigner::Type::kEc);
  nlohmann::json claims = Claims();
  claims["iss"] = "https://other.example";
  const std::string token = signer.Sign(claims);
  ExpectRefused(VerifyJwt(token, PemKeys(signer), Options()),
                JwtRefusal::kWrongIssuer, token);
}

TEST(JwtTest, AudienceMustIncludeTheConfiguredOne) {
  JwtSigner signer(JwtSigner::Type::kEc);
  nlohmann::json claims = Claims();
  claims["aud"] = {"vault", "arca"};
  EXPECT_TRUE(VerifyJwt(signer.Sign(claims), PemKeys(signer), Options()).ok());
  for (nlohmann::json aud :
       {nlohmann::json("other"), nlohmann::json::array({"a", "b"}),
        nlohmann::json(7)}) {
    claims["aud"] = aud;
    const std::string token = signer.Sign(claims);
    ExpectRefused(VerifyJwt(token, PemKeys(signer), Options()),
                  JwtRefusal::kWrongAudience, token);
  }
  claims.erase("aud");
  const std::string token = signer.Sign(claims);
  ExpectRefused(VerifyJwt(token, PemKeys(signer), Options()),
                JwtRefusal::kWrongAudience, token);
}

TEST(JwtTest, DuplicateClaimsAreRefusedEvenWhenSigned) {
  JwtSigner signer(JwtSigner::Type::kEc);
  const std::string header = EncodeBase64Url(R"({"alg":"ES256"})");
  const std::string payload = EncodeBase64Url(
      R"({"iss":"https://k8s.example","aud":"arca","exp":1,"exp":1800000600})");
  const std::string input = header + "." + payload;
  const std::string token =
      input + "." + EncodeBase64Url(signer.RawSignature(input));
  ExpectRefused(VerifyJwt(token, PemKeys(signer), Options()),
                JwtRefusal::kMalformed, token);
}

TEST(JwtTest, NonCanonicalEncodingsAreRefused) {
  JwtSigner signer(JwtSigner::Type::kEc);
  const std::string token = signer.Sign(Claims());
  const auto keys = PemKeys(signer);
  for (const std::string& bad :
       {token + "=", token + ".x", std::string("a.b"), std::string(""),
        ReplacePart(token, 0, "e30="),           // padding
        ReplacePart(token, 0, "e30+"),           // '+' is not base64url
        ReplacePart(token, 0, "!!"),
        ReplacePart(token, 1, EncodeBase64Url("[1,2]")),  // not an object
        ReplacePart(token, 1, EncodeBase64Url("{\"exp\":"))}) {
    auto r = VerifyJwt(bad, keys, Options());
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(GetJwtRefusal(r.status()), JwtRefusal::kMalformed) << bad;
  }
  // "AB" would decode to the same byte as "AA" if unused bits were ignored.
  EXPECT_FALSE(DecodeBase64Url("AB").has_value());
  EXPECT_TRUE(DecodeBase64Url("AA").has_value());
  ExpectRefused(VerifyJwt(std::string(kMaxJwtBytes + 1, 'a'), keys, Options()),
                JwtRefusal::kMalformed, "");
}

TEST(JwtTest, CriticalHeaderAndForeignTypAreRefused) {
  JwtSigner signer(JwtSigner::Type::kEc);
  for (nlohmann::json header :
       {nlohmann::json{{"alg", "ES256"}, {"crit", {"exp"}}},
        nlohmann::json{{"alg", "ES256"}, {"typ", "at+jwt"}}}) {
    const std::string token = signer.SignWithHeader(header, Claims());
    ExpectRefused(VerifyJwt(token, PemKeys(signer), Options()),
                  JwtRefusal::kMalformed, token);
  }
}

TEST(JwtTest, Es256SignatureOfWrongLengthIsABadSignature) {
  JwtSigner signer(JwtSigner::Type::kEc);
  const std::string token = signer.Sign(Claims());
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  const std::string der_like = ReplacePart(
      token, 2, EncodeBase64Url(*DecodeBase64Url(parts[2]) + "\x01"));
  ExpectRefused(VerifyJwt(der_like, PemKeys(signer), Options()),
                JwtRefusal::kBadSignature, der_like);
}

TEST(JwtTest, KidSelectsTheKeyWhenTheSetKnowsIt) {
  JwtSigner a(JwtSigner::Type::kRsa, "a"), b(JwtSigner::Type::kRsa, "b");
  nlohmann::json jwks = {{"keys", {a.Jwk(), b.Jwk()}}};
  auto keys = JwtKeySet::FromJwks(jwks.dump());
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->size(), 2u);
  EXPECT_TRUE(VerifyJwt(b.Sign(Claims()), *keys, Options()).ok());
  // Signed by b but naming a: only a is tried.
  const std::string token =
      b.SignWithHeader({{"alg", "RS256"}, {"kid", "a"}}, Claims());
  ExpectRefused(VerifyJwt(token, *keys, Options()), JwtRefusal::kBadSignature,
                token);
}

TEST(JwtTest, KeySetsCombinePemAndJwks) {
  JwtSigner rsa(JwtSigner::Type::kRsa), ec(JwtSigner::Type::kEc, "e");
  JwtKeySet keys = PemKeys(rsa);
  auto jwks = JwtKeySet::FromJwks(nlohmann::json{{"keys", {ec.Jwk()}}}.dump());
  ASSERT_TRUE(jwks.ok());
  keys.Add(*jwks);
  EXPECT_TRUE(VerifyJwt(rsa.Sign(Claims()), keys, Options()).ok());
  EXPECT_TRUE(VerifyJwt(ec.Sign(Claims()), keys, Options()).ok());
}

TEST(JwtKeySetTest, PemRefusesPrivateKeysShortRsaAndGarbage) {
  EVP_PKEY* small = EVP_RSA_gen(1024);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, small);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  const std::string small_pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, small, nullptr, nullptr, 0, nullptr, nullptr);
  len = BIO_get_mem_data(bio, &data);
  const std::string private_pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(small);

  auto r = JwtKeySet::FromPem(small_pem);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("2048"));
  r = JwtKeySet::FromPem(private_pem);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("PRIVATE KEY"));
  EXPECT_FALSE(JwtKeySet::FromPem("not pem").ok());
  EXPECT_FALSE(JwtKeySet::FromPem("").ok());
}

TEST(JwtKeySetTest, JwksRefusesOffCurvePointsAndMismatchedAlg) {
  JwtSigner ec(JwtSigner::Type::kEc, "e");
  nlohmann::json jwk = ec.Jwk();
  jwk["y"] = jwk["x"];  // (x, x) is not on the curve
  EXPECT_FALSE(JwtKeySet::FromJwks(nlohmann::json{{"keys", {jwk}}}.dump()).ok());
  jwk = ec.Jwk();
  jwk["alg"] = "RS256";
  EXPECT_FALSE(JwtKeySet::FromJwks(nlohmann::json{{"keys", {jwk}}}.dump()).ok());
  jwk = ec.Jwk();
  jwk["use"] = "enc";
  EXPECT_FALSE(JwtKeySet::FromJwks(nlohmann::json{{"keys", {jwk}}}.dump()).ok());
  EXPECT_FALSE(JwtKeySet::FromJwks(R"({"keys": []})").ok());
  EXPECT_FALSE(JwtKeySet::FromJwks(R"({"keys": [{"kty": "oct", "k": "AA"}]})")
                   .ok());
  EXPECT_FALSE(JwtKeySet::FromJwks("[]").ok());
}

TEST(JwtKeySetTest, RefusalsLeaveNoOpenSslErrorsQueued) {
  ERR_clear_error();
  JwtSigner trusted(JwtSigner::Type::kEc), attacker(JwtSigner::Type::kEc);
  EXPECT_FALSE(
      VerifyJwt(attacker.Sign(Claims()), PemKeys(trusted), Options()).ok());
  EXPECT_EQ(ERR_peek_error(), 0u);
  EXPECT_TRUE(JwtKeySet::FromPem(trusted.PublicPem() + "trailing text").ok());
  EXPECT_EQ(ERR_peek_error(), 0u);
  nlohmann::json jwk = trusted.Jwk();
  jwk["y"] = jwk["x"];
  EXPECT_FALSE(JwtKeySet::FromJwks(nlohmann::json{{"keys", {jwk}}}.dump()).ok());
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(Base64UrlTest, RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(DecodeBase64Url(EncodeBase64Url(bytes)), bytes);
    bytes.push_back(static_cast<char>(i * 37 + 200));
  }
  EXPECT_EQ(EncodeBase64Url("\xfb\xff"), "-_8");
}

}  // namespace
}  // namespace arca::auth
