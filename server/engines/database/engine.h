#ifndef ARCA_SERVER_ENGINES_DATABASE_ENGINE_H_
#define ARCA_SERVER_ENGINES_DATABASE_ENGINE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kms/secret_bytes.h"
#include "server/barrier/barrier.h"

namespace arca::engines::database {

class ConnectionPool;
class ConnectionRecord;

// The lease kind of issued credentials (server/lease).
inline constexpr char kLeaseKind[] = "database";

// Limits on what a request may configure.
inline constexpr int kMaxStatements = 32;            // per list
inline constexpr size_t kMaxStatementBytes = 16384;  // per statement
inline constexpr int kMaxAllowedRoles = 256;
inline constexpr int kDefaultMaxOpenConnections = 4;
inline constexpr int kMaxOpenConnectionsLimit = 64;
inline constexpr absl::Duration kDefaultTtl = absl::Hours(1);
inline constexpr absl::Duration kDefaultMaxTtl = absl::Hours(24);
inline constexpr absl::Duration kTtlLimit = absl::Hours(768);

// A connection as written by an operator.
struct ConnectionConfig {
  std::string name;
  std::string connection_url;  // libpq URI or key=value, no password
  std::string username;
  // Empty keeps the stored password (after RotateRoot only Arca knows it)
  // only if connection_url and username are unchanged; otherwise
  // WriteConnection is INVALID_ARGUMENT.
  kms::SecretBytes password;
  std::vector<std::string> allowed_roles;  // "*": any
  int max_open_connections = 0;            // 0: default
  bool verify_connection = true;
};

// A connection as read back: never the password.
struct ConnectionInfo {
  std::string name;
  std::string connection_url;
  std::string username;
  std::vector<std::string> allowed_roles;
  int max_open_connections = 0;
  int64_t root_rotated_unix_ms = 0;
};

struct RoleConfig {
  std::string name;
  std::string db_name;  // a connection name
  std::vector<std::string> creation_statements;
  std::vector<std::string> revocation_statements;  // empty: defaults
  std::vector<std::string> renew_statements;       // empty: defaults
  int64_t default_ttl_seconds = 0;                 // 0: 1h
  int64_t max_ttl_seconds = 0;                     // 0: 24h
};

// A login just created in PostgreSQL. `lease_data` is what the "database"
// lease must carry for RevokeLogin and RenewLogin.
struct IssuedLogin {
  std::string username;
  kms::SecretBytes password;
  absl::Duration ttl;
  absl::Duration max_ttl;
  absl::Time expiration;  // the login's VALID UNTIL, if the role says so
  std::string lease_data;
};

// Engine is one mount of the database secrets engine: PostgreSQL
// connections (an admin login, its password only in the sealed record) and
// roles (SQL templates) in its barrier View, and a lazily opened
// ConnectionPool per connection. It creates, renews and drops short-lived
// logins; the core ties them to leases. Thread-safe; configuration changes
// (and root rotation) are serialized.
//
// Storage layout under its View:
//   config/<name>   ConnectionRecord (database_records.proto)
//   roles/<name>    RoleRecord
//   logins/<connection>/<username>   "" while a login issued from that
//                   connection may exist: written before the login is
//                   created, deleted once it is dropped (or its creation
//                   failed), so a crash errs towards keeping it.
class Engine {
 public:
  Engine(barrier::View view, std::string mount);
  ~Engine();

  // Validates, connects first when config.verify_connection (UNAVAILABLE
  // or FAILED_PRECONDITION if that fails), then stores it; open
  // connections of the old config are closed.
  absl::StatusOr<ConnectionInfo> WriteConnection(const ConnectionConfig& config);
  absl::StatusOr<ConnectionInfo> ReadConnection(std::string_view name);
  absl::StatusOr<std::vector<std::string>> ListConnections();
  // FAILED_PRECONDITION while a role names it or logins issued from it
  // are outstanding (their revocation needs the connection). An entry
  // whose login PostgreSQL no longer has is pruned on the way.
  absl::Status DeleteConnection(std::string_view name);
  // Sets a new random password for the connection's user in PostgreSQL
  // (ALTER ROLE CURRENT_USER) and stores it. Crash-safe: the new password
  // is stored as pending before the ALTER and promoted after; whenever the
  // stored password is refused, a pending one is tried and promoted if it
  // works, so neither a crash nor PostgreSQL going away between the steps
  // loses access.
  absl::StatusOr<ConnectionInfo> RotateRoot(std::string_view name);

  // NOT_FOUND if the connection it names does not exist.
  absl::StatusOr<RoleConfig> WriteRole(const RoleConfig& role);
  absl::StatusOr<RoleConfig> ReadRole(std::string_view name);
  absl::StatusOr<std::vector<std::string>> ListRoles();
  absl::Status DeleteRole(std::string_view name);

  // Creates a login for `role` with a lease of `requested_ttl` (zero: the
  // role's default; capped by its max). PERMISSION_DENIED if the
  // connection does not allow the role; UNAVAILABLE if PostgreSQL cannot
  // be reached; FAILED_PRECONDITION if it rejects a statement. On any error
  // nothing was created (the statements run in one transaction).
  absl::StatusOr<IssuedLogin> CreateLogin(std::string_view role,
                                          absl::Duration requested_ttl);
  // Runs the revocation statements of a lease's login. Idempotent: a login
  // that no longer exists is done. UNAVAILABLE while PostgreSQL is down.
  absl::Status RevokeLogin(std::string_view lease_data);
  // Runs the renew statements with {{expiration}} = `expiration`.
  absl::Status RenewLogin(std::string_view lease_data, absl::Time expiration);

  // Closes every pooled connection (at seal). Later calls reopen them.
  void CloseConnections();

  // The mount named in a lease's data (for the core's revoker).
  static absl::StatusOr<std::string> LeaseMount(std::string_view lease_data);

 private:
  absl::StatusOr<std::optional<ConnectionRecord>> LoadConnection(
      std::string_view name);
  absl::Status StoreConnection(const ConnectionRecord& record);
  // The pool of connection `name`, made from its stored record if needed.
  absl::StatusOr<std::shared_ptr<ConnectionPool>> PoolFor(
      std::string_view name);
  void DropPool(std::string_view name);
  // Best effort after a failed creation: DROP ROLE IF EXISTS `username`.
  void DropFailedLogin(std::string_view connection, std::string_view username,
                       const absl::Status& why);
  // Runs `fn` on the connection's pool; if PostgreSQL refuses the stored
  // password and a pending one works, promotes it and runs `fn` again.
  absl::Status WithPool(std::string_view name,
                        absl::FunctionRef<absl::Status(ConnectionPool&)> fn);
  // Resolves a pending password left by an interrupted RotateRoot: kept if
  // PostgreSQL accepts it, dropped if the stored one is accepted instead.
  // Returns whether the record changed.
  absl::StatusOr<bool> ResolvePendingLocked(std::string_view name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(config_mu_);

  const barrier::View view_;
  const std::string mount_;
  // Held shared while a login is being created, exclusively while a
  // connection is deleted, so none is created on a connection going away.
  // Taken before config_mu_.
  absl::Mutex issue_mu_;
  // Serializes configuration writes and root rotation.
  absl::Mutex config_mu_;
  absl::Mutex pools_mu_;
  std::map<std::string, std::shared_ptr<ConnectionPool>, std::less<>> pools_
      ABSL_GUARDED_BY(pools_mu_);
};

}  // namespace arca::engines::database

#endif  // ARCA_SERVER_ENGINES_DATABASE_ENGINE_H_
