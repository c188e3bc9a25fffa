#include "server/api/blocking_pool.h"

#include <atomic>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace arca::api {
namespace {

TEST(BlockingPoolTest, BlockedTasksDoNotStopOthersFromStarting) {
  BlockingPool pool(16);
  // Ten tasks that each wait until all ten have started: only possible if
  // they run on ten threads at once (a synced write waiting on the disk
  // must not hold up the next one).
  absl::BlockingCounter started(10);
  absl::Notification all_started;
  absl::BlockingCounter done(10);
  for (int i = 0; i < 10; ++i) {
    pool.Run([&] {
      started.DecrementCount();
      all_started.WaitForNotificationWithTimeout(absl::Seconds(30));
      done.DecrementCount();
    });
  }
  started.Wait();
  all_started.Notify();
  done.Wait();
  EXPECT_EQ(pool.threads(), 10u);
}

TEST(BlockingPoolTest, NeverStartsMoreThanItsMaximumAndRunsEveryTask) {
  BlockingPool pool(2);
  std::atomic<int> running{0}, peak{0}, ran{0};
  absl::BlockingCounter done(50);
  for (int i = 0; i < 50; ++i) {
    pool.Run([&] {
      const int now = ++running;
      int p = peak.load();
      while (now > p && !peak.compare_exchange_weak(p, now)) {
      }
      absl::SleepFor(absl::Microseconds(200));
      --running;
      ++ran;
      done.DecrementCount();
    });
  }
  done.Wait();
  EXPECT_EQ(ran.load(), 50);
  EXPECT_LE(peak.load(), 2);
  EXPECT_LE(pool.threads(), 2u);
}

TEST(BlockingPoolTest, AnIdleThreadIsReusedInsteadOfStartingAnother) {
  BlockingPool pool(8);
  for (int i = 0; i < 20; ++i) {
    absl::Notification n;
    pool.Run([&] { n.Notify(); });
    n.WaitForNotification();
    // Let the worker go back to waiting before the next task arrives.
    absl::SleepFor(absl::Milliseconds(2));
  }
  EXPECT_EQ(pool.threads(), 1u);
}

}  // namespace
}  // namespace arca::api
