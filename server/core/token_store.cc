#include "server/core/token_store.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "kms/mac.h"
#include "kms/random.h"
#include "kms/status_macros.h"

namespace arca::core {
namespace {

constexpr char kTokenPrefix[] = "arca.s.";
constexpr std::string_view kSaltPath = "salt";
constexpr char kEntryPrefix[] = "id/";

absl::Status Unauthenticated() {
  return absl::UnauthenticatedError("token is missing, invalid or expired");
}

}  // namespace

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

absl::StatusOr<std::string> TokenStore::Hash(std::string_view token) const {
  absl::MutexLock lock(&mu_);
  if (salt_.empty()) return barrier::SealedError();
  return kms::HmacSha256(salt_, token);
}

absl::StatusOr<std::string> TokenStore::Create(
    std::vector<std::string> policies) {
  std::string token =
      absl::StrCat(kTokenPrefix, absl::WebSafeBase64Escape(kms::RandomString(32)));
  ASSIGN_OR_RETURN(std::string hash, Hash(token));
  TokenEntry entry;
  entry.set_id_hash(hash);
  entry.set_accessor(absl::BytesToHexString(kms::RandomString(12)));
  for (auto& p : policies) entry.add_policies(std::move(p));
  entry.set_created_unix(absl::ToUnixSeconds(absl::Now()));
  RETURN_IF_ERROR(view_.Put(absl::StrCat(kEntryPrefix,
                                         absl::BytesToHexString(hash)),
                            entry.SerializeAsString()));
  return token;
}

absl::StatusOr<TokenEntry> TokenStore::Lookup(std::string_view token) {
  if (!absl::StartsWith(absl::string_view(token.data(), token.size()),
                        kTokenPrefix) ||
      token.size() > 256) {
    return Unauthenticated();
  }
  ASSIGN_OR_RETURN(std::string hash, Hash(token));
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(hash);
    if (it != cache_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(auto raw, view_.Get(absl::StrCat(
                                 kEntryPrefix, absl::BytesToHexString(hash))));
  if (!raw.has_value()) return Unauthenticated();
  TokenEntry entry;
  if (!entry.ParseFromString(*raw)) {
    return absl::DataLossError("token entry is corrupt");
  }
  if (!kms::ConstantTimeEquals(entry.id_hash(), hash)) {
    return Unauthenticated();
  }
  absl::MutexLock lock(&mu_);
  cache_.emplace(hash, entry);
  return entry;
}

}  // namespace arca::core
