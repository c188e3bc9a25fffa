// database::Engine against a real PostgreSQL, below the gRPC layer: the
// crash windows of RotateRoot, reproduced by editing the sealed connection
// record the way an interrupted rotation leaves it; and where the pool
// sends PostgreSQL's notices.

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kms/random.h"
#include "server/barrier/barrier.h"
#include "server/engines/database/database_records.pb.h"
#include "server/engines/database/engine.h"
#include "server/engines/database/postgres.h"
#include "server/storage/in_memory_backend.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"
#include "tests/integration/postgres_server.h"

namespace arca::engines::database {
namespace {

using ::arca::testing::PostgresServer;
using ::arca::testing::SqlResult;

std::string RandomPassword() {
  return "pw-" + absl::BytesToHexString(kms::RandomString(16));
}

class DatabaseEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pg_.Start()) << "PostgreSQL did not start (see stderr)";
    SqlResult r = pg_.Query("CREATE ROLE arca_admin LOGIN SUPERUSER PASSWORD '" +
                            admin_password_ + "'");
    ASSERT_TRUE(r.ok) << r.error;
    kms::SecretBytes key = kms::RandomSecret(32);
    ASSERT_TRUE(barrier_.Initialize(key).ok());
    ASSERT_TRUE(barrier_.Unseal(key).ok());
    ConnectionConfig c;
    c.name = "pg";
    c.connection_url = pg_.ConnectionUrl();
    c.username = "arca_admin";
    c.password = kms::SecretBytes::CopyFrom(admin_password_);
    c.allowed_roles = {"*"};
    ASSERT_TRUE(engine_.WriteConnection(c).ok());
    RoleConfig role;
    role.name = "app";
    role.db_name = "pg";
    role.creation_statements = {
        "CREATE ROLE {{name}} LOGIN PASSWORD {{password}} VALID UNTIL "
        "{{expiration}}"};
    ASSERT_TRUE(engine_.WriteRole(role).ok());
  }

  ConnectionRecord Record() {
    ConnectionRecord r;
    auto raw = view_.Get("config/pg");
    EXPECT_TRUE(raw.ok() && raw->has_value());
    if (raw.ok() && raw->has_value()) {
      EXPECT_TRUE(r.ParseFromString(**raw));
    }
    return r;
  }
  void Store(const ConnectionRecord& r) {
    ASSERT_TRUE(view_.Put("config/pg", r.SerializeAsString()).ok());
  }

  PostgresServer pg_;
  const std::string admin_password_ = RandomPassword();
  storage::InMemoryBackend backend_;
  barrier::Barrier barrier_{&backend_};
  barrier::View view_{&barrier_, "logical/db/"};
  Engine engine_{view_, "database"};
};

TEST_F(DatabaseEngineTest, AlterLandedButNotStoredThePendingPasswordIsPromoted) {
  // The rotation's ALTER committed, then arcad died: PostgreSQL knows only
  // the pending password.
  const std::string fresh = RandomPassword();
  ConnectionRecord r = Record();
  r.set_pending_password(fresh);
  Store(r);
  ASSERT_TRUE(pg_.Query("ALTER ROLE arca_admin PASSWORD '" + fresh + "'").ok);

  auto login = engine_.CreateLogin("app", absl::ZeroDuration());
  ASSERT_TRUE(login.ok()) << login.status();
  EXPECT_EQ(Record().password(), fresh);
  EXPECT_TRUE(Record().pending_password().empty());
  EXPECT_GT(Record().root_rotated_unix_ms(), 0);
}

TEST_F(DatabaseEngineTest, CrashBeforeAlterKeepsTheStoredPasswordAndRotationWorks) {
  ConnectionRecord r = Record();
  r.set_pending_password(RandomPassword());  // never reached PostgreSQL
  Store(r);
  ASSERT_TRUE(engine_.CreateLogin("app", absl::ZeroDuration()).ok());
  auto rotated = engine_.RotateRoot("pg");
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  const ConnectionRecord after = Record();
  EXPECT_NE(after.password(), admin_password_);
  EXPECT_TRUE(after.pending_password().empty());
  EXPECT_TRUE(pg_.QueryAs("arca_admin", after.password(), "SELECT 1").ok);
  EXPECT_FALSE(pg_.QueryAs("arca_admin", admin_password_, "SELECT 1").ok);
  EXPECT_TRUE(engine_.CreateLogin("app", absl::ZeroDuration()).ok());
}

TEST_F(DatabaseEngineTest, RevokeOfALoginThatIsAlreadyGoneSucceeds) {
  auto login = engine_.CreateLogin("app", absl::ZeroDuration());
  ASSERT_TRUE(login.ok()) << login.status();
  ASSERT_TRUE(engine_.RevokeLogin(login->lease_data).ok());
  EXPECT_TRUE(engine_.RevokeLogin(login->lease_data).ok());
}

TEST_F(DatabaseEngineTest, RenewOfADroppedLoginIsFailedPrecondition) {
  auto login = engine_.CreateLogin("app", absl::ZeroDuration());
  ASSERT_TRUE(login.ok()) << login.status();
  ASSERT_TRUE(engine_.RevokeLogin(login->lease_data).ok());
  absl::Status st =
      engine_.RenewLogin(login->lease_data, absl::Now() + absl::Hours(1));
  EXPECT_TRUE(absl::IsFailedPrecondition(st)) << st;
  EXPECT_THAT(std::string(st.message()), ::testing::HasSubstr("SQLSTATE 42704"));
}

TEST_F(DatabaseEngineTest, NoticesGoToTheDebugLogNotToStderr) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  auto capture = std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_st>(log));
  capture->set_level(spdlog::level::debug);
  spdlog::set_default_logger(capture);
  // fd 2 into a file for the duration: libpq's default prints there.
  char path[] = "/tmp/arca-notice-stderr-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::fflush(stderr);
  const int saved = dup(2);
  ASSERT_EQ(dup2(fd, 2), 2);

  ConnectParams params;
  params.url = pg_.ConnectionUrl();
  params.username = "arca_admin";
  params.password = kms::SecretBytes::CopyFrom(admin_password_);
  ConnectionPool pool(std::move(params), 1);
  absl::Status st = pool.Transaction(
      [](const Quoter&) -> absl::StatusOr<std::vector<std::string>> {
        return std::vector<std::string>{
            "DO $$BEGIN RAISE NOTICE 'notice-canary'; "
            "RAISE WARNING 'warning-canary'; END$$"};
      });

  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  close(fd);
  spdlog::set_default_logger(previous);
  std::ifstream f(path);
  std::stringstream err;
  err << f.rdbuf();
  std::remove(path);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(err.str(), "");
  EXPECT_THAT(log.str(), ::testing::HasSubstr("notice-canary"));
  EXPECT_THAT(log.str(), ::testing::HasSubstr("WARNING"));
  EXPECT_THAT(log.str(), ::testing::HasSubstr("warning-canary"));
}

// The stored admin password is never sent to a target it was not given
// for: a changed URL or username needs the password again.
TEST_F(DatabaseEngineTest, NewTargetWithoutAPasswordIsRefusedAndKeepsTheRecord) {
  const ConnectionRecord before = Record();
  ConnectionConfig c;
  c.name = "pg";
  c.username = "arca_admin";
  c.allowed_roles = {"*"};
  c.verify_connection = false;  // would have sent nothing; still refused
  c.connection_url = "host=127.0.0.1 port=1 dbname=postgres sslmode=disable";
  auto st = engine_.WriteConnection(c);
  EXPECT_TRUE(absl::IsInvalidArgument(st.status())) << st.status();
  EXPECT_THAT(std::string(st.status().message()),
              ::testing::HasSubstr("give the password again"));
  // Only the database name differs: still a new target.
  c.connection_url = pg_.ConnectionUrl() + " dbname=template1";
  EXPECT_TRUE(absl::IsInvalidArgument(engine_.WriteConnection(c).status()));
  c.connection_url = pg_.ConnectionUrl();
  c.username = "someone_else";
  EXPECT_TRUE(absl::IsInvalidArgument(engine_.WriteConnection(c).status()));
  EXPECT_EQ(Record().SerializeAsString(), before.SerializeAsString());

  // Same target: the stored password is kept.
  c.username = "arca_admin";
  c.verify_connection = true;
  auto kept = engine_.WriteConnection(c);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(Record().password(), admin_password_);
  // A new target with its password is fine.
  c.connection_url = pg_.ConnectionUrl() + " application_name=other";
  c.password = kms::SecretBytes::CopyFrom(admin_password_);
  EXPECT_TRUE(engine_.WriteConnection(c).ok());
}

TEST_F(DatabaseEngineTest, ConnectionWithOutstandingLoginsCannotBeDeleted) {
  auto login = engine_.CreateLogin("app", absl::ZeroDuration());
  ASSERT_TRUE(login.ok()) << login.status();
  ASSERT_TRUE(engine_.DeleteRole("app").ok());  // leases outlive their role
  absl::Status st = engine_.DeleteConnection("pg");
  EXPECT_TRUE(absl::IsFailedPrecondition(st)) << st;
  EXPECT_THAT(std::string(st.message()),
              ::testing::HasSubstr("1 leases are still outstanding; revoke "
                                   "them first"));
  EXPECT_TRUE(engine_.ReadConnection("pg").ok());
  ASSERT_TRUE(engine_.RevokeLogin(login->lease_data).ok());
  EXPECT_TRUE(engine_.DeleteConnection("pg").ok());
}

TEST_F(DatabaseEngineTest, LoginEntryWhoseRoleIsGoneDoesNotBlockDelete) {
  auto login = engine_.CreateLogin("app", absl::ZeroDuration());
  ASSERT_TRUE(login.ok()) << login.status();
  // Dropped behind Arca's back (or left by a crash): nothing to revoke.
  ASSERT_TRUE(pg_.Query("DROP ROLE \"" + login->username + "\"").ok);
  ASSERT_TRUE(engine_.DeleteRole("app").ok());
  EXPECT_TRUE(engine_.DeleteConnection("pg").ok());
}

// "COMMIT;" inside a creation statement commits the login before a later
// statement fails; the failed creation must not leave it behind.
TEST_F(DatabaseEngineTest, FailedCreationThatCommittedLeavesNoRole) {
  RoleConfig role;
  role.name = "committer";
  role.db_name = "pg";
  role.creation_statements = {
      "CREATE ROLE {{name}} LOGIN PASSWORD {{password}} VALID UNTIL "
      "{{expiration}}; COMMIT; SELECT no_such_function()"};
  ASSERT_TRUE(engine_.WriteRole(role).ok());
  auto login = engine_.CreateLogin("committer", absl::ZeroDuration());
  EXPECT_TRUE(absl::IsFailedPrecondition(login.status())) << login.status();
  SqlResult r = pg_.Query(
      "SELECT rolname FROM pg_roles WHERE rolname LIKE 'v-committer-%'");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.rows.empty()) << "orphan role " << r.rows[0][0];
  // Nothing outstanding was recorded either.
  ASSERT_TRUE(engine_.DeleteRole("committer").ok());
  ASSERT_TRUE(engine_.DeleteRole("app").ok());
  EXPECT_TRUE(engine_.DeleteConnection("pg").ok());
}

TEST_F(DatabaseEngineTest, VeryShortPasswordsDoNotGarbleErrors) {
  ConnectParams p;
  p.url = pg_.ConnectionUrl();
  p.username = "arca_admin";
  p.password = kms::SecretBytes::CopyFrom("a");  // wrong, and one byte
  ConnectionPool pool(std::move(p), 1);
  absl::Status st = pool.Ping();
  EXPECT_TRUE(IsAuthenticationFailure(st)) << st;
  EXPECT_THAT(std::string(st.message()),
              ::testing::HasSubstr(
                  "password authentication failed for user \"arca_admin\""));

  // A real password is still redacted wherever it is quoted.
  const std::string secret = "pw-quoted-" + RandomPassword();
  ConnectParams q;
  q.url = pg_.ConnectionUrl();
  q.username = "arca_admin";
  q.password = kms::SecretBytes::CopyFrom(admin_password_);
  ConnectionPool admin(std::move(q), 1);
  st = admin.Transaction(
      [&](const Quoter&) -> absl::StatusOr<std::vector<std::string>> {
        return std::vector<std::string>{"SELECT \"" + secret + "\""};
      },
      {secret});
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), ::testing::Not(::testing::HasSubstr(secret)));
}

}  // namespace
}  // namespace arca::engines::database
