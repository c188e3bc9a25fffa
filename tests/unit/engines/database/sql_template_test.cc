#include "server/engines/database/sql_template.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace arca::engines::database {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

// Standard-conforming SQL quoting (what PQescapeIdentifier / PQescapeLiteral
// produce for UTF-8 text without backslashes): doubled quotes. A mock of
// the libpq edge, so the expansion is tested alone.
class SqlQuoter : public Quoter {
 public:
  absl::StatusOr<std::string> Identifier(std::string_view s) const override {
    return "\"" + absl::StrReplaceAll(std::string(s), {{"\"", "\"\""}}) + "\"";
  }
  absl::StatusOr<std::string> Literal(std::string_view s) const override {
    return "'" + absl::StrReplaceAll(std::string(s), {{"'", "''"}}) + "'";
  }
};

TEST(SqlTemplateTest, PlaceholdersExpandQuotedOnce) {
  kms::SecretBytes pw = kms::SecretBytes::CopyFrom("p'w{{name}}");
  TemplateValues v;
  v.name = "v-x\"y";
  v.password = &pw;
  v.expiration = absl::FromUnixMillis(1700000000123);
  auto sql = ExpandTemplate(
      "CREATE ROLE {{name}} PASSWORD {{ password }} VALID UNTIL {{expiration}}",
      v, SqlQuoter());
  ASSERT_TRUE(sql.ok()) << sql.status();
  // The quote inside the name and the password cannot end the token, and
  // "{{name}}" inside the password is not expanded again.
  EXPECT_EQ(*sql,
            "CREATE ROLE \"v-x\"\"y\" PASSWORD 'p''w{{name}}' VALID UNTIL "
            "'2023-11-14 22:13:20.123+00'");
}

TEST(SqlTemplateTest, UnknownOrUnclosedPlaceholdersAreInvalid) {
  EXPECT_TRUE(absl::IsInvalidArgument(CheckTemplate("GRANT {{role}} TO x")));
  EXPECT_TRUE(absl::IsInvalidArgument(CheckTemplate("CREATE ROLE {{name")));
  EXPECT_TRUE(absl::IsInvalidArgument(CheckTemplate("   ")));
  EXPECT_TRUE(CheckTemplate("DROP ROLE {{name}}").ok());
  TemplateValues v;
  v.name = "n";
  // No password outside creation statements.
  EXPECT_TRUE(absl::IsInvalidArgument(
      ExpandTemplate("ALTER ROLE {{name}} PASSWORD {{password}}", v, SqlQuoter())
          .status()));
}

TEST(SqlTemplateTest, UsesPlaceholderFindsOnlyRealPlaceholders) {
  EXPECT_TRUE(UsesPlaceholder("x {{ name }} y", "name"));
  EXPECT_FALSE(UsesPlaceholder("x name y", "name"));
  EXPECT_FALSE(UsesPlaceholder("{{expiration}}", "name"));
}

TEST(SqlTemplateTest, HostileNamesAreRefused) {
  for (const std::string& bad : std::vector<std::string>{
           "", ".", "..", "a..b", "a/b", "a'b", "a\"b", "a;b", "a b", "a\nb",
        "a{{b", std::string(129, 'a'), std::string("a\0b", 3)}) {
    EXPECT_TRUE(absl::IsInvalidArgument(CheckName("role", bad))) << bad;
  }
  for (const std::string& good : std::vector<std::string>{
           "app", "App.v2_read-only", std::string(128, 'z')}) {
    EXPECT_TRUE(CheckName("role", good).ok()) << good;
  }
}

TEST(SqlTemplateTest, UsernamesAreShortLowercaseAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string u = NewUsername(std::string(128, 'R') + ".x_y");
    EXPECT_LE(u.size(), 63u);
    EXPECT_THAT(u, MatchesRegex("v-r{32}-[a-z0-9]{20}"));
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_THAT(NewUsername("My.App_1"), MatchesRegex("v-my-app-1-[a-z0-9]{20}"));
}

TEST(SqlTemplateTest, PasswordsAreLongAlphanumericAndDistinct) {
  kms::SecretBytes a = NewPassword();
  kms::SecretBytes b = NewPassword();
  EXPECT_GE(a.size(), 32u);
  EXPECT_THAT(std::string(a.Reveal()), MatchesRegex("[A-Za-z0-9]{32}"));
  EXPECT_FALSE(a.Equals(b));
}

}  // namespace
}  // namespace arca::engines::database
