// RocksDB-specific properties: durability across reopen and status mapping.

#include "server/storage/rocksdb_backend.h"

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/status.h"
#include "server/storage/rocksdb_status.h"
#include "tests/unit/storage/temp_dir.h"

namespace arca::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Optional;

TEST(RocksDbBackendTest, AcknowledgedWritesSurviveCloseAndReopen) {
  testing::TempDir dir;
  {
    auto db = RocksDbBackend::Open(dir.path());
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Put("kept", "value").ok());
    ASSERT_TRUE((*db)->Put("deleted", "gone soon").ok());
    ASSERT_TRUE((*db)->Delete("deleted").ok());
    ASSERT_TRUE((*db)
                    ->Batch({Mutation::Put("batch/1", "one"),
                             Mutation::Put("batch/2", std::string("t\0o", 3))})
                    .ok());
  }
  auto db = RocksDbBackend::Open(dir.path());
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_THAT(*(*db)->Get("kept"), Optional(std::string("value")));
  EXPECT_EQ(*(*db)->Get("deleted"), std::nullopt);
  EXPECT_THAT(*(*db)->Get("batch/2"), Optional(std::string("t\0o", 3)));
  auto listed = (*db)->List("batch/");
  ASSERT_TRUE(listed.ok());
  EXPECT_THAT(*listed, ElementsAre("1", "2"));
}

// The write-ahead log holding `dir`'s unflushed writes.
std::filesystem::path WalFile(const std::string& dir) {
  std::filesystem::path found;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".log") found = e.path();
  }
  return found;
}

TEST(RocksDbBackendTest, CorruptionInsideTheWalRefusesToOpen) {
  testing::TempDir dir;
  {
    auto db = RocksDbBackend::Open(dir.path());
    ASSERT_TRUE(db.ok()) << db.status();
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE((*db)->Put(absl::StrCat("k", i), std::string(100, 'v')).ok());
    }
  }
  std::filesystem::path wal = WalFile(dir.path());
  ASSERT_FALSE(wal.empty()) << "writes were expected to be only in the WAL";
  const auto size = std::filesystem::file_size(wal);
  ASSERT_GT(size, 10000u);
  {
    std::fstream f(wal, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(size / 2);
    char c = 0;
    f.read(&c, 1);
    c ^= 0x5a;
    f.seekp(size / 2);
    f.write(&c, 1);
  }
  // Replaying up to the damage would drop acknowledged writes silently.
  auto reopened = RocksDbBackend::Open(dir.path());
  ASSERT_FALSE(reopened.ok());
  EXPECT_TRUE(absl::IsDataLoss(reopened.status())) << reopened.status();
}

TEST(RocksDbBackendTest, WritesAreRefusedBelowTheFreeSpaceReserveReadsWork) {
  testing::TempDir dir;
  {
    auto db = RocksDbBackend::Open(dir.path(), {.min_free_bytes = 0});
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Put("kept", "value").ok());
  }
  // A reserve larger than any disk: every write is "disk full".
  auto db = RocksDbBackend::Open(dir.path(), {.min_free_bytes = 1ull << 62});
  ASSERT_TRUE(db.ok()) << db.status();
  absl::Status put = (*db)->Put("new", "value");
  EXPECT_TRUE(absl::IsUnavailable(put)) << put;
  EXPECT_THAT(std::string(put.message()), HasSubstr("disk full"));
  EXPECT_TRUE(absl::IsUnavailable((*db)->Delete("kept")));
  EXPECT_TRUE(
      absl::IsUnavailable((*db)->Batch({Mutation::Put("b", "v")})));
  EXPECT_THAT(*(*db)->Get("kept"), Optional(std::string("value")));
  EXPECT_EQ(*(*db)->Get("new"), std::nullopt);
}

TEST(RocksDbBackendTest, OpenOfUnusablePathFails) {
  testing::TempDir dir;
  // A regular file where the database directory should be.
  const std::string file = absl::StrCat(dir.path(), "/not-a-dir");
  FILE* f = std::fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  auto db = RocksDbBackend::Open(file);
  EXPECT_FALSE(db.ok());
}

TEST(RocksDbStatusTest, NoSpaceMapsToUnavailable) {
  absl::Status s =
      internal::FromRocksDb(rocksdb::Status::NoSpace("full"), "put");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("disk full"));
}

TEST(RocksDbStatusTest, IoErrorMapsToUnavailable) {
  absl::Status s =
      internal::FromRocksDb(rocksdb::Status::IOError("eio"), "get");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("I/O error"));
}

TEST(RocksDbStatusTest, CorruptionMapsToDataLoss) {
  absl::Status s =
      internal::FromRocksDb(rocksdb::Status::Corruption("bad block"), "get");
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
}

TEST(RocksDbStatusTest, OtherErrorsMapToInternalAndOkToOk) {
  EXPECT_EQ(internal::FromRocksDb(rocksdb::Status::InvalidArgument("x"), "put")
                .code(),
            absl::StatusCode::kInternal);
  EXPECT_TRUE(internal::FromRocksDb(rocksdb::Status::OK(), "put").ok());
}

}  // namespace
}  // namespace arca::storage
