#include "server/lease/manager.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "kms/random.h"
#include "kms/status_macros.h"
#include "spdlog/spdlog.h"

namespace arca::lease {
namespace {

constexpr char kEntryPrefix[] = "entry/";
constexpr char kExpiryPrefix[] = "expiry/";
constexpr char kOwnerPrefix[] = "owner/";

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

// Fixed width so that key order is time order.
std::string ExpiryKey(const LeaseEntry& e) {
  char ms[24];
  std::snprintf(ms, sizeof(ms), "%016" PRId64, std::max<int64_t>(0, e.expire_unix_ms()));
  return absl::StrCat(kExpiryPrefix, ms, ".", e.id());
}

std::string OwnerKey(const LeaseEntry& e) {
  return absl::StrCat(kOwnerPrefix, e.owner(), "/", e.id());
}

// Ids are hex, so they are safe as one path segment.
bool ValidId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

absl::Duration Backoff(int attempts) {
  absl::Duration d = absl::Seconds(1) * (int64_t{1} << std::min(attempts, 10));
  return std::min(d, absl::Minutes(10));
}

}  // namespace

void Manager::RegisterRevoker(std::string kind, Revoker revoker) {
  absl::MutexLock lock(&mu_);
  revokers_[std::move(kind)] = std::move(revoker);
}

void Manager::RegisterRenewer(std::string kind, Renewer renewer) {
  absl::MutexLock lock(&mu_);
  renewers_[std::move(kind)] = std::move(renewer);
}

absl::Status Manager::Store(const LeaseEntry& entry, const LeaseEntry* old) {
  std::vector<storage::Mutation> batch;
  if (old != nullptr && old->expire_unix_ms() != entry.expire_unix_ms()) {
    batch.push_back(storage::Mutation::Delete(ExpiryKey(*old)));
  }
  batch.push_back(storage::Mutation::Put(absl::StrCat(kEntryPrefix, entry.id()),
                                         entry.SerializeAsString()));
  // Irrevocable leases stay in the index too, at their next (hourly) retry.
  batch.push_back(storage::Mutation::Put(ExpiryKey(entry), ""));
  if (!entry.owner().empty()) {
    batch.push_back(storage::Mutation::Put(OwnerKey(entry), ""));
  }
  RETURN_IF_ERROR(view_.Batch(std::move(batch)));
  absl::MutexLock lock(&mu_);
  next_due_ = std::min(next_due_, absl::FromUnixMillis(entry.expire_unix_ms()));
  return absl::OkStatus();
}

absl::Status Manager::Erase(const LeaseEntry& entry) {
  std::vector<storage::Mutation> batch;
  batch.push_back(storage::Mutation::Delete(absl::StrCat(kEntryPrefix, entry.id())));
  batch.push_back(storage::Mutation::Delete(ExpiryKey(entry)));
  if (!entry.owner().empty()) {
    batch.push_back(storage::Mutation::Delete(OwnerKey(entry)));
  }
  RETURN_IF_ERROR(view_.Batch(std::move(batch)));
  absl::MutexLock lock(&mu_);
  retry_at_.erase(entry.id());
  return absl::OkStatus();
}

absl::StatusOr<LeaseEntry> Manager::Register(const LeaseSpec& spec) {
  {
    absl::MutexLock lock(&mu_);
    if (!revokers_.contains(spec.kind)) {
      return absl::InvalidArgumentError(
          absl::StrCat("no revoker for lease kind \"", spec.kind, "\""));
    }
  }
  if (spec.ttl <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("a lease needs a positive ttl");
  }
  const int64_t now = NowMs();
  LeaseEntry e;
  e.set_id(absl::BytesToHexString(kms::RandomString(16)));
  e.set_kind(spec.kind);
  e.set_data(spec.data);
  e.set_owner(spec.owner);
  e.set_issue_unix_ms(now);
  e.set_ttl_ms(absl::ToInt64Milliseconds(spec.ttl));
  int64_t expire = now + e.ttl_ms();
  if (spec.max_ttl > absl::ZeroDuration()) {
    e.set_max_expire_unix_ms(now + absl::ToInt64Milliseconds(spec.max_ttl));
    expire = std::min(expire, e.max_expire_unix_ms());
  }
  e.set_expire_unix_ms(expire);
  e.set_renewable(spec.renewable);
  RETURN_IF_ERROR(Store(e, nullptr));
  return e;
}

absl::StatusOr<LeaseEntry> Manager::Lookup(std::string_view id) const {
  if (!ValidId(id)) return absl::NotFoundError("no such lease");
  ASSIGN_OR_RETURN(auto raw, view_.Get(absl::StrCat(kEntryPrefix, std::string(id))));
  if (!raw.has_value()) return absl::NotFoundError("no such lease");
  LeaseEntry e;
  if (!e.ParseFromString(*raw)) return absl::DataLossError("lease record is corrupt");
  return e;
}

absl::StatusOr<LeaseEntry> Manager::Renew(std::string_view id,
                                          absl::Duration increment) {
  ASSIGN_OR_RETURN(LeaseEntry old, Lookup(id));
  if (old.irrevocable()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "lease revocation failed ", old.failed_revocations(),
        " times and is retried hourly; it cannot be renewed (last error: ",
        old.last_error(), ")"));
  }
  if (!old.last_error().empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "lease revocation is pending (last attempt failed: ",
        old.last_error(), "); it cannot be renewed"));
  }
  if (!old.renewable()) {
    return absl::FailedPreconditionError("lease is not renewable");
  }
  const int64_t now = NowMs();
  if (old.expire_unix_ms() <= now) {
    return absl::FailedPreconditionError("lease has expired");
  }
  LeaseEntry e = old;
  int64_t inc = increment > absl::ZeroDuration()
                    ? absl::ToInt64Milliseconds(increment)
                    : e.ttl_ms();
  int64_t expire = now + inc;
  if (e.max_expire_unix_ms() > 0) expire = std::min(expire, e.max_expire_unix_ms());
  e.set_expire_unix_ms(expire);
  Renewer renewer;
  {
    absl::MutexLock lock(&mu_);
    auto it = renewers_.find(e.kind());
    if (it != renewers_.end()) renewer = it->second;
  }
  // Outside the lock: the hook may talk to a remote system.
  if (renewer) RETURN_IF_ERROR(renewer(e));
  RETURN_IF_ERROR(Store(e, &old));
  return e;
}

void Manager::NoteFailure(LeaseEntry entry, const absl::Status& error,
                          bool background) {
  LeaseEntry old = entry;
  if (background) entry.set_failed_revocations(entry.failed_revocations() + 1);
  entry.set_last_error(std::string(error.message()));
  if (old.irrevocable()) {
    spdlog::warn("revoking irrevocable lease {} ({}) failed again: {}",
                 entry.id(), entry.kind(), entry.last_error());
  } else if (!background) {
    spdlog::warn("revoking lease {} ({}) on request failed; it is retried "
                 "in the background: {}",
                 entry.id(), entry.kind(), entry.last_error());
  } else if (entry.failed_revocations() >= kMaxRevokeAttempts) {
    entry.set_irrevocable(true);
    spdlog::error("lease {} ({}) could not be revoked after {} attempts; "
                  "marked irrevocable: {}",
                  entry.id(), entry.kind(), entry.failed_revocations(),
                  entry.last_error());
  } else {
    spdlog::warn("revoking lease {} ({}) failed (attempt {}): {}", entry.id(),
                 entry.kind(), entry.failed_revocations(), entry.last_error());
  }
  const absl::Time retry_time =
      absl::Now() + (entry.irrevocable() ? kIrrevocableRetryInterval
                                         : Backoff(entry.failed_revocations()));
  // A lease revoked before its expiry must still be retried: move its slot
  // in the expiry index to the retry time, or the retry would wait for the
  // original expiry (hours away) while the credential stays valid.
  entry.set_expire_unix_ms(
      entry.irrevocable()
          ? absl::ToUnixMillis(retry_time)
          : std::min(entry.expire_unix_ms(), absl::ToUnixMillis(retry_time)));
  if (absl::Status st = Store(entry, &old); !st.ok()) {
    spdlog::warn("cannot record failed revocation of lease {}: {}", entry.id(),
                 std::string(st.message()));
  }
  absl::MutexLock lock(&mu_);
  const absl::Time retry = retry_time;
  retry_at_[entry.id()] = retry;
  next_due_ = std::min(next_due_, retry);
}

absl::Status Manager::Revoke(std::string_view id) {
  return RevokeAttempt(id, /*background=*/false);
}

absl::Status Manager::RevokeAttempt(std::string_view id, bool background) {
  ASSIGN_OR_RETURN(LeaseEntry e, Lookup(id));
  Revoker revoker;
  {
    absl::MutexLock lock(&mu_);
    auto it = revokers_.find(e.kind());
    if (it != revokers_.end()) revoker = it->second;
  }
  absl::Status st = revoker
                        ? revoker(e)
                        : absl::FailedPreconditionError(absl::StrCat(
                              "no revoker for lease kind \"", e.kind(), "\""));
  if (!st.ok()) {
    NoteFailure(e, st, background);
    std::string message =
        absl::StrCat("lease ", e.id(), " was not revoked: ", st.message());
    // A refusal (e.g. PostgreSQL denied a statement) needs the operator;
    // anything else may pass by itself. Both are retried.
    return absl::IsFailedPrecondition(st)
               ? absl::FailedPreconditionError(std::move(message))
               : absl::UnavailableError(std::move(message));
  }
  return Erase(e);
}

absl::Status Manager::Forget(std::string_view id) {
  absl::StatusOr<LeaseEntry> e = Lookup(id);
  if (absl::IsNotFound(e.status())) return absl::OkStatus();
  RETURN_IF_ERROR(e.status());
  return Erase(*e);
}

std::vector<std::string> Manager::ListByOwner(std::string_view owner) const {
  if (owner.empty()) return {};
  auto ids = view_.List(absl::StrCat(kOwnerPrefix, std::string(owner), "/"));
  if (!ids.ok()) return {};
  return *ids;
}

absl::Status Manager::RevokeByOwner(std::string_view owner) {
  if (owner.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<std::string> ids,
                   view_.List(absl::StrCat(kOwnerPrefix, std::string(owner), "/")));
  absl::Status first;
  for (const std::string& id : ids) {
    absl::Status st = Revoke(id);
    if (absl::IsNotFound(st)) {
      // A dangling index entry: drop it.
      st = view_.Delete(absl::StrCat(kOwnerPrefix, std::string(owner), "/", id));
    }
    if (!st.ok() && first.ok()) first = st;
  }
  return first;
}

int Manager::ExpireDue(absl::Time now) {
  {
    absl::MutexLock lock(&mu_);
    if (now < next_due_) return 0;
    // Writes from here on lower next_due_ again.
    next_due_ = absl::InfiniteFuture();
  }
  absl::StatusOr<std::vector<std::string>> keys = view_.List(kExpiryPrefix);
  if (!keys.ok()) {
    absl::MutexLock lock(&mu_);
    next_due_ = absl::InfinitePast();
    return 0;
  }
  std::sort(keys->begin(), keys->end());
  char limit[24];
  std::snprintf(limit, sizeof(limit), "%016" PRId64, absl::ToUnixMillis(now));
  int revoked = 0;
  absl::Time earliest = absl::InfiniteFuture();
  for (const std::string& key : *keys) {
    const size_t dot = key.find('.');
    if (dot == std::string::npos) continue;
    if (key.compare(0, 16, limit) > 0) {  // the index is in time order
      int64_t ms = 0;
      if (absl::SimpleAtoi(absl::string_view(key.data(), dot), &ms)) {
        earliest = std::min(earliest, absl::FromUnixMillis(ms));
      }
      break;
    }
    const std::string id = key.substr(dot + 1);
    {
      absl::MutexLock lock(&mu_);
      auto it = retry_at_.find(id);
      if (it != retry_at_.end() && it->second > now) {
        earliest = std::min(earliest, it->second);
        continue;
      }
    }
    absl::Status st = RevokeAttempt(id, /*background=*/true);
    if (st.ok()) {
      ++revoked;
    } else if (absl::IsNotFound(st)) {
      (void)view_.Delete(absl::StrCat(kExpiryPrefix, key));
    }
  }
  absl::MutexLock lock(&mu_);
  next_due_ = std::min(next_due_, earliest);
  return revoked;
}

void Manager::Clear() {
  absl::MutexLock lock(&mu_);
  retry_at_.clear();
  next_due_ = absl::InfinitePast();
}

}  // namespace arca::lease
