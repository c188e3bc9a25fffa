#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "arca/v1/auth.pb.h"
#include "arca/v1/kv.pb.h"
#include "arca/v1/sys.pb.h"
#include "server/api/handle.h"

namespace arca::api {
namespace {

TEST(AuditFieldsTest, SensitiveMapValuesAreFlaggedAndKeysAndOtherFieldsAreClear) {
  v1::KvPutRequest req;
  req.set_path("app/db");
  (*req.mutable_data())["password"] = "hunter2";
  req.set_cas(3);
  core::AuditPayload p;
  AuditFields(req, &p);
  ASSERT_TRUE(p.contains("data.password"));
  EXPECT_TRUE(p["data.password"].sensitive);
  EXPECT_EQ(p["data.password"].value, "hunter2");  // hashed by the device
  EXPECT_FALSE(p["path"].sensitive);
  EXPECT_EQ(p["path"].value, "app/db");
  EXPECT_EQ(p["cas"].value, "3");
}

TEST(AuditFieldsTest, NestedMessagesAndRepeatedSensitiveFieldsAreFlattened) {
  v1::CreateTokenResponse resp;
  resp.set_token("arca.s.secret");
  resp.mutable_info()->set_accessor("abc");
  resp.mutable_info()->add_policies("p1");
  resp.mutable_info()->add_policies("p2");
  core::AuditPayload p;
  AuditFields(resp, &p);
  EXPECT_TRUE(p["token"].sensitive);
  EXPECT_FALSE(p["info.accessor"].sensitive);
  EXPECT_EQ(p["info.policies.1"].value, "p2");

  v1::InitResponse init;
  init.add_keys_base64("share-1");
  init.add_keys_base64("share-2");
  core::AuditPayload q;
  AuditFields(init, &q);
  EXPECT_TRUE(q["keys_base64.0"].sensitive);
  EXPECT_TRUE(q["keys_base64.1"].sensitive);
}

TEST(AuditFieldsTest, EventsOmitSensitiveFieldsEntirely) {
  v1::UnsealRequest req;
  req.set_key("a-share");
  req.set_reset(true);
  core::AuditPayload p;
  AuditFields(req, &p, /*omit_sensitive=*/true);
  EXPECT_FALSE(p.contains("key"));
  EXPECT_EQ(p["reset"].value, "true");
}

}  // namespace
}  // namespace arca::api
