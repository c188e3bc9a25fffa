#include "server/auth/kubernetes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "kms/random.h"
#include "server/storage/in_memory_backend.h"
#include "tests/unit/auth/jwt_signer.h"

namespace arca::auth {
namespace {

using ::arca::testing::JwtSigner;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

constexpr int64_t kNow = 1'800'000'000;
constexpr char kIssuer[] = "https://kubernetes.default.svc.cluster.local";

nlohmann::json ProjectedClaims(const std::string& ns, const std::string& sa) {
  return {{"iss", kIssuer},
          {"aud", {"arca"}},
          {"sub", "system:serviceaccount:" + ns + ":" + sa},
          {"exp", kNow + 600},
          {"iat", kNow - 10},
          {"nbf", kNow - 10},
          {"kubernetes.io",
           {{"namespace", ns},
            {"pod", {{"name", "web-0"}, {"uid", "p-uid"}}},
            {"serviceaccount", {{"name", sa}, {"uid", "sa-uid"}}}}}};
}

class KubernetesAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kms::SecretBytes key = kms::RandomSecret(32);
    ASSERT_TRUE(barrier_.Initialize(key).ok());
    ASSERT_TRUE(barrier_.Unseal(key).ok());
    KubernetesConfig config;
    config.set_issuer(kIssuer);
    config.set_audience("arca");
    config.add_pem_keys(rsa_.PublicPem());
    config.set_jwks(nlohmann::json{{"keys", {ec_.Jwk()}}}.dump());
    ASSERT_TRUE(auth_.WriteConfig(config).ok());
    KubernetesRole role;
    role.add_bound_service_account_names("web");
    role.add_bound_service_account_namespaces("shop");
    role.add_bound_service_account_namespaces("shop-staging");
    role.add_policies("shop-read");
    role.add_policies("shop-read");
    role.add_policies("metrics");
    role.set_token_ttl_seconds(3600);
    role.set_token_max_ttl_seconds(7200);
    ASSERT_TRUE(auth_.WriteRole("web", role).ok());
  }

  // Asserts a PERMISSION_DENIED whose message has `reason` and not the JWT.
  void ExpectDenied(const std::string& role, const std::string& jwt,
                    const std::string& reason) {
    auto grant = auth_.Login(role, jwt);
    ASSERT_FALSE(grant.ok());
    EXPECT_EQ(grant.status().code(), absl::StatusCode::kPermissionDenied)
        << grant.status();
    EXPECT_THAT(std::string(grant.status().message()), HasSubstr(reason));
    EXPECT_THAT(std::string(grant.status().message()),
                Not(HasSubstr(jwt.substr(0, 20))));
  }

  storage::InMemoryBackend backend_;
  barrier::Barrier barrier_{&backend_};
  JwtSigner rsa_{JwtSigner::Type::kRsa};
  JwtSigner ec_{JwtSigner::Type::kEc, "ec-1"};
  KubernetesAuth auth_{barrier::View(&barrier_, "auth/kubernetes/"),
                       [] { return absl::FromUnixSeconds(kNow); }};
};

TEST_F(KubernetesAuthTest, ProjectedTokenSignedWithRs256LogsIn) {
  auto grant = auth_.Login("web", rsa_.Sign(ProjectedClaims("shop", "web")));
  ASSERT_TRUE(grant.ok()) << grant.status();
  EXPECT_THAT(grant->policies, ElementsAre("metrics", "shop-read"));
  EXPECT_EQ(grant->ttl, absl::Hours(1));
  EXPECT_EQ(grant->max_ttl, absl::Hours(2));
  EXPECT_EQ(grant->display_name, "kubernetes-shop-web");
  EXPECT_THAT(grant->metadata,
              ::testing::IsSupersetOf(
                  {Pair("role", "web"), Pair("service_account_namespace", "shop"),
                   Pair("service_account_name", "web"),
                   Pair("service_account_uid", "sa-uid"),
                   Pair("pod_name", "web-0")}));
}

TEST_F(KubernetesAuthTest, Es256TokenVerifiedWithTheJwksKeyLogsIn) {
  EXPECT_TRUE(
      auth_.Login("web", ec_.Sign(ProjectedClaims("shop-staging", "web"))).ok());
}

TEST_F(KubernetesAuthTest, LegacySecretTokenClaimsAreUnderstood) {
  nlohmann::json claims = {
      {"iss", kIssuer},
      {"aud", "arca"},
      {"sub", "system:serviceaccount:shop:web"},
      {"exp", kNow + 60},
      {"kubernetes.io/serviceaccount/namespace", "shop"},
      {"kubernetes.io/serviceaccount/service-account.name", "web"},
      {"kubernetes.io/serviceaccount/service-account.uid", "u"}};
  EXPECT_TRUE(auth_.Login("web", rsa_.Sign(claims)).ok());
}

TEST_F(KubernetesAuthTest, EachRefusalNamesItsReason) {
  JwtSigner stranger(JwtSigner::Type::kRsa);
  ExpectDenied("web", stranger.Sign(ProjectedClaims("shop", "web")),
               "jwt signature invalid");

  nlohmann::json claims = ProjectedClaims("shop", "web");
  claims["aud"] = {"vault"};
  ExpectDenied("web", rsa_.Sign(claims), "jwt audience mismatch");

  claims = ProjectedClaims("shop", "web");
  claims["exp"] = kNow - 3600;
  ExpectDenied("web", rsa_.Sign(claims), "jwt expired");

  claims = ProjectedClaims("shop", "web");
  claims["iss"] = "https://evil.example";
  ExpectDenied("web", rsa_.Sign(claims), "jwt issuer mismatch");

  ExpectDenied("web", rsa_.Sign(ProjectedClaims("kube-system", "web")),
               "namespace \"kube-system\" is not bound to role \"web\"");
  ExpectDenied("web", rsa_.Sign(ProjectedClaims("shop", "admin")),
               "service account \"admin\" is not bound to role \"web\"");
  ExpectDenied("nope", rsa_.Sign(ProjectedClaims("shop", "web")),
               "no role named nope");
  ExpectDenied("web", "not-a-jwt-at-all-really", "jwt malformed");
}

TEST_F(KubernetesAuthTest, SubjectMustAgreeWithTheServiceAccountClaims) {
  nlohmann::json claims = ProjectedClaims("shop", "web");
  claims["sub"] = "system:serviceaccount:kube-system:admin";
  ExpectDenied("web", rsa_.Sign(claims), "subject does not match");
  claims = ProjectedClaims("shop", "web");
  claims.erase("kubernetes.io");
  ExpectDenied("web", rsa_.Sign(claims), "no service-account claims");
}

TEST_F(KubernetesAuthTest, WildcardBindsAnyNamespaceButNeverBothLists) {
  KubernetesRole role;
  role.add_bound_service_account_names("ci");
  role.add_bound_service_account_namespaces("*");
  ASSERT_TRUE(auth_.WriteRole("ci", role).ok());
  EXPECT_TRUE(auth_.Login("ci", rsa_.Sign(ProjectedClaims("any-ns", "ci"))).ok());
  ExpectDenied("ci", rsa_.Sign(ProjectedClaims("any-ns", "web")),
               "service account \"web\" is not bound");

  role.set_bound_service_account_names(0, "*");
  EXPECT_EQ(auth_.WriteRole("ci", role).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(KubernetesAuthTest, RotatedKeysTakeEffectOnConfigWrite) {
  JwtSigner next(JwtSigner::Type::kEc);
  const std::string token = next.Sign(ProjectedClaims("shop", "web"));
  ExpectDenied("web", token, "jwt signature invalid");
  KubernetesConfig config = *auth_.ReadConfig();
  config.add_pem_keys(next.PublicPem());
  ASSERT_TRUE(auth_.WriteConfig(config).ok());
  EXPECT_TRUE(auth_.Login("web", token).ok());
}

TEST_F(KubernetesAuthTest, InvalidConfigsAndRolesAreRefused) {
  KubernetesConfig config = *auth_.ReadConfig();
  KubernetesConfig no_audience = config;
  no_audience.clear_audience();
  EXPECT_EQ(auth_.WriteConfig(no_audience).code(),
            absl::StatusCode::kInvalidArgument);
  KubernetesConfig bad_pem = config;
  bad_pem.add_pem_keys("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
  EXPECT_EQ(auth_.WriteConfig(bad_pem).code(),
            absl::StatusCode::kInvalidArgument);
  KubernetesConfig no_keys = config;
  no_keys.clear_pem_keys();
  no_keys.clear_jwks();
  EXPECT_EQ(auth_.WriteConfig(no_keys).code(),
            absl::StatusCode::kInvalidArgument);

  KubernetesRole role;
  role.add_bound_service_account_names("x");
  EXPECT_EQ(auth_.WriteRole("r", role).code(),
            absl::StatusCode::kInvalidArgument)
      << "no namespaces bound";
  role.add_bound_service_account_namespaces("ns");
  EXPECT_EQ(auth_.WriteRole("Bad/Name", role).code(),
            absl::StatusCode::kInvalidArgument);
  role.add_policies("root");
  EXPECT_EQ(auth_.WriteRole("r", role).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(KubernetesAuthTest, RolesAreListedReadAndDeleted) {
  EXPECT_THAT(*auth_.ListRoles(), ElementsAre("web"));
  EXPECT_EQ(auth_.ReadRole("web")->policies_size(), 3);
  ASSERT_TRUE(auth_.DeleteRole("web").ok());
  EXPECT_EQ(auth_.DeleteRole("web").code(), absl::StatusCode::kNotFound);
  ExpectDenied("web", rsa_.Sign(ProjectedClaims("shop", "web")),
               "no role named web");
}

TEST_F(KubernetesAuthTest, ConfigIsStoredOnlyThroughTheBarrier) {
  // The audience string would be visible in storage if written in clear.
  for (const auto& [key, value] : backend_.Snapshot()) {
    EXPECT_THAT(value, Not(HasSubstr(kIssuer))) << key;
  }
}

TEST(KubernetesAuthUnconfiguredTest, LoginBeforeConfigIsFailedPrecondition) {
  storage::InMemoryBackend backend;
  barrier::Barrier barrier(&backend);
  kms::SecretBytes key = kms::RandomSecret(32);
  ASSERT_TRUE(barrier.Initialize(key).ok());
  ASSERT_TRUE(barrier.Unseal(key).ok());
  KubernetesAuth auth(barrier::View(&barrier, "auth/kubernetes/"));
  EXPECT_EQ(auth.Login("web", "a.b.c").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace arca::auth
