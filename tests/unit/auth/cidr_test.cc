#include "server/auth/cidr.h"

#include <gtest/gtest.h>

namespace arca::auth {
namespace {

bool In(const char* cidr, const char* ip) {
  auto c = Cidr::Parse(cidr);
  auto a = ParseIpAddress(ip);
  EXPECT_TRUE(c.ok()) << cidr;
  EXPECT_TRUE(a.has_value()) << ip;
  return c.ok() && a.has_value() && c->Contains(*a);
}

TEST(CidrTest, Ipv4BlocksContainExactlyTheirAddresses) {
  EXPECT_TRUE(In("10.0.0.0/8", "10.255.1.2"));
  EXPECT_FALSE(In("10.0.0.0/8", "11.0.0.0"));
  EXPECT_TRUE(In("192.168.1.0/25", "192.168.1.127"));
  EXPECT_FALSE(In("192.168.1.0/25", "192.168.1.128"));
  EXPECT_TRUE(In("0.0.0.0/0", "8.8.8.8"));
  EXPECT_TRUE(In("127.0.0.1", "127.0.0.1"));
  EXPECT_FALSE(In("127.0.0.1", "127.0.0.2"));
}

TEST(CidrTest, Ipv6BlocksAndMappedIpv4) {
  EXPECT_TRUE(In("2001:db8::/32", "2001:db8:1::5"));
  EXPECT_FALSE(In("2001:db8::/32", "2001:db9::1"));
  EXPECT_FALSE(In("::/0", "10.0.0.1")) << "families never mix";
  EXPECT_TRUE(In("10.0.0.0/8", "::ffff:10.1.2.3")) << "mapped IPv4 is IPv4";
}

TEST(CidrTest, MalformedBlocksAreRefused) {
  for (const char* bad : {"", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/8x",
                          "10.0.0.1/8", "2001:db8::/129", "host/8", "1.2.3",
                          "10.0.0.0/-1"}) {
    EXPECT_EQ(Cidr::Parse(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_FALSE(ParseIpAddress("unix:/run/x").has_value());
  EXPECT_FALSE(ParseIpAddress("[::1]").has_value());
}

}  // namespace
}  // namespace arca::auth
