// The resource paths TokenizeService authorizes, checked against the ACL:
// decode has a path of its own, so a policy can allow encode and not decode.
// (The end-to-end PERMISSION_DENIED test needs token policies in the request
// pipeline; see tests/integration/tokenize_test.cc.)

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "server/api/tokenize_service.h"
#include "server/auth/acl.h"
#include "server/auth/policy.h"

namespace arca::api {
namespace {

using auth::Capability;

std::unique_ptr<auth::Acl> AclOf(const std::string& json) {
  auto policy = auth::ParsePolicy(json);
  EXPECT_TRUE(policy.ok()) << policy.status();
  std::vector<std::pair<std::string, auth::Policy>> policies;
  policies.emplace_back("app", *std::move(policy));
  auto acl = auth::Acl::New(std::move(policies));
  EXPECT_TRUE(acl.ok()) << acl.status();
  return *std::move(acl);
}

TEST(TokenizePathsTest, EncodeGrantDoesNotAllowDecode) {
  auto acl = AclOf(R"({"path": {
      "tokenize/encode/payments":   {"capabilities": ["update"]},
      "tokenize/validate/payments": {"capabilities": ["update"]}}})");
  EXPECT_TRUE(acl->Allowed(TokenizeResourcePath("", "encode", "payments"),
                           Capability::kUpdate));
  EXPECT_TRUE(acl->Allowed(TokenizeResourcePath("", "validate", "payments"),
                           Capability::kUpdate));
  EXPECT_FALSE(acl->Allowed(TokenizeResourcePath("", "decode", "payments"),
                            Capability::kUpdate));
  EXPECT_FALSE(acl->Allowed(TokenizeResourcePath("", "encode", "other"),
                            Capability::kUpdate));
}

TEST(TokenizePathsTest, DecodeCanBeDeniedUnderAWildcardGrant) {
  auto acl = AclOf(R"({"path": {
      "tokenize/+/payments":  {"capabilities": ["update"]},
      "tokenize/decode/*":    {"capabilities": ["deny"]}}})");
  EXPECT_TRUE(acl->Allowed(TokenizeResourcePath("", "encode", "payments"),
                           Capability::kUpdate));
  EXPECT_FALSE(acl->Allowed(TokenizeResourcePath("", "decode", "payments"),
                            Capability::kUpdate));
}

TEST(TokenizePathsTest, PathsNameMountAreaNameAndSuffix) {
  EXPECT_EQ(TokenizeResourcePath("", "decode", "payments"),
            "tokenize/decode/payments");
  EXPECT_EQ(TokenizeResourcePath("tk2", "transformation", "cards", "rotate"),
            "tk2/transformation/cards/rotate");
  EXPECT_EQ(TokenizeResourcePath("", "role", ""), "tokenize/role");
}

}  // namespace
}  // namespace arca::api
