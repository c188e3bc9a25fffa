#include "server/engines/transit/batch_pool.h"

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace arca::engines::transit {
namespace {

TEST(BatchPoolTest, EveryIndexRunsExactlyOnceUnderConcurrentCallers) {
  BatchPool pool(3);
  constexpr size_t kItems = 1000;
  constexpr int kCallers = 4;
  std::vector<std::vector<std::atomic<int>>> hits(kCallers);
  for (auto& h : hits) h = std::vector<std::atomic<int>>(kItems);
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      for (int round = 0; round < 20; ++round) {
        pool.Run(kItems, 7, [&](size_t begin, size_t end) {
          ASSERT_LT(begin, end);
          ASSERT_LE(end - begin, 7u);
          for (size_t i = begin; i < end; ++i) ++hits[c][i];
        });
        // Run returned: every chunk of this round has finished.
        for (size_t i = 0; i < kItems; ++i) {
          ASSERT_EQ(hits[c][i].load(), round + 1) << c << " " << i;
        }
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_LE(pool.helpers(), 3u);
}

// The caller blocks in the first chunk it claims until another thread runs
// a chunk: only a helper can, so this passes only if the work is really
// spread (and Run returns only after every chunk).
TEST(BatchPoolTest, ChunksRunOnHelpersWhileTheCallerWorks) {
  BatchPool pool(1);
  absl::Notification other_thread_ran;
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> caller_claimed{false};
  std::atomic<bool> caller_wait_timed_out{false};
  std::atomic<int> chunks{0};
  pool.Run(4, 1, [&](size_t, size_t) {
    ++chunks;
    if (std::this_thread::get_id() != caller) {
      // The helper may run several chunks while the caller waits.
      if (!other_thread_ran.HasBeenNotified()) other_thread_ran.Notify();
    } else if (!caller_claimed.exchange(true)) {
      caller_wait_timed_out =
          !other_thread_ran.WaitForNotificationWithTimeout(absl::Seconds(30));
    }
  });
  EXPECT_EQ(chunks.load(), 4);
  EXPECT_TRUE(other_thread_ran.HasBeenNotified());
  EXPECT_FALSE(caller_wait_timed_out.load());
  EXPECT_EQ(pool.helpers(), 1u);
}

TEST(BatchPoolTest, ShortRunIsOneInlineCall) {
  BatchPool pool(2);
  std::vector<std::pair<size_t, size_t>> calls;
  pool.Run(5, 8, [&](size_t b, size_t e) { calls.emplace_back(b, e); });
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0], std::make_pair(size_t{0}, size_t{5}));
  pool.Run(0, 8, [&](size_t b, size_t e) { calls.emplace_back(b, e); });
  EXPECT_EQ(calls.size(), 1u);
  EXPECT_EQ(pool.helpers(), 0u);
}

}  // namespace
}  // namespace arca::engines::transit
