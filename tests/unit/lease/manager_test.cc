#include "server/lease/manager.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kms/random.h"
#include "server/barrier/barrier.h"
#include "server/storage/in_memory_backend.h"

namespace arca::lease {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

class LeaseManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    kms::SecretBytes key = kms::RandomSecret(32);
    ASSERT_TRUE(barrier_.Initialize(key).ok());
    ASSERT_TRUE(barrier_.Unseal(key).ok());
    Wire(manager_);
  }

  // Registers a "db" revoker that records what it revoked, failing while
  // fail_ is set.
  void Wire(Manager& m) {
    m.RegisterRevoker("db", [this](const LeaseEntry& e) -> absl::Status {
      if (fail_) return absl::UnavailableError("database unreachable");
      if (refuse_) return absl::FailedPreconditionError("permission denied");
      revoked_.push_back(e.data());
      return absl::OkStatus();
    });
  }

  LeaseSpec Spec(std::string data, std::string owner = "",
                 absl::Duration ttl = absl::Hours(1)) {
    LeaseSpec s;
    s.kind = "db";
    s.data = std::move(data);
    s.owner = std::move(owner);
    s.ttl = ttl;
    return s;
  }

  storage::InMemoryBackend backend_;
  barrier::Barrier barrier_{&backend_};
  barrier::View view_{&barrier_, "core/lease/"};
  Manager manager_{view_};
  std::vector<std::string> revoked_;
  bool fail_ = false;
  bool refuse_ = false;
};

TEST_F(LeaseManagerTest, RevokeCallsTheKindsRevokerWithItsDataAndForgetsIt) {
  auto lease = manager_.Register(Spec("role-a"));
  ASSERT_TRUE(lease.ok()) << lease.status();
  ASSERT_TRUE(manager_.Revoke(lease->id()).ok());
  EXPECT_THAT(revoked_, ElementsAre("role-a"));
  EXPECT_TRUE(absl::IsNotFound(manager_.Lookup(lease->id()).status()));
}

TEST_F(LeaseManagerTest, UnknownKindAndNonPositiveTtlAreInvalid) {
  LeaseSpec s = Spec("x");
  s.kind = "nope";
  EXPECT_TRUE(absl::IsInvalidArgument(manager_.Register(s).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      manager_.Register(Spec("x", "", absl::ZeroDuration())).status()));
}

TEST_F(LeaseManagerTest, RevokeByOwnerRevokesOnlyThatOwnersLeases) {
  ASSERT_TRUE(manager_.Register(Spec("a1", "owner-a")).ok());
  ASSERT_TRUE(manager_.Register(Spec("a2", "owner-a")).ok());
  ASSERT_TRUE(manager_.Register(Spec("b1", "owner-b")).ok());
  ASSERT_TRUE(manager_.RevokeByOwner("owner-a").ok());
  EXPECT_THAT(revoked_, UnorderedElementsAre("a1", "a2"));
  EXPECT_THAT(manager_.ListByOwner("owner-a"), IsEmpty());
  EXPECT_EQ(manager_.ListByOwner("owner-b").size(), 1u);
}

TEST_F(LeaseManagerTest, ExpireDueRevokesOnlyWhatHasExpired) {
  ASSERT_TRUE(manager_.Register(Spec("soon", "", absl::Seconds(1))).ok());
  ASSERT_TRUE(manager_.Register(Spec("later", "", absl::Hours(1))).ok());
  EXPECT_EQ(manager_.ExpireDue(absl::Now()), 0);
  EXPECT_EQ(manager_.ExpireDue(absl::Now() + absl::Seconds(2)), 1);
  EXPECT_THAT(revoked_, ElementsAre("soon"));
  EXPECT_EQ(manager_.ExpireDue(absl::Now() + absl::Hours(2)), 1);
  EXPECT_THAT(revoked_, ElementsAre("soon", "later"));
}

TEST_F(LeaseManagerTest, LeasesSurviveARestartOfTheManager) {
  ASSERT_TRUE(manager_.Register(Spec("persisted", "", absl::Seconds(1))).ok());
  Manager restarted(view_);
  Wire(restarted);
  EXPECT_EQ(restarted.ExpireDue(absl::Now() + absl::Seconds(2)), 1);
  EXPECT_THAT(revoked_, ElementsAre("persisted"));
}

TEST_F(LeaseManagerTest, RenewExtendsButNeverPastMaxTtl) {
  LeaseSpec s = Spec("r", "", absl::Seconds(10));
  s.max_ttl = absl::Seconds(60);
  auto lease = manager_.Register(s);
  ASSERT_TRUE(lease.ok());
  auto renewed = manager_.Renew(lease->id(), absl::Hours(5));
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_EQ(renewed->expire_unix_ms(), lease->max_expire_unix_ms());
  // The old expiry slot is gone: nothing expires at the original time.
  EXPECT_EQ(manager_.ExpireDue(absl::Now() + absl::Seconds(30)), 0);

  LeaseSpec fixed = Spec("f");
  fixed.renewable = false;
  auto f = manager_.Register(fixed);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(
      manager_.Renew(f->id(), absl::Hours(1)).status()));
}

TEST_F(LeaseManagerTest, FailedRevocationIsRetriedWithBackoffThenIrrevocable) {
  auto lease = manager_.Register(Spec("flaky", "", absl::Seconds(1)));
  ASSERT_TRUE(lease.ok());
  fail_ = true;
  absl::Time t = absl::Now() + absl::Seconds(2);
  EXPECT_EQ(manager_.ExpireDue(t), 0);
  auto after = manager_.Lookup(lease->id());
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->failed_revocations(), 1u);
  EXPECT_EQ(after->last_error(), "database unreachable");
  // Within the backoff nothing is attempted.
  EXPECT_EQ(manager_.ExpireDue(t), 0);
  EXPECT_EQ(manager_.Lookup(lease->id())->failed_revocations(), 1u);
  // Each later attempt past its backoff fails again until it gives up.
  for (int i = 1; i < Manager::kMaxRevokeAttempts; ++i) {
    t += absl::Minutes(11);
    manager_.ExpireDue(t);
  }
  auto gave_up = manager_.Lookup(lease->id());
  ASSERT_TRUE(gave_up.ok());
  EXPECT_TRUE(gave_up->irrevocable());
  // Still retried, but only hourly: it goes once the dependency is back,
  // and shows as irrevocable until then.
  fail_ = false;
  const absl::Time now = absl::Now();
  EXPECT_EQ(manager_.ExpireDue(now + absl::Minutes(30)), 0);
  EXPECT_THAT(revoked_, IsEmpty());
  EXPECT_TRUE(manager_.Lookup(lease->id())->irrevocable());
  EXPECT_EQ(manager_.ExpireDue(now + Manager::kIrrevocableRetryInterval +
                               absl::Minutes(1)),
            1);
  EXPECT_THAT(revoked_, ElementsAre("flaky"));
  EXPECT_TRUE(absl::IsNotFound(manager_.Lookup(lease->id()).status()));
}

TEST_F(LeaseManagerTest, IrrevocableLeaseFailingAgainWaitsAnotherInterval) {
  auto lease = manager_.Register(Spec("down", "", absl::Seconds(1)));
  ASSERT_TRUE(lease.ok());
  fail_ = true;
  absl::Time t = absl::Now() + absl::Seconds(2);
  for (int i = 0; i < Manager::kMaxRevokeAttempts; ++i) {
    manager_.ExpireDue(t);
    t += absl::Minutes(11);
  }
  ASSERT_TRUE(manager_.Lookup(lease->id())->irrevocable());
  const absl::Time retry = absl::Now() + Manager::kIrrevocableRetryInterval +
                           absl::Minutes(1);
  EXPECT_EQ(manager_.ExpireDue(retry), 0);
  auto again = manager_.Lookup(lease->id());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->irrevocable());
  EXPECT_EQ(again->failed_revocations(),
            static_cast<uint32_t>(Manager::kMaxRevokeAttempts) + 1);
  // The next attempt is an interval away, not at once.
  EXPECT_GE(again->expire_unix_ms(),
            absl::ToUnixMillis(absl::Now() + Manager::kIrrevocableRetryInterval -
                               absl::Minutes(1)));
}

// A CLI retrying `lease revoke` during a short outage must not exhaust the
// attempts that the background loop spaces out with backoff.
TEST_F(LeaseManagerTest, ClientRevokesDoNotCountTowardsIrrevocable) {
  auto lease = manager_.Register(Spec("busy", "", absl::Hours(1)));
  ASSERT_TRUE(lease.ok());
  fail_ = true;
  for (int i = 0; i < 3 * Manager::kMaxRevokeAttempts; ++i) {
    EXPECT_TRUE(absl::IsUnavailable(manager_.Revoke(lease->id())));
  }
  auto after = manager_.Lookup(lease->id());
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->irrevocable());
  EXPECT_EQ(after->failed_revocations(), 0u);
  EXPECT_EQ(after->last_error(), "database unreachable");
  fail_ = false;
  EXPECT_EQ(manager_.ExpireDue(absl::Now() + absl::Seconds(5)), 1);
  EXPECT_THAT(revoked_, ElementsAre("busy"));
}

TEST_F(LeaseManagerTest, RenewAfterAFailedRevocationSaysItIsPending) {
  auto lease = manager_.Register(Spec("pending", "", absl::Hours(1)));
  ASSERT_TRUE(lease.ok());
  fail_ = true;
  EXPECT_FALSE(manager_.Revoke(lease->id()).ok());
  auto renewed = manager_.Renew(lease->id(), absl::Hours(1));
  EXPECT_TRUE(absl::IsFailedPrecondition(renewed.status()));
  EXPECT_THAT(std::string(renewed.status().message()),
              ::testing::HasSubstr("revocation is pending"));
  EXPECT_THAT(std::string(renewed.status().message()),
              ::testing::Not(::testing::HasSubstr("expired")));

  // Irrevocable: says so, and that it is still retried.
  absl::Time t = absl::Now() + absl::Seconds(2);
  for (int i = 0; i < Manager::kMaxRevokeAttempts; ++i) {
    manager_.ExpireDue(t);
    t += absl::Minutes(11);
  }
  ASSERT_TRUE(manager_.Lookup(lease->id())->irrevocable());
  renewed = manager_.Renew(lease->id(), absl::Hours(1));
  EXPECT_TRUE(absl::IsFailedPrecondition(renewed.status()));
  EXPECT_THAT(std::string(renewed.status().message()),
              ::testing::HasSubstr("retried hourly"));
}

TEST_F(LeaseManagerTest, RecoveredRevokerSucceedsOnRetry) {
  auto lease = manager_.Register(Spec("flaky", "", absl::Seconds(1)));
  ASSERT_TRUE(lease.ok());
  fail_ = true;
  EXPECT_EQ(manager_.ExpireDue(absl::Now() + absl::Seconds(2)), 0);
  fail_ = false;
  EXPECT_EQ(manager_.ExpireDue(absl::Now() + absl::Minutes(11)), 1);
  EXPECT_THAT(revoked_, ElementsAre("flaky"));
}

TEST_F(LeaseManagerTest, RenewHookSeesTheNewExpiryAndItsFailureKeepsTheLease) {
  std::vector<int64_t> seen;
  bool fail = false;
  manager_.RegisterRenewer("db", [&](const LeaseEntry& e) -> absl::Status {
    if (fail) return absl::UnavailableError("database unreachable");
    seen.push_back(e.expire_unix_ms());
    return absl::OkStatus();
  });
  LeaseSpec s = Spec("r", "", absl::Seconds(10));
  s.max_ttl = absl::Seconds(60);
  auto lease = manager_.Register(s);
  ASSERT_TRUE(lease.ok());

  auto renewed = manager_.Renew(lease->id(), absl::Hours(1));
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  // The hook was told the capped expiry that was then stored.
  EXPECT_THAT(seen, ElementsAre(lease->max_expire_unix_ms()));
  EXPECT_EQ(renewed->expire_unix_ms(), lease->max_expire_unix_ms());

  LeaseSpec s2 = Spec("r2", "", absl::Seconds(10));
  auto second = manager_.Register(s2);
  ASSERT_TRUE(second.ok());
  fail = true;
  EXPECT_TRUE(absl::IsUnavailable(
      manager_.Renew(second->id(), absl::Hours(1)).status()));
  auto after = manager_.Lookup(second->id());
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->expire_unix_ms(), second->expire_unix_ms());
}

TEST_F(LeaseManagerTest, FailedExplicitRevokeIsRetriedBeforeTheLeaseWouldExpire) {
  auto lease = manager_.Register(Spec("early", "", absl::Hours(1)));
  ASSERT_TRUE(lease.ok());
  fail_ = true;
  EXPECT_FALSE(manager_.Revoke(lease->id()).ok());
  fail_ = false;
  // Well before the hour is up, the retry runs and succeeds.
  EXPECT_EQ(manager_.ExpireDue(absl::Now() + absl::Seconds(5)), 1);
  EXPECT_THAT(revoked_, ElementsAre("early"));
  EXPECT_TRUE(absl::IsNotFound(manager_.Lookup(lease->id()).status()));
}

TEST_F(LeaseManagerTest, RefusedRevokeIsFailedPreconditionAndStillRetried) {
  auto lease = manager_.Register(Spec("refused", "", absl::Hours(1)));
  ASSERT_TRUE(lease.ok());
  refuse_ = true;
  absl::Status st = manager_.Revoke(lease->id());
  EXPECT_TRUE(absl::IsFailedPrecondition(st)) << st;
  EXPECT_THAT(std::string(st.message()), ::testing::HasSubstr("permission denied"));
  auto kept = manager_.Lookup(lease->id());
  ASSERT_TRUE(kept.ok()) << kept.status();
  // Kept with its error; a client's attempt does not count towards
  // irrevocable.
  EXPECT_EQ(kept->failed_revocations(), 0u);
  EXPECT_THAT(kept->last_error(), ::testing::HasSubstr("permission denied"));
  // Unreachable stays UNAVAILABLE.
  refuse_ = false;
  fail_ = true;
  EXPECT_TRUE(absl::IsUnavailable(manager_.Revoke(lease->id())));
  fail_ = false;
  // The background retry still runs and succeeds once allowed.
  EXPECT_EQ(manager_.ExpireDue(absl::Now() + absl::Minutes(1)), 1);
  EXPECT_THAT(revoked_, ElementsAre("refused"));
}

}  // namespace
}  // namespace arca::lease
