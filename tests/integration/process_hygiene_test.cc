// arcad's start-up hygiene, observed from outside the process: memory
// locked (or a refusal to start without --disable-mlock), core dumps off.

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/harness.h"

namespace arca::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

// The value of "Key:" in /proc/<pid>/status, in kB.
long StatusKb(pid_t pid, const std::string& key) {
  const std::string status =
      ReadFile("/proc/" + std::to_string(pid) + "/status");
  const size_t at = status.find(key + ":");
  if (at == std::string::npos) return -1;
  return std::stol(status.substr(at + key.size() + 1));
}

TEST(ProcessHygieneTest, ArcadLocksItsMemoryWhenItCan) {
  TempDir dir;
  Arcad arcad(dir.path() / "data", dir.path());
  ASSERT_TRUE(arcad.Start());
  const long locked = StatusKb(arcad.pid(), "VmLck");
  if (CanLockMemory()) {
    EXPECT_GT(locked, 0) << "mlockall did not take effect";
  } else {
    EXPECT_THAT(arcad.Log(), HasSubstr("continuing with swappable memory"));
  }
}

TEST(ProcessHygieneTest, ArcadRefusesToStartWhenMemoryCannotBeLocked) {
  TempDir dir;
  // No CAP_IPC_LOCK (dropped from the bounding set when we are root) and a
  // zero RLIMIT_MEMLOCK: mlockall must fail.
  std::vector<std::string> args = {"--memlock=0:0"};
  if (geteuid() == 0) {
    args.insert(args.end(), {"/usr/bin/setpriv", "--bounding-set=-ipc_lock",
                             "--inh-caps=-ipc_lock"});
  }
  args.insert(args.end(), {ArcadPath(), "--data-dir",
                           (dir.path() / "data").string(), "--listen",
                           "127.0.0.1:0", "--insecure-plaintext"});
  CliResult refused = RunProgram("/usr/bin/prlimit", args);
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_THAT(refused.err, HasSubstr("mlockall failed"));
  EXPECT_THAT(refused.err, HasSubstr("--disable-mlock"));
}

mode_t ModeOf(const std::filesystem::path& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

TEST(ProcessHygieneTest, ArcadLeavesAnExistingDataDirModeAloneAndWarns) {
  TempDir dir;
  const auto data = dir.path() / "shared";
  std::filesystem::create_directory(data);
  ASSERT_EQ(chmod(data.c_str(), 01777), 0);
  Arcad arcad(data, dir.path());
  ASSERT_TRUE(arcad.Start());
  EXPECT_EQ(ModeOf(data), 01777);
  EXPECT_THAT(arcad.Log(), HasSubstr("accessible to group/others"));
  // What arcad creates inside is its own.
  EXPECT_EQ(ModeOf(data / "db") & 077, 0);
}

TEST(ProcessHygieneTest, ArcadCreatesAMissingDataDirWithMode0700) {
  TempDir dir;
  const auto data = dir.path() / "new" / "data";
  Arcad arcad(data, dir.path());
  ASSERT_TRUE(arcad.Start());
  EXPECT_EQ(ModeOf(data), 0700);
  EXPECT_THAT(arcad.Log(), Not(HasSubstr("accessible to group/others")));
}

TEST(ProcessHygieneTest, ArcadRunsWithCoreDumpsOff) {
  // Let arcad inherit a non-zero core limit, so a zero can only be its own.
  struct rlimit core;
  ASSERT_EQ(getrlimit(RLIMIT_CORE, &core), 0);
  core.rlim_cur = core.rlim_max == RLIM_INFINITY
                      ? rlim_t{1} << 20
                      : std::min<rlim_t>(core.rlim_max, rlim_t{1} << 20);
  ASSERT_EQ(setrlimit(RLIMIT_CORE, &core), 0);
  TempDir dir;
  Arcad arcad(dir.path() / "data", dir.path());
  ASSERT_TRUE(arcad.Start());
  const std::string limits =
      ReadFile("/proc/" + std::to_string(arcad.pid()) + "/limits");
  const size_t at = limits.find("Max core file size");
  ASSERT_NE(at, std::string::npos);
  EXPECT_THAT(limits.substr(at, limits.find('\n', at) - at),
              MatchesRegex("Max core file size +0 +0 +bytes *"));
}

}  // namespace
}  // namespace arca::testing
