#include "server/engines/transit/base64.h"

#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "kms/random.h"

namespace arca::engines::transit {
namespace {

std::string Encode(std::string_view in) {
  std::string out(Base64EncodedSize(in.size()), '?');
  Base64EncodeTo(in, out.data());
  return out;
}

TEST(Base64Test, MatchesRfc4648Vectors) {
  EXPECT_EQ(Encode(""), "");
  EXPECT_EQ(Encode("f"), "Zg==");
  EXPECT_EQ(Encode("fo"), "Zm8=");
  EXPECT_EQ(Encode("foo"), "Zm9v");
  EXPECT_EQ(Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Encode("foobar"), "Zm9vYmFy");
}

// The wire format must not change: every length (each path through the
// 6-byte, 3-byte and tail loops) and every byte value gives absl's output.
TEST(Base64Test, MatchesAbslForEveryLengthAndByte) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  EXPECT_EQ(Encode(all), absl::Base64Escape(all));
  for (size_t n = 0; n <= 300; ++n) {
    const std::string in = kms::RandomString(n);
    EXPECT_EQ(Encode(in), absl::Base64Escape(in)) << n;
  }
}

// Long inputs take the vector path (where the CPU has AVX2) for most of
// their length; each offset of the tail too.
TEST(Base64Test, MatchesAbslOnLongInputs) {
  const std::string in = kms::RandomString(5000);
  for (size_t n = 4900; n <= 5000; ++n) {
    const std::string part = in.substr(0, n);
    EXPECT_EQ(Encode(part), absl::Base64Escape(part)) << n;
  }
  const std::string ones(1052, '\xff');
  EXPECT_EQ(Encode(ones), absl::Base64Escape(ones));
  const std::string zeros(1052, '\0');
  EXPECT_EQ(Encode(zeros), absl::Base64Escape(zeros));
}

TEST(Base64Test, WritesExactlyTheEncodedSize) {
  for (size_t n = 0; n <= 100; ++n) {
    std::string buf(Base64EncodedSize(n) + 8, '#');
    Base64EncodeTo(std::string(n, 'x'), buf.data());
    EXPECT_EQ(buf.substr(Base64EncodedSize(n)), "########") << n;
  }
}

}  // namespace
}  // namespace arca::engines::transit
