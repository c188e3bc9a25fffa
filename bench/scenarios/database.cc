// db-creds: DatabaseService.Creds on one role, each call creating a
// PostgreSQL login; and its baseline pg-floor: the same creation statement
// run directly over libpq (BEGIN; CREATE ROLE ...; COMMIT in one query, as
// the engine sends it) over as many connections as arcad's connection
// config keeps open. Both use the PostgreSQL the bench starts.
//
// Leases are left to expire (1h, the role's default TTL): the bench stops
// arcad and PostgreSQL long before, so no revocation runs inside a timed
// window. The baseline's logins are not dropped either, so both sides add
// roles to the same catalog.

#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "arca/v1/database.grpc.pb.h"
#include "bench/arca_bench/scenario.h"
#include "client/client.h"
#include "kms/random.h"
#include "kms/status_macros.h"
#include "libpq-fe.h"

namespace arca::bench {
namespace {

constexpr char kName[] = "arca-bench";
// PostgreSQL connections on both sides: arcad's connection config keeps
// this many open (max_open_connections), pg-floor opens as many.
constexpr int kConnections = 4;
constexpr char kCreationStatement[] =
    "CREATE ROLE {{name}} WITH LOGIN PASSWORD {{password}} VALID UNTIL "
    "{{expiration}}";
constexpr absl::Duration kLeaseTtl = absl::Hours(1);

using CredsOp = UnaryOp<v1::DatabaseCredsRequest, v1::DatabaseCredsResponse>;

// Writes the connection (to the bench's PostgreSQL, verified) and one role
// through the client library, then asks for credentials of that role.
class DbCreds : public Scenario {
 public:
  absl::Status Prepare(const ScenarioContext& context) override {
    if (context.postgres == nullptr) {
      return absl::FailedPreconditionError("db-creds needs PostgreSQL");
    }
    token_ = context.token;
    ClientOptions options;
    options.address = context.address;
    options.token = context.token;
    options.token_from_environment = false;
    ASSIGN_OR_RETURN(std::unique_ptr<Client> client, Client::New(options));

    v1::DatabaseWriteConnectionRequest connection;
    connection.set_name(kName);
    connection.set_connection_url(context.postgres->ConnectionString());
    connection.set_username(context.postgres->admin_user);
    connection.set_password(context.postgres->admin_password);
    connection.add_allowed_roles(kName);
    connection.set_max_open_connections(kConnections);
    absl::StatusOr<v1::DatabaseConnection> written =
        client->DatabaseWriteConnection(connection);
    if (!written.ok()) {
      return absl::Status(written.status().code(),
                          absl::StrCat("DatabaseWriteConnection: ",
                                       written.status().message()));
    }
    v1::DatabaseWriteRoleRequest role;
    role.set_name(kName);
    role.set_db_name(kName);
    role.add_creation_statements(kCreationStatement);
    role.set_default_ttl_seconds(absl::ToInt64Seconds(kLeaseTtl));
    absl::StatusOr<v1::DatabaseRole> role_written =
        client->DatabaseWriteRole(role);
    if (!role_written.ok()) {
      return absl::Status(
          role_written.status().code(),
          absl::StrCat("DatabaseWriteRole: ", role_written.status().message()));
    }
    return absl::OkStatus();
  }

  std::unique_ptr<AsyncOp> NewAsyncOp(
      int slot, std::shared_ptr<grpc::Channel> channel) override {
    auto stub = std::shared_ptr<v1::DatabaseService::Stub>(
        v1::DatabaseService::NewStub(std::move(channel)));
    auto op = std::make_unique<CredsOp>(
        [stub](grpc::ClientContext* c, const v1::DatabaseCredsRequest* req,
               v1::DatabaseCredsResponse* resp, DoneCallback done) {
          stub->async()->Creds(c, req, resp, std::move(done));
        },
        nullptr,
        std::vector<std::pair<std::string, std::string>>{
            {"authorization", "Bearer " + token_}},
        [](const v1::DatabaseCredsResponse& resp) {
          if (!resp.username().empty() && !resp.password().empty() &&
              !resp.lease_id().empty()) {
            return grpc::Status::OK;
          }
          return grpc::Status(grpc::StatusCode::INTERNAL,
                              "Creds returned no login or no lease");
        });
    op->request().set_role(kName);
    return op;
  }

 private:
  std::string token_;  // never logged
};

// A random string over [a-z0-9] (names) or [A-Za-z0-9] (passwords), from the
// CSPRNG as the engine's are.
std::string RandomText(size_t size, bool mixed_case) {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const unsigned n = mixed_case ? 62 : 36;
  const unsigned limit = 256 - 256 % n;  // rejection: no bias
  std::string out(size, 'x');
  uint8_t buf[64];
  size_t used = sizeof(buf);
  for (char& c : out) {
    for (;;) {
      if (used == sizeof(buf)) {
        kms::RandomBytes(buf, sizeof(buf));
        used = 0;
      }
      const uint8_t b = buf[used++];
      if (b < limit) {
        c = kAlphabet[b % n];
        break;
      }
    }
  }
  return out;
}

// One libpq connection per thread; requests queue for the first free one,
// as they queue for a pooled connection inside arcad.
class PgConnections {
 public:
  ~PgConnections() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    for (auto& t : threads_) t.join();
    for (PGconn* conn : conns_) PQfinish(conn);
  }

  absl::Status Open(const PostgresInfo& pg, int count) {
    const std::string port = absl::StrCat(pg.port);
    const char* keys[] = {"host", "port",     "dbname",
                          "user", "password", "application_name",
                          nullptr};
    const char* values[] = {pg.host.c_str(),
                            port.c_str(),
                            pg.database.c_str(),
                            pg.admin_user.c_str(),
                            pg.admin_password.c_str(),
                            "arca-bench pg-floor",
                            nullptr};
    for (int i = 0; i < count; ++i) {
      PGconn* conn = PQconnectdbParams(keys, values, 0);
      if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
        absl::Status error = absl::UnavailableError(absl::StrCat(
            "pg-floor cannot connect to PostgreSQL: ",
            conn == nullptr ? "out of memory" : PQerrorMessage(conn)));
        PQfinish(conn);
        return error;
      }
      conns_.push_back(conn);
    }
    for (PGconn* conn : conns_) {
      threads_.emplace_back([this, conn] { Serve(conn); });
    }
    return absl::OkStatus();
  }

  void Submit(DoneCallback done) {
    absl::MutexLock lock(&mu_);
    queue_.push_back(std::move(done));
  }

 private:
  void Serve(PGconn* conn) {
    for (;;) {
      DoneCallback done;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this] { return stopping_ || !queue_.empty(); };
        mu_.Await(absl::Condition(&ready));
        if (queue_.empty()) return;
        done = std::move(queue_.front());
        queue_.pop_front();
      }
      done(CreateLogin(conn));
    }
  }

  static grpc::Status Exec(PGconn* conn, const std::string& sql) {
    PGresult* res = PQexec(conn, sql.c_str());
    const ExecStatusType st = PQresultStatus(res);
    grpc::Status status = grpc::Status::OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      status = grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                            absl::StrCat("PostgreSQL ", state ? state : "?",
                                         ": ", PQerrorMessage(conn)));
    }
    PQclear(res);
    return status;
  }

  // The engine's work for one login, minus arcad: a generated name and
  // password quoted by libpq, the statement expanded, one transaction.
  static grpc::Status CreateLogin(PGconn* conn) {
    const std::string name = "v-arca-bench-" + RandomText(20, false);
    std::string password = RandomText(32, true);
    const std::string expiration = absl::FormatTime(
        "%Y-%m-%d %H:%M:%E3S+00", absl::Now() + kLeaseTtl, absl::UTCTimeZone());
    char* ident = PQescapeIdentifier(conn, name.data(), name.size());
    char* pw = PQescapeLiteral(conn, password.data(), password.size());
    char* until = PQescapeLiteral(conn, expiration.data(), expiration.size());
    grpc::Status status = grpc::Status::OK;
    if (ident == nullptr || pw == nullptr || until == nullptr) {
      status = grpc::Status(grpc::StatusCode::INTERNAL, "PQescape failed");
    } else {
      const std::string create =
          absl::StrCat("CREATE ROLE ", ident, " WITH LOGIN PASSWORD ", pw,
                       " VALID UNTIL ", until);
      // One round trip, as the engine sends a transaction.
      status = Exec(conn, absl::StrCat("BEGIN;\n", create, "\n;\nCOMMIT"));
      if (!status.ok()) Exec(conn, "ROLLBACK");
    }
    PQfreemem(ident);
    PQfreemem(pw);
    PQfreemem(until);
    return status;
  }

  absl::Mutex mu_;
  std::deque<DoneCallback> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<PGconn*> conns_;
  std::vector<std::thread> threads_;
};

class PgFloorOp : public AsyncOp {
 public:
  explicit PgFloorOp(PgConnections* conns) : conns_(conns) {}
  void Start(DoneCallback done) override { conns_->Submit(std::move(done)); }

 private:
  PgConnections* conns_;
};

class PgFloor : public Scenario {
 public:
  absl::Status Prepare(const ScenarioContext& context) override {
    if (context.postgres == nullptr) {
      return absl::FailedPreconditionError("pg-floor needs PostgreSQL");
    }
    return conns_.Open(*context.postgres, kConnections);
  }

  std::unique_ptr<AsyncOp> NewAsyncOp(int,
                                      std::shared_ptr<grpc::Channel>) override {
    return std::make_unique<PgFloorOp>(&conns_);
  }

 private:
  PgConnections conns_;
};

const ScenarioRegistrar kRegistrar({
    {.name = "db-creds",
     .description = "DatabaseService.Creds: a new PostgreSQL login per call "
                    "(CREATE ROLE ... VALID UNTIL, 4 pooled connections)",
     .server = ServerKind::kArcad,
     .payload_sizes = {0},
     .baseline = "pg-floor",
     .reports_bytes = false,
     .uses_postgres = true,
     .factory = [] { return std::make_unique<DbCreds>(); }},
    {.name = "pg-floor",
     .description = "the same BEGIN; CREATE ROLE; COMMIT (one query) over "
                    "libpq, 4 connections (the db-creds floor)",
     .server = ServerKind::kPostgres,
     .reports_bytes = false,
     .uses_postgres = true,
     .factory = [] { return std::make_unique<PgFloor>(); }},
});

}  // namespace
}  // namespace arca::bench
