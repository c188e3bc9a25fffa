#include "cli/kv_args.h"

#include <unistd.h>

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace arca::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

// Files and stdin served from memory; counts stdin reads.
struct FakeSources {
  std::map<std::string, std::string> files;
  std::string stdin_content;
  int stdin_reads = 0;

  ValueSources Get() {
    return ValueSources{
        [this](const std::string& path) -> absl::StatusOr<std::string> {
          auto it = files.find(path);
          if (it == files.end()) {
            return absl::InvalidArgumentError("cannot open " + path);
          }
          return it->second;
        },
        [this]() -> absl::StatusOr<std::string> {
          ++stdin_reads;
          return stdin_content;
        }};
  }
};

TEST(ParseKvPairsTest, LiteralValuesAreTakenVerbatim) {
  FakeSources src;
  auto data = ParseKvPairs({"user=app", "empty=", "eq=a=b=c"}, src.Get());
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_THAT(*data,
              UnorderedElementsAre(Pair("user", "app"), Pair("empty", ""),
                                   Pair("eq", "a=b=c")));
}

TEST(ParseKvPairsTest, AtFileReadsTheFileBytesUnchanged) {
  FakeSources src;
  src.files["/run/pw.txt"] = "s3cr3t\n";
  auto data = ParseKvPairs({"password=@/run/pw.txt"}, src.Get());
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->at("password"), "s3cr3t\n");
}

TEST(ParseKvPairsTest, DashReadsAllOfStdin) {
  FakeSources src;
  src.stdin_content = "line1\nline2\n";
  auto data = ParseKvPairs({"cert=-", "k=v"}, src.Get());
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->at("cert"), "line1\nline2\n");
  EXPECT_EQ(src.stdin_reads, 1);
}

TEST(ParseKvPairsTest, KeyGivenTwiceIsInvalidArgument) {
  FakeSources src;
  auto data = ParseKvPairs({"k=first-secret", "k=second-secret"}, src.Get());
  EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(data.status().message(), HasSubstr("\"k\""));
  EXPECT_THAT(data.status().message(), Not(HasSubstr("secret")));
}

TEST(ParseKvPairsTest, MalformedPairIsRejectedWithoutEchoingIt) {
  FakeSources src;
  auto data = ParseKvPairs({"ok=1", "hunter2"}, src.Get());
  EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(data.status().message(), HasSubstr("argument 2"));
  EXPECT_THAT(data.status().message(), Not(HasSubstr("hunter2")));
}

TEST(ParseKvPairsTest, EmptyKeyIsRejected) {
  FakeSources src;
  auto data = ParseKvPairs({"=value"}, src.Get());
  EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(data.status().message(), Not(HasSubstr("value")));
}

TEST(ParseKvPairsTest, StdinCanBeUsedByOneKeyOnly) {
  FakeSources src;
  auto data = ParseKvPairs({"a=-", "b=-"}, src.Get());
  EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(src.stdin_reads, 1);
}

TEST(ParseKvPairsTest, UnreadableFileIsInvalidArgumentNamingKeyAndPath) {
  FakeSources src;
  auto data = ParseKvPairs({"tls=@/no/such/file"}, src.Get());
  EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(data.status().message(), HasSubstr("\"tls\""));
  EXPECT_THAT(data.status().message(), HasSubstr("/no/such/file"));
}

TEST(ParseKvPairsTest, AtWithoutFileNameIsRejected) {
  FakeSources src;
  EXPECT_EQ(ParseKvPairs({"k=@"}, src.Get()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ParseKvPairsTest, BinaryValueThatIsNotUtf8IsRejected) {
  FakeSources src;
  src.files["/key.der"] = std::string("\x30\x82\xff\x00", 4);
  auto data = ParseKvPairs({"der=@/key.der"}, src.Get());
  EXPECT_EQ(data.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(data.status().message(), HasSubstr("UTF-8"));
}

TEST(ParseKvPairsTest, RealSourcesReadAFileFromDisk) {
  char path[] = "/tmp/arca-kvargs-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "from-disk", 9), 9);
  close(fd);
  auto data = ParseKvPairs({std::string("f=@") + path}, RealValueSources());
  unlink(path);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->at("f"), "from-disk");
}

TEST(ParseVersionsTest, CommaSeparatedListKeepsOrder) {
  auto v = ParseVersions("3,1, 2");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_THAT(*v, ElementsAre(3u, 1u, 2u));
}

TEST(ParseVersionsTest, DuplicatesAreDropped) {
  auto v = ParseVersions("1,2,1");
  ASSERT_TRUE(v.ok());
  EXPECT_THAT(*v, ElementsAre(1u, 2u));
}

TEST(ParseVersionsTest, MalformedListsAreRejected) {
  for (const char* bad : {"", " ", "1,,2", "a", "1,b", "0", "-1", "+1", "1.5",
                          "99999999999999999999999", "1,"}) {
    EXPECT_EQ(ParseVersions(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << "\"" << bad << "\"";
  }
}

TEST(IsValidUtf8Test, AcceptsWellFormedText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9"));           // é
  EXPECT_TRUE(IsValidUtf8("\xe2\x82\xac"));          // €
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x94\x91"));      // U+1F511
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b", 3)));  // NUL is valid UTF-8
}

TEST(IsValidUtf8Test, RejectsMalformedSequences) {
  EXPECT_FALSE(IsValidUtf8("\xc3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate D800
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xff"));
}

}  // namespace
}  // namespace arca::cli
