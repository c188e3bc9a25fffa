// ReadCache: a cached value is never older than what the database holds once
// a write has ended, and the cache stays within its byte budget.

#include "server/storage/read_cache.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace arca::storage {
namespace {

using ::testing::Optional;

TEST(ReadCacheTest, ValueInsertedAfterAMissIsServedFromTheCache) {
  ReadCache cache(1 << 20);
  ReadCache::Ticket ticket;
  EXPECT_EQ(cache.Lookup("k", &ticket), std::nullopt);
  cache.Insert("k", "v1", ticket);
  EXPECT_THAT(cache.Lookup("k", &ticket), Optional(std::string("v1")));
}

TEST(ReadCacheTest, ValueReadBeforeAWriteEndedIsNotCached) {
  ReadCache cache(1 << 20);
  ReadCache::Ticket ticket;
  ASSERT_EQ(cache.Lookup("k", &ticket), std::nullopt);
  // The reader read "old" from the database; meanwhile a writer replaced it.
  cache.BeginWrite({"k"});
  cache.EndWrite({"k"});
  cache.Insert("k", "old", ticket);
  EXPECT_EQ(cache.Lookup("k", &ticket), std::nullopt);
}

TEST(ReadCacheTest, KeyBeingWrittenIsReadFromTheDatabaseAndDroppedAfter) {
  ReadCache cache(1 << 20);
  ReadCache::Ticket ticket;
  cache.Lookup("k", &ticket);
  cache.Insert("k", "old", ticket);
  cache.BeginWrite({"k"});
  // While the write is in flight the cached "old" must not be served: a
  // reader may already have seen another key of the same batch as new.
  EXPECT_EQ(cache.Lookup("k", &ticket), std::nullopt);
  EXPECT_FALSE(ticket.may_insert);
  cache.Insert("k", "old", ticket);
  cache.EndWrite({"k"});
  EXPECT_EQ(cache.Lookup("k", &ticket), std::nullopt);
  cache.Insert("k", "new", ticket);
  EXPECT_THAT(cache.Lookup("k", &ticket), Optional(std::string("new")));
}

TEST(ReadCacheTest, OverlappingWritesOfOneKeyKeepItUncachedUntilBothEnd) {
  ReadCache cache(1 << 20);
  ReadCache::Ticket ticket;
  cache.BeginWrite({"k"});
  cache.BeginWrite({"k"});
  cache.EndWrite({"k"});
  cache.Lookup("k", &ticket);
  EXPECT_FALSE(ticket.may_insert);
  cache.EndWrite({"k"});
  cache.Lookup("k", &ticket);
  EXPECT_TRUE(ticket.may_insert);
}

TEST(ReadCacheTest, StaysWithinItsByteBudget) {
  constexpr size_t kCapacity = 64 << 10;
  ReadCache cache(kCapacity);
  const std::string value(200, 'x');
  for (int i = 0; i < 10000; ++i) {
    ReadCache::Ticket ticket;
    const std::string key = absl::StrCat("key/", i);
    cache.Lookup(key, &ticket);
    cache.Insert(key, value, ticket);
  }
  EXPECT_LE(cache.bytes(), kCapacity);
  EXPECT_GT(cache.bytes(), kCapacity / 2);
}

TEST(ReadCacheTest, ValueTooLargeForAShardIsNotCached) {
  ReadCache cache(64 << 10);
  ReadCache::Ticket ticket;
  cache.Lookup("big", &ticket);
  cache.Insert("big", std::string(64 << 10, 'x'), ticket);
  EXPECT_EQ(cache.Lookup("big", &ticket), std::nullopt);
  EXPECT_EQ(cache.bytes(), 0u);
}

}  // namespace
}  // namespace arca::storage
