// `arca db ...` end to end: the real arca CLI against a real arcad and a
// real PostgreSQL. The admin password goes in on stdin and is never seen in
// any process's argv, in arcad's log or in its data dir; an issued login
// works in PostgreSQL until `arca lease revoke` drops it.

#include <dirent.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/integration/harness.h"
#include "tests/integration/postgres_server.h"

namespace arca::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

constexpr char kAdmin[] = "arca_admin";
constexpr char kCreate[] =
    "CREATE ROLE {{name}} WITH LOGIN PASSWORD {{password}} VALID UNTIL "
    "{{expiration}}";

// Every process's command line, NUL separators as spaces.
std::vector<std::string> AllCommandLines() {
  std::vector<std::string> lines;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return lines;
  while (dirent* e = readdir(proc)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream in(absl::StrCat("/proc/", e->d_name, "/cmdline"),
                     std::ios::binary);
    std::stringstream buf;
    buf << in.rdbuf();
    std::string line = buf.str();
    for (char& c : line) {
      if (c == '\0') c = ' ';
    }
    lines.push_back(std::move(line));
  }
  closedir(proc);
  return lines;
}

// Scans every process's argv for `needle` until destroyed; counts scans so
// a test can check it looked while the command ran.
class ArgvWatcher {
 public:
  explicit ArgvWatcher(std::string needle)
      : needle_(std::move(needle)), thread_([this] { Loop(); }) {}
  ~ArgvWatcher() {
    stop_ = true;
    thread_.join();
  }
  bool seen() const { return seen_; }
  int scans() const { return scans_; }

 private:
  void Loop() {
    while (!stop_) {
      for (const std::string& line : AllCommandLines()) {
        if (line.find(needle_) != std::string::npos) seen_ = true;
      }
      ++scans_;
    }
  }
  const std::string needle_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> seen_{false};
  std::atomic<int> scans_{0};
  std::thread thread_;
};

class DatabaseCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    postgres_ = new PostgresServer();
    ASSERT_TRUE(postgres_->Start());
  }
  static void TearDownTestSuite() {
    delete postgres_;
    postgres_ = nullptr;
  }

  DatabaseCliTest() : arcad_(dir_.path() / "data", dir_.path()) {}

  void SetUp() override {
    ASSERT_NE(postgres_, nullptr);
    // Arca's own admin login, so a test may rotate it without locking the
    // fixture's superuser out. Unique per test: a rotated one is useless.
    admin_ = absl::StrCat(kAdmin, "_", ++admins_);
    admin_password_ = absl::StrCat("Adm1n-pw-", admins_, "-do-not-leak");
    SqlResult made = postgres_->Query(
        absl::StrCat("CREATE ROLE ", admin_, " WITH LOGIN SUPERUSER PASSWORD '",
                     admin_password_, "'"));
    ASSERT_TRUE(made.ok) << made.error;

    ASSERT_TRUE(arcad_.Start());
    CliResult r = Cli({"operator", "init", "--key-shares", "1",
                       "--key-threshold", "1", "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out);
    root_token_ = j["root_token"];
    r = Cli({"operator", "unseal"}, std::string(j["keys_base64"][0]) + "\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  CliResult Cli(std::vector<std::string> args, const std::string& in = "") {
    std::map<std::string, std::string> env = {{"ARCA_ADDR", arcad_.address()}};
    if (!root_token_.empty()) env["ARCA_TOKEN"] = root_token_;
    return RunCli(args, in, env);
  }

  CliResult WriteConfig(const std::string& password,
                        std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"db",
                                     "config",
                                     "write",
                                     "pg",
                                     "--connection-url",
                                     postgres_->ConnectionUrl(),
                                     "--username",
                                     admin_,
                                     "--password-stdin",
                                     "--allowed-roles",
                                     "readonly"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Cli(args, password + "\n");
  }

  void WriteRole() {
    CliResult r = Cli({"db", "role", "write", "readonly", "--db-name", "pg",
                       "--creation-statement", kCreate, "--default-ttl", "10m",
                       "--max-ttl", "1h"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // Issued credentials, parsed from `arca db creds --format json`.
  struct Creds {
    std::string username, password, lease_id;
    int64_t duration = 0;
  };
  Creds IssueCreds(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"db", "creds", "readonly", "--format",
                                     "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    CliResult r = Cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    Creds c;
    const auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_object()) << r.out;
    if (!j.is_object()) return c;
    c.username = j.value("username", "");
    c.password = j.value("password", "");
    c.lease_id = j.value("lease_id", "");
    c.duration = std::stoll(j.value("lease_duration_seconds", "0"));
    return c;
  }

  bool RoleExists(const std::string& name) {
    SqlResult r = postgres_->Query(
        absl::StrCat("SELECT 1 FROM pg_roles WHERE rolname = '", name, "'"));
    EXPECT_TRUE(r.ok) << r.error;
    return !r.rows.empty();
  }

  static PostgresServer* postgres_;
  static int admins_;
  TempDir dir_;
  Arcad arcad_;
  std::string root_token_;
  std::string admin_;
  std::string admin_password_;
};

PostgresServer* DatabaseCliTest::postgres_ = nullptr;
int DatabaseCliTest::admins_ = 0;

TEST_F(DatabaseCliTest, ArgvWatcherSeesAValueInAnotherProcessArgv) {
  // The control for the test below: a value in argv is found.
  const std::string marker = absl::StrCat("argv-marker-", getpid());
  ArgvWatcher watcher(marker);
  RunProgram("/bin/sh", {"-c", "sleep 0.5", marker});
  EXPECT_TRUE(watcher.seen());
}

TEST_F(DatabaseCliTest, AdminPasswordFromStdinIsInNoArgvLogOrDataFile) {
  CliResult r;
  {
    ArgvWatcher watcher(admin_password_);
    r = WriteConfig(admin_password_);
    EXPECT_GT(watcher.scans(), 0);
    EXPECT_FALSE(watcher.seen()) << "the password was in some process's argv";
  }
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(admin_));
  EXPECT_THAT(r.out + r.err, Not(HasSubstr(admin_password_)));

  // Reading it back never returns it.
  r = Cli({"db", "config", "read", "pg", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["username"], admin_);
  EXPECT_EQ(j["allowed_roles"], nlohmann::json::array({"readonly"}));
  EXPECT_THAT(r.out, Not(HasSubstr(admin_password_)));

  // Using it (a login) logs nothing of it either.
  WriteRole();
  IssueCreds();
  EXPECT_THAT(arcad_.Log(), Not(HasSubstr(admin_password_)));
  EXPECT_FALSE(TreeContains(dir_.path() / "data", admin_password_))
      << "the password is stored in clear in arcad's data dir";
}

TEST_F(DatabaseCliTest, IssuedLoginConnectsUntilLeaseRevokeDropsIt) {
  ASSERT_EQ(WriteConfig(admin_password_).exit_code, 0);
  WriteRole();
  const Creds creds = IssueCreds({"--ttl", "5m"});
  ASSERT_FALSE(creds.username.empty());
  ASSERT_FALSE(creds.password.empty());
  ASSERT_FALSE(creds.lease_id.empty());
  EXPECT_EQ(creds.duration, 300);

  SqlResult who =
      postgres_->QueryAs(creds.username, creds.password, "SELECT current_user");
  ASSERT_TRUE(who.ok) << who.error;
  ASSERT_EQ(who.rows.size(), 1u);
  EXPECT_EQ(who.rows[0][0], creds.username);
  EXPECT_FALSE(
      postgres_->QueryAs(creds.username, "wrong-password", "SELECT 1").ok);

  CliResult r = Cli({"lease", "revoke", creds.lease_id});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(RoleExists(creds.username));
  EXPECT_FALSE(
      postgres_->QueryAs(creds.username, creds.password, "SELECT 1").ok);
  r = Cli({"lease", "lookup", creds.lease_id});
  EXPECT_EQ(r.exit_code, 2) << r.out;
}

TEST_F(DatabaseCliTest, FieldPrintsTheRawValueAndTableHidesNothingElse) {
  ASSERT_EQ(WriteConfig(admin_password_).exit_code, 0);
  WriteRole();
  CliResult r = Cli({"db", "creds", "readonly", "--field", "username"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, MatchesRegex("v-readonly-[a-z0-9]+"));  // no newline
  EXPECT_TRUE(RoleExists(r.out));

  r = Cli({"db", "creds", "readonly"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* row :
       {"lease_id", "lease_duration", "username", "password", "10m"}) {
    EXPECT_THAT(r.out, HasSubstr(row));
  }
}

TEST_F(DatabaseCliTest, ReadsAndListsParseAsJson) {
  ASSERT_EQ(WriteConfig(admin_password_).exit_code, 0);
  WriteRole();
  CliResult r = Cli({"db", "role", "read", "readonly", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto role = nlohmann::json::parse(r.out);
  EXPECT_EQ(role["db_name"], "pg");
  EXPECT_EQ(role["creation_statements"], nlohmann::json::array({kCreate}));
  EXPECT_EQ(role["default_ttl_seconds"], "600");
  EXPECT_EQ(role["max_ttl_seconds"], "3600");

  r = Cli({"db", "role", "list", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["names"],
            nlohmann::json::array({"readonly"}));
  r = Cli({"db", "config", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "pg\n");
}

TEST_F(DatabaseCliTest, RotateRootLocksTheOldPasswordOutAndCredsStillWork) {
  ASSERT_EQ(WriteConfig(admin_password_).exit_code, 0);
  WriteRole();
  CliResult r = Cli({"db", "rotate-root", "pg", "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(nlohmann::json::parse(r.out)["root_rotated_unix_ms"], "0");
  EXPECT_FALSE(postgres_->QueryAs(admin_, admin_password_, "SELECT 1").ok);
  const Creds creds = IssueCreds();
  EXPECT_TRUE(
      postgres_->QueryAs(creds.username, creds.password, "SELECT 1").ok);
}

TEST_F(DatabaseCliTest, ErrorsNameTheCodeAndNeverThePassword) {
  // A wrong admin password: the server connects first and refuses.
  const std::string wrong = "Wr0ng-admin-pw-not-to-be-echoed";
  CliResult r = WriteConfig(wrong);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, MatchesRegex("(UNAVAILABLE|FAILED_PRECONDITION|"
                                  "INVALID_ARGUMENT|PERMISSION_DENIED): .+\n"));
  EXPECT_THAT(r.out + r.err, Not(HasSubstr(wrong)));
  EXPECT_THAT(arcad_.Log(), Not(HasSubstr(wrong)));

  // Not stored: nothing to read.
  r = Cli({"db", "config", "read", "pg"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, MatchesRegex("NOT_FOUND: .+\n"));

  // A password in the URL is refused by the CLI before any request.
  r = Cli({"db", "config", "write", "pg", "--connection-url",
           absl::StrCat("postgresql://", admin_, ":", admin_password_,
                        "@127.0.0.1:", postgres_->port(), "/postgres"),
           "--username", admin_, "--password-stdin"},
          admin_password_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT: --connection-url must not "
                               "hold a password"));
  EXPECT_THAT(r.out + r.err, Not(HasSubstr(admin_password_)));

  // Nothing on stdin and no terminal: refused, nothing sent.
  r = Cli({"db", "config", "write", "pg", "--connection-url",
           postgres_->ConnectionUrl(), "--username", admin_});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT: no password"));

  // A missing role.
  r = Cli({"db", "creds", "nope"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, MatchesRegex("NOT_FOUND: .+\n"));
}

}  // namespace
}  // namespace arca::testing
