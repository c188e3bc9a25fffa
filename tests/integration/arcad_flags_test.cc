// arcad's command-line validation, observed by running the real binary:
// bad flags are refused with a clear message and exit 1, never silently
// reinterpreted.

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace arca::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

// Runs arcad (plaintext, own data dir) under timeout(1), so that an arcad
// which wrongly starts serving ends after `seconds` instead of hanging.
CliResult RunArcad(const TempDir& dir, std::vector<std::string> flags,
                   int seconds = 20) {
  std::vector<std::string> args = {std::to_string(seconds), ArcadPath(),
                                   "--data-dir",
                                   (dir.path() / "data").string(),
                                   "--insecure-plaintext"};
  if (!CanLockMemory()) args.push_back("--disable-mlock");
  args.insert(args.end(), flags.begin(), flags.end());
  return RunProgram("/usr/bin/timeout", args);
}

TEST(ArcadFlagsTest, UnknownLogLevelIsRefused) {
  TempDir dir;
  CliResult r = RunArcad(dir, {"--listen", "127.0.0.1:1", "--log-level",
                               "bogus"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("--log-level must be one of"));
}

TEST(ArcadFlagsTest, ListenPortOutsideRangeIsRefused) {
  TempDir dir;
  for (const char* address :
       {"127.0.0.1:99999", "127.0.0.1:65536", "127.0.0.1:-1",
        "127.0.0.1:", "127.0.0.1", "127.0.0.1:80x"}) {
    CliResult r = RunArcad(dir, {"--listen", address});
    EXPECT_EQ(r.exit_code, 1) << address;
    EXPECT_THAT(r.err, HasSubstr("--listen")) << address;
  }
  CliResult r = RunArcad(dir, {"--listen", "127.0.0.1:99999"});
  EXPECT_THAT(r.err, HasSubstr("port must be 0..65535"));
}

TEST(ArcadFlagsTest, PortZeroBindsAFreePortAndLogsIt) {
  TempDir dir;
  // timeout(1) ends it with SIGTERM after 3 s: a graceful stop.
  CliResult r = RunArcad(dir, {"--listen", "127.0.0.1:0"}, 3);
  const std::string log = r.out + r.err;
  EXPECT_THAT(log, HasSubstr("listening on 127.0.0.1:"));
  EXPECT_THAT(log, Not(HasSubstr("listening on 127.0.0.1:0 ")));
}

TEST(ArcadFlagsTest, PortInUseSaysAddressAlreadyInUse) {
  TempDir dir;
  Arcad first(dir.path() / "first", dir.path());
  ASSERT_TRUE(first.Start());
  CliResult r = RunArcad(dir, {"--listen", first.address()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out + r.err,
              AllOf(HasSubstr("cannot listen on " + first.address()),
                    HasSubstr("Address already in use")));
}

TEST(ArcadFlagsTest, MinFreeSpaceSetsTheStorageReserve) {
  TempDir dir;
  // A reserve no disk can meet: dev mode's first write (init) is refused.
  CliResult r = RunArcad(dir, {"--dev", "--listen", "127.0.0.1:0",
                               "--min-free-space", "9999999999999999999"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out + r.err, HasSubstr("disk full"));
  CliResult bad = RunArcad(dir, {"--min-free-space", "-1"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.err, HasSubstr("--min-free-space must be a byte count"));
}

}  // namespace
}  // namespace arca::testing
