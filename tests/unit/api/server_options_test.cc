#include <gtest/gtest.h>

#include "server/api/server.h"

namespace arca::api {
namespace {

TEST(ServerOptionsTest, LoopbackAddressesAreRecognized) {
  EXPECT_TRUE(IsLoopbackListenAddress("127.0.0.1:8200"));
  EXPECT_TRUE(IsLoopbackListenAddress("127.1.2.3:0"));
  EXPECT_TRUE(IsLoopbackListenAddress("localhost:8200"));
  EXPECT_TRUE(IsLoopbackListenAddress("[::1]:8200"));
}

TEST(ServerOptionsTest, NonLoopbackAddressesAreNotMistakenForLoopback) {
  EXPECT_FALSE(IsLoopbackListenAddress("0.0.0.0:8200"));
  EXPECT_FALSE(IsLoopbackListenAddress("[::]:8200"));
  EXPECT_FALSE(IsLoopbackListenAddress("10.0.0.1:8200"));
  EXPECT_FALSE(IsLoopbackListenAddress("127.evil.example:8200"));
  EXPECT_FALSE(IsLoopbackListenAddress("127.0.0.1.example:8200"));
  EXPECT_FALSE(IsLoopbackListenAddress("localhost.example:8200"));
  EXPECT_FALSE(IsLoopbackListenAddress(":8200"));
  EXPECT_FALSE(IsLoopbackListenAddress("::1:8200"));
}

TEST(ServerOptionsTest, PlaintextOffLoopbackIsRefusedBeforeBinding) {
  ServerOptions options;
  options.listen_address = "0.0.0.0:0";
  options.allow_plaintext = true;
  auto server = ApiServer::Start(nullptr, options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ServerOptionsTest, PlaintextNeedsAnExplicitOptIn) {
  ServerOptions options;
  options.listen_address = "127.0.0.1:0";
  auto server = ApiServer::Start(nullptr, options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace arca::api
