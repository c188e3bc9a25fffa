#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kms/random.h"
#include "server/barrier/barrier.h"
#include "server/storage/in_memory_backend.h"

namespace arca::barrier {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;

class ViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kms::SecretBytes key = kms::RandomSecret(32);
    ASSERT_TRUE(barrier_.Initialize(key).ok());
    ASSERT_TRUE(barrier_.Unseal(key).ok());
  }

  storage::InMemoryBackend backend_;
  Barrier barrier_{&backend_};
};

TEST_F(ViewTest, PathsArePrefixedInStorage) {
  View view(&barrier_, "logical/kv1/");
  ASSERT_TRUE(view.Put("config", "c").ok());
  EXPECT_TRUE(backend_.Snapshot().contains("logical/kv1/config"));
  EXPECT_THAT(*barrier_.Get("logical/kv1/config"), Optional(std::string("c")));
  EXPECT_THAT(*view.Get("config"), Optional(std::string("c")));
  ASSERT_TRUE(view.Delete("config").ok());
  EXPECT_EQ(*barrier_.Get("logical/kv1/config"), std::nullopt);
}

TEST_F(ViewTest, ValueWrittenInOneViewIsNotVisibleInAnother) {
  View a(&barrier_, "a/");
  View b(&barrier_, "b/");
  ASSERT_TRUE(a.Put("secret", "only-a").ok());
  EXPECT_EQ(*b.Get("secret"), std::nullopt);
  EXPECT_THAT(*b.List(""), IsEmpty());
  EXPECT_THAT(*a.List(""), ElementsAre("secret"));
  ASSERT_TRUE(b.Delete("secret").ok());
  EXPECT_THAT(*a.Get("secret"), Optional(std::string("only-a")));
}

TEST_F(ViewTest, ViewCannotEscapeItsPrefix) {
  ASSERT_TRUE(barrier_.Put("other/secret", "outside").ok());
  View view(&barrier_, "mine/");
  // Path tricks are plain bytes under the prefix, never a way out.
  EXPECT_EQ(*view.Get("../other/secret"), std::nullopt);
  EXPECT_EQ(*view.Get("/other/secret"), std::nullopt);
  ASSERT_TRUE(view.Put("../other/secret", "overwrite?").ok());
  EXPECT_THAT(*barrier_.Get("other/secret"), Optional(std::string("outside")));
  EXPECT_TRUE(backend_.Snapshot().contains("mine/../other/secret"));
  EXPECT_THAT(*view.List(""), ElementsAre("../"));
  // A View over the whole keyspace still cannot reach the barrier's keys.
  View root(&barrier_, "");
  EXPECT_EQ(root.Get("barrier/keyring").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(root.Put("barrier/root-key", "x").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(*root.List(""), ElementsAre("mine/", "other/"));
}

TEST_F(ViewTest, EmptyPathIsRejected) {
  View view(&barrier_, "v/");
  EXPECT_EQ(view.Put("", "x").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(view.Get("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(view.Delete("").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(backend_.Snapshot().contains("v/"));
}

TEST_F(ViewTest, ListIsRelativeToViewPrefix) {
  View view(&barrier_, "m/");
  ASSERT_TRUE(view.Put("x/1", "1").ok());
  ASSERT_TRUE(view.Put("x/2/3", "2").ok());
  ASSERT_TRUE(view.Put("y", "3").ok());
  EXPECT_THAT(*view.List(""), ElementsAre("x/", "y"));
  EXPECT_THAT(*view.List("x/"), ElementsAre("1", "2/"));
}

TEST_F(ViewTest, SubViewNestsPrefixes) {
  View mount(&barrier_, "logical/t/");
  View keys = mount.SubView("keys/");
  EXPECT_EQ(keys.prefix(), "logical/t/keys/");
  ASSERT_TRUE(keys.Put("k1", "v").ok());
  EXPECT_THAT(*mount.Get("keys/k1"), Optional(std::string("v")));
  EXPECT_THAT(*mount.List(""), ElementsAre("keys/"));
  EXPECT_EQ(*keys.Get("keys/k1"), std::nullopt);
}

TEST_F(ViewTest, BatchPrefixesEveryMutation) {
  View view(&barrier_, "bv/");
  ASSERT_TRUE(view.Put("gone", "x").ok());
  ASSERT_TRUE(view.Batch({storage::Mutation::Put("a", "1"),
                          storage::Mutation::Put("b", "2"),
                          storage::Mutation::Delete("gone")})
                  .ok());
  EXPECT_THAT(*barrier_.List("bv/"), ElementsAre("a", "b"));
  EXPECT_THAT(*view.Get("b"), Optional(std::string("2")));
  EXPECT_EQ(view.Batch({storage::Mutation::Put("c", "3"),
                        storage::Mutation::Put("", "bad")})
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*view.Get("c"), std::nullopt);
}

TEST_F(ViewTest, ViewValueMovedToAnotherViewFailsToDecrypt) {
  View a(&barrier_, "a/");
  View b(&barrier_, "b/");
  ASSERT_TRUE(a.Put("k", "a-value").ok());
  ASSERT_TRUE(backend_.Put("b/k", backend_.Snapshot().at("a/k")).ok());
  EXPECT_EQ(b.Get("k").status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace arca::barrier
