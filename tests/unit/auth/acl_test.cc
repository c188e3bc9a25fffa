#include "server/auth/acl.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "server/auth/policy.h"

namespace arca::auth {
namespace {

using ::testing::HasSubstr;

constexpr Capability kAllRequestable[] = {
    Capability::kCreate, Capability::kRead, Capability::kUpdate,
    Capability::kDelete, Capability::kList, Capability::kSudo};

Policy MustParse(const std::string& json) {
  auto p = ParsePolicy(json);
  EXPECT_TRUE(p.ok()) << p.status() << "\n" << json;
  return p.ok() ? *std::move(p) : Policy();
}

std::unique_ptr<Acl> MustAcl(
    std::vector<std::pair<std::string, std::string>> docs) {
  std::vector<std::pair<std::string, Policy>> policies;
  for (auto& [name, json] : docs) policies.emplace_back(name, MustParse(json));
  auto acl = Acl::New(std::move(policies));
  EXPECT_TRUE(acl.ok()) << acl.status();
  return acl.ok() ? *std::move(acl) : nullptr;
}

std::unique_ptr<Acl> OneRule(const std::string& pattern,
                             const std::string& caps) {
  return MustAcl({{"p", "{\"path\": {\"" + pattern +
                            "\": {\"capabilities\": [" + caps + "]}}}"}});
}

// --- Matching --------------------------------------------------------------

TEST(AclTest, ExactPatternMatchesOnlyThatPath) {
  auto acl = OneRule("kv/data/app/config", R"("read")");
  EXPECT_TRUE(acl->Allowed("kv/data/app/config", Capability::kRead));
  EXPECT_FALSE(acl->Allowed("kv/data/app/config2", Capability::kRead));
  EXPECT_FALSE(acl->Allowed("kv/data/app/confi", Capability::kRead));
  EXPECT_FALSE(acl->Allowed("kv/data/app", Capability::kRead));
  EXPECT_FALSE(acl->Allowed("kv/data/app/config/", Capability::kRead));
  EXPECT_FALSE(acl->Allowed("kv/data/app/config/x", Capability::kRead));
}

TEST(AclTest, TrailingGlobMatchesEveryPathWithThatPrefix) {
  auto acl = OneRule("kv/data/app/*", R"("read")");
  EXPECT_TRUE(acl->Allowed("kv/data/app/x", Capability::kRead));
  EXPECT_TRUE(acl->Allowed("kv/data/app/x/y/z", Capability::kRead));
  EXPECT_TRUE(acl->Allowed("kv/data/app/", Capability::kRead));
  EXPECT_FALSE(acl->Allowed("kv/data/app", Capability::kRead));
  EXPECT_FALSE(acl->Allowed("kv/data/apple", Capability::kRead));
  EXPECT_FALSE(acl->Allowed("kv/data/other/x", Capability::kRead));
}

TEST(AclTest, GlobInsideASegmentIsAPlainPrefixMatch) {
  auto acl = OneRule("kv/data/app*", R"("read")");
  EXPECT_TRUE(acl->Allowed("kv/data/app", Capability::kRead));
  EXPECT_TRUE(acl->Allowed("kv/data/apple", Capability::kRead));
  EXPECT_TRUE(acl->Allowed("kv/data/app/x", Capability::kRead));
  EXPECT_FALSE(acl->Allowed("kv/data/ap", Capability::kRead));
}

TEST(AclTest, LoneStarMatchesEveryCanonicalPath) {
  auto acl = OneRule("*", R"("list")");
  for (const char* path : {"a", "kv/", "kv/data/x/y", "sys/seal"}) {
    EXPECT_TRUE(acl->Allowed(path, Capability::kList)) << path;
  }
}

TEST(AclTest, PlusMatchesExactlyOneSegment) {
  auto acl = OneRule("kv/data/+/config", R"("read")");
  EXPECT_TRUE(acl->Allowed("kv/data/a/config", Capability::kRead));
  EXPECT_TRUE(acl->Allowed("kv/data/team-b/config", Capability::kRead));
  EXPECT_FALSE(acl->Allowed("kv/data/a/b/config", Capability::kRead));
  EXPECT_FALSE(acl->Allowed("kv/data/config", Capability::kRead));
  EXPECT_FALSE(acl->Allowed("kv/data//config", Capability::kRead));
  EXPECT_FALSE(acl->Allowed("kv/data/a/config/x", Capability::kRead));
  EXPECT_FALSE(acl->Allowed("kv/data/a/configs", Capability::kRead));
}

TEST(AclTest, PlusNeverMatchesTheEmptySegmentAfterATrailingSlash) {
  auto acl = OneRule("kv/+", R"("list")");
  EXPECT_TRUE(acl->Allowed("kv/a", Capability::kList));
  EXPECT_FALSE(acl->Allowed("kv/", Capability::kList));
  EXPECT_FALSE(acl->Allowed("kv/a/", Capability::kList));
}

TEST(AclTest, PlusAtTheStartAndSeveralPlusSegments) {
  auto acl = MustAcl({{"p", R"({"path": {
      "+/config": {"capabilities": ["read"]},
      "kv/+/+/x": {"capabilities": ["update"]}}})"}});
  EXPECT_TRUE(acl->Allowed("kv/config", Capability::kRead));
  EXPECT_FALSE(acl->Allowed("kv/a/config", Capability::kRead));
  EXPECT_TRUE(acl->Allowed("kv/a/b/x", Capability::kUpdate));
  EXPECT_FALSE(acl->Allowed("kv/a/x", Capability::kUpdate));
  EXPECT_FALSE(acl->Allowed("kv/a/b/c/x", Capability::kUpdate));
}

TEST(AclTest, PlusCombinedWithTrailingGlob) {
  auto acl = MustAcl({{"p", R"({"path": {
      "kv/+/config*": {"capabilities": ["read"]},
      "db/+/*": {"capabilities": ["update"]}}})"}});
  EXPECT_TRUE(acl->Allowed("kv/a/config", Capability::kRead));
  EXPECT_TRUE(acl->Allowed("kv/a/config2", Capability::kRead));
  EXPECT_TRUE(acl->Allowed("kv/a/config/deep/er", Capability::kRead));
  EXPECT_FALSE(acl->Allowed("kv/a/b/config", Capability::kRead));
  EXPECT_FALSE(acl->Allowed("kv/a/conf", Capability::kRead));
  EXPECT_TRUE(acl->Allowed("db/a/", Capability::kUpdate));
  EXPECT_TRUE(acl->Allowed("db/a/b/c", Capability::kUpdate));
  EXPECT_FALSE(acl->Allowed("db/a", Capability::kUpdate));
}

TEST(AclTest, MixedPatternKindsAllContribute) {
  auto acl = MustAcl({{"p", R"({"path": {
      "kv/data/app/config": {"capabilities": ["update"]},
      "kv/data/app/*": {"capabilities": ["read"]},
      "kv/data/+/config": {"capabilities": ["list"]},
      "kv/*": {"capabilities": ["create"]}}})"}});
  const char* path = "kv/data/app/config";
  for (Capability c : {Capability::kUpdate, Capability::kRead,
                       Capability::kList, Capability::kCreate}) {
    EXPECT_TRUE(acl->Allowed(path, c)) << CapabilityName(c);
  }
  EXPECT_FALSE(acl->Allowed(path, Capability::kDelete));
  EXPECT_FALSE(acl->Allowed(path, Capability::kSudo));
}

TEST(AclTest, DeepPlusPatternDoesNotExhaustTheStack) {
  std::string pattern, path;
  for (int i = 0; i < 50000; ++i) {
    pattern += "+/";
    path += "s/";
  }
  pattern += "end";
  path += "end";
  auto acl = OneRule(pattern, R"("read")");
  EXPECT_TRUE(acl->Allowed(path, Capability::kRead));
  EXPECT_FALSE(acl->Allowed(path + "x", Capability::kRead));
}

// --- Decisions -------------------------------------------------------------

TEST(AclTest, NoMatchingRuleDeniesAndSaysSo) {
  auto acl = OneRule("kv/data/app/*", R"("read")");
  Decision d = acl->Check("transit/encrypt/k", Capability::kRead);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "no rule matches");
  EXPECT_EQ(d.policy, "");
  EXPECT_EQ(d.pattern, "");
}

TEST(AclTest, EmptyAclDeniesEverything) {
  auto acl = Acl::New({});
  ASSERT_TRUE(acl.ok());
  for (Capability c : kAllRequestable) {
    EXPECT_FALSE((*acl)->Check("kv/x", c).allowed);
  }
}

TEST(AclTest, MatchingRuleWithoutTheCapabilityDeniesNamingClosestRule) {
  auto acl = MustAcl({{"app", R"({"path": {
      "kv/data/app/*": {"capabilities": ["read"]}}})"}});
  Decision d = acl->Check("kv/data/app/x", Capability::kUpdate);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.policy, "app");
  EXPECT_EQ(d.pattern, "kv/data/app/*");
  EXPECT_THAT(d.reason, HasSubstr("no matching rule grants update"));
}

TEST(AclTest, AllowedDecisionNamesPolicyPatternAndCapability) {
  auto acl = MustAcl(
      {{"app", R"({"path": {"kv/data/app/*": {"capabilities": ["read"]}}})"},
       {"ops", R"({"path": {"kv/data/ops/*": {"capabilities": ["deny"]}}})"}});
  Decision d = acl->Check("kv/data/app/db", Capability::kRead);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.policy, "app");
  EXPECT_EQ(d.pattern, "kv/data/app/*");
  EXPECT_EQ(d.reason, "allowed by read in policy app on kv/data/app/*");
}

TEST(AclTest, DeniedDecisionNamesTheDenyingPolicyAndPattern) {
  auto acl = MustAcl(
      {{"app", R"({"path": {"kv/*": {"capabilities": ["read"]}}})"},
       {"ops", R"({"path": {"kv/data/ops/*": {"capabilities": ["deny"]}}})"}});
  Decision d = acl->Check("kv/data/ops/x", Capability::kRead);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.policy, "ops");
  EXPECT_EQ(d.pattern, "kv/data/ops/*");
  EXPECT_EQ(d.reason, "denied by deny in policy ops on kv/data/ops/*");
}

TEST(AclTest, DenyInOnePolicyWinsOverGrantsInOthers) {
  auto acl =
      MustAcl({{"a", R"({"path": {"kv/data/x": {"capabilities":
                   ["create", "read", "update", "delete", "list", "sudo"]}}})"},
               {"b", R"({"path": {"kv/data/x": {"capabilities": ["deny"]}}})"},
               {"c", R"({"path": {"*": {"capabilities": ["read"]}}})"}});
  for (Capability c : kAllRequestable) {
    Decision d = acl->Check("kv/data/x", c);
    EXPECT_FALSE(d.allowed) << CapabilityName(c);
    EXPECT_EQ(d.policy, "b");
  }
  EXPECT_TRUE(acl->Allowed("kv/data/y", Capability::kRead));
}

TEST(AclTest, DenyOnABroadPatternWinsOverAMoreSpecificGrant) {
  auto acl = MustAcl({{"p", R"({"path": {
      "kv/*": {"capabilities": ["deny"]},
      "kv/data/app/config": {"capabilities": ["read"]},
      "kv/data/+/config": {"capabilities": ["read"]}}})"}});
  Decision d = acl->Check("kv/data/app/config", Capability::kRead);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.pattern, "kv/*");
}

TEST(AclTest, DenyAlongsideOtherCapabilitiesInOneRuleStillDenies) {
  auto acl = OneRule("kv/x", R"("read", "deny")");
  EXPECT_FALSE(acl->Allowed("kv/x", Capability::kRead));
}

TEST(AclTest, DenyOnOnePathLeavesSiblingsAlone) {
  auto acl = MustAcl({{"p", R"({"path": {
      "kv/data/app/*": {"capabilities": ["read"]},
      "kv/data/app/admin": {"capabilities": ["deny"]}}})"}});
  EXPECT_FALSE(acl->Allowed("kv/data/app/admin", Capability::kRead));
  EXPECT_TRUE(acl->Allowed("kv/data/app/admin2", Capability::kRead));
  EXPECT_TRUE(acl->Allowed("kv/data/app/admin/", Capability::kRead));
  EXPECT_TRUE(acl->Allowed("kv/data/app/user", Capability::kRead));
}

TEST(AclTest, CapabilitiesOfAllMatchingRulesAddUp) {
  auto acl =
      MustAcl({{"a", R"({"path": {"kv/*": {"capabilities": ["read"]}}})"},
               {"b", R"({"path": {"kv/app/*": {"capabilities": ["update"]},
                          "kv/app/+": {"capabilities": ["list"]}}})"}});
  EXPECT_TRUE(acl->Allowed("kv/app/x", Capability::kRead));
  EXPECT_TRUE(acl->Allowed("kv/app/x", Capability::kUpdate));
  EXPECT_TRUE(acl->Allowed("kv/app/x", Capability::kList));
  EXPECT_FALSE(acl->Allowed("kv/app/x", Capability::kDelete));
  EXPECT_FALSE(acl->Allowed("kv/other", Capability::kUpdate));
}

TEST(AclTest, RequestingDenyIsNeverAllowed) {
  auto acl = OneRule("*", R"("deny")");
  Decision d = acl->Check("kv/x", Capability::kDeny);
  EXPECT_FALSE(d.allowed);
  EXPECT_FALSE(acl->Allowed("kv/x", Capability::kDeny));
  auto root = Acl::New({{"root", RootPolicy()}});
  ASSERT_TRUE(root.ok());
  EXPECT_FALSE((*root)->Check("kv/x", Capability::kDeny).allowed);
}

TEST(AclTest, NonCanonicalPathsAreDeniedEvenUnderAStarRule) {
  auto acl = OneRule("*", R"("read")");
  for (const char* path : {"", "/kv/x", "kv//x", "kv/../x", "kv/./x", "kv/x/..",
                           "..", ".", "kv/x/."}) {
    Decision d = acl->Check(path, Capability::kRead);
    EXPECT_FALSE(d.allowed) << path;
    EXPECT_THAT(d.reason, HasSubstr("not canonical")) << path;
    EXPECT_FALSE(acl->Allowed(path, Capability::kRead)) << path;
  }
  EXPECT_TRUE(acl->Allowed("kv/x/", Capability::kRead));
  EXPECT_TRUE(acl->Allowed("kv/..x", Capability::kRead));
}

TEST(AclTest, DecisionDoesNotDependOnTheOrderPoliciesAreGiven) {
  std::vector<std::pair<std::string, std::string>> docs = {
      {"a", R"({"path": {"kv/*": {"capabilities": ["read"]}}})"},
      {"b", R"({"path": {"kv/*": {"capabilities": ["read", "update"]}}})"},
      {"c", R"({"path": {"kv/x/+": {"capabilities": ["deny"]}}})"},
      {"d", R"({"path": {"kv/y": {"capabilities": ["list"]}}})"}};
  auto first = MustAcl(docs);
  std::reverse(docs.begin(), docs.end());
  auto second = MustAcl(docs);
  for (const char* path : {"kv/x/1", "kv/y", "kv/z", "kv/x/1/2", "zz"}) {
    for (Capability c : kAllRequestable) {
      Decision a = first->Check(path, c), b = second->Check(path, c);
      EXPECT_EQ(a.allowed, b.allowed) << path;
      EXPECT_EQ(a.policy, b.policy) << path;
      EXPECT_EQ(a.pattern, b.pattern) << path;
      EXPECT_EQ(a.reason, b.reason) << path;
    }
  }
  // Two policies with the same pattern: the lower name is reported.
  EXPECT_EQ(first->Check("kv/z", Capability::kRead).policy, "a");
  EXPECT_EQ(first->Check("kv/z", Capability::kUpdate).policy, "b");
}

// --- Construction ------------------------------------------------------------

TEST(AclTest, DuplicatePolicyNameIsRejected) {
  auto acl = Acl::New({{"app", DefaultPolicy()}, {"app", DefaultPolicy()}});
  EXPECT_EQ(acl.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(acl.status().message()), HasSubstr("app"));
}

TEST(AclTest, MalformedPolicyNameIsRejected) {
  auto acl = Acl::New({{"Bad Name", DefaultPolicy()}});
  EXPECT_EQ(acl.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AclTest, InvalidPolicyBuiltInCodeIsRejectedNamingPolicyAndPattern) {
  Policy p;
  (*p.mutable_path())["kv/*/x"].add_capabilities("read");
  auto acl = Acl::New({{"team", p}});
  ASSERT_FALSE(acl.ok());
  EXPECT_EQ(acl.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(acl.status().message()), HasSubstr("team"));
  EXPECT_THAT(std::string(acl.status().message()), HasSubstr("kv/*/x"));
  Policy q;
  (*q.mutable_path())["kv/x"].add_capabilities("write");
  EXPECT_EQ(Acl::New({{"team", q}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AclTest, RootNameWithOtherRulesIsRejected) {
  Policy fake = RootPolicy();
  (*fake.mutable_path())["sys/*"].add_capabilities("deny");
  auto acl = Acl::New({{"root", fake}});
  EXPECT_EQ(acl.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Acl::New({{"root", DefaultPolicy()}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// --- Built-in policies -------------------------------------------------------

TEST(AclTest, RootAllowsEveryCapabilityOnEveryPath) {
  auto acl = Acl::New({{"root", RootPolicy()}});
  ASSERT_TRUE(acl.ok()) << acl.status();
  for (const char* path :
       {"sys/seal", "kv/data/x", "auth/token/create", "a", "x/y/"}) {
    for (Capability c : kAllRequestable) {
      Decision d = (*acl)->Check(path, c);
      EXPECT_TRUE(d.allowed) << path << " " << CapabilityName(c);
      EXPECT_EQ(d.policy, "root");
      EXPECT_EQ(d.reason, "allowed by root policy");
    }
  }
}

TEST(AclTest, RootIsNotRestrictedByDenyInTheTokensOtherPolicies) {
  auto acl = Acl::New(
      {{"root", RootPolicy()},
       {"lock", MustParse(R"({"path": {"*": {"capabilities": ["deny"]}}})")}});
  ASSERT_TRUE(acl.ok()) << acl.status();
  EXPECT_TRUE((*acl)->Allowed("sys/seal", Capability::kSudo));
}

TEST(AclTest, DefaultPolicyAllowsOnlySelfLookupRenewAndRevoke) {
  auto acl = Acl::New({{"default", DefaultPolicy()}});
  ASSERT_TRUE(acl.ok()) << acl.status();
  const Acl& a = **acl;
  struct Want {
    const char* path;
    Capability cap;
  };
  std::vector<Want> allowed = {{"auth/token/lookup-self", Capability::kRead},
                               {"auth/token/lookup-self", Capability::kUpdate},
                               {"auth/token/renew-self", Capability::kUpdate},
                               {"auth/token/revoke-self", Capability::kUpdate}};
  for (const Want& w : allowed) {
    EXPECT_TRUE(a.Allowed(w.path, w.cap)) << w.path;
  }
  for (const char* path :
       {"auth/token/lookup-self", "auth/token/renew-self",
        "auth/token/revoke-self", "auth/token/lookup", "auth/token/renew",
        "auth/token/revoke", "auth/token/create", "auth/token/lookup-self/x",
        "auth/token/lookup-selfish", "kv/data/x", "sys/seal"}) {
    for (Capability c : kAllRequestable) {
      bool expected =
          std::any_of(allowed.begin(), allowed.end(), [&](const Want& w) {
            return w.path == std::string_view(path) && w.cap == c;
          });
      EXPECT_EQ(a.Allowed(path, c), expected)
          << path << " " << CapabilityName(c);
    }
  }
}

// --- Precedence examples from docs/policies.md -------------------------------

// Example 1.
TEST(AclDocsTest, DenyBeatsAMoreSpecificAllowInAnotherPolicy) {
  auto acl = MustAcl(
      {{"ops", R"({"path": {"kv/data/*": {"capabilities": ["deny"]}}})"},
       {"app", R"({"path": {"kv/data/app/config":
                            {"capabilities": ["read"]}}})"}});
  Decision d = acl->Check("kv/data/app/config", Capability::kRead);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "denied by deny in policy ops on kv/data/*");
}

// Example 2.
TEST(AclDocsTest, OverlappingPatternsAddTheirCapabilities) {
  auto acl = MustAcl({{"app", R"({"path": {
      "kv/data/app/*": {"capabilities": ["read"]},
      "kv/data/app/config": {"capabilities": ["update"]}}})"}});
  Decision r = acl->Check("kv/data/app/config", Capability::kRead);
  Decision u = acl->Check("kv/data/app/config", Capability::kUpdate);
  EXPECT_TRUE(r.allowed);
  EXPECT_EQ(r.pattern, "kv/data/app/*");
  EXPECT_TRUE(u.allowed);
  EXPECT_EQ(u.pattern, "kv/data/app/config");
  EXPECT_FALSE(acl->Allowed("kv/data/app/other", Capability::kUpdate));
}

// Example 3.
TEST(AclDocsTest, ANarrowerRuleCannotTakeCapabilitiesAway) {
  auto acl = MustAcl({{"team", R"({"path": {
      "kv/data/*": {"capabilities": ["read", "update"]},
      "kv/data/prod/*": {"capabilities": ["read"]}}})"}});
  Decision d = acl->Check("kv/data/prod/db", Capability::kUpdate);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.pattern, "kv/data/*");
  // The documented way to take update away: do not grant it broadly.
  auto fixed = MustAcl({{"team", R"({"path": {
      "kv/data/dev/*": {"capabilities": ["read", "update"]},
      "kv/data/prod/*": {"capabilities": ["read"]}}})"}});
  EXPECT_FALSE(fixed->Allowed("kv/data/prod/db", Capability::kUpdate));
  EXPECT_TRUE(fixed->Allowed("kv/data/prod/db", Capability::kRead));
  EXPECT_TRUE(fixed->Allowed("kv/data/dev/db", Capability::kUpdate));
}

// Example 4: the reported rule, step by step.
TEST(AclDocsTest, ReportedRuleFollowsTheDocumentedPriorityOrder) {
  std::vector<std::string> ladder = {
      "kv/data/app/config",  // literal
      "kv/data/app/conf*",   // first wildcard furthest right
      "kv/data/app/*",       // wildcard earlier
      "kv/data/+/config",    // '+' at the same place as the '*' below...
      "kv/data/+/*",         // ...but a non-glob beats a glob
      "kv/+/+/config",       // first wildcard earlier still
      "kv/*",                // ...
      "*"};
  for (size_t start = 0; start < ladder.size(); ++start) {
    std::string json = "{\"path\": {";
    for (size_t i = start; i < ladder.size(); ++i) {
      if (i > start) json += ", ";
      json += "\"" + ladder[i] + "\": {\"capabilities\": [\"read\"]}";
    }
    json += "}}";
    auto acl = MustAcl({{"p", json}});
    Decision d = acl->Check("kv/data/app/config", Capability::kRead);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.pattern, ladder[start]);
  }
}

// Example 5.
TEST(AclDocsTest, FewerPlusSegmentsThenLongerThenGreaterPatternIsReported) {
  auto plus = MustAcl({{"p", R"({"path": {
      "kv/+/a/+": {"capabilities": ["read"]},
      "kv/+/+/+": {"capabilities": ["read"]}}})"}});
  EXPECT_EQ(plus->Check("kv/x/a/y", Capability::kRead).pattern, "kv/+/a/+");
  auto longer = MustAcl({{"p", R"({"path": {
      "kv/+/*": {"capabilities": ["read"]},
      "kv/+/a*": {"capabilities": ["read"]}}})"}});
  EXPECT_EQ(longer->Check("kv/x/ab", Capability::kRead).pattern, "kv/+/a*");
  // Everything else equal: the lexicographically greater pattern.
  auto lexical = MustAcl({{"p", R"({"path": {
      "+/+/ab": {"capabilities": ["read"]},
      "+/ab/+": {"capabilities": ["read"]}}})"}});
  EXPECT_EQ(lexical->Check("x/ab/ab", Capability::kRead).pattern, "+/ab/+");
}

// Example 6.
TEST(AclDocsTest, SamePatternInTwoPoliciesReportsTheLowerName) {
  auto acl = MustAcl(
      {{"zeta", R"({"path": {"kv/*": {"capabilities": ["read", "list"]}}})"},
       {"alpha", R"({"path": {"kv/*": {"capabilities": ["read"]}}})"}});
  EXPECT_EQ(acl->Check("kv/x", Capability::kRead).policy, "alpha");
  EXPECT_EQ(acl->Check("kv/x", Capability::kList).policy, "zeta");
}

// Example 7: the deny reported is the highest-priority deny.
TEST(AclDocsTest, ReportedDenyIsTheHighestPriorityDeny) {
  auto acl =
      MustAcl({{"a", R"({"path": {"kv/*": {"capabilities": ["deny"]}}})"},
               {"b", R"({"path": {"kv/secret/+": {"capabilities": ["deny"]},
                          "kv/secret/x": {"capabilities": ["read"]}}})"}});
  Decision d = acl->Check("kv/secret/x", Capability::kRead);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.policy, "b");
  EXPECT_EQ(d.pattern, "kv/secret/+");
}

// --- Thread safety -----------------------------------------------------------

TEST(AclTest, ConcurrentChecksGiveTheSameAnswersAsSequentialOnes) {
  auto acl = MustAcl({{"p", R"({"path": {
      "kv/*": {"capabilities": ["read"]},
      "kv/+/x": {"capabilities": ["update"]},
      "kv/a/x": {"capabilities": ["deny"]}}})"}});
  std::vector<std::string> paths = {"kv/a/x", "kv/b/x", "kv/c", "db/x"};
  std::vector<bool> expected;
  for (const auto& p : paths) {
    for (Capability c : kAllRequestable) expected.push_back(acl->Allowed(p, c));
  }
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 2000; ++round) {
        size_t k = 0;
        for (const auto& p : paths) {
          for (Capability c : kAllRequestable) {
            if (acl->Check(p, c).allowed != expected[k++]) ++mismatches[t];
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(expected, (std::vector<bool>{
                          false, false, false, false, false, false,  // kv/a/x
                          false, true,  true,  false, false, false,  // kv/b/x
                          false, true,  false, false, false, false,  // kv/c
                          false, false, false, false, false, false}));
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

// --- Randomized differential test -------------------------------------------

// A deliberately naive reference: character-by-character, with '+'
// consuming one or more non-'/' characters and a final '*' anything.
bool RefMatch(std::string_view pat, std::string_view path) {
  if (pat.empty()) return path.empty();
  if (pat == "*") return true;
  if (pat[0] == '+') {
    for (size_t n = 1; n <= path.size() && path[n - 1] != '/'; ++n) {
      if (RefMatch(pat.substr(1), path.substr(n))) return true;
    }
    return false;
  }
  return !path.empty() && pat[0] == path[0] &&
         RefMatch(pat.substr(1), path.substr(1));
}

// The priority order written out in docs/policies.md: true if a outranks b.
bool RefOutranks(const std::string& a, const std::string& b) {
  auto first = [](const std::string& p) {
    size_t i = p.find_first_of("+*");
    return i == std::string::npos ? p.size() + 1 : i;
  };
  auto glob = [](const std::string& p) { return p.back() == '*'; };
  auto pluses = [](const std::string& p) {
    return std::count(p.begin(), p.end(), '+');
  };
  if (first(a) != first(b)) return first(a) > first(b);
  if (glob(a) != glob(b)) return glob(b);
  if (pluses(a) != pluses(b)) return pluses(a) < pluses(b);
  if (a.size() != b.size()) return a.size() > b.size();
  return a > b;
}

struct RefRule {
  std::string policy;
  std::string pattern;
  std::vector<Capability> caps;
  bool Has(Capability c) const {
    return std::find(caps.begin(), caps.end(), c) != caps.end();
  }
};

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}
  int Uniform(int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(rng_);
  }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  std::string Literal() {
    static const char* kSegs[] = {"a", "b", "ab", "ba", "abc", "b.a"};
    return kSegs[Uniform(0, 5)];
  }
  std::string Pattern() {
    int n = Uniform(1, 4);
    std::string p;
    for (int i = 0; i < n; ++i) {
      if (i > 0) p += "/";
      p += Chance(0.3) ? "+" : Literal();
    }
    int end = Uniform(0, 9);
    if (end < 2) {
      p += "/*";
    } else if (end < 4 && p.back() != '+') {
      std::string lit = Literal();
      p += "/" + lit.substr(0, Uniform(0, lit.size())) + "*";
    } else if (end < 5 && p.back() != '+') {
      p.pop_back();  // partial last segment, then glob
      p += "*";
    } else if (end < 6) {
      p += "/";
    }
    if (Chance(0.03)) p = "*";
    return p;
  }
  // Either random, or an instance of `pattern` (so matches are frequent).
  std::string Path(const std::string& pattern) {
    std::string p;
    if (Chance(0.5)) {
      for (size_t i = 0; i < pattern.size(); ++i) {
        char c = pattern[i];
        if (c == '+') {
          p += Literal();
        } else if (c == '*') {
          int extra = Uniform(0, 2);
          for (int k = 0; k < extra; ++k) p += Literal().substr(0, 2) + "/";
          if (Chance(0.5)) p += Literal();
        } else {
          p += c;
        }
      }
      if (Chance(0.2) && !p.empty()) p.pop_back();  // near miss
      if (p.empty() || p.front() == '/' || p.find("//") != std::string::npos) {
        p = "a";
      }
      return p;
    }
    int n = Uniform(1, 5);
    for (int i = 0; i < n; ++i) {
      if (i > 0) p += "/";
      p += Literal();
    }
    if (Chance(0.15)) p += "/";
    return p;
  }
  Capability Cap() { return static_cast<Capability>(Uniform(0, 5)); }

 private:
  std::mt19937 rng_;
};

TEST(AclDifferentialTest, CheckAgreesWithBruteForceReference) {
  Generator gen(20261203);
  int checks = 0, allowed_count = 0, denied_by_deny = 0;
  for (int trial = 0; trial < 400; ++trial) {
    std::vector<RefRule> rules;
    std::vector<std::pair<std::string, Policy>> policies;
    int npolicies = gen.Uniform(1, 4);
    for (int pi = 0; pi < npolicies; ++pi) {
      std::string name = std::string(1, static_cast<char>('a' + pi)) + "pol";
      Policy policy;
      int nrules = gen.Uniform(1, 6);
      for (int r = 0; r < nrules; ++r) {
        std::string pattern = gen.Pattern();
        ASSERT_TRUE(ValidatePattern(pattern).ok()) << pattern;
        if (policy.path().contains(pattern)) continue;
        PathRule& rule = (*policy.mutable_path())[pattern];
        RefRule ref{name, pattern, {}};
        for (int c = 0; c < kNumCapabilities; ++c) {
          double p = c == static_cast<int>(Capability::kDeny) ? 0.12 : 0.35;
          if (gen.Chance(p)) ref.caps.push_back(static_cast<Capability>(c));
        }
        if (ref.caps.empty()) ref.caps.push_back(Capability::kRead);
        for (Capability c : ref.caps) {
          rule.add_capabilities(std::string(CapabilityName(c)));
        }
        rules.push_back(ref);
      }
      policies.emplace_back(name, policy);
    }
    auto acl = Acl::New(policies);
    ASSERT_TRUE(acl.ok()) << acl.status();

    for (int q = 0; q < 150; ++q) {
      const std::string& seed_pattern =
          rules[gen.Uniform(0, rules.size() - 1)].pattern;
      std::string path = gen.Path(seed_pattern);
      Capability cap = gen.Cap();

      // Reference decision and the rule it should report.
      const RefRule* best_deny = nullptr;
      const RefRule* best_grant = nullptr;
      const RefRule* best_any = nullptr;
      auto better = [](const RefRule* cur, const RefRule& r) {
        if (cur == nullptr) return true;
        if (cur->pattern != r.pattern)
          return RefOutranks(r.pattern, cur->pattern);
        return r.policy < cur->policy;
      };
      for (const RefRule& r : rules) {
        if (!RefMatch(r.pattern, path)) continue;
        if (r.Has(Capability::kDeny) && better(best_deny, r)) best_deny = &r;
        if (r.Has(cap) && better(best_grant, r)) best_grant = &r;
        if (better(best_any, r)) best_any = &r;
      }
      bool want = best_deny == nullptr && best_grant != nullptr;
      const RefRule* reported =
          best_deny ? best_deny : (best_grant ? best_grant : best_any);

      Decision d = (*acl)->Check(path, cap);
      ++checks;
      ASSERT_EQ(d.allowed, want)
          << "trial " << trial << " path " << path << " cap "
          << CapabilityName(cap) << " reason " << d.reason;
      ASSERT_EQ((*acl)->Allowed(path, cap), want) << path;
      if (reported == nullptr) {
        ASSERT_EQ(d.reason, "no rule matches") << path;
        ASSERT_EQ(d.pattern, "");
      } else {
        ASSERT_EQ(d.policy, reported->policy) << path;
        ASSERT_EQ(d.pattern, reported->pattern) << path;
      }
      allowed_count += want;
      denied_by_deny += best_deny != nullptr;
    }
  }
  // The generator must exercise every outcome, or the test proves little.
  EXPECT_EQ(checks, 400 * 150);
  EXPECT_GT(allowed_count, checks / 10);
  EXPECT_GT(denied_by_deny, checks / 20);
  EXPECT_GT(checks - allowed_count - denied_by_deny, checks / 10);
}

}  // namespace
}  // namespace arca::auth
