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

}  // namespace
}  // namespace arca::engines::database
