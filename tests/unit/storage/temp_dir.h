#ifndef ARCA_TESTS_UNIT_STORAGE_TEMP_DIR_H_
#define ARCA_TESTS_UNIT_STORAGE_TEMP_DIR_H_

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

#include "gtest/gtest.h"

namespace arca::storage::testing {

// A fresh directory under the test temp dir, removed with its contents on
// destruction. Not thread-safe.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::path(::testing::TempDir()) /
            ("arca-storage-" + std::to_string(::getpid()) + "-" +
             std::to_string(counter.fetch_add(1)));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace arca::storage::testing

#endif  // ARCA_TESTS_UNIT_STORAGE_TEMP_DIR_H_
