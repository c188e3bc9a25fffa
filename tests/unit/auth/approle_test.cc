#include "server/auth/approle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "kms/random.h"
#include "server/storage/in_memory_backend.h"

namespace arca::auth {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;

constexpr char kInvalid[] = "invalid role_id or secret_id";

SecretIdOptions Uses(int n) {
  SecretIdOptions o;
  o.num_uses = n;
  return o;
}
SecretIdOptions Ttl(absl::Duration d) {
  SecretIdOptions o;
  o.ttl = d;
  return o;
}
SecretIdOptions Cidrs(std::vector<std::string> cidrs) {
  SecretIdOptions o;
  o.cidrs = std::move(cidrs);
  return o;
}

class AppRoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kms::SecretBytes key = kms::RandomSecret(32);
    ASSERT_TRUE(barrier_.Initialize(key).ok());
    ASSERT_TRUE(barrier_.Unseal(key).ok());
    AppRoleRole role;
    role.add_policies("deploy");
    role.add_policies("metrics");
    role.set_token_ttl_seconds(600);
    role.set_token_max_ttl_seconds(1200);
    ASSERT_TRUE(auth_.WriteRole("ci", role).ok());
    ASSERT_TRUE(auth_.WriteRole("other", AppRoleRole()).ok());
    role_id_ = *auth_.RoleId("ci");
  }

  GeneratedSecretId Generate(SecretIdOptions options = {},
                             const std::string& role = "ci") {
    auto sid = auth_.GenerateSecretId(role, options);
    EXPECT_TRUE(sid.ok()) << sid.status();
    return sid.ok() ? *std::move(sid) : GeneratedSecretId{};
  }

  void ExpectDenied(const absl::StatusOr<LoginGrant>& r,
                    const std::string& reason) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(reason));
  }

  // Every path and every decrypted value below the barrier.
  std::string EverythingStored() {
    std::string all;
    for (const auto& [path, raw] : backend_.Snapshot()) {
      all += path + "\n";
      if (path.starts_with("barrier/")) continue;
      auto value = barrier_.Get(path);
      if (value.ok() && value->has_value()) all += **value + "\n";
    }
    return all;
  }

  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  storage::InMemoryBackend backend_;
  barrier::Barrier barrier_{&backend_};
  AppRoleAuth auth_{barrier::View(&barrier_, "auth/approle/"),
                    [this] { return now_; }};
  std::string role_id_;
};

TEST_F(AppRoleTest, RoleIdAndSecretIdLogInWithTheRolesPolicies) {
  SecretIdOptions options;
  options.metadata = {{"host", "runner-1"}};
  GeneratedSecretId sid = Generate(options);
  auto grant = auth_.Login(role_id_, sid.secret_id, "10.0.0.1");
  ASSERT_TRUE(grant.ok()) << grant.status();
  EXPECT_THAT(grant->policies, ElementsAre("deploy", "metrics"));
  EXPECT_EQ(grant->ttl, absl::Minutes(10));
  EXPECT_EQ(grant->max_ttl, absl::Minutes(20));
  EXPECT_EQ(grant->display_name, "approle-ci");
  EXPECT_THAT(grant->metadata,
              ::testing::UnorderedElementsAre(
                  Pair("role_name", "ci"), Pair("host", "runner-1"),
                  Pair("secret_id_accessor", sid.accessor)));
}

TEST_F(AppRoleTest, UnknownRoleIdAndWrongSecretIdLookTheSame) {
  GeneratedSecretId sid = Generate();
  auto wrong_secret = auth_.Login(
      role_id_, kms::SecretBytes::CopyFrom("not-the-secret"), "10.0.0.1");
  auto unknown_role = auth_.Login("00000000-0000-4000-8000-000000000000",
                                  sid.secret_id, "10.0.0.1");
  ExpectDenied(wrong_secret, kInvalid);
  ExpectDenied(unknown_role, kInvalid);
  EXPECT_EQ(wrong_secret.status().message(), unknown_role.status().message());
}

TEST_F(AppRoleTest, SecretIdOfAnotherRoleDoesNotLogIn) {
  GeneratedSecretId other = Generate({}, "other");
  ExpectDenied(auth_.Login(role_id_, other.secret_id, "10.0.0.1"), kInvalid);
  EXPECT_TRUE(
      auth_.Login(*auth_.RoleId("other"), other.secret_id, "10.0.0.1").ok());
}

TEST_F(AppRoleTest, SingleUseSecretIdLogsInOnce) {
  GeneratedSecretId sid = Generate(Uses(1));
  EXPECT_TRUE(auth_.Login(role_id_, sid.secret_id, "10.0.0.1").ok());
  ExpectDenied(auth_.Login(role_id_, sid.secret_id, "10.0.0.1"), kInvalid);
  EXPECT_EQ(auth_.LookupSecretIdByAccessor("ci", sid.accessor).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(AppRoleTest, SingleUseSecretIdRacedFromManyThreadsLogsInOnce) {
  GeneratedSecretId sid = Generate(Uses(1));
  std::atomic<int> successes{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (auth_.Login(role_id_, sid.secret_id, "10.0.0.1").ok()) ++successes;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(successes.load(), 1);
}

TEST_F(AppRoleTest, LimitedUseSecretIdCountsDown) {
  GeneratedSecretId sid = Generate(Uses(3));
  for (int left = 2; left >= 0; --left) {
    ASSERT_TRUE(auth_.Login(role_id_, sid.secret_id, "10.0.0.1").ok());
    auto info = auth_.LookupSecretIdByAccessor("ci", sid.accessor);
    if (left > 0) {
      ASSERT_TRUE(info.ok());
      EXPECT_EQ(info->uses_left, left);
    } else {
      EXPECT_EQ(info.status().code(), absl::StatusCode::kNotFound);
    }
  }
  ExpectDenied(auth_.Login(role_id_, sid.secret_id, "10.0.0.1"), kInvalid);
}

TEST_F(AppRoleTest, RoleDefaultsApplyToNewSecretIds) {
  AppRoleRole role = *auth_.ReadRole("ci");
  role.set_secret_id_num_uses(1);
  role.set_secret_id_ttl_seconds(60);
  ASSERT_TRUE(auth_.WriteRole("ci", role).ok());
  GeneratedSecretId sid = Generate();
  EXPECT_EQ(sid.expiry, now_ + absl::Seconds(60));
  EXPECT_TRUE(auth_.Login(role_id_, sid.secret_id, "10.0.0.1").ok());
  ExpectDenied(auth_.Login(role_id_, sid.secret_id, "10.0.0.1"), kInvalid);
}

TEST_F(AppRoleTest, ExpiredSecretIdIsRefusedAndForgotten) {
  GeneratedSecretId sid = Generate(Ttl(absl::Minutes(5)));
  now_ += absl::Minutes(5);
  ExpectDenied(auth_.Login(role_id_, sid.secret_id, "10.0.0.1"),
               "secret_id has expired");
  ExpectDenied(auth_.Login(role_id_, sid.secret_id, "10.0.0.1"), kInvalid);
}

TEST_F(AppRoleTest, SecretIdBoundToCidrsRefusesOtherSources) {
  GeneratedSecretId sid = Generate(Cidrs({"10.1.0.0/16", "::1/128"}));
  ExpectDenied(auth_.Login(role_id_, sid.secret_id, "10.2.0.1"),
               "source address is outside the CIDR blocks");
  ExpectDenied(auth_.Login(role_id_, sid.secret_id, "unix:/run/arca.sock"),
               "source address");
  ExpectDenied(auth_.Login(role_id_, sid.secret_id, ""), "source address");
  EXPECT_TRUE(auth_.Login(role_id_, sid.secret_id, "10.1.200.3").ok());
  EXPECT_TRUE(auth_.Login(role_id_, sid.secret_id, "::1").ok());
}

TEST_F(AppRoleTest, RoleCidrsApplyToEverySecretId) {
  AppRoleRole role = *auth_.ReadRole("ci");
  role.add_secret_id_bound_cidrs("192.168.0.0/24");
  ASSERT_TRUE(auth_.WriteRole("ci", role).ok());
  GeneratedSecretId sid = Generate(Cidrs({"0.0.0.0/0"}));
  ExpectDenied(auth_.Login(role_id_, sid.secret_id, "10.0.0.1"),
               "source address");
  EXPECT_TRUE(auth_.Login(role_id_, sid.secret_id, "192.168.0.9").ok());
}

TEST_F(AppRoleTest, DestroyByAccessorWorksOnlyWithinItsOwnRole) {
  GeneratedSecretId sid = Generate();
  EXPECT_EQ(auth_.DestroySecretIdByAccessor("other", sid.accessor).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(auth_.LookupSecretIdByAccessor("other", sid.accessor).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(auth_.Login(role_id_, sid.secret_id, "10.0.0.1").ok())
      << "the other role's destroy must not have touched it";

  ASSERT_TRUE(auth_.DestroySecretIdByAccessor("ci", sid.accessor).ok());
  ExpectDenied(auth_.Login(role_id_, sid.secret_id, "10.0.0.1"), kInvalid);
  EXPECT_EQ(auth_.DestroySecretIdByAccessor("ci", sid.accessor).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(auth_.DestroySecretIdByAccessor("ci", "../../role/ci").code(),
            absl::StatusCode::kNotFound);
}

TEST_F(AppRoleTest, AccessorsAreListedAndLookedUpWithoutTheSecret) {
  GeneratedSecretId a = Generate(Cidrs({"10.0.0.0/8"}));
  GeneratedSecretId b = Generate();
  std::vector<std::string> want = {a.accessor, b.accessor};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*auth_.ListSecretIdAccessors("ci"), want);
  EXPECT_THAT(*auth_.ListSecretIdAccessors("other"), IsEmpty());
  auto info = auth_.LookupSecretIdByAccessor("ci", a.accessor);
  ASSERT_TRUE(info.ok());
  EXPECT_THAT(info->cidrs, ElementsAre("10.0.0.0/8"));
  EXPECT_EQ(info->expiry, absl::InfiniteFuture());
}

TEST_F(AppRoleTest, NeitherRoleIdNorSecretIdIsStoredInClear) {
  GeneratedSecretId sid = Generate();
  const std::string stored = EverythingStored();
  EXPECT_THAT(stored, Not(HasSubstr(std::string(sid.secret_id.Reveal()))));
  EXPECT_THAT(stored, HasSubstr(sid.accessor));  // sanity: we did look
  // The role_id is in its role record (readable to operators) but never in
  // a storage path, which is outside the barrier's encryption.
  for (const auto& [path, raw] : backend_.Snapshot()) {
    EXPECT_THAT(path, Not(HasSubstr(role_id_)));
    EXPECT_THAT(path, Not(HasSubstr(std::string(sid.secret_id.Reveal()))));
  }
}

TEST_F(AppRoleTest, RoleIdSurvivesRoleUpdatesAndRolesGetDistinctIds) {
  AppRoleRole role = *auth_.ReadRole("ci");
  role.add_policies("extra");
  ASSERT_TRUE(auth_.WriteRole("ci", role).ok());
  EXPECT_EQ(*auth_.RoleId("ci"), role_id_);
  EXPECT_NE(*auth_.RoleId("other"), role_id_);
  EXPECT_THAT(role_id_, ::testing::MatchesRegex(
                            "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
}

TEST_F(AppRoleTest, DeletingARoleRevokesItsSecretIdsAndRoleId) {
  GeneratedSecretId sid = Generate();
  ASSERT_TRUE(auth_.DeleteRole("ci").ok());
  ExpectDenied(auth_.Login(role_id_, sid.secret_id, "10.0.0.1"), kInvalid);
  ASSERT_TRUE(auth_.WriteRole("ci", AppRoleRole()).ok());
  EXPECT_NE(*auth_.RoleId("ci"), role_id_);
  EXPECT_EQ(auth_.LookupSecretIdByAccessor("ci", sid.accessor).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_THAT(EverythingStored(), Not(HasSubstr(sid.accessor)));
}

TEST_F(AppRoleTest, TidyRemovesOnlyExpiredSecretIds) {
  GeneratedSecretId short_lived = Generate(Ttl(absl::Seconds(10)));
  GeneratedSecretId long_lived = Generate(Ttl(absl::Hours(1)));
  now_ += absl::Minutes(1);
  EXPECT_EQ(*auth_.TidyExpiredSecretIds(), 1);
  EXPECT_THAT(*auth_.ListSecretIdAccessors("ci"),
              ElementsAre(long_lived.accessor));
}

TEST_F(AppRoleTest, BadRoleDefinitionsAreRefused) {
  AppRoleRole role;
  role.add_secret_id_bound_cidrs("10.0.0.1/8");
  EXPECT_EQ(auth_.WriteRole("r", role).code(),
            absl::StatusCode::kInvalidArgument);
  role.Clear();
  role.set_token_ttl_seconds(100);
  role.set_token_max_ttl_seconds(10);
  EXPECT_EQ(auth_.WriteRole("r", role).code(),
            absl::StatusCode::kInvalidArgument);
  role.Clear();
  role.add_policies("root");
  EXPECT_EQ(auth_.WriteRole("r", role).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(auth_.WriteRole("", AppRoleRole()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(auth_.GenerateSecretId("ci", Uses(-1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(auth_.GenerateSecretId("nope", {}).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(AppRoleTest, HmacKeyIsReloadedAfterClear) {
  GeneratedSecretId sid = Generate();
  auth_.Clear();  // as on seal
  EXPECT_TRUE(auth_.Login(role_id_, sid.secret_id, "10.0.0.1").ok());
}

}  // namespace
}  // namespace arca::auth
