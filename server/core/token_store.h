#ifndef ARCA_SERVER_CORE_TOKEN_STORE_H_
#define ARCA_SERVER_CORE_TOKEN_STORE_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kms/secret_bytes.h"
#include "server/auth/login.h"
#include "server/barrier/barrier.h"
#include "server/core/core_records.pb.h"
#include "server/lease/manager.h"

namespace arca::core {

// What a new token gets. Policy names are taken as given (the core checks
// them against the parent first).
struct TokenParams {
  std::vector<std::string> policies;
  absl::Duration ttl = absl::ZeroDuration();  // 0: kDefaultTokenTtl
  absl::Duration explicit_max_ttl = absl::ZeroDuration();  // 0: none
  bool renewable = true;
  int64_t num_uses = 0;  // 0: unlimited
  bool orphan = false;
  std::string display_name;
  // Non-secret facts shown on lookup (set by logins).
  std::map<std::string, std::string> metadata;
};

// A token handed out once, with its stored entry.
struct IssuedToken {
  std::string token;
  TokenEntry entry;
};

inline constexpr absl::Duration kDefaultTokenTtl = absl::Hours(768);
inline constexpr absl::Duration kMaxTokenTtl = absl::Hours(768);
// The lease kind under which token expiry is registered.
inline constexpr std::string_view kTokenLeaseKind = "token";

// TokenStore issues, resolves, renews and revokes tokens. A token is
// "arca.s." + base64url(32 random bytes); it is never stored: storage holds
// only HMAC-SHA256(salt, token), with the salt kept in the barrier, and
// entries are found by that hash and then compared in constant time.
//
// Storage under its view: "salt"; "id/<hex hash>" -> TokenEntry;
// "accessor/<accessor>" -> hex hash; "parent/<hex parent>/<hex child>" -> "".
// A token that expires has a lease of kind "token" in the lease manager,
// so expiry shares the manager's time index; revoking a token revokes its
// children (recursively) and every lease it created.
//
// Owns an in-memory cache of entries, dropped on Clear() (seal). The lease
// manager is not owned and must outlive the store. Thread-safe.
//
// As the auth::LoginIssuer of the login methods it issues orphan tokens
// with the grant's policies plus "default", its TTLs, display name and
// metadata; their leases are registered like any token's.
class TokenStore : public auth::LoginIssuer {
 public:
  TokenStore(barrier::View view, lease::Manager* leases)
      : view_(std::move(view)), leases_(leases) {}

  // Creates the salt. Called once, at init, with the barrier unsealed.
  absl::Status Initialize();
  // Loads the salt after unseal.
  absl::Status Load();
  // At most this many entries are kept in memory.
  static constexpr size_t kMaxCachedEntries = 16384;
  size_t CachedEntries() const;
  // Forgets the salt and the cache (on seal).
  void Clear();

  // The root token created by init: policy "root", no expiry.
  absl::StatusOr<IssuedToken> CreateRoot();
  // A token with `params`. Unless `params.orphan` or `parent` is null, it
  // becomes a child of `parent` and cannot outlive it.
  absl::StatusOr<IssuedToken> Create(const TokenEntry* parent,
                                     TokenParams params);

  // auth::LoginIssuer: an orphan token for a successful login.
  // PERMISSION_DENIED if the grant names "root" (a login never yields a
  // root token); INVALID_ARGUMENT for negative TTLs.
  absl::StatusOr<auth::IssuedToken> IssueLoginToken(
      const auth::LoginGrant& grant) override;

  // The entry for `token`; UNAUTHENTICATED if it is unknown, malformed,
  // expired or out of uses.
  absl::StatusOr<TokenEntry> Lookup(std::string_view token);
  // NOT_FOUND if no live token has this accessor.
  absl::StatusOr<TokenEntry> LookupAccessor(std::string_view accessor);

  // The stored entry with this id hash, live or expired; nullopt if none.
  absl::StatusOr<std::optional<TokenEntry>> LookupHash(std::string_view id_hash);

  // Spends one use of a use-limited token. Returns true if that was its
  // last use: the caller revokes it once the request is done.
  absl::StatusOr<bool> Use(const TokenEntry& entry);

  // Extends the token's life to now + `increment` (its ttl if zero), capped
  // by its max TTL. FAILED_PRECONDITION if it is not renewable.
  absl::StatusOr<TokenEntry> Renew(const TokenEntry& entry,
                                   absl::Duration increment);

  // Revokes the token with this id hash, its children and their leases.
  // OK if it is already gone.
  absl::Status Revoke(std::string_view id_hash);

  // Hex of the id hash: how leases and child links name a token.
  static std::string OwnerId(const TokenEntry& entry);
  static bool IsRoot(const TokenEntry& entry);

 private:
  absl::StatusOr<std::string> Hash(std::string_view token) const;
  absl::Status Persist(const TokenEntry& entry);
  absl::StatusOr<IssuedToken> Issue(TokenEntry entry);
  absl::Status RevokeTree(const std::string& hex, int depth);

  barrier::View view_;
  lease::Manager* leases_;
  mutable absl::Mutex mu_;
  kms::SecretBytes salt_ ABSL_GUARDED_BY(mu_);
  // Every entry is in storage first, so one dropped from here is read back
  // on its next use. Bounded: a server that logs in thousands of workloads
  // a day would otherwise keep every unexpired token (768 h) in memory.
  absl::flat_hash_map<std::string, TokenEntry> cache_ ABSL_GUARDED_BY(mu_);
  // Caches `entry`, replacing a cached copy only if `replace`; when full,
  // drops an arbitrary eighth of the others first.
  void CacheLocked(const TokenEntry& entry, bool replace)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Serializes use counting so that N uses mean exactly N requests.
  absl::Mutex use_mu_;
};

// Decodes hex; false for odd length or a non-hex character.
bool HexToBytes(std::string_view hex, std::string* out);

}  // namespace arca::core

#endif  // ARCA_SERVER_CORE_TOKEN_STORE_H_
