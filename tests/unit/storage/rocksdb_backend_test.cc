// RocksDB-specific properties: durability across reopen and status mapping.

#include "server/storage/rocksdb_backend.h"

#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
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

// Waits for a number of BatchAsync results.
class Results {
 public:
  explicit Results(int expected) : expected_(expected) {}
  std::function<void(absl::Status)> Callback() {
    return [this](absl::Status s) {
      absl::MutexLock lock(&mu_);
      statuses_.push_back(std::move(s));
    };
  }
  std::vector<absl::Status> Wait() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](Results* r) { return static_cast<int>(r->statuses_.size()) >= r->expected_; },
        this));
    return statuses_;
  }

 private:
  const int expected_;
  absl::Mutex mu_;
  std::vector<absl::Status> statuses_;
};

TEST(RocksDbBackendTest, AsyncBatchesFromManyThreadsAreAllDurable) {
  testing::TempDir dir;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  {
    auto db = RocksDbBackend::Open(dir.path(), {.min_free_bytes = 0});
    ASSERT_TRUE(db.ok()) << db.status();
    Results results(kThreads * kPerThread);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          const std::string k = absl::StrCat("t", t, "/", i);
          (*db)->BatchAsync({Mutation::Put(k + "/a", k), Mutation::Put(k + "/b", k),
                             Mutation::Delete(k + "/a")},
                            results.Callback());
        }
      });
    }
    for (std::thread& t : threads) t.join();
    for (const absl::Status& s : results.Wait()) ASSERT_TRUE(s.ok()) << s;
  }
  // Every acknowledged batch is there after a reopen, applied whole.
  auto db = RocksDbBackend::Open(dir.path(), {.min_free_bytes = 0});
  ASSERT_TRUE(db.ok()) << db.status();
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const std::string k = absl::StrCat("t", t, "/", i);
      EXPECT_THAT(*(*db)->Get(k + "/b"), Optional(k));
      EXPECT_EQ(*(*db)->Get(k + "/a"), std::nullopt);
    }
  }
}

TEST(RocksDbBackendTest, AsyncBatchesStillQueuedAtCloseAreWrittenFirst) {
  testing::TempDir dir;
  constexpr int kBatches = 300;
  std::atomic<int> acknowledged{0};
  {
    auto db = RocksDbBackend::Open(dir.path(), {.min_free_bytes = 0});
    ASSERT_TRUE(db.ok()) << db.status();
    for (int i = 0; i < kBatches; ++i) {
      (*db)->BatchAsync({Mutation::Put(absl::StrCat("k", i), "v")},
                        [&](absl::Status s) {
                          if (s.ok()) acknowledged.fetch_add(1);
                        });
    }
    // Closed at once: the destructor drains the queue.
  }
  EXPECT_EQ(acknowledged.load(), kBatches);
  auto db = RocksDbBackend::Open(dir.path(), {.min_free_bytes = 0});
  ASSERT_TRUE(db.ok()) << db.status();
  for (int i = 0; i < kBatches; ++i) {
    EXPECT_THAT(*(*db)->Get(absl::StrCat("k", i)), Optional(std::string("v")));
  }
}

TEST(RocksDbBackendTest, AsyncBatchBelowTheReserveOrWithAnEmptyKeyFailsClean) {
  testing::TempDir dir;
  auto db = RocksDbBackend::Open(dir.path(), {.min_free_bytes = 1ull << 62});
  ASSERT_TRUE(db.ok()) << db.status();
  Results results(2);
  (*db)->BatchAsync({Mutation::Put("a", "1"), Mutation::Put("b", "2")},
                    results.Callback());
  (*db)->BatchAsync({Mutation::Put("", "1")}, results.Callback());
  std::vector<absl::Status> got = results.Wait();
  int unavailable = 0, invalid = 0;
  for (const absl::Status& s : got) {
    if (absl::IsUnavailable(s)) {
      ++unavailable;
      EXPECT_THAT(std::string(s.message()), HasSubstr("disk full"));
    }
    if (absl::IsInvalidArgument(s)) ++invalid;
  }
  EXPECT_EQ(unavailable, 1);
  EXPECT_EQ(invalid, 1);
  EXPECT_EQ(*(*db)->Get("a"), std::nullopt);
  EXPECT_EQ(*(*db)->Get("b"), std::nullopt);
}

// A small tmpfs mounted for one test and unmounted (lazily, so nothing is
// left behind even if a file is still open) on destruction. Needs root.
class SmallTmpfs {
 public:
  explicit SmallTmpfs(const std::string& dir) : dir_(dir) {
    mounted_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=8m") == 0;
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

// Fills the filesystem holding `dir` until a write fails with ENOSPC.
void FillFilesystem(const std::string& dir) {
  FILE* f = std::fopen((dir + "/filler").c_str(), "w");
  ASSERT_NE(f, nullptr);
  const std::string chunk(4096, 'x');
  while (std::fwrite(chunk.data(), 1, chunk.size(), f) == chunk.size() &&
         std::fflush(f) == 0) {
  }
  std::fclose(f);
}

// Runs `body` in a child process and returns its wait status, so that an
// abort inside RocksDB is observed instead of killing the test.
template <typename F>
int RunInChild(F body) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

TEST(RocksDbBackendTest, OpenOnFullDiskWithUnflushedWalNeverAborts) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  testing::TempDir dir;
  SmallTmpfs fs(dir.path());
  ASSERT_TRUE(fs.mounted());
  const std::string db_dir = dir.path() + "/db";
  // A crash after acknowledged writes: they are in the WAL only.
  int status = RunInChild([&] {
    auto db = RocksDbBackend::Open(db_dir, {.min_free_bytes = 0});
    if (!db.ok()) return 10;
    for (int i = 0; i < 200; ++i) {
      if (!(*db)->Put(absl::StrCat("k", i), std::string(1000, 'v')).ok()) {
        return 11;
      }
    }
    ::_exit(0);  // no Close, no flush
  });
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  FillFilesystem(dir.path());
  // Opening must not flush the recovered memtable onto the full disk: it
  // either opens and serves reads, or fails with a status. Never SIGABRT.
  status = RunInChild([&] {
    auto db = RocksDbBackend::Open(db_dir, {.min_free_bytes = 0});
    if (!db.ok()) return 1;
    auto value = (*db)->Get("k199");
    if (!value.ok() || *value != std::string(1000, 'v')) return 12;
    return 0;
  });
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_TRUE(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 1)
      << WEXITSTATUS(status);
  // Once space is freed the data is all there.
  std::filesystem::remove(dir.path() + "/filler");
  auto db = RocksDbBackend::Open(db_dir, {.min_free_bytes = 0});
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_THAT(*(*db)->Get("k0"), Optional(std::string(1000, 'v')));
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

TEST(RocksDbStatusTest, BusyWhileRecoveringMapsToUnavailable) {
  absl::Status s = internal::FromRocksDb(rocksdb::Status::Busy(), "batch");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("recovering"));
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
