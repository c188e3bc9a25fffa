#include "server/auth/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace arca::auth {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Message(const absl::Status& s) { return std::string(s.message()); }

// A one-rule document for `pattern` granting `caps` (a JSON array body).
std::string Doc(const std::string& pattern, const std::string& caps) {
  return "{\"path\": {\"" + pattern + "\": {\"capabilities\": [" + caps +
         "]}}}";
}

TEST(PolicyTest, ParsesTheIssueExample) {
  auto p = ParsePolicy(R"({"path": {
      "kv/data/app/*": {"capabilities": ["read", "list"]},
      "kv/data/app/admin": {"capabilities": ["deny"]}}})");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_EQ(p->path().size(), 2u);
  EXPECT_THAT(p->path().at("kv/data/app/*").capabilities(),
              ElementsAre("read", "list"));
  EXPECT_THAT(p->path().at("kv/data/app/admin").capabilities(),
              ElementsAre("deny"));
}

TEST(PolicyTest, EmptyDocumentIsAPolicyWithNoRules) {
  auto p = ParsePolicy("{}");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->path().empty());
}

TEST(PolicyTest, EveryCapabilityNameIsAccepted) {
  auto p = ParsePolicy(
      Doc("kv/*",
          R"("create", "read", "update", "delete", "list", "sudo", "deny")"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->path().at("kv/*").capabilities_size(), 7);
}

TEST(PolicyTest, UnknownCapabilityIsRejectedNamingCapabilityAndPattern) {
  auto p = ParsePolicy(Doc("kv/data/app/*", R"("read", "raed")"));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(p.status()),
              AllOf(HasSubstr("raed"), HasSubstr("kv/data/app/*"),
                    HasSubstr("unknown capability")));
}

TEST(PolicyTest, CapabilityNamesAreCaseSensitive) {
  auto p = ParsePolicy(Doc("kv/x", R"("Read")"));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(p.status()), HasSubstr("Read"));
}

TEST(PolicyTest, RuleWithoutCapabilitiesIsRejected) {
  auto p = ParsePolicy(Doc("kv/x", ""));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(p.status()),
              AllOf(HasSubstr("kv/x"), HasSubstr("no capabilities")));
}

TEST(PolicyTest, EmptyPatternIsRejected) {
  auto p = ParsePolicy(Doc("", R"("read")"));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(p.status()), HasSubstr("empty"));
}

struct BadPattern {
  const char* pattern;
  const char* why;  // a substring of the expected message
};

class BadPatternTest : public ::testing::TestWithParam<BadPattern> {};

TEST_P(BadPatternTest, PolicyWithBadPatternIsRejectedNamingIt) {
  const BadPattern& bad = GetParam();
  auto p = ParsePolicy(Doc(bad.pattern, R"("read")"));
  ASSERT_FALSE(p.ok()) << bad.pattern;
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(p.status()),
              AllOf(HasSubstr(std::string("\"") + bad.pattern + "\""),
                    HasSubstr(bad.why)));
}

INSTANTIATE_TEST_SUITE_P(
    PolicyPatterns, BadPatternTest,
    ::testing::Values(BadPattern{"kv/*/config", "'*'"},
                      BadPattern{"*kv", "'*'"}, BadPattern{"kv/a*b", "'*'"},
                      BadPattern{"kv/**", "'*'"}, BadPattern{"kv/app+", "'+'"},
                      BadPattern{"kv/+app/x", "'+'"},
                      BadPattern{"kv/++/x", "'+'"}, BadPattern{"kv/+*", "'+'"},
                      BadPattern{"/kv/data", "start with '/'"},
                      BadPattern{"kv//data", "empty segment"},
                      BadPattern{"kv/../data", "'..'"},
                      BadPattern{"kv/./data", "'.'"},
                      BadPattern{"kv/data/..", "'..'"}));

TEST(PolicyTest, ControlCharacterInPatternIsRejected) {
  auto p = ParsePolicy(Doc("kv/a\\u0001b", R"("read")"));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(p.status()), HasSubstr("control character"));
}

TEST(PolicyTest, WellFormedPatternsAreAccepted) {
  for (const char* pattern :
       {"*", "+", "kv/*", "kv/data/app*", "kv/+/config", "kv/+/*",
        "kv/metadata/", "kv/+/", "a/+/+/b*", "+/x", "kv/.hidden", "kv/.*",
        "kv/a.b/c", "kv/data/app/admin"}) {
    EXPECT_TRUE(ValidatePattern(pattern).ok()) << pattern;
  }
}

TEST(PolicyTest, FirstBadPatternReportedIsTheSmallestRegardlessOfOrder) {
  // Map order is unspecified; the error must not be.
  auto a = ParsePolicy(R"({"path": {"z/*/x": {"capabilities": ["read"]},
                                    "a/*/x": {"capabilities": ["read"]}}})");
  auto b = ParsePolicy(R"({"path": {"a/*/x": {"capabilities": ["read"]},
                                    "z/*/x": {"capabilities": ["read"]}}})");
  ASSERT_FALSE(a.ok());
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(a.status(), b.status());
  EXPECT_THAT(Message(a.status()), HasSubstr("a/*/x"));
}

TEST(PolicyTest, LongBadPatternIsTruncatedInTheMessage) {
  std::string pattern = "kv/" + std::string(5000, 'x') + "*/y";
  auto p = ParsePolicy(Doc(pattern, R"("read")"));
  ASSERT_FALSE(p.ok());
  EXPECT_LT(p.status().message().size(), 400u);
  EXPECT_THAT(Message(p.status()), HasSubstr("kv/xxxx"));
}

TEST(PolicyTest, UnknownTopLevelFieldIsRejected) {
  auto p = ParsePolicy(R"({"paths": {"kv/*": {"capabilities": ["read"]}}})");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(p.status()), HasSubstr("paths"));
}

TEST(PolicyTest, UnknownRuleFieldIsRejected) {
  auto p = ParsePolicy(R"({"path": {"kv/*": {"capability": ["read"]}}})");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(p.status()), HasSubstr("capability"));
}

TEST(PolicyTest, MalformedJsonIsRejected) {
  for (const char* doc :
       {"", "{", "not json", R"({"path": {"kv/*": )", R"({"path": ["kv/*"]})",
        R"({"path": {"kv/*": {"capabilities": [1]}}})", "[]"}) {
    auto p = ParsePolicy(doc);
    ASSERT_FALSE(p.ok()) << doc;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << doc;
  }
}

TEST(PolicyTest, DuplicatePatternIsRejectedRatherThanOneRuleDropped) {
  auto p = ParsePolicy(R"({"path": {"kv/*": {"capabilities": ["deny"]},
                                    "kv/*": {"capabilities": ["read"]}}})");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(p.status()), HasSubstr("kv/*"));
}

TEST(PolicyTest, RepeatedFieldsAreMergedSoNoCapabilityIsLost) {
  // Protobuf's JSON mapping merges a repeated key; a deny must survive it.
  auto p = ParsePolicy(R"({"path": {"kv/*": {"capabilities": ["read"],
                                             "capabilities": ["deny"]}}})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->path().at("kv/*").capabilities(), ElementsAre("read", "deny"));
}

TEST(PolicyTest, SingleCapabilityStringIsReadAsAOneElementList) {
  // Protobuf's JSON mapping accepts a bare value for a repeated field.
  auto p = ParsePolicy(R"({"path": {"kv/*": {"capabilities": "read"}}})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_THAT(p->path().at("kv/*").capabilities(), ElementsAre("read"));
  auto bad = ParsePolicy(R"({"path": {"kv/*": {"capabilities": "raed"}}})");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

// A valid document padded with trailing whitespace to exactly `size` bytes.
std::string PaddedDoc(size_t size) {
  std::string doc = Doc("kv/*", R"("read")");
  doc.append(size - doc.size(), ' ');
  return doc;
}

TEST(PolicyTest, DocumentOfExactlyOneMiBIsAccepted) {
  std::string doc = PaddedDoc(kMaxPolicyBytes);
  ASSERT_EQ(doc.size(), size_t{1} << 20);
  auto p = ParsePolicy(doc);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->path().size(), 1u);
}

TEST(PolicyTest, DocumentOneByteOverOneMiBIsRejected) {
  std::string doc = PaddedDoc(kMaxPolicyBytes + 1);
  auto p = ParsePolicy(doc);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(p.status()), HasSubstr("1048577 bytes"));
}

// `depth` nested arrays inside the capabilities of one rule; the total
// depth is 3 (object, "path" object, rule object) plus the arrays.
std::string NestedDoc(int depth) {
  int arrays = depth - 3;
  return R"({"path": {"kv/*": {"capabilities": )" + std::string(arrays, '[') +
         std::string(arrays, ']') + "}}}";
}

TEST(PolicyTest, NestingOf65LevelsIsRejectedBeforeParsing) {
  auto p = ParsePolicy(NestedDoc(65));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(p.status()), HasSubstr("nested deeper than 64"));
  EXPECT_FALSE(CheckJsonLimits(NestedDoc(65)).ok());
}

TEST(PolicyTest, NestingOf64LevelsPassesTheDepthLimit) {
  EXPECT_TRUE(CheckJsonLimits(NestedDoc(64)).ok());
  // The schema still rejects nested arrays, but not for their depth.
  auto p = ParsePolicy(NestedDoc(64));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(p.status()), Not(HasSubstr("nested deeper")));
}

TEST(PolicyTest, ObjectNestingCountsTowardDepthToo) {
  std::string deep;
  for (int i = 0; i < 65; ++i) deep += "{\"a\":";
  deep += "1";
  deep += std::string(65, '}');
  EXPECT_THAT(Message(CheckJsonLimits(deep)), HasSubstr("nested deeper"));
  std::string ok;
  for (int i = 0; i < 64; ++i) ok += "{\"a\":";
  ok += "1";
  ok += std::string(64, '}');
  EXPECT_TRUE(CheckJsonLimits(ok).ok());
}

TEST(PolicyTest, BracketsInsideStringsDoNotCountTowardDepth) {
  // 100 '[' and an escaped quote inside the pattern string.
  std::string pattern =
      "kv/" + std::string(100, '[') + "\\\"" + std::string(100, '{') + "/x";
  auto p = ParsePolicy(Doc(pattern, R"("read")"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->path().size(), 1u);
}

TEST(PolicyTest, CapabilityNamesRoundTrip) {
  for (int i = 0; i < kNumCapabilities; ++i) {
    auto c = static_cast<Capability>(i);
    auto parsed = ParseCapability(CapabilityName(c));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, c);
  }
  EXPECT_EQ(CapabilityName(Capability::kSudo), "sudo");
  EXPECT_EQ(ParseCapability("write").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseCapability("").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PolicyTest, NamesOfLowercaseDigitsUnderscoreDashUpTo128AreValid) {
  for (const std::string& name :
       {std::string("app"), std::string("a"), std::string("team_b-2"),
        std::string("default"), std::string(128, 'x')}) {
    EXPECT_TRUE(ValidateName(name).ok()) << name;
  }
}

TEST(PolicyTest, InvalidNamesAreRejected) {
  for (const std::string& name :
       {std::string(""), std::string(129, 'x'), std::string("App"),
        std::string("a/b"), std::string("a b"), std::string("a.b"),
        std::string("ü")}) {
    auto s = ValidateName(name);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << name;
  }
}

TEST(PolicyTest, RootNameCannotBeWrittenByUsers) {
  auto s = ValidateName("root");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(s), HasSubstr("root"));
}

TEST(PolicyTest, BuiltInPoliciesAreValid) {
  EXPECT_TRUE(ValidatePolicy(RootPolicy()).ok());
  EXPECT_TRUE(ValidatePolicy(DefaultPolicy()).ok());
  EXPECT_THAT(
      RootPolicy().path().at("*").capabilities(),
      ElementsAre("create", "read", "update", "delete", "list", "sudo"));
  Policy d = DefaultPolicy();
  EXPECT_EQ(d.path().size(), 3u);
  EXPECT_THAT(d.path().at("auth/token/lookup-self").capabilities(),
              ElementsAre("read", "update"));
  EXPECT_THAT(d.path().at("auth/token/renew-self").capabilities(),
              ElementsAre("update"));
  EXPECT_THAT(d.path().at("auth/token/revoke-self").capabilities(),
              ElementsAre("update"));
}

TEST(PolicyTest, PrintedPolicyParsesBackToTheSameRules) {
  Policy original = DefaultPolicy();
  (*original.mutable_path())["kv/+/config*"].add_capabilities("deny");
  auto json = PolicyToJson(original);
  ASSERT_TRUE(json.ok());
  auto parsed = ParsePolicy(*json);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->path().size(), original.path().size());
  EXPECT_THAT(parsed->path().at("kv/+/config*").capabilities(),
              ElementsAre("deny"));
}

}  // namespace
}  // namespace arca::auth
