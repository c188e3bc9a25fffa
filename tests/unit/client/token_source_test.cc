#include "client/token_source.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace arca {
namespace {

class TokenSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/arca-token-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    home_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(home_); }

  void WriteTokenFile(const std::string& content) {
    std::ofstream out(home_ + "/.arca-token", std::ios::binary);
    out << content;
  }

  std::string home_;
};

TEST_F(TokenSourceTest, TokenFileIsTrimmedOfWhitespaceAndNewline) {
  WriteTokenFile("  arca.root.abc123\n\n");
  absl::StatusOr<std::string> token = LoadTokenFile(home_ + "/.arca-token");
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "arca.root.abc123");
}

TEST_F(TokenSourceTest, MissingTokenFileIsNotFound) {
  EXPECT_EQ(LoadTokenFile(home_ + "/.arca-token").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(TokenSourceTest, DirectoryInsteadOfTokenFileIsAnError) {
  ASSERT_EQ(mkdir((home_ + "/.arca-token").c_str(), 0700), 0);
  absl::Status s = LoadTokenFile(home_ + "/.arca-token").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find(home_), absl::string_view::npos);
  // An unreadable token file must not silently become "no token".
  EXPECT_FALSE(ResolveTokenFrom("", nullptr, home_).ok());
}

TEST_F(TokenSourceTest, ExplicitTokenWinsOverEnvironmentAndFile) {
  WriteTokenFile("from-file");
  absl::StatusOr<std::string> token =
      ResolveTokenFrom("explicit", "from-env", home_);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, "explicit");
}

TEST_F(TokenSourceTest, EnvironmentWinsOverFile) {
  WriteTokenFile("from-file");
  absl::StatusOr<std::string> token = ResolveTokenFrom("", "from-env", home_);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, "from-env");
}

TEST_F(TokenSourceTest, EmptyEnvironmentFallsBackToFile) {
  WriteTokenFile("from-file\n");
  absl::StatusOr<std::string> token = ResolveTokenFrom("", "", home_);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, "from-file");
  token = ResolveTokenFrom("", nullptr, home_);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, "from-file");
}

TEST_F(TokenSourceTest, NoSourceGivesEmptyToken) {
  absl::StatusOr<std::string> token = ResolveTokenFrom("", nullptr, home_);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, "");
}

TEST_F(TokenSourceTest, ResolveTokenReadsArcaTokenEnvironmentVariable) {
  ASSERT_EQ(setenv("ARCA_TOKEN", "env-token-value", 1), 0);
  absl::StatusOr<std::string> token = ResolveToken("");
  unsetenv("ARCA_TOKEN");
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, "env-token-value");
}

TEST_F(TokenSourceTest, ResolveTokenReadsFileUnderHome) {
  WriteTokenFile("home-file-token\n");
  const char* old_home = getenv("HOME");
  const std::string saved = old_home ? old_home : "";
  unsetenv("ARCA_TOKEN");
  ASSERT_EQ(setenv("HOME", home_.c_str(), 1), 0);
  absl::StatusOr<std::string> token = ResolveToken("");
  if (old_home) setenv("HOME", saved.c_str(), 1);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, "home-file-token");
}

}  // namespace
}  // namespace arca
