#include "client/client.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "arca/v1/database.grpc.pb.h"
#include "arca/v1/kv.grpc.pb.h"
#include "arca/v1/sys.grpc.pb.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/server_context.h"
#include "gtest/gtest.h"

namespace arca {
namespace {

// Returns the `authorization` metadata of a call, or "<none>".
std::string AuthorizationOf(grpc::ServerContext* context) {
  const auto& md = context->client_metadata();
  auto it = md.find("authorization");
  if (it == md.end()) return "<none>";
  return std::string(it->second.data(), it->second.size());
}

// SealStatus fails with `fail_code` for the first `failures` calls, then
// answers. Every call is counted and its authorization metadata recorded.
class FakeSys final : public v1::SysService::Service {
 public:
  std::atomic<int> failures{0};
  std::atomic<grpc::StatusCode> fail_code{grpc::StatusCode::UNAVAILABLE};
  std::atomic<int> calls{0};
  std::atomic<int> delay_ms{0};

  std::string last_authorization() {
    absl::MutexLock lock(&mu_);
    return last_authorization_;
  }

  grpc::Status SealStatus(grpc::ServerContext* context,
                          const v1::SealStatusRequest*,
                          v1::SealStatusResponse* response) override {
    const int n = ++calls;
    {
      absl::MutexLock lock(&mu_);
      last_authorization_ = AuthorizationOf(context);
    }
    if (delay_ms > 0) absl::SleepFor(absl::Milliseconds(delay_ms.load()));
    if (n <= failures) {
      return grpc::Status(fail_code, absl::StrCat("failure ", n));
    }
    response->set_initialized(true);
    response->set_sealed(false);
    response->set_secret_threshold(3);
    response->set_version("test");
    return grpc::Status::OK;
  }

  // Always UNAVAILABLE, as if the connection dropped after the server acted.
  grpc::Status Init(grpc::ServerContext*, const v1::InitRequest*,
                    v1::InitResponse*) override {
    ++calls;
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection reset");
  }

  grpc::Status Seal(grpc::ServerContext* context, const v1::SealRequest*,
                    v1::SealResponse*) override {
    ++calls;
    absl::MutexLock lock(&mu_);
    last_authorization_ = AuthorizationOf(context);
    return grpc::Status::OK;
  }

 private:
  absl::Mutex mu_;
  std::string last_authorization_ ABSL_GUARDED_BY(mu_);
};

// KvService::Get echoes the request and the authorization it saw.
class FakeKv final : public v1::KvService::Service {
 public:
  grpc::Status Get(grpc::ServerContext* context,
                   const v1::KvGetRequest* request,
                   v1::KvGetResponse* response) override {
    if (request->path() == "missing") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no secret at missing");
    }
    (*response->mutable_data())["authorization"] = AuthorizationOf(context);
    (*response->mutable_data())["mount"] = request->mount();
    (*response->mutable_data())["path"] = request->path();
    response->mutable_metadata()->set_version(request->version());
    return grpc::Status::OK;
  }
};

// DatabaseService whose calls fail with UNAVAILABLE `failures` times (as if
// the connection dropped after the server acted), then succeed. Counts
// calls per RPC and keeps the last write request.
class FakeDatabase final : public v1::DatabaseService::Service {
 public:
  std::atomic<int> failures{0};
  std::atomic<int> creds_calls{0};
  std::atomic<int> rotate_calls{0};
  std::atomic<int> read_role_calls{0};

  v1::DatabaseWriteConnectionRequest last_write() {
    absl::MutexLock lock(&mu_);
    return last_write_;
  }

  grpc::Status WriteConnection(grpc::ServerContext* context,
                               const v1::DatabaseWriteConnectionRequest* req,
                               v1::DatabaseConnection* resp) override {
    {
      absl::MutexLock lock(&mu_);
      last_write_ = *req;
      last_authorization_ = AuthorizationOf(context);
    }
    resp->set_name(req->name());
    resp->set_connection_url(req->connection_url());
    resp->set_username(req->username());
    return grpc::Status::OK;
  }
  grpc::Status RotateRoot(grpc::ServerContext*, const v1::DatabaseNameRequest*,
                          v1::DatabaseConnection*) override {
    return Fail(++rotate_calls);
  }
  grpc::Status ReadRole(grpc::ServerContext*,
                        const v1::DatabaseNameRequest* req,
                        v1::DatabaseRole* resp) override {
    if (grpc::Status s = Fail(++read_role_calls); !s.ok()) return s;
    resp->set_name(req->name());
    resp->set_db_name("pg");
    return grpc::Status::OK;
  }
  grpc::Status Creds(grpc::ServerContext*, const v1::DatabaseCredsRequest*,
                     v1::DatabaseCredsResponse*) override {
    return Fail(++creds_calls);
  }

  std::string last_authorization() {
    absl::MutexLock lock(&mu_);
    return last_authorization_;
  }

 private:
  grpc::Status Fail(int n) {
    if (n <= failures) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection reset");
    }
    return grpc::Status::OK;
  }

  absl::Mutex mu_;
  v1::DatabaseWriteConnectionRequest last_write_ ABSL_GUARDED_BY(mu_);
  std::string last_authorization_ ABSL_GUARDED_BY(mu_);
};

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&sys_);
    builder.RegisterService(&kv_);
    builder.RegisterService(&database_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }
  void TearDown() override { server_->Shutdown(); }

  ClientOptions Options() {
    ClientOptions options;
    options.address = absl::StrCat("127.0.0.1:", port_);
    options.token_from_environment = false;
    options.retry.initial_backoff = absl::Milliseconds(1);
    return options;
  }

  std::unique_ptr<Client> NewClient(ClientOptions options) {
    absl::StatusOr<std::unique_ptr<Client>> client = Client::New(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  FakeSys sys_;
  FakeKv kv_;
  FakeDatabase database_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(ClientTest, UnavailableIsRetriedUntilSuccess) {
  sys_.failures = 2;  // default policy allows 2 retries
  auto client = NewClient(Options());
  absl::StatusOr<v1::SealStatusResponse> status = client->SealStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->version(), "test");
  EXPECT_EQ(status->secret_threshold(), 3u);
  EXPECT_EQ(sys_.calls, 3);
}

TEST_F(ClientTest, UnavailableBeyondMaxRetriesReturnsLastError) {
  sys_.failures = 100;
  auto client = NewClient(Options());
  absl::StatusOr<v1::SealStatusResponse> status = client->SealStatus();
  EXPECT_EQ(status.status(), absl::UnavailableError("failure 3"));
  EXPECT_EQ(sys_.calls, 3);  // 1 attempt + 2 retries
}

TEST_F(ClientTest, ConfiguredRetryCountIsHonoured) {
  sys_.failures = 4;
  ClientOptions options = Options();
  options.retry.max_retries = 4;
  auto client = NewClient(options);
  EXPECT_TRUE(client->SealStatus().ok());
  EXPECT_EQ(sys_.calls, 5);
}

TEST_F(ClientTest, ZeroRetriesMakesExactlyOneAttempt) {
  sys_.failures = 1;
  ClientOptions options = Options();
  options.retry.max_retries = 0;
  auto client = NewClient(options);
  EXPECT_EQ(client->SealStatus().status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(sys_.calls, 1);
}

TEST_F(ClientTest, NonIdempotentInitIsNeverRetried) {
  auto client = NewClient(Options());
  v1::InitRequest request;
  request.set_secret_shares(1);
  request.set_secret_threshold(1);
  EXPECT_EQ(client->Init(request).status().code(),
            absl::StatusCode::kUnavailable);
  // A second Init would find the server initialized and the shares lost.
  EXPECT_EQ(sys_.calls, 1);
}

TEST_F(ClientTest, InvalidArgumentIsNotRetried) {
  sys_.failures = 1;
  sys_.fail_code = grpc::StatusCode::INVALID_ARGUMENT;
  auto client = NewClient(Options());
  absl::StatusOr<v1::SealStatusResponse> status = client->SealStatus();
  EXPECT_EQ(status.status(), absl::InvalidArgumentError("failure 1"));
  EXPECT_EQ(sys_.calls, 1);
}

TEST_F(ClientTest, FailedPreconditionIsNotRetried) {
  sys_.failures = 1;
  sys_.fail_code = grpc::StatusCode::FAILED_PRECONDITION;
  auto client = NewClient(Options());
  EXPECT_EQ(client->SealStatus().status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(sys_.calls, 1);
}

TEST_F(ClientTest, SlowServerHitsDeadlineWithoutRetry) {
  sys_.delay_ms = 1000;
  ClientOptions options = Options();
  options.deadline = absl::Milliseconds(100);
  auto client = NewClient(options);
  EXPECT_EQ(client->SealStatus().status().code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(sys_.calls, 1);
}

TEST_F(ClientTest, NotFoundFromServerKeepsCodeAndMessage) {
  auto client = NewClient(Options());
  v1::KvGetRequest request;
  request.set_path("missing");
  EXPECT_EQ(client->KvGet(request).status(),
            absl::NotFoundError("no secret at missing"));
}

TEST_F(ClientTest, AuthenticatedCallCarriesBearerToken) {
  ClientOptions options = Options();
  options.token = "arca.service.tok123";
  auto client = NewClient(options);
  v1::KvGetRequest request;
  request.set_mount("secret");
  request.set_path("app/db");
  request.set_version(7);
  absl::StatusOr<v1::KvGetResponse> response = client->KvGet(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->data().at("authorization"), "Bearer arca.service.tok123");
  EXPECT_EQ(response->data().at("mount"), "secret");
  EXPECT_EQ(response->data().at("path"), "app/db");
  EXPECT_EQ(response->metadata().version(), 7u);

  ASSERT_TRUE(client->Seal().ok());
  EXPECT_EQ(sys_.last_authorization(), "Bearer arca.service.tok123");
}

TEST_F(ClientTest, UnauthenticatedCallDoesNotSendToken) {
  ClientOptions options = Options();
  options.token = "arca.service.tok123";
  auto client = NewClient(options);
  ASSERT_TRUE(client->SealStatus().ok());
  EXPECT_EQ(sys_.last_authorization(), "<none>");
}

TEST_F(ClientTest, EmptyTokenSendsNoAuthorization) {
  auto client = NewClient(Options());
  absl::StatusOr<v1::KvGetResponse> response =
      client->KvGet(v1::KvGetRequest());
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->data().at("authorization"), "<none>");
}

TEST_F(ClientTest, TokenIsTakenFromEnvironmentWhenNotGiven) {
  ASSERT_EQ(setenv("ARCA_TOKEN", "arca.env.tok", 1), 0);
  ClientOptions options = Options();
  options.token_from_environment = true;
  auto client = NewClient(options);
  unsetenv("ARCA_TOKEN");
  absl::StatusOr<v1::KvGetResponse> response =
      client->KvGet(v1::KvGetRequest());
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->data().at("authorization"), "Bearer arca.env.tok");
}

TEST_F(ClientTest, UnimplementedRpcIsReportedNotRetried) {
  auto client = NewClient(Options());
  EXPECT_EQ(client->KvList(v1::KvListRequest()).status().code(),
            absl::StatusCode::kUnimplemented);
}

TEST_F(ClientTest, DatabaseCredsIsNeverRetried) {
  database_.failures = 100;
  auto client = NewClient(Options());
  v1::DatabaseCredsRequest request;
  request.set_role("readonly");
  EXPECT_EQ(client->DatabaseCreds(request).status().code(),
            absl::StatusCode::kUnavailable);
  // A repeat after a lost answer would create a second PostgreSQL login.
  EXPECT_EQ(database_.creds_calls, 1);
}

TEST_F(ClientTest, DatabaseRotateRootIsNeverRetried) {
  database_.failures = 100;
  auto client = NewClient(Options());
  v1::DatabaseNameRequest request;
  request.set_name("pg");
  EXPECT_EQ(client->DatabaseRotateRoot(request).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(database_.rotate_calls, 1);
}

TEST_F(ClientTest, DatabaseReadsAreRetriedOnUnavailable) {
  database_.failures = 2;
  auto client = NewClient(Options());
  v1::DatabaseNameRequest request;
  request.set_name("readonly");
  absl::StatusOr<v1::DatabaseRole> role = client->DatabaseReadRole(request);
  ASSERT_TRUE(role.ok()) << role.status();
  EXPECT_EQ(role->name(), "readonly");
  EXPECT_EQ(role->db_name(), "pg");
  EXPECT_EQ(database_.read_role_calls, 3);
}

TEST_F(ClientTest, DatabaseWriteConnectionSendsEveryFieldAndTheToken) {
  ClientOptions options = Options();
  options.token = "arca.service.tok123";
  auto client = NewClient(options);
  v1::DatabaseWriteConnectionRequest request;
  request.set_mount("db2");
  request.set_name("pg");
  request.set_connection_url("host=127.0.0.1 port=5432 dbname=app");
  request.set_username("arca_admin");
  request.set_password("admin-pw");
  request.add_allowed_roles("readonly");
  request.set_max_open_connections(8);
  request.set_verify_connection(false);
  absl::StatusOr<v1::DatabaseConnection> written =
      client->DatabaseWriteConnection(request);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(written->name(), "pg");
  const v1::DatabaseWriteConnectionRequest seen = database_.last_write();
  EXPECT_EQ(seen.SerializeAsString(), request.SerializeAsString());
  EXPECT_TRUE(seen.has_verify_connection());
  EXPECT_EQ(database_.last_authorization(), "Bearer arca.service.tok123");
}

TEST(ClientNewTest, RejectsInvalidOptions) {
  ClientOptions empty_address;
  empty_address.address = "";
  EXPECT_EQ(Client::New(empty_address).status().code(),
            absl::StatusCode::kInvalidArgument);

  ClientOptions zero_deadline;
  zero_deadline.deadline = absl::ZeroDuration();
  EXPECT_EQ(Client::New(zero_deadline).status().code(),
            absl::StatusCode::kInvalidArgument);

  ClientOptions bad_retry;
  bad_retry.retry.max_retries = -3;
  EXPECT_EQ(Client::New(bad_retry).status().code(),
            absl::StatusCode::kInvalidArgument);

  ClientOptions bad_token;
  bad_token.token = "secret-token\nInjected: header";
  absl::Status s = Client::New(bad_token).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().find("secret-token"), absl::string_view::npos);
}

TEST(ClientNewTest, DefaultsMatchTheDocumentedValues) {
  ClientOptions options;
  EXPECT_EQ(options.address, "127.0.0.1:8200");
  EXPECT_EQ(options.deadline, absl::Seconds(30));
  EXPECT_EQ(options.retry.max_retries, 2);
  EXPECT_EQ(options.retry.initial_backoff, absl::Milliseconds(100));
}

}  // namespace
}  // namespace arca
