#include "cli/secret_input.h"

#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace arca::cli {
namespace {

TEST(LineShareSourceTest, YieldsTrimmedNonEmptyLinesInOrder) {
  std::istringstream in("  share-one \n\n\t\nshare-two\r\nshare-three");
  auto src = NewLineShareSource(in);
  EXPECT_EQ(src->Next(), "share-one");
  EXPECT_EQ(src->Next(), "share-two");
  EXPECT_EQ(src->Next(), "share-three");
  EXPECT_EQ(src->Next(), std::nullopt);
  EXPECT_EQ(src->Next(), std::nullopt);
}

TEST(LineShareSourceTest, ReadsLazilyLeavingLaterLinesUnconsumed) {
  std::istringstream in("first\nsecond\n");
  auto src = NewLineShareSource(in);
  EXPECT_EQ(src->Next(), "first");
  std::string rest;
  std::getline(in, rest);
  EXPECT_EQ(rest, "second");
}

TEST(LineShareSourceTest, EmptyInputYieldsNothing) {
  std::istringstream in("\n \n");
  EXPECT_EQ(NewLineShareSource(in)->Next(), std::nullopt);
}

TEST(PromptShareSourceTest, StopsAfterMaxSharesAndOnEmptyAnswer) {
  // Not a terminal: echo cannot be disabled, but the prompting logic holds.
  std::istringstream in("one\ntwo\n");
  std::ostringstream prompts;
  auto src = NewPromptShareSource(in, prompts, "Share: ", 1);
  EXPECT_EQ(src->Next(), "one");
  EXPECT_EQ(src->Next(), std::nullopt);
  EXPECT_EQ(prompts.str(), "Share: \n");

  std::istringstream in2("one\n\nthree\n");
  auto unlimited = NewPromptShareSource(in2, prompts, "Share: ", 0);
  EXPECT_EQ(unlimited->Next(), "one");
  EXPECT_EQ(unlimited->Next(), std::nullopt);
}

TEST(WipeTest, ClearsTheString) {
  std::string s = "secret";
  Wipe(s);
  EXPECT_TRUE(s.empty());
}

}  // namespace
}  // namespace arca::cli
