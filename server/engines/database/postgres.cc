#include "server/engines/database/postgres.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sodium.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "kms/status_macros.h"
#include "spdlog/spdlog.h"

namespace arca::engines::database {
namespace {

// How long a call waits for a free connection when all are busy.
constexpr absl::Duration kAcquireWait = absl::Seconds(5);

// Shorter secrets are not redacted: replacing every "a" or "pg" would
// garble the message, and such a password protects nothing anyway.
constexpr size_t kMinRedactedBytes = 4;

// Replaces every occurrence of each secret in `text`.
std::string Redact(std::string text,
                   const std::vector<std::string_view>& secrets) {
  for (std::string_view s : secrets) {
    if (s.size() < kMinRedactedBytes) continue;
    text = absl::StrReplaceAll(text, {{absl::string_view(s.data(), s.size()), "[redacted]"}});
  }
  return text;
}

// libpq's message for a failed connect: "connection to server at ...
// failed: FATAL:  password authentication failed for user ...". "FATAL:"
// means the server answered and refused; otherwise it was not reached.
absl::Status ConnectError(std::string message,
                          const std::vector<std::string_view>& redact) {
  message = Redact(std::string(absl::StripTrailingAsciiWhitespace(message)),
                   redact);
  absl::StrReplaceAll({{"\n", " "}, {"\t", " "}}, &message);
  const bool answered = absl::StrContains(message, "FATAL:");
  const bool transient =
      absl::StrContains(message, "starting up") ||
      absl::StrContains(message, "shutting down") ||
      absl::StrContains(message, "in recovery") ||
      absl::StrContains(message, "too many") ||
      absl::StrContains(message, "remaining connection slots");
  if (!answered || transient) {
    return absl::UnavailableError(
        absl::StrCat("postgresql is unreachable: ", message));
  }
  absl::Status st = absl::FailedPreconditionError(
      absl::StrCat("postgresql refused the login: ", message));
  if (absl::StrContains(message, "authentication failed")) {
    st.SetPayload(kSqlStatePayload, absl::Cord("28P01"));
  }
  return st;
}

// A statement's failure. Connection-class SQLSTATEs (08xxx), an operator
// shutdown (57P01..57P03) or a connection that died are UNAVAILABLE.
absl::Status ResultError(PGconn* conn, const PGresult* res,
                         const std::vector<std::string_view>& redact) {
  const char* state =
      res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary =
      res != nullptr ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                     : nullptr;
  std::string message =
      primary != nullptr ? primary : PQerrorMessage(conn);
  message = Redact(std::string(absl::StripTrailingAsciiWhitespace(message)),
                   redact);
  absl::StrReplaceAll({{"\n", " "}, {"\t", " "}}, &message);
  const std::string code = state != nullptr ? state : "";
  if (PQstatus(conn) != CONNECTION_OK || code.empty() ||
      absl::StartsWith(code, "08") || absl::StartsWith(code, "57P")) {
    return absl::UnavailableError(
        absl::StrCat("postgresql connection lost: ", message));
  }
  absl::Status st = absl::FailedPreconditionError(
      absl::StrCat("postgresql: SQLSTATE ", code, ": ", message));
  st.SetPayload(kSqlStatePayload, absl::Cord(code));
  return st;
}

// Replaces libpq's default, which prints notices and warnings to stderr.
// Only severity, SQLSTATE and the primary message are logged: the context
// and detail fields may quote statement text, which can hold a password.
void LogNotice(void* /*arg*/, const PGresult* res) {
  const char* severity = PQresultErrorField(res, PG_DIAG_SEVERITY);
  const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  spdlog::debug("postgresql {} {}: {}", severity != nullptr ? severity : "NOTICE",
                state != nullptr ? state : "", primary != nullptr ? primary : "");
}

bool Succeeded(const PGresult* res) {
  const ExecStatusType t = PQresultStatus(res);
  return t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK ||
         t == PGRES_EMPTY_QUERY;
}

// Cancel requests still waiting for a frozen server to answer; capped so a
// long outage cannot pile up threads.
std::atomic<int> cancels_in_flight{0};
constexpr int kMaxCancelsInFlight = 4;

// Asks the server to cancel what `conn` runs. PQcancel blocks until the
// postmaster answers, which a frozen one never does, so it runs detached.
void CancelInBackground(PGconn* conn) {
  if (cancels_in_flight.fetch_add(1) >= kMaxCancelsInFlight) {
    cancels_in_flight.fetch_sub(1);
    return;
  }
  PGcancel* cancel = PQgetCancel(conn);
  if (cancel == nullptr) {
    cancels_in_flight.fetch_sub(1);
    return;
  }
  std::thread([cancel] {
    char err[256];
    (void)PQcancel(cancel, err, sizeof(err));
    PQfreeCancel(cancel);
    cancels_in_flight.fetch_sub(1);
  }).detach();
}

void WipeString(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
  s.clear();
}

}  // namespace

// One libpq connection, owned by the pool or the call that borrowed it.
class Session final : public Quoter {
 public:
  explicit Session(PGconn* conn) : conn_(conn) {}
  ~Session() override { PQfinish(conn_); }

  PGconn* conn() const { return conn_; }
  // False if an idle connection has anything to read: the server closed it
  // (a restart) or said why it is about to. Never blocks.
  bool IdleAndOpen() {
    pollfd p{PQsocket(conn_), POLLIN, 0};
    const int ready = poll(&p, 1, 0);
    return ready == 0 && PQstatus(conn_) == CONNECTION_OK;
  }
  bool Healthy() const {
    return !timed_out_ && PQstatus(conn_) == CONNECTION_OK;
  }
  // The server did not answer in time: the connection is unusable.
  bool timed_out() const { return timed_out_; }

  // Runs what `send` queued (PQsendQuery*) and waits up to kQueryTimeout
  // for all its results. Like PQexec: the first error result, else the
  // last result. Null with *timeout set when the deadline passed.
  template <typename Send>
  PGresult* Run(Send send, absl::Status* timeout,
                absl::FunctionRef<void()> alongside = [] {}) {
    if (!send(conn_)) return nullptr;  // PQerrorMessage says why
    alongside();
    const absl::Time deadline = absl::Now() + kQueryTimeout;
    PGresult* kept = nullptr;
    for (;;) {
      const int flushed = PQflush(conn_);
      if (flushed < 0) break;
      if (flushed == 0 && !PQisBusy(conn_)) {
        PGresult* r = PQgetResult(conn_);
        if (r == nullptr) return kept;
        const ExecStatusType t = PQresultStatus(r);
        if (kept != nullptr && !Succeeded(kept)) {
          PQclear(r);  // the first error wins
        } else {
          PQclear(kept);
          kept = r;
        }
        // COPY never ends on its own; no statement of ours starts one.
        if (t == PGRES_COPY_IN || t == PGRES_COPY_OUT || t == PGRES_COPY_BOTH) {
          return kept;
        }
        continue;
      }
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) {
        timed_out_ = true;
        CancelInBackground(conn_);
        PQclear(kept);
        *timeout = absl::UnavailableError(absl::StrCat(
            "postgresql did not answer within ",
            absl::ToInt64Seconds(kQueryTimeout), " s"));
        return nullptr;
      }
      pollfd p{PQsocket(conn_),
               static_cast<short>(flushed == 1 ? (POLLIN | POLLOUT) : POLLIN),
               0};
      const int ms = static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
      if (poll(&p, 1, ms) < 0 && errno != EINTR) break;
      if ((p.revents & (POLLIN | POLLERR | POLLHUP)) != 0 &&
          PQconsumeInput(conn_) == 0) {
        break;  // connection lost; PQerrorMessage says why
      }
    }
    PQclear(kept);
    return nullptr;
  }

  absl::StatusOr<std::string> Identifier(std::string_view s) const override {
    char* q = PQescapeIdentifier(conn_, s.data(), s.size());
    if (q == nullptr) {
      return absl::InvalidArgumentError("a name cannot be quoted");
    }
    std::string out(q);
    PQfreemem(q);
    return out;
  }

  absl::StatusOr<std::string> Literal(std::string_view s) const override {
    char* q = PQescapeLiteral(conn_, s.data(), s.size());
    if (q == nullptr) {
      // libpq's message could quote the value; say nothing of it.
      return absl::InvalidArgumentError("a value cannot be quoted");
    }
    std::string out(q);
    sodium_memzero(q, out.size());
    PQfreemem(q);
    return out;
  }

  // Runs one query string (it may hold several statements); the first
  // error as a status. `alongside` runs once the query is sent, while the
  // server works on it.
  absl::Status Exec(const std::string& sql,
                    const std::vector<std::string_view>& redact,
                    absl::FunctionRef<void()> alongside = [] {}) {
    absl::Status timeout;
    PGresult* res = Run(
        [&sql](PGconn* c) { return PQsendQuery(c, sql.c_str()) == 1; },
        &timeout, alongside);
    absl::Cleanup clear = [res] { PQclear(res); };
    if (!timeout.ok()) return timeout;
    if (res != nullptr && Succeeded(res)) return absl::OkStatus();
    return ResultError(conn_, res, redact);
  }

 private:
  PGconn* conn_;
  bool timed_out_ = false;
};

absl::Status CheckConnectionUrl(std::string_view url) {
  if (url.empty()) {
    return absl::InvalidArgumentError("connection_url is required");
  }
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(std::string(url).c_str(), &err);
  // The parser's message may quote the string, which may hold a password.
  if (err != nullptr) PQfreemem(err);
  if (opts == nullptr) {
    return absl::InvalidArgumentError(
        "connection_url is not a libpq connection URI or key=value string");
  }
  absl::Cleanup free_opts = [opts] { PQconninfoFree(opts); };
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string_view k = o->keyword;
    if (k == "password" || k == "passfile") {
      return absl::InvalidArgumentError(
          "connection_url must not carry a password; put it in the password "
          "field");
    }
  }
  return absl::OkStatus();
}

bool IsAuthenticationFailure(const absl::Status& status) {
  auto p = status.GetPayload(kSqlStatePayload);
  return p.has_value() && *p == "28P01";
}

ConnectionPool::ConnectionPool(ConnectParams params, int max_open)
    : params_(std::move(params)), max_open_(max_open < 1 ? 1 : max_open) {}

ConnectionPool::~ConnectionPool() = default;

absl::StatusOr<std::unique_ptr<Session>> ConnectionPool::Acquire() {
  std::vector<std::unique_ptr<Session>> stale;
  {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < max_open_;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&ready), kAcquireWait)) {
      return absl::UnavailableError(
          "all connections to postgresql are busy; try again");
    }
    while (!idle_.empty()) {
      std::unique_ptr<Session> s = std::move(idle_.back());
      idle_.pop_back();
      if (s->IdleAndOpen()) return s;
      // Closed while idle (the server restarted): nothing was sent on it,
      // so a fresh connection replaces it. Closed outside the lock.
      --open_;
      stale.push_back(std::move(s));
    }
    ++open_;  // reserved; given back below if the connect fails
  }
  // Keywords, never a spliced conninfo string: the password cannot break
  // out of its value, and the url cannot override user or password
  // (later keywords win over the expanded dbname).
  const std::string timeout = absl::StrCat(kConnectTimeoutSeconds);
  std::string password(params_.password.Reveal());
  absl::Cleanup wipe = [&password] { WipeString(password); };
  // TCP keepalives and tcp_user_timeout notice a peer that vanished
  // without a reset; kQueryTimeout covers one that is up but frozen.
  const std::string user_timeout =
      absl::StrCat(absl::ToInt64Milliseconds(kQueryTimeout));
  const char* keys[] = {"dbname", "user", "password", "connect_timeout",
                        "application_name", "keepalives", "keepalives_idle",
                        "keepalives_interval", "keepalives_count",
                        "tcp_user_timeout", nullptr};
  const char* values[] = {params_.url.c_str(), params_.username.c_str(),
                          password.c_str(), timeout.c_str(), "arcad",
                          "1", "30", "10", "3", user_timeout.c_str(),
                          nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  auto session = std::make_unique<Session>(conn);
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    absl::Status st =
        conn == nullptr
            ? absl::UnavailableError("postgresql: out of memory")
            : ConnectError(PQerrorMessage(conn), {params_.password.Reveal()});
    session.reset();
    absl::MutexLock lock(&mu_);
    --open_;
    return st;
  }
  PQsetNoticeReceiver(conn, LogNotice, nullptr);
  return session;
}

void ConnectionPool::Release(std::unique_ptr<Session> session) {
  std::vector<std::unique_ptr<Session>> stale;
  absl::MutexLock lock(&mu_);
  if (session->timed_out()) {
    // The server froze: its other idle connections would each cost a full
    // timeout too; reconnecting is bounded by connect_timeout instead.
    open_ -= static_cast<int>(idle_.size());
    stale.swap(idle_);
  }
  if (session->Healthy() &&
      PQtransactionStatus(session->conn()) == PQTRANS_IDLE) {
    idle_.push_back(std::move(session));
    return;
  }
  // Broken, or left inside a transaction: close it; a later call opens a
  // fresh one.
  --open_;
  session.reset();
}

absl::Status ConnectionPool::Ping() {
  return Transaction([](const Quoter&) -> absl::StatusOr<std::vector<std::string>> {
    return std::vector<std::string>{"SELECT 1"};
  });
}

absl::Status ConnectionPool::Transaction(
    StatementBuilder build, const std::vector<std::string_view>& redact,
    absl::FunctionRef<void()> alongside) {
  std::vector<std::string_view> secrets = redact;
  secrets.push_back(params_.password.Reveal());
  ASSIGN_OR_RETURN(std::unique_ptr<Session> s, Acquire());
  absl::StatusOr<std::vector<std::string>> statements = build(*s);
  if (!statements.ok()) {
    Release(std::move(s));
    return statements.status();
  }
  // One round trip: PostgreSQL runs the statements in order and skips the
  // rest, COMMIT included, at the first error. Each ends on its own line so
  // that a trailing "-- comment" cannot swallow what follows.
  std::string sql = "BEGIN;\n";
  for (std::string& statement : *statements) {
    absl::StrAppend(&sql, statement, "\n;\n");
    WipeString(statement);
  }
  sql += "COMMIT";
  absl::Status st = s->Exec(sql, secrets, alongside);
  WipeString(sql);
  if (!st.ok() && s->Healthy()) (void)s->Exec("ROLLBACK", secrets);
  Release(std::move(s));
  return st;
}

absl::StatusOr<bool> ConnectionPool::RoleExists(std::string_view name) {
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(std::unique_ptr<Session> s, Acquire());
    const std::string n(name);
    const char* params[] = {n.c_str()};
    absl::Status timeout;
    PGresult* res = s->Run(
        [&params](PGconn* c) {
          return PQsendQueryParams(
                     c, "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1",
                     1, nullptr, params, nullptr, nullptr, 0) == 1;
        },
        &timeout);
    absl::Cleanup clear = [res] { PQclear(res); };
    if (!timeout.ok()) {
      Release(std::move(s));
      return timeout;
    }
    if (res != nullptr && PQresultStatus(res) == PGRES_TUPLES_OK) {
      const bool exists = PQntuples(res) > 0;
      Release(std::move(s));
      return exists;
    }
    absl::Status st =
        ResultError(s->conn(), res, {params_.password.Reveal()});
    const bool dead = !s->Healthy();
    Release(std::move(s));
    if (dead && attempt == 0) continue;
    return st;
  }
}

}  // namespace arca::engines::database
