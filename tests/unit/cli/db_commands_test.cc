// `arca db ...` run in-process against a fake DatabaseService: where the
// admin password comes from, what reaches the server, and what is printed.

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "arca/v1/database.grpc.pb.h"
#include "cli/app.h"
#include "gmock/gmock.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/server_context.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace arca::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kPassword[] = "adm1n-Pa55-w0rd";
constexpr char kIssuedPassword[] = "A1a-issued-password-xyz";

// Records requests; answers like the engine would, without PostgreSQL.
class FakeDatabase final : public v1::DatabaseService::Service {
 public:
  absl::Mutex mu;
  std::vector<v1::DatabaseWriteConnectionRequest> writes ABSL_GUARDED_BY(mu);
  std::vector<v1::DatabaseWriteRoleRequest> role_writes ABSL_GUARDED_BY(mu);
  std::vector<v1::DatabaseCredsRequest> creds ABSL_GUARDED_BY(mu);

  grpc::Status WriteConnection(grpc::ServerContext*,
                               const v1::DatabaseWriteConnectionRequest* req,
                               v1::DatabaseConnection* resp) override {
    absl::MutexLock l(&mu);
    writes.push_back(*req);
    resp->set_name(req->name());
    resp->set_connection_url(req->connection_url());
    resp->set_username(req->username());
    *resp->mutable_allowed_roles() = req->allowed_roles();
    resp->set_max_open_connections(
        req->max_open_connections() == 0 ? 4 : req->max_open_connections());
    return grpc::Status::OK;
  }
  grpc::Status ReadConnection(grpc::ServerContext*,
                              const v1::DatabaseNameRequest* req,
                              v1::DatabaseConnection*) override {
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "no connection \"" + req->name() + "\"");
  }
  grpc::Status ListRoles(grpc::ServerContext*, const v1::DatabaseListRequest*,
                         v1::DatabaseListResponse* resp) override {
    resp->add_names("readonly");
    resp->add_names("writer");
    return grpc::Status::OK;
  }
  grpc::Status WriteRole(grpc::ServerContext*,
                         const v1::DatabaseWriteRoleRequest* req,
                         v1::DatabaseRole* resp) override {
    absl::MutexLock l(&mu);
    role_writes.push_back(*req);
    resp->set_name(req->name());
    resp->set_db_name(req->db_name());
    *resp->mutable_creation_statements() = req->creation_statements();
    resp->set_default_ttl_seconds(req->default_ttl_seconds());
    resp->set_max_ttl_seconds(req->max_ttl_seconds());
    return grpc::Status::OK;
  }
  grpc::Status Creds(grpc::ServerContext*, const v1::DatabaseCredsRequest* req,
                     v1::DatabaseCredsResponse* resp) override {
    absl::MutexLock l(&mu);
    creds.push_back(*req);
    if (req->role() == "broken") {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "PostgreSQL refused the statement: 42601 syntax "
                          "error");
    }
    resp->set_username("v-readonly-AbCd1234");
    resp->set_password(kIssuedPassword);
    resp->set_lease_id("database/creds/readonly/L1");
    resp->set_lease_duration_seconds(req->ttl_seconds() ? req->ttl_seconds()
                                                        : 3600);
    resp->set_renewable(true);
    return grpc::Status::OK;
  }
};

struct Result {
  int rc;
  std::string out;
  std::string err;
};

class DbCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    setenv("ARCA_TOKEN", "arca.root.test", 1);
    unsetenv("ARCA_DB_PASSWORD");
  }
  void TearDown() override {
    server_->Shutdown();
    unsetenv("ARCA_TOKEN");
    unsetenv("ARCA_DB_PASSWORD");
  }

  Result Run(std::vector<std::string> args, const std::string& stdin_text = "",
             bool stdin_is_tty = false) {
    args.insert(args.begin(), {"--address", absl::StrCat("127.0.0.1:", port_)});
    std::istringstream in(stdin_text);
    std::ostringstream out, err;
    Io io{&in, &out, &err, stdin_is_tty, /*stdout_is_tty=*/false};
    const int rc = RunArca(args, io);
    return Result{rc, out.str(), err.str()};
  }

  std::vector<std::string> ConfigWrite() {
    return {"db",         "config",           "write",
            "pg",         "--connection-url", "host=127.0.0.1 dbname=app",
            "--username", "arca_admin"};
  }

  size_t Writes() {
    absl::MutexLock l(&fake_.mu);
    return fake_.writes.size();
  }

  FakeDatabase fake_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(DbCommandsTest, ConfigWriteSendsThePasswordFromStdinAndNeverPrintsIt) {
  std::vector<std::string> args = ConfigWrite();
  args.insert(args.end(),
              {"--password-stdin", "--allowed-roles", "readonly,writer",
               "--max-open-connections", "8", "--no-verify"});
  Result r = Run(args, absl::StrCat(kPassword, "\n"));
  ASSERT_EQ(r.rc, 0) << r.err;
  absl::MutexLock l(&fake_.mu);
  ASSERT_EQ(fake_.writes.size(), 1u);
  const auto& w = fake_.writes[0];
  EXPECT_EQ(w.password(), kPassword);  // the trailing newline is not kept
  EXPECT_EQ(w.name(), "pg");
  EXPECT_EQ(w.username(), "arca_admin");
  EXPECT_THAT(w.allowed_roles(), ElementsAre("readonly", "writer"));
  EXPECT_EQ(w.max_open_connections(), 8);
  ASSERT_TRUE(w.has_verify_connection());
  EXPECT_FALSE(w.verify_connection());
  EXPECT_THAT(r.out, HasSubstr("arca_admin"));
  EXPECT_THAT(r.out + r.err, Not(HasSubstr(kPassword)));
}

TEST_F(DbCommandsTest, ConfigWriteLeavesVerificationToTheServerDefault) {
  std::vector<std::string> args = ConfigWrite();
  args.push_back("--password-stdin");
  ASSERT_EQ(Run(args, kPassword).rc, 0);
  absl::MutexLock l(&fake_.mu);
  EXPECT_FALSE(fake_.writes.at(0).has_verify_connection());
}

TEST_F(DbCommandsTest, ConfigWriteReadsThePasswordFromAFileOrTheEnvironment) {
  const std::filesystem::path file =
      std::filesystem::path(::testing::TempDir()) / "db-password";
  std::ofstream(file) << "from-file-pw\r\n";
  std::vector<std::string> args = ConfigWrite();
  args.insert(args.end(), {"--password-file", file.string()});
  ASSERT_EQ(Run(args).rc, 0);
  setenv("ARCA_DB_PASSWORD", "from-env-pw", 1);
  ASSERT_EQ(Run(ConfigWrite()).rc, 0);
  std::filesystem::remove(file);
  absl::MutexLock l(&fake_.mu);
  ASSERT_EQ(fake_.writes.size(), 2u);
  EXPECT_EQ(fake_.writes[0].password(), "from-file-pw");
  EXPECT_EQ(fake_.writes[1].password(), "from-env-pw");
}

TEST_F(DbCommandsTest, ConfigWritePromptsWithoutEchoAtATerminal) {
  Result r = Run(ConfigWrite(), "typed-pw\n", /*stdin_is_tty=*/true);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("Password (input hidden): "));
  EXPECT_THAT(r.out + r.err, Not(HasSubstr("typed-pw")));
  absl::MutexLock l(&fake_.mu);
  EXPECT_EQ(fake_.writes.at(0).password(), "typed-pw");
}

TEST_F(DbCommandsTest, ConfigWriteWithoutAPasswordSourceSendsNothing) {
  Result r = Run(ConfigWrite(), "piped-but-not-asked-for\n");
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT: no password"));
  EXPECT_EQ(Writes(), 0u);

  std::vector<std::string> empty = ConfigWrite();
  empty.push_back("--password-stdin");
  r = Run(empty, "\n");
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("is empty"));
  EXPECT_EQ(Writes(), 0u);
}

TEST_F(DbCommandsTest, TwoPasswordSourcesAreRefused) {
  std::vector<std::string> args = ConfigWrite();
  args.insert(args.end(), {"--password-stdin", "--password-file", "-"});
  Result r = Run(args, kPassword);
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT: give either"));
  EXPECT_EQ(Writes(), 0u);
}

TEST_F(DbCommandsTest, ExplicitStdinWinsOverTheEnvironment) {
  setenv("ARCA_DB_PASSWORD", "from-env-pw", 1);
  std::vector<std::string> args = ConfigWrite();
  args.insert(args.end(), {"--password-file", "-"});
  ASSERT_EQ(Run(args, "from-stdin-pw").rc, 0);
  absl::MutexLock l(&fake_.mu);
  EXPECT_EQ(fake_.writes.at(0).password(), "from-stdin-pw");
}

TEST_F(DbCommandsTest, PasswordInConnectionUrlIsRefusedWithoutEchoingIt) {
  for (const std::string url :
       {"postgresql://arca_admin:Leaked-Secret-1@127.0.0.1/app",
        "host=127.0.0.1 password=Leaked-Secret-1 dbname=app"}) {
    Result r = Run({"db", "config", "write", "pg", "--connection-url", url,
                    "--username", "arca_admin", "--password-stdin"},
                   kPassword);
    EXPECT_EQ(r.rc, 1) << url;
    EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT: --connection-url must not "
                                 "hold a password"));
    EXPECT_THAT(r.out + r.err, Not(HasSubstr("Leaked-Secret-1")));
  }
  EXPECT_EQ(Writes(), 0u);
}

TEST_F(DbCommandsTest, UriWithUserAndPortButNoPasswordIsAccepted) {
  Result r = Run({"db", "config", "write", "pg", "--connection-url",
                  "postgresql://arca_admin@127.0.0.1:5432/app?sslmode=require",
                  "--username", "arca_admin", "--password-stdin"},
                 kPassword);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(Writes(), 1u);
}

TEST_F(DbCommandsTest, PasswordFlagDoesNotExistAndIsNotEchoed) {
  std::vector<std::string> args = ConfigWrite();
  args.push_back("--password=Leaked-Secret-2");
  Result r = Run(args);
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.out + r.err, Not(HasSubstr("Leaked-Secret-2")));
  EXPECT_EQ(Writes(), 0u);
}

TEST_F(DbCommandsTest, RoleWriteSendsStatementsInOrderWithFilesAndTtls) {
  const std::filesystem::path file =
      std::filesystem::path(::testing::TempDir()) / "grant.sql";
  std::ofstream(file) << "\nGRANT SELECT ON ALL TABLES IN SCHEMA public TO "
                         "{{name}};\n\n";
  Result r = Run({"db", "role", "write", "readonly", "--db-name", "pg",
                  "--creation-statement",
                  "CREATE ROLE {{name}} LOGIN PASSWORD {{password}} VALID "
                  "UNTIL {{expiration}}",
                  "--creation-statement", "@" + file.string(),
                  "--revocation-statement", "DROP ROLE {{name}}",
                  "--default-ttl", "10m", "--max-ttl", "2h"});
  std::filesystem::remove(file);
  ASSERT_EQ(r.rc, 0) << r.err;
  absl::MutexLock l(&fake_.mu);
  ASSERT_EQ(fake_.role_writes.size(), 1u);
  const auto& w = fake_.role_writes[0];
  EXPECT_EQ(w.db_name(), "pg");
  EXPECT_THAT(w.creation_statements(),
              ElementsAre(HasSubstr("CREATE ROLE {{name}}"),
                          "GRANT SELECT ON ALL TABLES IN SCHEMA public TO "
                          "{{name}};"));
  EXPECT_THAT(w.revocation_statements(), ElementsAre("DROP ROLE {{name}}"));
  EXPECT_THAT(w.renew_statements(), IsEmpty());
  EXPECT_EQ(w.default_ttl_seconds(), 600);
  EXPECT_EQ(w.max_ttl_seconds(), 7200);
}

TEST_F(DbCommandsTest, RoleWriteWithUnreadableFileOrBadTtlSendsNothing) {
  Result r = Run({"db", "role", "write", "readonly", "--db-name", "pg",
                  "--creation-statement", "@/nonexistent/create.sql"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT: cannot read statement file"));
  r = Run({"db", "role", "write", "readonly", "--db-name", "pg",
           "--creation-statement", "CREATE ROLE {{name}}", "--max-ttl",
           "forever"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_THAT(r.err, HasSubstr("--max-ttl must be a duration"));
  absl::MutexLock l(&fake_.mu);
  EXPECT_THAT(fake_.role_writes, IsEmpty());
}

TEST_F(DbCommandsTest, CredsFieldPrintsOnlyTheRawValue) {
  Result r =
      Run({"db", "creds", "readonly", "--ttl", "10m", "--field", "password"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, kIssuedPassword);  // no newline when not at a terminal
  absl::MutexLock l(&fake_.mu);
  EXPECT_EQ(fake_.creds.at(0).ttl_seconds(), 600);
  EXPECT_EQ(fake_.creds.at(0).role(), "readonly");
}

TEST_F(DbCommandsTest, CredsUnknownFieldIsNotFound) {
  Result r = Run({"db", "creds", "readonly", "--field", "secret"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_THAT(r.err, HasSubstr("NOT_FOUND: no field \"secret\""));
  EXPECT_THAT(r.out + r.err, Not(HasSubstr(kIssuedPassword)));
  // Refused before any login was issued.
  absl::MutexLock lock(&fake_.mu);
  EXPECT_THAT(fake_.creds, ::testing::IsEmpty());
}

TEST_F(DbCommandsTest, CredsTableAndJsonCarryLoginAndLease) {
  Result table = Run({"db", "creds", "readonly"});
  ASSERT_EQ(table.rc, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("v-readonly-AbCd1234"));
  EXPECT_THAT(table.out, HasSubstr("database/creds/readonly/L1"));
  EXPECT_THAT(table.out, HasSubstr("lease_duration    1h"));

  Result json = Run({"db", "creds", "readonly", "--format", "json"});
  ASSERT_EQ(json.rc, 0) << json.err;
  const nlohmann::json doc = nlohmann::json::parse(json.out);
  EXPECT_EQ(doc["username"], "v-readonly-AbCd1234");
  EXPECT_EQ(doc["password"], kIssuedPassword);
  EXPECT_EQ(doc["lease_id"], "database/creds/readonly/L1");
  EXPECT_EQ(doc["lease_duration_seconds"], "3600");
  EXPECT_EQ(doc["renewable"], true);
}

TEST_F(DbCommandsTest, ServerErrorsPrintCodeAndMessageWithExitCode) {
  Result r = Run({"db", "creds", "broken"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err,
            "FAILED_PRECONDITION: PostgreSQL refused the statement: 42601 "
            "syntax error\n");
  r = Run({"db", "config", "read", "nope"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "NOT_FOUND: no connection \"nope\"\n");
}

TEST_F(DbCommandsTest, ListPrintsOneNamePerLine) {
  Result r = Run({"db", "role", "list"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "readonly\nwriter\n");
}

}  // namespace
}  // namespace arca::cli
