#include "server/core/token_store.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kms/mac.h"
#include "kms/random.h"
#include "kms/status_macros.h"
#include "server/auth/policy.h"
#include "spdlog/spdlog.h"

namespace arca::core {
namespace {

constexpr char kTokenPrefix[] = "arca.s.";
constexpr std::string_view kSaltPath = "salt";
constexpr char kEntryPrefix[] = "id/";
constexpr char kAccessorPrefix[] = "accessor/";
constexpr char kParentPrefix[] = "parent/";
// Deeper token trees are refused, so revocation recursion stays bounded.
constexpr int kMaxTreeDepth = 64;

absl::Status Unauthenticated() {
  return absl::UnauthenticatedError("token is missing, invalid or expired");
}

std::string EntryKey(std::string_view hex) {
  return absl::StrCat(kEntryPrefix, std::string(hex));
}

bool ValidAccessor(std::string_view a) {
  return !a.empty() && a.size() <= 64 &&
         std::all_of(a.begin(), a.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool Expired(const TokenEntry& e, int64_t now_ms) {
  return (e.expire_unix_ms() != 0 && e.expire_unix_ms() <= now_ms) ||
         e.num_uses() < 0;
}

}  // namespace

bool HexToBytes(std::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  *out = absl::HexStringToBytes(absl::string_view(hex.data(), hex.size()));
  return true;
}

std::string TokenStore::OwnerId(const TokenEntry& entry) {
  return absl::BytesToHexString(entry.id_hash());
}

bool TokenStore::IsRoot(const TokenEntry& entry) {
  return std::find(entry.policies().begin(), entry.policies().end(), "root") !=
         entry.policies().end();
}

absl::Status TokenStore::Initialize() {
  kms::SecretBytes salt = kms::RandomSecret(32);
  RETURN_IF_ERROR(view_.Put(kSaltPath, salt.Reveal()));
  absl::MutexLock lock(&mu_);
  salt_ = std::move(salt);
  return absl::OkStatus();
}

absl::Status TokenStore::Load() {
  ASSIGN_OR_RETURN(auto salt, view_.Get(kSaltPath));
  if (!salt.has_value() || salt->size() != 32) {
    return absl::DataLossError("token salt is missing from storage");
  }
  absl::MutexLock lock(&mu_);
  salt_ = kms::SecretBytes::CopyFrom(*salt);
  cache_.clear();
  return absl::OkStatus();
}

void TokenStore::Clear() {
  absl::MutexLock lock(&mu_);
  salt_.Wipe();
  cache_.clear();
}

void TokenStore::CacheLocked(const TokenEntry& entry, bool replace) {
  auto it = cache_.find(entry.id_hash());
  if (it != cache_.end()) {
    if (replace) it->second = entry;
    return;
  }
  if (cache_.size() >= kMaxCachedEntries) {
    // An eighth at once: erasing begin() one entry per insert would rescan
    // the table's emptied front every time.
    auto drop = cache_.begin();
    for (size_t n = 0; n < kMaxCachedEntries / 8; ++n) cache_.erase(drop++);
  }
  cache_.emplace(entry.id_hash(), entry);
}

size_t TokenStore::CachedEntries() const {
  absl::MutexLock lock(&mu_);
  return cache_.size();
}

absl::StatusOr<std::string> TokenStore::Hash(std::string_view token) const {
  absl::MutexLock lock(&mu_);
  if (salt_.empty()) return barrier::SealedError();
  return kms::HmacSha256(salt_, token);
}

absl::Status TokenStore::Persist(const TokenEntry& entry) {
  RETURN_IF_ERROR(
      view_.Put(EntryKey(OwnerId(entry)), entry.SerializeAsString()));
  absl::MutexLock lock(&mu_);
  CacheLocked(entry, /*replace=*/true);
  return absl::OkStatus();
}

absl::StatusOr<IssuedToken> TokenStore::Issue(TokenEntry entry) {
  IssuedToken out;
  out.token = absl::StrCat(kTokenPrefix,
                           absl::WebSafeBase64Escape(kms::RandomString(32)));
  ASSIGN_OR_RETURN(std::string hash, Hash(out.token));
  entry.set_id_hash(hash);
  entry.set_accessor(absl::BytesToHexString(kms::RandomString(16)));
  entry.set_created_unix(absl::ToUnixSeconds(absl::Now()));
  const std::string hex = OwnerId(entry);
  if (entry.expire_unix_ms() != 0) {
    lease::LeaseSpec spec;
    spec.kind = std::string(kTokenLeaseKind);
    spec.data = hex;
    spec.ttl = absl::Milliseconds(entry.expire_unix_ms() -
                                  absl::ToUnixMillis(absl::Now()));
    spec.renewable = entry.renewable();
    if (entry.max_expire_unix_ms() != 0) {
      spec.max_ttl = absl::Milliseconds(entry.max_expire_unix_ms() -
                                        absl::ToUnixMillis(absl::Now()));
    }
    ASSIGN_OR_RETURN(lease::LeaseEntry lease, leases_->Register(spec));
    entry.set_lease_id(lease.id());
  }
  std::vector<storage::Mutation> batch;
  batch.push_back(
      storage::Mutation::Put(EntryKey(hex), entry.SerializeAsString()));
  batch.push_back(storage::Mutation::Put(
      absl::StrCat(kAccessorPrefix, entry.accessor()), hex));
  if (!entry.parent_hash().empty()) {
    batch.push_back(storage::Mutation::Put(
        absl::StrCat(kParentPrefix, absl::BytesToHexString(entry.parent_hash()),
                     "/", hex),
        ""));
  }
  RETURN_IF_ERROR(view_.Batch(std::move(batch)));
  {
    absl::MutexLock lock(&mu_);
    CacheLocked(entry, /*replace=*/true);
  }
  out.entry = std::move(entry);
  return out;
}

absl::StatusOr<IssuedToken> TokenStore::CreateRoot() {
  TokenEntry entry;
  entry.add_policies("root");
  entry.set_display_name("root");
  return Issue(std::move(entry));
}

absl::StatusOr<IssuedToken> TokenStore::Create(const TokenEntry* parent,
                                               TokenParams params) {
  if (params.ttl < absl::ZeroDuration() ||
      params.explicit_max_ttl < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("ttl and max ttl must not be negative");
  }
  if (params.num_uses < 0) {
    return absl::InvalidArgumentError("num_uses must not be negative");
  }
  const absl::Time now = absl::Now();
  absl::Duration max_ttl = kMaxTokenTtl;
  if (params.explicit_max_ttl > absl::ZeroDuration()) {
    max_ttl = std::min(max_ttl, params.explicit_max_ttl);
  }
  absl::Duration ttl =
      params.ttl > absl::ZeroDuration() ? params.ttl : kDefaultTokenTtl;
  ttl = std::min(ttl, max_ttl);
  int64_t expire = absl::ToUnixMillis(now + ttl);
  int64_t max_expire = absl::ToUnixMillis(now + max_ttl);

  TokenEntry entry;
  if (parent != nullptr && !params.orphan) {
    // A bounded tree keeps recursive revocation bounded.
    if (parent->depth() + 1 > static_cast<uint32_t>(kMaxTreeDepth)) {
      return absl::ResourceExhaustedError(
          "token tree is too deep; create an orphan token instead");
    }
    entry.set_depth(parent->depth() + 1);
    entry.set_parent_hash(parent->id_hash());
    // A child never outlives its parent.
    if (parent->expire_unix_ms() != 0) {
      expire = std::min(expire, parent->expire_unix_ms());
      max_expire = std::min(max_expire, parent->expire_unix_ms());
    }
  }
  for (auto& p : params.policies) entry.add_policies(std::move(p));
  entry.set_ttl_seconds(absl::ToInt64Seconds(ttl));
  entry.set_explicit_max_ttl_seconds(
      absl::ToInt64Seconds(params.explicit_max_ttl));
  entry.set_expire_unix_ms(expire);
  entry.set_max_expire_unix_ms(max_expire);
  entry.set_renewable(params.renewable);
  entry.set_num_uses(params.num_uses);
  entry.set_orphan(params.orphan || parent == nullptr);
  entry.set_display_name(params.display_name);
  entry.mutable_metadata()->insert(params.metadata.begin(),
                                   params.metadata.end());
  return Issue(std::move(entry));
}

absl::StatusOr<auth::IssuedToken> TokenStore::IssueLoginToken(
    const auth::LoginGrant& grant) {
  TokenParams params;
  for (const std::string& p : grant.policies) {
    // Login methods refuse "root" in roles; this is the last line.
    if (p == auth::kRootPolicyName) {
      return absl::PermissionDeniedError(
          "a login cannot issue a token with the root policy");
    }
    if (std::find(params.policies.begin(), params.policies.end(), p) ==
        params.policies.end()) {
      params.policies.push_back(p);
    }
  }
  if (std::find(params.policies.begin(), params.policies.end(),
                auth::kDefaultPolicyName) == params.policies.end()) {
    params.policies.push_back(std::string(auth::kDefaultPolicyName));
  }
  params.ttl = grant.ttl;
  params.explicit_max_ttl = grant.max_ttl;
  params.orphan = true;
  params.display_name = grant.display_name;
  params.metadata = grant.metadata;
  ASSIGN_OR_RETURN(IssuedToken issued, Create(nullptr, std::move(params)));
  auth::IssuedToken out;
  out.token = kms::SecretBytes::CopyFrom(issued.token);
  out.accessor = issued.entry.accessor();
  out.policies.assign(issued.entry.policies().begin(),
                      issued.entry.policies().end());
  out.ttl = absl::Seconds(issued.entry.ttl_seconds());
  return out;
}

absl::StatusOr<std::optional<TokenEntry>> TokenStore::LookupHash(
    std::string_view hash) {
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(std::string(hash));
    if (it != cache_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(auto raw,
                   view_.Get(EntryKey(absl::BytesToHexString(
                       absl::string_view(hash.data(), hash.size())))));
  if (!raw.has_value()) return std::nullopt;
  TokenEntry entry;
  if (!entry.ParseFromString(*raw)) {
    return absl::DataLossError("token entry is corrupt");
  }
  if (!kms::ConstantTimeEquals(entry.id_hash(), hash)) return std::nullopt;
  absl::MutexLock lock(&mu_);
  CacheLocked(entry, /*replace=*/false);
  return entry;
}

absl::StatusOr<TokenEntry> TokenStore::Lookup(std::string_view token) {
  if (!absl::StartsWith(absl::string_view(token.data(), token.size()),
                        kTokenPrefix) ||
      token.size() > 256) {
    return Unauthenticated();
  }
  ASSIGN_OR_RETURN(std::string hash, Hash(token));
  ASSIGN_OR_RETURN(auto entry, LookupHash(hash));
  if (!entry.has_value() || !kms::ConstantTimeEquals(entry->id_hash(), hash) ||
      Expired(*entry, absl::ToUnixMillis(absl::Now()))) {
    return Unauthenticated();
  }
  return *std::move(entry);
}

absl::StatusOr<TokenEntry> TokenStore::LookupAccessor(
    std::string_view accessor) {
  if (!ValidAccessor(accessor)) {
    return absl::NotFoundError("no token has that accessor");
  }
  ASSIGN_OR_RETURN(auto hex, view_.Get(absl::StrCat(kAccessorPrefix,
                                                    std::string(accessor))));
  std::string hash;
  if (!hex.has_value() || !HexToBytes(*hex, &hash)) {
    return absl::NotFoundError("no token has that accessor");
  }
  ASSIGN_OR_RETURN(auto entry, LookupHash(hash));
  if (!entry.has_value() || Expired(*entry, absl::ToUnixMillis(absl::Now()))) {
    return absl::NotFoundError("no token has that accessor");
  }
  return *std::move(entry);
}

absl::StatusOr<bool> TokenStore::Use(const TokenEntry& entry) {
  if (entry.num_uses() == 0) return false;
  absl::MutexLock use_lock(&use_mu_);
  ASSIGN_OR_RETURN(auto current, LookupHash(entry.id_hash()));
  if (!current.has_value() || current->num_uses() <= 0) {
    return Unauthenticated();
  }
  const bool last = current->num_uses() == 1;
  // -1 marks a token whose last use is in flight: no further request.
  current->set_num_uses(last ? -1 : current->num_uses() - 1);
  RETURN_IF_ERROR(Persist(*current));
  return last;
}

absl::StatusOr<TokenEntry> TokenStore::Renew(const TokenEntry& entry,
                                             absl::Duration increment) {
  if (entry.expire_unix_ms() == 0) return entry;  // never expires
  if (!entry.renewable()) {
    return absl::FailedPreconditionError("token is not renewable");
  }
  if (increment < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("increment must not be negative");
  }
  ASSIGN_OR_RETURN(auto current, LookupHash(entry.id_hash()));
  if (!current.has_value()) return Unauthenticated();
  const int64_t now = absl::ToUnixMillis(absl::Now());
  const absl::Duration inc = increment > absl::ZeroDuration()
                                 ? increment
                                 : absl::Seconds(current->ttl_seconds());
  int64_t expire = now + absl::ToInt64Milliseconds(inc);
  if (current->max_expire_unix_ms() != 0) {
    expire = std::min(expire, current->max_expire_unix_ms());
  }
  if (!current->parent_hash().empty()) {
    ASSIGN_OR_RETURN(auto parent, LookupHash(current->parent_hash()));
    if (parent.has_value() && parent->expire_unix_ms() != 0) {
      expire = std::min(expire, parent->expire_unix_ms());
    }
  }
  current->set_expire_unix_ms(expire);
  if (!current->lease_id().empty()) {
    absl::StatusOr<lease::LeaseEntry> renewed =
        leases_->Renew(current->lease_id(),
                       absl::Milliseconds(std::max<int64_t>(1, expire - now)));
    if (!renewed.ok() && !absl::IsNotFound(renewed.status())) {
      return renewed.status();
    }
  }
  RETURN_IF_ERROR(Persist(*current));
  return *std::move(current);
}

absl::Status TokenStore::Revoke(std::string_view id_hash) {
  return RevokeTree(
      absl::BytesToHexString(absl::string_view(id_hash.data(), id_hash.size())),
      0);
}

absl::Status TokenStore::RevokeTree(const std::string& hex, int depth) {
  if (depth > kMaxTreeDepth + 1) {
    return absl::InternalError("token tree deeper than allowed");
  }
  std::string hash;
  if (!HexToBytes(hex, &hash)) return absl::OkStatus();
  // Children first, so that no child survives a parent that is gone.
  ASSIGN_OR_RETURN(std::vector<std::string> children,
                   view_.List(absl::StrCat(kParentPrefix, hex, "/")));
  for (const std::string& child : children) {
    RETURN_IF_ERROR(RevokeTree(child, depth + 1));
  }
  // Leases this token created.
  if (absl::Status st = leases_->RevokeByOwner(hex); !st.ok()) {
    spdlog::warn("revoking leases of a token: {}", std::string(st.message()));
  }
  ASSIGN_OR_RETURN(auto entry, LookupHash(hash));
  {
    absl::MutexLock lock(&mu_);
    cache_.erase(hash);
  }
  if (!entry.has_value()) {
    return view_.Delete(EntryKey(hex));
  }
  if (!entry->lease_id().empty()) {
    RETURN_IF_ERROR(leases_->Forget(entry->lease_id()));
  }
  std::vector<storage::Mutation> batch;
  batch.push_back(storage::Mutation::Delete(EntryKey(hex)));
  batch.push_back(storage::Mutation::Delete(
      absl::StrCat(kAccessorPrefix, entry->accessor())));
  if (!entry->parent_hash().empty()) {
    batch.push_back(storage::Mutation::Delete(
        absl::StrCat(kParentPrefix,
                     absl::BytesToHexString(entry->parent_hash()), "/", hex)));
  }
  RETURN_IF_ERROR(view_.Batch(std::move(batch)));
  absl::MutexLock lock(&mu_);
  cache_.erase(hash);
  return absl::OkStatus();
}

}  // namespace arca::core
