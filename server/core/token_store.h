#ifndef ARCA_SERVER_CORE_TOKEN_STORE_H_
#define ARCA_SERVER_CORE_TOKEN_STORE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "kms/secret_bytes.h"
#include "server/barrier/barrier.h"
#include "server/core/core_records.pb.h"

namespace arca::core {

// TokenStore issues and resolves tokens. A token is
// "arca.s." + base64url(32 random bytes); it is never stored: storage holds
// only HMAC-SHA256(salt, token), with the salt kept in the barrier, and
// entries are found by that hash and then compared in constant time.
// Owns an in-memory cache of resolved entries, dropped by Clear() on seal.
// Thread-safe.
class TokenStore {
 public:
  explicit TokenStore(barrier::View view) : view_(std::move(view)) {}

  // Creates the salt. Called once, at init, with the barrier unsealed.
  absl::Status Initialize();
  // Loads the salt after unseal.
  absl::Status Load();
  // Forgets the salt and the cache (on seal).
  void Clear();

  // Issues a new token with `policies`; returns the token text, once.
  absl::StatusOr<std::string> Create(std::vector<std::string> policies);

  // The entry for `token`; UNAUTHENTICATED if it is unknown or malformed.
  absl::StatusOr<TokenEntry> Lookup(std::string_view token);

 private:
  absl::StatusOr<std::string> Hash(std::string_view token) const;

  barrier::View view_;
  mutable absl::Mutex mu_;
  kms::SecretBytes salt_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, TokenEntry> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace arca::core

#endif  // ARCA_SERVER_CORE_TOKEN_STORE_H_
