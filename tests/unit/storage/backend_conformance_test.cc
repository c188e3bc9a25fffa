// One contract, every backend: each test here runs against InMemoryBackend
// and RocksDbBackend.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/storage/backend.h"
#include "server/storage/in_memory_backend.h"
#include "server/storage/rocksdb_backend.h"
#include "tests/unit/storage/temp_dir.h"

namespace arca::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;

// Owns a backend and whatever it needs to live (a temp dir for RocksDB).
struct BackendHolder {
  std::unique_ptr<testing::TempDir> dir;
  std::unique_ptr<Backend> backend;
};

struct BackendFactory {
  std::string name;
  std::function<BackendHolder()> make;
};

BackendHolder MakeInMemory() {
  return {nullptr, std::make_unique<InMemoryBackend>()};
}

BackendHolder MakeRocksDb() {
  BackendHolder holder;
  holder.dir = std::make_unique<testing::TempDir>();
  auto db = RocksDbBackend::Open(holder.dir->path());
  EXPECT_TRUE(db.ok()) << db.status();
  if (db.ok()) holder.backend = std::move(*db);
  return holder;
}

class BackendConformanceTest : public ::testing::TestWithParam<BackendFactory> {
 protected:
  void SetUp() override {
    holder_ = GetParam().make();
    ASSERT_NE(holder_.backend, nullptr);
  }
  void TearDown() override {
    holder_.backend.reset();  // close before the directory goes away
    holder_.dir.reset();
  }
  Backend& b() { return *holder_.backend; }

  void PutOrDie(std::string_view key, std::string_view value) {
    ASSERT_TRUE(b().Put(key, value).ok());
  }

  BackendHolder holder_;
};

TEST_P(BackendConformanceTest, GetMissingKeyReturnsNullopt) {
  auto got = b().Get("no/such/key");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, std::nullopt);
}

TEST_P(BackendConformanceTest, PutThenGetReturnsValue) {
  ASSERT_TRUE(b().Put("a/b", "value").ok());
  auto got = b().Get("a/b");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(*got, Optional(std::string("value")));
}

TEST_P(BackendConformanceTest, PutOverwritesPreviousValue) {
  ASSERT_TRUE(b().Put("k", "first").ok());
  ASSERT_TRUE(b().Put("k", "second").ok());
  auto got = b().Get("k");
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(*got, Optional(std::string("second")));
}

TEST_P(BackendConformanceTest, ReadsAfterEachKindOfWriteSeeThatWrite) {
  // Each Get may be served from a read cache; each write must reach it.
  ASSERT_TRUE(b().Put("k", "first").ok());
  EXPECT_THAT(*b().Get("k"), Optional(std::string("first")));
  ASSERT_TRUE(b().Put("k", "second").ok());
  EXPECT_THAT(*b().Get("k"), Optional(std::string("second")));
  ASSERT_TRUE(b().Batch({Mutation::Put("k", "third")}).ok());
  EXPECT_THAT(*b().Get("k"), Optional(std::string("third")));
  ASSERT_TRUE(b().Batch({Mutation::Delete("k")}).ok());
  EXPECT_EQ(*b().Get("k"), std::nullopt);
  ASSERT_TRUE(b().Put("k", "fourth").ok());
  EXPECT_THAT(*b().Get("k"), Optional(std::string("fourth")));
  ASSERT_TRUE(b().Delete("k").ok());
  EXPECT_EQ(*b().Get("k"), std::nullopt);
}

TEST_P(BackendConformanceTest, EmptyValueIsStoredAndDistinctFromMissing) {
  ASSERT_TRUE(b().Put("k", "").ok());
  auto got = b().Get("k");
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(*got, Optional(std::string()));
}

TEST_P(BackendConformanceTest, DeleteRemovesKey) {
  ASSERT_TRUE(b().Put("k", "v").ok());
  ASSERT_TRUE(b().Delete("k").ok());
  auto got = b().Get("k");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, std::nullopt);
}

TEST_P(BackendConformanceTest, DeleteMissingKeyIsOk) {
  EXPECT_TRUE(b().Delete("never/written").ok());
}

TEST_P(BackendConformanceTest, EmptyKeyIsRejected) {
  EXPECT_EQ(b().Put("", "v").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(b().Get("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(b().Delete("").code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(BackendConformanceTest, BinaryKeysAndValuesWithNulBytesRoundTrip) {
  const std::string key("bin\0key\xff\x01", 9);
  const std::string other_key("bin\0key\xff\x02", 9);
  const std::string value(
      "\0\0v\xff"
      "a\0l\x80",
      8);
  ASSERT_TRUE(b().Put(key, value).ok());
  ASSERT_TRUE(b().Put(other_key, "other").ok());
  auto got = b().Get(key);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(got->value(), value);
  EXPECT_EQ(got->value().size(), 8u);
  // The key is not truncated at its NUL byte.
  auto truncated = b().Get(std::string("bin", 3));
  ASSERT_TRUE(truncated.ok());
  EXPECT_EQ(*truncated, std::nullopt);
}

TEST_P(BackendConformanceTest,
       ListReturnsDirectChildrenSortedWithPrefixRemoved) {
  PutOrDie("a/b", "1");
  PutOrDie("a/c/d", "2");
  PutOrDie("a/c/e", "3");
  PutOrDie("a/c/f/g", "4");
  PutOrDie("a/a", "5");
  PutOrDie("ab", "outside");
  PutOrDie("b/x", "outside");
  auto listed = b().List("a/");
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_THAT(*listed, ElementsAre("a", "b", "c/"));
}

TEST_P(BackendConformanceTest, ListReturnsBothLeafAndFolderForSameName) {
  PutOrDie("a/c", "leaf");
  PutOrDie("a/c/d", "child");
  auto listed = b().List("a/");
  ASSERT_TRUE(listed.ok());
  EXPECT_THAT(*listed, ElementsAre("c", "c/"));
}

TEST_P(BackendConformanceTest, ListKeepsByteOrderAroundFolderSlash) {
  // '-' (0x2d) sorts before '/' (0x2f) and '0' (0x30) after it; skipping the
  // folder "c/" must not skip "c0".
  PutOrDie("p/c-x", "1");
  PutOrDie("p/c/1", "2");
  PutOrDie("p/c/2", "3");
  PutOrDie("p/c0", "4");
  PutOrDie("p/c\xff", "5");
  auto listed = b().List("p/");
  ASSERT_TRUE(listed.ok());
  EXPECT_THAT(*listed, ElementsAre("c-x", "c/", "c0", "c\xff"));
}

TEST_P(BackendConformanceTest, ListOfEmptyPrefixReturnsTopLevelChildren) {
  PutOrDie("x", "1");
  PutOrDie("y/z", "2");
  PutOrDie("y/w/v", "3");
  auto listed = b().List("");
  ASSERT_TRUE(listed.ok());
  EXPECT_THAT(*listed, ElementsAre("x", "y/"));
}

TEST_P(BackendConformanceTest, ListOnEmptyStoreIsEmpty) {
  auto listed = b().List("");
  ASSERT_TRUE(listed.ok());
  EXPECT_THAT(*listed, IsEmpty());
}

TEST_P(BackendConformanceTest, ListOfPrefixWithNoKeysIsEmpty) {
  PutOrDie("a/b", "1");
  PutOrDie("c", "2");
  auto listed = b().List("nothing/");
  ASSERT_TRUE(listed.ok());
  EXPECT_THAT(*listed, IsEmpty());
}

TEST_P(BackendConformanceTest, ListDoesNotReturnDeletedKeys) {
  PutOrDie("d/1", "x");
  PutOrDie("d/2/3", "x");
  ASSERT_TRUE(b().Delete("d/1").ok());
  ASSERT_TRUE(b().Delete("d/2/3").ok());
  auto listed = b().List("d/");
  ASSERT_TRUE(listed.ok());
  EXPECT_THAT(*listed, IsEmpty());
}

TEST_P(BackendConformanceTest, BatchAppliesAllMutationsInOrder) {
  PutOrDie("gone", "x");
  std::vector<Mutation> batch = {
      Mutation::Put("k", "first"),   Mutation::Put("k", "second"),
      Mutation::Put("t", "temp"),    Mutation::Delete("t"),
      Mutation::Delete("gone"),      Mutation::Delete("never-existed"),
      Mutation::Put("z", "z-value"),
  };
  ASSERT_TRUE(b().Batch(batch).ok());
  EXPECT_THAT(*b().Get("k"), Optional(std::string("second")));
  EXPECT_EQ(*b().Get("t"), std::nullopt);
  EXPECT_EQ(*b().Get("gone"), std::nullopt);
  EXPECT_THAT(*b().Get("z"), Optional(std::string("z-value")));
}

TEST_P(BackendConformanceTest, BatchWithInvalidMutationAppliesNothing) {
  PutOrDie("keep", "original");
  std::vector<Mutation> batch = {
      Mutation::Put("keep", "changed"),
      Mutation::Put("new", "value"),
      Mutation::Put("", "bad key"),
  };
  EXPECT_FALSE(b().Batch(batch).ok());
  EXPECT_THAT(*b().Get("keep"), Optional(std::string("original")));
  EXPECT_EQ(*b().Get("new"), std::nullopt);
}

TEST_P(BackendConformanceTest, EmptyBatchIsOk) {
  EXPECT_TRUE(b().Batch({}).ok());
}

TEST_P(BackendConformanceTest, BatchIsAtomicToConcurrentReaders) {
  // A writer flips two keys together; a reader must never see them differ.
  constexpr int kRounds = 60;
  PutOrDie("pair/a", "0");
  PutOrDie("pair/b", "0");
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    while (!done.load()) {
      // Read b before a: a writer that updates a then b in one batch can only
      // be observed torn (a != b) if the batch is not atomic.
      auto vb = b().Get("pair/b");
      auto va = b().Get("pair/a");
      if (!va.ok() || !vb.ok() || !va->has_value() || !vb->has_value()) {
        torn.fetch_add(1);
        continue;
      }
      if (std::stoi(**va) < std::stoi(**vb)) torn.fetch_add(1);
    }
  });
  for (int i = 1; i <= kRounds; ++i) {
    ASSERT_TRUE(b().Batch({Mutation::Put("pair/a", std::to_string(i)),
                           Mutation::Put("pair/b", std::to_string(i))})
                    .ok());
  }
  done.store(true);
  reader.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_THAT(*b().Get("pair/a"), Optional(std::to_string(kRounds)));
}

TEST_P(BackendConformanceTest, ConcurrentWritersFromSeveralThreadsAllLand) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string key = absl::StrCat("w/", t, "/", i);
        if (!b().Put(key, absl::StrCat("v", t, "-", i)).ok()) {
          failures.fetch_add(1);
        }
        if (i % 5 == 0 &&
            !b().Batch({Mutation::Put(absl::StrCat("w/", t, "/b", i), "x")})
                 .ok()) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      auto got = b().Get(absl::StrCat("w/", t, "/", i));
      ASSERT_TRUE(got.ok());
      EXPECT_THAT(*got, Optional(absl::StrCat("v", t, "-", i)));
    }
    auto listed = b().List(absl::StrCat("w/", t, "/"));
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(listed->size(), static_cast<size_t>(kPerThread + 5));
  }
  auto top = b().List("w/");
  ASSERT_TRUE(top.ok());
  EXPECT_THAT(*top, ElementsAre("0/", "1/", "2/", "3/"));
}

INSTANTIATE_TEST_SUITE_P(
    AllBackends, BackendConformanceTest,
    ::testing::Values(BackendFactory{"InMemory", MakeInMemory},
                      BackendFactory{"RocksDb", MakeRocksDb}),
    [](const ::testing::TestParamInfo<BackendFactory>& info) {
      return info.param.name;
    });

}  // namespace
}  // namespace arca::storage
