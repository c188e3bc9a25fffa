#ifndef ARCA_SERVER_ENGINES_DATABASE_POSTGRES_H_
#define ARCA_SERVER_ENGINES_DATABASE_POSTGRES_H_

// The libpq edge: the only file that includes libpq, and the one place
// where libpq and PostgreSQL errors become absl::Status:
//   could not connect, connection lost, server starting or shutting down,
//   too many connections                       -> UNAVAILABLE
//   PostgreSQL rejected a statement or login   -> FAILED_PRECONDITION
//       "postgresql: SQLSTATE <code>: <message>", with every secret the
//       call knows of replaced by "[redacted]" (a syntax error may quote
//       a password literal)
// A rejected login also carries the payload kSqlStatePayload = "28P01" so
// that callers can tell a wrong password (IsAuthenticationFailure).
// Notices and warnings PostgreSQL sends on a pooled connection go to
// spdlog at debug level (severity, SQLSTATE, primary message), never to
// stderr.

#include <memory>
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
#include "server/engines/database/sql_template.h"

namespace arca::engines::database {

inline constexpr char kSqlStatePayload[] = "arca.database/sqlstate";
// Seconds libpq waits for a server before giving up (connect_timeout).
inline constexpr int kConnectTimeoutSeconds = 5;
// How long one statement may wait for PostgreSQL's answer. libpq itself
// would wait forever on a server that is frozen (SIGSTOP, a hung VM) or
// cut off without a reset; past this the call is UNAVAILABLE, the query is
// cancelled (best effort) and the connection is discarded.
inline constexpr absl::Duration kQueryTimeout = absl::Seconds(10);

// INVALID_ARGUMENT unless `url` parses as a libpq URI or key=value string
// without a password (passwords go in their own field, never into a
// string that may be logged or echoed) and without a passfile.
absl::Status CheckConnectionUrl(std::string_view url);

// True if PostgreSQL refused the login's password.
bool IsAuthenticationFailure(const absl::Status& status);

// How to log in: the operator's connection_url, then user, password and
// connect_timeout as separate keywords (PQconnectdbParams), which override
// anything the url says about them.
struct ConnectParams {
  std::string url;
  std::string username;
  kms::SecretBytes password;
};

// Builds the statements of one transaction with the connection's quoter.
using StatementBuilder =
    absl::FunctionRef<absl::StatusOr<std::vector<std::string>>(const Quoter&)>;

class Session;

// ConnectionPool keeps up to `max_open` libpq connections to one server,
// logged in as one user. Connections open lazily on first use; one found
// broken is closed and replaced. Owns its connections and a copy of the
// password. Thread-safe: each call borrows its own connection, and waits
// (up to a few seconds, then UNAVAILABLE) while all are busy.
class ConnectionPool {
 public:
  ConnectionPool(ConnectParams params, int max_open);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Opens (or borrows) a connection and runs "SELECT 1".
  absl::Status Ping();

  // Runs the statements `build` makes in one transaction, sent as one
  // query (one round trip): BEGIN, each in order, COMMIT; on any error
  // ROLLBACK and the error. `redact` lists secrets to remove from error
  // messages (the pool's own password always is). `alongside` runs at
  // most once, after the query is sent and before its answer is awaited
  // (never if building or sending failed). An idle connection the server
  // closed is replaced before use; once sent, nothing is repeated.
  absl::Status Transaction(
      StatementBuilder build, const std::vector<std::string_view>& redact = {},
      absl::FunctionRef<void()> alongside = [] {});

  // Whether a role (login) named `name` exists (pg_roles).
  absl::StatusOr<bool> RoleExists(std::string_view name);

 private:
  absl::StatusOr<std::unique_ptr<Session>> Acquire();
  void Release(std::unique_ptr<Session> session);

  const ConnectParams params_;
  const int max_open_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Session>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;  // idle + borrowed
};

}  // namespace arca::engines::database

#endif  // ARCA_SERVER_ENGINES_DATABASE_POSTGRES_H_
