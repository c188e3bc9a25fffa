// The database secrets engine end to end: a real arcad (RocksDB on disk)
// and a real PostgreSQL started by the test, driven through the generated
// gRPC stubs. Every test fails (never skips) if PostgreSQL cannot start.

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "arca/v1/audit.grpc.pb.h"
#include "arca/v1/auth.grpc.pb.h"
#include "arca/v1/database.grpc.pb.h"
#include "arca/v1/lease.grpc.pb.h"
#include "arca/v1/policy.grpc.pb.h"
#include "arca/v1/sys.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "kms/random.h"
#include "tests/integration/harness.h"
#include "tests/integration/postgres_server.h"

namespace arca::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

std::string RandomHex(size_t bytes) {
  return absl::BytesToHexString(kms::RandomString(bytes));
}

// Polls `done` every 200 ms for up to `seconds`.
bool WaitFor(const std::function<bool()>& done, int seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return done();
}

class DatabaseTest : public ::testing::Test {
 protected:
  DatabaseTest() : arcad_(dir_.path() / "data", dir_.path()) {}

  void SetUp() override {
    ASSERT_TRUE(pg_.Start()) << "PostgreSQL did not start (see stderr)";
    // A separate admin login for arcad, so rotate-root never locks out the
    // fixture's own superuser.
    SqlResult r = pg_.Query("CREATE ROLE arca_admin LOGIN SUPERUSER PASSWORD '" +
                            admin_password_ + "'");
    ASSERT_TRUE(r.ok) << r.error;
    r = pg_.Query("CREATE TABLE items (id int); INSERT INTO items VALUES (7)");
    ASSERT_TRUE(r.ok) << r.error;

    ASSERT_TRUE(arcad_.Start());
    channel_ = grpc::CreateChannel(arcad_.address(),
                                   grpc::InsecureChannelCredentials());
    sys_ = v1::SysService::NewStub(channel_);
    db_ = v1::DatabaseService::NewStub(channel_);
    lease_ = v1::LeaseService::NewStub(channel_);
    auth_ = v1::AuthService::NewStub(channel_);
    policy_ = v1::PolicyService::NewStub(channel_);
    audit_ = v1::AuditService::NewStub(channel_);
    v1::InitRequest init;
    init.set_secret_shares(1);
    init.set_secret_threshold(1);
    v1::InitResponse inited;
    grpc::ClientContext ctx;
    ASSERT_TRUE(sys_->Init(&ctx, init, &inited).ok());
    share_ = inited.keys_base64(0);
    root_ = inited.root_token();
    Unseal();

    v1::DatabaseWriteConnectionRequest conn;
    conn.set_name("pg");
    conn.set_connection_url(pg_.ConnectionUrl());
    conn.set_username("arca_admin");
    conn.set_password(admin_password_);
    conn.add_allowed_roles("app");
    conn.add_allowed_roles("short");
    conn.add_allowed_roles("bad");
    v1::DatabaseConnection written;
    grpc::Status st = Call(&v1::DatabaseService::Stub::WriteConnection, conn,
                           &written);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ASSERT_TRUE(WriteRole("app", 3600, 7200).ok());
  }

  void Unseal() {
    v1::UnsealRequest u;
    u.set_key(share_);
    v1::SealStatusResponse s;
    grpc::ClientContext ctx;
    grpc::Status st = sys_->Unseal(&ctx, u, &s);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ASSERT_FALSE(s.sealed());
  }

  // Calls `method` on the database stub with `token` (root by default).
  template <typename Stub, typename Req, typename Resp>
  grpc::Status CallOn(Stub* stub,
                      grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                   const Req&, Resp*),
                      const Req& req, Resp* resp, const std::string& token,
                      int deadline_seconds = 30) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(deadline_seconds));
    return (stub->*method)(&ctx, req, resp);
  }
  template <typename Req, typename Resp>
  grpc::Status Call(grpc::Status (v1::DatabaseService::Stub::*method)(
                        grpc::ClientContext*, const Req&, Resp*),
                    const Req& req, Resp* resp, std::string token = "") {
    return CallOn(db_.get(), method, req, resp, token.empty() ? root_ : token);
  }

  grpc::Status WriteRole(const std::string& name, int64_t ttl, int64_t max_ttl,
                         std::vector<std::string> creation = {}) {
    v1::DatabaseWriteRoleRequest role;
    role.set_name(name);
    role.set_db_name("pg");
    if (creation.empty()) {
      creation = {
          "CREATE ROLE {{name}} WITH LOGIN PASSWORD {{password}} VALID UNTIL "
          "{{expiration}}",
          "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {{name}}"};
    }
    for (const auto& s : creation) role.add_creation_statements(s);
    role.set_default_ttl_seconds(ttl);
    role.set_max_ttl_seconds(max_ttl);
    v1::DatabaseRole out;
    return Call(&v1::DatabaseService::Stub::WriteRole, role, &out);
  }

  grpc::Status Creds(const std::string& role, v1::DatabaseCredsResponse* out,
                     const std::string& token = "", int64_t ttl = 0) {
    v1::DatabaseCredsRequest req;
    req.set_role(role);
    req.set_ttl_seconds(ttl);
    return Call(&v1::DatabaseService::Stub::Creds, req, out, token);
  }

  grpc::Status LookupLease(const std::string& id, v1::LeaseInfo* info) {
    v1::LookupLeaseRequest req;
    req.set_lease_id(id);
    return CallOn(lease_.get(), &v1::LeaseService::Stub::LookupLease, req,
                  info, root_);
  }

  bool RoleExists(const std::string& name) {
    SqlResult r = pg_.Query("SELECT 1 FROM pg_roles WHERE rolname = '" + name + "'");
    EXPECT_TRUE(r.ok) << r.error;
    return !r.rows.empty();
  }

  // The login's VALID UNTIL in ms since the epoch (-1 if none).
  int64_t ValidUntilMs(const std::string& name) {
    SqlResult r = pg_.Query(
        "SELECT coalesce((extract(epoch FROM rolvaliduntil) * 1000)::bigint, "
        "-1) FROM pg_roles WHERE rolname = '" + name + "'");
    EXPECT_TRUE(r.ok && r.rows.size() == 1) << r.error;
    return r.rows.empty() ? -2 : std::stoll(r.rows[0][0]);
  }

  int CountIssuedLogins() {
    SqlResult r = pg_.Query("SELECT count(*) FROM pg_roles WHERE rolname LIKE 'v-%'");
    EXPECT_TRUE(r.ok) << r.error;
    return r.rows.empty() ? -1 : std::stoi(r.rows[0][0]);
  }

  std::string MakeToken(const std::string& policy_name, const std::string& doc) {
    v1::WritePolicyRequest wp;
    wp.set_name(policy_name);
    wp.set_policy(doc);
    v1::WritePolicyResponse wr;
    grpc::Status st = CallOn(policy_.get(), &v1::PolicyService::Stub::WritePolicy,
                             wp, &wr, root_);
    EXPECT_TRUE(st.ok()) << st.error_message();
    v1::CreateTokenRequest ct;
    ct.add_policies(policy_name);
    v1::CreateTokenResponse tr;
    st = CallOn(auth_.get(), &v1::AuthService::Stub::CreateToken, ct, &tr, root_);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return tr.token();
  }

  // A second connection "pgcr" whose admin has CREATEROLE but is not a
  // superuser (it may hand on SELECT on items, and has no privilege on
  // not_granted), and role `role` on it.
  void AddCreateRoleOnlyConnection(const std::string& role,
                                   std::vector<std::string> revocation = {}) {
    const std::string password = "cr-" + RandomHex(12);
    SqlResult r = pg_.Query("CREATE ROLE arca_cr LOGIN CREATEROLE PASSWORD '" +
                            password + "'");
    ASSERT_TRUE(r.ok) << r.error;
    r = pg_.Query("GRANT SELECT ON items TO arca_cr WITH GRANT OPTION");
    ASSERT_TRUE(r.ok) << r.error;
    // A table the admin holds no privilege on, as in most real databases.
    r = pg_.Query("CREATE TABLE not_granted (id int)");
    ASSERT_TRUE(r.ok) << r.error;
    v1::DatabaseWriteConnectionRequest conn;
    conn.set_name("pgcr");
    conn.set_connection_url(pg_.ConnectionUrl());
    conn.set_username("arca_cr");
    conn.set_password(password);
    conn.add_allowed_roles(role);
    v1::DatabaseConnection written;
    grpc::Status st = Call(&v1::DatabaseService::Stub::WriteConnection, conn,
                           &written);
    ASSERT_TRUE(st.ok()) << st.error_message();
    v1::DatabaseWriteRoleRequest req;
    req.set_name(role);
    req.set_db_name("pgcr");
    req.add_creation_statements(
        "CREATE ROLE {{name}} WITH LOGIN PASSWORD {{password}} VALID UNTIL "
        "{{expiration}}");
    req.add_creation_statements("GRANT SELECT ON items TO {{name}}");
    for (const auto& s : revocation) req.add_revocation_statements(s);
    v1::DatabaseRole out;
    st = Call(&v1::DatabaseService::Stub::WriteRole, req, &out);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }

  grpc::Status RevokeLease(const std::string& id) {
    v1::RevokeLeaseRequest rv;
    rv.set_lease_id(id);
    v1::RevokeLeaseResponse rr;
    return CallOn(lease_.get(), &v1::LeaseService::Stub::RevokeLease, rv, &rr,
                  root_);
  }

  // The login no longer exists or logs in, and its lease is gone.
  void ExpectLoginAndLeaseGone(const v1::DatabaseCredsResponse& c) {
    EXPECT_FALSE(RoleExists(c.username()));
    EXPECT_FALSE(pg_.QueryAs(c.username(), c.password(), "SELECT 1").ok);
    v1::LeaseInfo info;
    EXPECT_EQ(LookupLease(c.lease_id(), &info).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }

  TempDir dir_;
  PostgresServer pg_;
  Arcad arcad_;
  const std::string admin_password_ = "admin-canary-" + RandomHex(12);
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::SysService::Stub> sys_;
  std::unique_ptr<v1::DatabaseService::Stub> db_;
  std::unique_ptr<v1::LeaseService::Stub> lease_;
  std::unique_ptr<v1::AuthService::Stub> auth_;
  std::unique_ptr<v1::PolicyService::Stub> policy_;
  std::unique_ptr<v1::AuditService::Stub> audit_;
  std::string share_;
  std::string root_;
};

TEST_F(DatabaseTest, IssuedLoginCanSelectAndItsValidUntilMatchesTheLease) {
  v1::DatabaseCredsResponse c;
  grpc::Status st = Creds("app", &c);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_THAT(c.username(), MatchesRegex("v-app-[a-z0-9]{20}"));
  EXPECT_LE(c.username().size(), 63u);
  EXPECT_GE(c.password().size(), 32u);
  EXPECT_TRUE(c.renewable());
  EXPECT_EQ(c.lease_duration_seconds(), 3600);
  SqlResult r = pg_.QueryAs(c.username(), c.password(), "SELECT id FROM items");
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(r.rows.size(), 1u);
  EXPECT_EQ(r.rows[0][0], "7");

  v1::LeaseInfo info;
  ASSERT_TRUE(LookupLease(c.lease_id(), &info).ok());
  EXPECT_EQ(info.kind(), "database");
  EXPECT_NEAR(ValidUntilMs(c.username()), info.expire_time_unix_ms(), 2000);
}

TEST_F(DatabaseTest, LeaseRevokeDropsTheLogin) {
  v1::DatabaseCredsResponse c;
  ASSERT_TRUE(Creds("app", &c).ok());
  ASSERT_TRUE(RoleExists(c.username()));
  v1::RevokeLeaseRequest rv;
  rv.set_lease_id(c.lease_id());
  v1::RevokeLeaseResponse rr;
  grpc::Status st = CallOn(lease_.get(), &v1::LeaseService::Stub::RevokeLease,
                           rv, &rr, root_);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ExpectLoginAndLeaseGone(c);
}

TEST_F(DatabaseTest, DefaultRevocationWorksForACreateRoleOnlyAdmin) {
  ASSERT_NO_FATAL_FAILURE(AddCreateRoleOnlyConnection("cr"));
  v1::DatabaseCredsResponse c;
  grpc::Status st = Creds("cr", &c);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_TRUE(pg_.QueryAs(c.username(), c.password(), "SELECT id FROM items").ok);
  st = RevokeLease(c.lease_id());
  ASSERT_TRUE(st.ok()) << st.error_message();
  ExpectLoginAndLeaseGone(c);
}

TEST_F(DatabaseTest, RevocationPostgresRefusesIsFailedPreconditionAndKeepsTheLease) {
  // Without membership in the login, PostgreSQL 15 refuses this (42501).
  ASSERT_NO_FATAL_FAILURE(AddCreateRoleOnlyConnection(
      "cr", {"REASSIGN OWNED BY {{name}} TO CURRENT_USER", "DROP ROLE {{name}}"}));
  v1::DatabaseCredsResponse c;
  ASSERT_TRUE(Creds("cr", &c).ok());
  grpc::Status st = RevokeLease(c.lease_id());
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << st.error_message();
  EXPECT_THAT(st.error_message(), HasSubstr("SQLSTATE 42501"));
  EXPECT_TRUE(RoleExists(c.username()));
  v1::LeaseInfo info;
  ASSERT_TRUE(LookupLease(c.lease_id(), &info).ok()) << "the lease was lost";
  EXPECT_THAT(info.last_error(), HasSubstr("SQLSTATE 42501"));
}

TEST_F(DatabaseTest, LeaseExpiryDropsTheLogin) {
  ASSERT_TRUE(WriteRole("short", 2, 60).ok());
  v1::DatabaseCredsResponse c;
  ASSERT_TRUE(Creds("short", &c).ok());
  EXPECT_EQ(c.lease_duration_seconds(), 2);
  ASSERT_TRUE(RoleExists(c.username()));
  EXPECT_TRUE(WaitFor([&] { return !RoleExists(c.username()); }, 30))
      << arcad_.Log();
}

TEST_F(DatabaseTest, RevokingTheTokenRevokesItsCreds) {
  const std::string token = MakeToken(
      "db-app", R"({"path": {"database/creds/app": {"capabilities": ["read"]}}})");
  v1::DatabaseCredsResponse c;
  grpc::Status st = Creds("app", &c, token);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_TRUE(RoleExists(c.username()));
  v1::RevokeTokenRequest rt;
  rt.set_token(token);
  v1::RevokeTokenResponse rr;
  st = CallOn(auth_.get(), &v1::AuthService::Stub::RevokeToken, rt, &rr, root_);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_FALSE(RoleExists(c.username()));
}

TEST_F(DatabaseTest, RenewExtendsValidUntilAndStopsAtTheMaxTtl) {
  ASSERT_TRUE(WriteRole("short", 60, 120).ok());
  v1::DatabaseCredsResponse c;
  ASSERT_TRUE(Creds("short", &c).ok());
  const int64_t first = ValidUntilMs(c.username());
  v1::RenewLeaseRequest rn;
  rn.set_lease_id(c.lease_id());
  rn.set_increment_seconds(90);
  v1::LeaseInfo info;
  grpc::Status st = CallOn(lease_.get(), &v1::LeaseService::Stub::RenewLease,
                           rn, &info, root_);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_GT(ValidUntilMs(c.username()), first + 20000);
  EXPECT_NEAR(ValidUntilMs(c.username()), info.expire_time_unix_ms(), 2000);
  // Far past the max: both stop at issue + 120 s.
  rn.set_increment_seconds(100000);
  st = CallOn(lease_.get(), &v1::LeaseService::Stub::RenewLease, rn, &info,
              root_);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_NEAR(info.expire_time_unix_ms(), info.issue_time_unix_ms() + 120000, 10);
  EXPECT_NEAR(ValidUntilMs(c.username()), info.issue_time_unix_ms() + 120000,
              2000);
}

TEST_F(DatabaseTest, PostgresDownMeansUnavailableAndRevocationWaitsForItsReturn) {
  v1::DatabaseCredsResponse c;
  ASSERT_TRUE(Creds("app", &c).ok());
  const int before = CountIssuedLogins();
  ASSERT_TRUE(pg_.Stop());

  // The call's deadline is 30 s; the connect timeout answers well within it.
  v1::DatabaseCredsResponse none;
  grpc::Status st = Creds("app", &none);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  EXPECT_TRUE(none.username().empty());

  // Renewal cannot extend the login, so the lease is not extended either.
  v1::LeaseInfo before_renew;
  ASSERT_TRUE(LookupLease(c.lease_id(), &before_renew).ok());
  v1::RenewLeaseRequest rn;
  rn.set_lease_id(c.lease_id());
  v1::LeaseInfo renewed;
  st = CallOn(lease_.get(), &v1::LeaseService::Stub::RenewLease, rn, &renewed,
              root_);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  v1::LeaseInfo after_renew;
  ASSERT_TRUE(LookupLease(c.lease_id(), &after_renew).ok());
  EXPECT_EQ(after_renew.expire_time_unix_ms(), before_renew.expire_time_unix_ms());

  // Root rotation cannot happen either, and loses nothing.
  v1::DatabaseNameRequest rot;
  rot.set_name("pg");
  v1::DatabaseConnection rotated;
  EXPECT_EQ(Call(&v1::DatabaseService::Stub::RotateRoot, rot, &rotated).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  v1::RevokeLeaseRequest rv;
  rv.set_lease_id(c.lease_id());
  v1::RevokeLeaseResponse rr;
  st = CallOn(lease_.get(), &v1::LeaseService::Stub::RevokeLease, rv, &rr, root_);
  EXPECT_FALSE(st.ok());
  v1::LeaseInfo info;
  ASSERT_TRUE(LookupLease(c.lease_id(), &info).ok()) << "the lease was lost";
  EXPECT_FALSE(info.last_error().empty());

  ASSERT_TRUE(pg_.Start());
  EXPECT_EQ(CountIssuedLogins(), before) << "a login was issued while down";
  EXPECT_TRUE(WaitFor(
      [&] {
        v1::LeaseInfo i;
        return LookupLease(c.lease_id(), &i).error_code() ==
               grpc::StatusCode::NOT_FOUND;
      },
      40))
      << arcad_.Log();
  EXPECT_FALSE(RoleExists(c.username()));
  // The admin password still works after the failed rotation.
  v1::DatabaseCredsResponse again;
  st = Creds("app", &again);
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(pg_.QueryAs("arca_admin", admin_password_, "SELECT 1").ok);
}

// The pool's idle connection dies with a PostgreSQL restart; the first
// call after it must get a fresh connection, not an error from the dead one.
TEST_F(DatabaseTest, FirstCredsAfterAPostgresRestartSucceeds) {
  v1::DatabaseCredsResponse before;
  ASSERT_TRUE(Creds("app", &before).ok());  // leaves an idle connection
  ASSERT_TRUE(pg_.Stop());
  ASSERT_TRUE(pg_.Start());
  for (int i = 0; i < 3; ++i) {
    v1::DatabaseCredsResponse c;
    grpc::Status st = Creds("app", &c);
    ASSERT_TRUE(st.ok()) << "call " << i << " after the restart: "
                         << st.error_message();
    EXPECT_TRUE(RoleExists(c.username()));
  }
  EXPECT_TRUE(RoleExists(before.username()));
}

// A frozen PostgreSQL (SIGSTOP: sockets open, no answer) bounds every
// call by the statement deadline, and calls that wait on it do not hold
// the threads other RPCs are served on.
TEST_F(DatabaseTest, FrozenPostgresIsUnavailableWithinTheDeadlineAndStallsNothingElse) {
  v1::DatabaseCredsResponse c;  // renewed below
  ASSERT_TRUE(Creds("app", &c).ok());  // leaves a pooled connection behind
  v1::DatabaseCredsResponse c2;  // revoked below
  ASSERT_TRUE(Creds("app", &c2).ok());
  ASSERT_TRUE(pg_.Freeze());
  absl::Cleanup thaw = [this] { pg_.Thaw(); };

  // More renewals and revocations than gRPC has callback threads.
  constexpr int kCalls = 4;
  // Each call is bounded by its waits: a pooled connection (5 s), connect
  // (5 s) and each statement (10 s), several in a row when the pool is
  // exhausted; far below TCP's own ~15 minutes, and the client waits
  // longer than that so a slow but bounded answer is not mistaken for a hang.
  constexpr int kClientDeadline = 90;
  std::vector<grpc::Status> results(kCalls);
  std::vector<double> seconds(kCalls);
  std::vector<std::thread> calls;
  for (int i = 0; i < kCalls; ++i) {
    calls.emplace_back([&, i] {
      const auto start = std::chrono::steady_clock::now();
      if (i % 2 == 0) {
        v1::RenewLeaseRequest rn;
        rn.set_lease_id(c.lease_id());
        v1::LeaseInfo out;
        results[i] = CallOn(lease_.get(), &v1::LeaseService::Stub::RenewLease,
                            rn, &out, root_, kClientDeadline);
      } else {
        v1::RevokeLeaseRequest rv;
        rv.set_lease_id(c2.lease_id());
        v1::RevokeLeaseResponse out;
        results[i] = CallOn(lease_.get(), &v1::LeaseService::Stub::RevokeLease,
                            rv, &out, root_, kClientDeadline);
      }
      seconds[i] = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - start).count();
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  // Meanwhile other RPCs answer at once.
  for (int i = 0; i < 3; ++i) {
    const auto start = std::chrono::steady_clock::now();
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    v1::SealStatusRequest sr;
    v1::SealStatusResponse ss;
    grpc::Status st = sys_->SealStatus(&ctx, sr, &ss);
    EXPECT_TRUE(st.ok()) << "seal-status stalled: " << st.error_message();
    v1::LookupLeaseRequest lr;
    lr.set_lease_id(c.lease_id());
    v1::LeaseInfo li;
    st = CallOn(lease_.get(), &v1::LeaseService::Stub::LookupLease, lr, &li,
                root_);
    EXPECT_TRUE(st.ok()) << "lease lookup stalled: " << st.error_message();
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                            start).count(),
              2.0);
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  for (auto& t : calls) t.join();
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_EQ(results[i].error_code(), grpc::StatusCode::UNAVAILABLE)
        << i << ": " << results[i].error_message();
    EXPECT_LT(seconds[i], 60.0) << i;
  }
  const bool saw_deadline = std::any_of(
      results.begin(), results.end(), [](const grpc::Status& st) {
        return st.error_message().find(
                   "postgresql did not answer within 10 s") != std::string::npos;
      });
  EXPECT_TRUE(saw_deadline);

  v1::DatabaseCredsResponse none;
  const auto start = std::chrono::steady_clock::now();
  grpc::Status st = Creds("app", &none);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                          start).count(),
            25.0);

  // Thawed, the server answers again on fresh connections.
  pg_.Thaw();
  st = Creds("app", &none);
  EXPECT_TRUE(st.ok()) << st.error_message();
}

// The expiry loop revokes due leases one after another; a lease whose
// PostgreSQL is frozen holds the others back by at most the deadline.
TEST_F(DatabaseTest, FrozenPostgresDelaysOtherExpiriesByAtMostTheDeadline) {
  ASSERT_TRUE(WriteRole("short", 2, 60).ok());
  v1::DatabaseCredsResponse c;
  ASSERT_TRUE(Creds("short", &c).ok());
  // A token lease due just after the login's.
  v1::CreateTokenRequest ct;
  ct.set_ttl_seconds(3);
  v1::CreateTokenResponse tr;
  ASSERT_TRUE(
      CallOn(auth_.get(), &v1::AuthService::Stub::CreateToken, ct, &tr, root_)
          .ok());
  const auto issued = std::chrono::steady_clock::now();
  ASSERT_TRUE(pg_.Freeze());
  absl::Cleanup thaw = [this] { pg_.Thaw(); };
  // The token lease's revocation logs the pass as done.
  ASSERT_TRUE(WaitFor(
      [&] {
        return arcad_.Log().find("revoked 1 expired leases") !=
               std::string::npos;
      },
      40))
      << arcad_.Log();
  const double took = std::chrono::duration<double>(
                          std::chrono::steady_clock::now() - issued).count();
  // 3 s ttl + 1 s tick + the frozen lease's bounded waits (a connection,
  // connect, a statement) + margin for a loaded machine; without the
  // deadline it would wait until PostgreSQL is thawed at cleanup.
  EXPECT_LT(took, 35.0) << arcad_.Log();
  v1::LeaseInfo info;
  ASSERT_TRUE(LookupLease(c.lease_id(), &info).ok());
  EXPECT_THAT(info.last_error(), HasSubstr("did not answer within 10 s"));
}

TEST_F(DatabaseTest, KilledArcadStillExpiresTheLoginAfterRestart) {
  ASSERT_TRUE(WriteRole("short", 3, 60).ok());
  v1::DatabaseCredsResponse c;
  ASSERT_TRUE(Creds("short", &c).ok());
  arcad_.Kill(SIGKILL);
  ASSERT_TRUE(arcad_.Start());
  channel_ = grpc::CreateChannel(arcad_.address(), grpc::InsecureChannelCredentials());
  sys_ = v1::SysService::NewStub(channel_);
  lease_ = v1::LeaseService::NewStub(channel_);
  Unseal();
  EXPECT_TRUE(WaitFor([&] { return !RoleExists(c.username()); }, 30))
      << arcad_.Log();
}

TEST_F(DatabaseTest, RotateRootLocksOutTheOldPasswordAndCredsStillIssue) {
  v1::DatabaseNameRequest req;
  req.set_name("pg");
  v1::DatabaseConnection out;
  grpc::Status st = Call(&v1::DatabaseService::Stub::RotateRoot, req, &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_GT(out.root_rotated_unix_ms(), 0);
  SqlResult old = pg_.QueryAs("arca_admin", admin_password_, "SELECT 1");
  EXPECT_FALSE(old.ok);
  EXPECT_THAT(old.error, HasSubstr("password authentication failed"));
  v1::DatabaseCredsResponse c;
  st = Creds("app", &c);
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_TRUE(pg_.QueryAs(c.username(), c.password(), "SELECT 1").ok);
  // Twice in a row works too: the stored password is the live one.
  st = Call(&v1::DatabaseService::Stub::RotateRoot, req, &out);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_TRUE(Creds("app", &c).ok());
}

TEST_F(DatabaseTest, HostileNamesAreInvalidArgument) {
  for (const std::string& name : std::vector<std::string>{
           "x'; DROP ROLE arca_admin; --", "a..b", "..", "a\"b", "a b", "a;b",
        std::string(129, 'a')}) {
    v1::DatabaseCredsResponse c;
    EXPECT_EQ(Creds(name, &c).error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << name;
    EXPECT_EQ(WriteRole(name, 60, 60).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << name;
  }
  EXPECT_TRUE(pg_.QueryAs("arca_admin", admin_password_, "SELECT 1").ok);
}

TEST_F(DatabaseTest, BadCreationStatementIsFailedPreconditionAndCreatesNothing) {
  ASSERT_TRUE(WriteRole("bad", 60, 60,
                        {"CREATE ROLE {{name}} WITH LOGIN PASSWORD {{password}}",
                         "GRANT SELEC ON items TO {{name}}"})
                  .ok());
  const int before = CountIssuedLogins();
  v1::DatabaseCredsResponse c;
  grpc::Status st = Creds("bad", &c);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(st.error_message(), HasSubstr("SQLSTATE 42601"));
  EXPECT_EQ(CountIssuedLogins(), before);
  // A syntax error that quotes the password literal does not reveal it.
  ASSERT_TRUE(WriteRole("bad", 60, 60,
                        {"CREATE ROLE {{name}} WITH LOGIN PASSWORD {{password}} x"})
                  .ok());
  st = Creds("bad", &c);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(CountIssuedLogins(), before);
  // Unknown placeholders are refused when the role is written.
  EXPECT_EQ(WriteRole("bad", 60, 60, {"CREATE ROLE {{name}} {{secret}}"}).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(DatabaseTest, PasswordsNeverReachTheLogTheAuditLogOrTheDataDir) {
  v1::EnableDeviceRequest en;
  en.set_name("file");
  en.set_type("file");
  en.set_path((dir_.path() / "audit.log").string());
  v1::EnableDeviceResponse er;
  grpc::Status st = CallOn(audit_.get(), &v1::AuditService::Stub::EnableDevice,
                           en, &er, root_);
  ASSERT_TRUE(st.ok()) << st.error_message();
  v1::DatabaseCredsResponse c;
  ASSERT_TRUE(Creds("app", &c).ok());
  // A failing statement and a rejected admin password exercise error paths.
  ASSERT_TRUE(WriteRole("bad", 60, 60,
                        {"CREATE ROLE {{name}} PASSWORD {{password}} nonsense"})
                  .ok());
  v1::DatabaseCredsResponse bad;
  EXPECT_FALSE(Creds("bad", &bad).ok());
  v1::DatabaseWriteConnectionRequest wrong;
  wrong.set_name("wrong");
  wrong.set_connection_url(pg_.ConnectionUrl());
  wrong.set_username("arca_admin");
  wrong.set_password("wrong-canary-" + RandomHex(8));
  v1::DatabaseConnection out;
  st = Call(&v1::DatabaseService::Stub::WriteConnection, wrong, &out);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(st.error_message(), ::testing::Not(HasSubstr(wrong.password())));
  arcad_.Kill(SIGTERM);
  // The response line names the login and its lease, so an operator can
  // tie a PostgreSQL role to the lease that will drop it.
  const std::string audit_log = ReadFile(dir_.path() / "audit.log");
  EXPECT_THAT(audit_log, HasSubstr(c.lease_id()));
  EXPECT_THAT(audit_log, HasSubstr(c.username()));
  const std::string log = arcad_.Log();
  for (const std::string& secret : std::vector<std::string>{
           admin_password_, c.password(), wrong.password()}) {
    EXPECT_THAT(log, ::testing::Not(HasSubstr(secret)));
    EXPECT_FALSE(TreeContains(dir_.path(), secret)) << "found in " << dir_.path();
  }
}

TEST_F(DatabaseTest, ReadConnectionNeverReturnsThePasswordAndUrlsMayNotCarryOne) {
  v1::DatabaseNameRequest req;
  req.set_name("pg");
  v1::DatabaseConnection out;
  ASSERT_TRUE(Call(&v1::DatabaseService::Stub::ReadConnection, req, &out).ok());
  EXPECT_EQ(out.username(), "arca_admin");
  EXPECT_THAT(out.SerializeAsString(), ::testing::Not(HasSubstr(admin_password_)));

  v1::DatabaseWriteConnectionRequest w;
  w.set_name("inline");
  w.set_username("arca_admin");
  for (const std::string& url : std::vector<std::string>{
           pg_.ConnectionUrl() + " password=" + admin_password_,
        "postgresql://arca_admin:" + admin_password_ + "@127.0.0.1:" +
            std::to_string(pg_.port()) + "/postgres"}) {
    w.set_connection_url(url);
    grpc::Status st = Call(&v1::DatabaseService::Stub::WriteConnection, w, &out);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(st.error_message(), ::testing::Not(HasSubstr(admin_password_)));
  }
}

TEST_F(DatabaseTest, CredsNeedTheCredsPathAndTheConnectionsAllowedRoles) {
  const std::string token = MakeToken(
      "db-other", R"({"path": {"database/creds/other": {"capabilities": ["read"]}}})");
  v1::DatabaseCredsResponse c;
  EXPECT_EQ(Creds("app", &c, token).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // A role the connection does not list.
  ASSERT_TRUE(WriteRole("unlisted", 60, 60).ok());
  EXPECT_EQ(Creds("unlisted", &c).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // A connection a role uses cannot be deleted.
  v1::DatabaseNameRequest del;
  del.set_name("pg");
  v1::DatabaseDeleteResponse dr;
  EXPECT_EQ(Call(&v1::DatabaseService::Stub::DeleteConnection, del, &dr).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

}  // namespace
}  // namespace arca::testing
