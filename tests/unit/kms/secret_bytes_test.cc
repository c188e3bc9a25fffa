#include "kms/secret_bytes.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "kms/random.h"

namespace arca::kms {
namespace {

TEST(SecretBytesTest, DefaultIsEmpty) {
  SecretBytes s;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.size(), 0u);
  EXPECT_TRUE(s.Reveal().empty());
}

TEST(SecretBytesTest, SizedConstructorZeroFills) {
  SecretBytes s(40);
  ASSERT_EQ(s.size(), 40u);
  EXPECT_EQ(s.Reveal(), std::string(40, '\0'));
}

TEST(SecretBytesTest, CopyFromKeepsExactBytesIncludingNul) {
  const std::string data("a\0b\xff", 4);
  SecretBytes s = SecretBytes::CopyFrom(data);
  EXPECT_EQ(s.Reveal(), data);
  // The secret is a copy, not a view of the caller's buffer.
  EXPECT_NE(static_cast<const void*>(s.Reveal().data()),
            static_cast<const void*>(data.data()));
}

TEST(SecretBytesTest, MutationThroughMutableRevealIsVisible) {
  SecretBytes s(3);
  s.MutableReveal()[1] = 0x7f;
  EXPECT_EQ(s.Reveal(), std::string("\0\x7f\0", 3));
}

TEST(SecretBytesTest, CloneIsIndependentCopy) {
  SecretBytes original = SecretBytes::CopyFrom("key material");
  SecretBytes clone = original.Clone();
  EXPECT_TRUE(clone.Equals(original));
  clone.MutableReveal()[0] = 'K';
  EXPECT_EQ(original.Reveal(), "key material");
  EXPECT_EQ(clone.Reveal(), "Key material");
}

TEST(SecretBytesTest, MoveConstructionTransfersOwnershipAndEmptiesSource) {
  SecretBytes a = SecretBytes::CopyFrom("abc");
  const char* buffer = a.Reveal().data();
  SecretBytes b(std::move(a));
  EXPECT_EQ(b.Reveal(), "abc");
  EXPECT_EQ(b.Reveal().data(), buffer);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): documented.
}

TEST(SecretBytesTest, MoveAssignmentReplacesContentsAndEmptiesSource) {
  SecretBytes a = SecretBytes::CopyFrom("new");
  SecretBytes b = SecretBytes::CopyFrom("old value");
  b = std::move(a);
  EXPECT_EQ(b.Reveal(), "new");
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): documented.
}

TEST(SecretBytesTest, EqualsComparesContentsAndSize) {
  SecretBytes a = SecretBytes::CopyFrom("same bytes");
  SecretBytes b = SecretBytes::CopyFrom("same bytes");
  SecretBytes c = SecretBytes::CopyFrom("same byteS");
  SecretBytes d = SecretBytes::CopyFrom("same byte");
  EXPECT_TRUE(a.Equals(b));
  EXPECT_FALSE(a.Equals(c));
  EXPECT_FALSE(a.Equals(d));
  EXPECT_TRUE(SecretBytes().Equals(SecretBytes()));
  EXPECT_FALSE(SecretBytes().Equals(a));
}

TEST(SecretBytesTest, WipeEmptiesTheBuffer) {
  SecretBytes s = SecretBytes::CopyFrom("secret");
  s.Wipe();
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(s.Reveal().empty());
  s.Wipe();  // Idempotent.
  EXPECT_TRUE(s.empty());
}

// Freed regions are kept for reuse (guard pages cost syscalls per
// allocation): wiped while kept, handed out again (newest first) at the
// same size, still with the guard page right after the last byte.
TEST(SecretBytesTest, FreedRegionIsWipedThenReusedWithItsGuardPage) {
  const std::string first_secret = "reused secret!";
  const std::string second_secret = "second secret.";
  ASSERT_EQ(first_secret.size(), second_secret.size());
  const volatile char* region = nullptr;
  {
    SecretBytes s = SecretBytes::CopyFrom(first_secret);
    region = s.Reveal().data();
  }
  // The kept region is still mapped (that is the point of keeping it).
  for (size_t i = 0; i < first_secret.size(); ++i) {
    EXPECT_EQ(region[i], '\0') << "byte " << i << " not wiped";
  }
  SecretBytes again = SecretBytes::CopyFrom(second_secret);
  EXPECT_EQ(static_cast<const volatile char*>(again.Reveal().data()), region);
  EXPECT_EQ(again.Reveal(), second_secret);
  EXPECT_DEATH(
      {
        const volatile char* p = again.Reveal().data();
        (void)p[again.size()];
      },
      "");
}

TEST(RandomTest, RandomSecretHasRequestedSizeAndDiffersEachCall) {
  SecretBytes a = RandomSecret(32);
  SecretBytes b = RandomSecret(32);
  ASSERT_EQ(a.size(), 32u);
  ASSERT_EQ(b.size(), 32u);
  // A collision or an all-zero 256-bit value has probability 2^-256.
  EXPECT_FALSE(a.Equals(b));
  EXPECT_NE(a.Reveal(), std::string(32, '\0'));
}

TEST(RandomTest, RandomStringValuesAreDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string r = RandomString(16);
    ASSERT_EQ(r.size(), 16u);
    seen.insert(r);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_TRUE(RandomString(0).empty());
}

TEST(RandomTest, RandomBytesFillsEveryByte) {
  // Each of 64 positions stays zero across 16 draws with probability
  // 2^-128, so a position never written would be caught.
  uint8_t ored[64] = {};
  for (int round = 0; round < 16; ++round) {
    uint8_t buf[64] = {};
    RandomBytes(buf, sizeof(buf));
    for (size_t i = 0; i < sizeof(buf); ++i) ored[i] |= buf[i];
  }
  for (size_t i = 0; i < sizeof(ored); ++i) EXPECT_NE(ored[i], 0) << i;
}

TEST(RandomTest, PublicRandomBytesAreDistinctAcrossBufferRefills) {
  // 2,000 nonces of 12 bytes cross several 4 KiB refills; a refill that
  // served stale or repeated bytes would show as a duplicate.
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    std::string nonce(12, '\0');
    PublicRandomBytes(reinterpret_cast<uint8_t*>(nonce.data()), nonce.size());
    seen.insert(nonce);
  }
  EXPECT_EQ(seen.size(), 2000u);
  // Oversized draws bypass the buffer and still fill every byte.
  uint8_t big[4096] = {};
  PublicRandomBytes(big, sizeof(big));
  EXPECT_NE(std::string(reinterpret_cast<char*>(big), 64), std::string(64, '\0'));
}

TEST(RandomTest, ForkedChildDoesNotRepeatItsParentsPublicBytes) {
  uint8_t warm[16];
  PublicRandomBytes(warm, sizeof(warm));  // the parent's buffer is now full
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    uint8_t mine[16];
    PublicRandomBytes(mine, sizeof(mine));
    const bool ok = write(pipe_fds[1], mine, sizeof(mine)) == sizeof(mine);
    _exit(ok ? 0 : 1);
  }
  close(pipe_fds[1]);
  uint8_t childs[16] = {};
  ASSERT_EQ(read(pipe_fds[0], childs, sizeof(childs)), 16);
  close(pipe_fds[0]);
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  ASSERT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
  // Without the fork handler, both would take the next 16 bytes of the
  // same copied buffer.
  uint8_t parents[16];
  PublicRandomBytes(parents, sizeof(parents));
  EXPECT_NE(std::memcmp(parents, childs, sizeof(parents)), 0);
}

}  // namespace
}  // namespace arca::kms
