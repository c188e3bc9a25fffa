#ifndef ARCA_BENCH_ARCA_BENCH_SCENARIO_H_
#define ARCA_BENCH_ARCA_BENCH_SCENARIO_H_

// The scenario registry of arca-bench. Each engine registers its scenarios in
// one file of its own, bench/scenarios/<engine>.cc, with a static
// ScenarioRegistrar; every .cc in that folder is compiled into arca-bench.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/status.h"

namespace arca::bench {

// The process a scenario sends its requests to, and whose CPU and RSS the
// report shows for it.
enum class ServerKind {
  kArcad,      // arcad, started by the bench or given with --address
  kEcho,       // bench/echo_server: the RPC floor
  kEtcd,       // Debian's etcd, started by the bench
  kPostgres,   // PostgreSQL, started by the bench; spoken to over libpq
  kInProcess,  // no server: the work runs in arca-bench itself
};

// Called exactly once when a request finishes, possibly on a gRPC thread.
using DoneCallback = std::function<void(const grpc::Status&)>;

// One in-flight slot of an asynchronous scenario: it owns its request,
// response and ClientContext, and has at most one request outstanding. Used
// by one slot only, so it needs no locking.
class AsyncOp {
 public:
  virtual ~AsyncOp() = default;
  // Starts one request and returns without waiting for it.
  virtual void Start(DoneCallback done) = 0;
};

// The size of the work one operation carries: `items` messages of
// `payload_bytes` each (a batch call when items > 1), and for the echo floor
// a response of `response_bytes` (0: the request's size; per item for a
// batch), so the floor can match a scenario whose answer is larger or smaller
// than its request.
struct Shape {
  size_t payload_bytes = 1024;
  int items = 1;
  size_t response_bytes = 0;

  auto operator<=>(const Shape&) const = default;
  // "1 KiB", "1000 x 1 KiB", "1 KiB -> 1412 B", "1000 x 1 KiB -> 1412 B".
  std::string Label() const;
};

// The PostgreSQL the bench started: a superuser that logs in over TCP on
// loopback with a password (scram-sha-256), as arcad's connection does.
struct PostgresInfo {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string database = "postgres";
  std::string admin_user;
  std::string admin_password;  // random per run; never logged

  // A libpq key=value string without the password.
  std::string ConnectionString() const;
};

// What a scenario is given when it is set up.
struct ScenarioContext {
  // Channel to the scenario's server (null for kInProcess and kPostgres),
  // and its address, for set-up through the client library.
  std::shared_ptr<grpc::Channel> channel;
  std::string address;
  // Token for arcad's `authorization: Bearer` metadata; never logged.
  std::string token;
  // Size in bytes of the value each request carries (the secret's value,
  // the echoed message, the encrypted plaintext).
  size_t payload_bytes = 1024;
  // Messages per operation (batch scenarios, and aead-floor matching one).
  int items = 1;
  // Echo floor only: bytes to answer with, per item for a batch (0: echo
  // the request).
  size_t response_bytes = 0;
  // How many distinct keys reads and writes spread over.
  int keyspace = 1000;
  // Scenarios whose spec sets uses_postgres: the bench's PostgreSQL.
  const PostgresInfo* postgres = nullptr;
};

// A Scenario is one kind of request at one payload size. Prepare() runs once
// before the first step; then the driver asks for one AsyncOp per in-flight
// slot (RPC scenarios) or calls RunOnce() from worker threads (in-process
// scenarios). Thread-safe after Prepare(): ops from different slots run at
// once.
class Scenario {
 public:
  virtual ~Scenario() = default;
  // Stores what reads need, creates keys, ...
  virtual absl::Status Prepare(const ScenarioContext& context) {
    return absl::OkStatus();
  }
  // RPC scenarios: a new slot sending on `channel`. `slot` numbers the slots
  // of a step from 0, so that concurrent slots can use different keys.
  virtual std::unique_ptr<AsyncOp> NewAsyncOp(
      int slot, std::shared_ptr<grpc::Channel> channel) {
    return nullptr;
  }
  // In-process scenarios: one operation, run on worker thread `worker`.
  virtual absl::Status RunOnce(int worker) {
    return absl::UnimplementedError("not an in-process scenario");
  }
};

// How a scenario is measured and which baseline it is compared with.
struct ScenarioSpec {
  std::string name = {};         // "kv-get"; the report's "scenario"
  std::string description = {};  // one line, shown by --list
  ServerKind server = ServerKind::kArcad;
  // Arca scenarios: the payload sizes it runs at, one variant each.
  // Baselines leave this empty: they run at the sizes of the selected
  // scenarios that name them as baseline (or of all selected scenarios).
  std::vector<size_t> payload_sizes = {};
  // Name of the baseline scenario the ratio is taken against ("" for a
  // baseline itself). The baseline's entry at the same payload size and
  // concurrency is used.
  std::string baseline = {};
  // Messages of `payload_bytes` per operation (a batch call's items).
  int items_per_op = 1;
  // How the baseline must run to match this scenario at a payload size
  // (request and response sizes, items); unset: {payload, items_per_op, 0}.
  std::function<Shape(size_t payload_bytes)> baseline_shape = {};
  // A second, informational baseline: the RPC floor at this scenario's exact
  // shape (e.g. the echo of a whole batch), run whenever this scenario runs,
  // so the report shows what the transport alone leaves of `baseline`. It
  // never changes `ratio`. Empty: none.
  std::string rpc_floor = {};
  std::function<Shape(size_t payload_bytes)> rpc_floor_shape = {};
  // Whether the ratio compares ops/s (requests) or bytes/s (bulk work).
  bool ratio_of_bytes = false;
  // Whether `bytes_per_s` is meaningful (payload moved per operation).
  bool reports_bytes = true;
  // Whether Prepare needs the bench's PostgreSQL (ScenarioContext::postgres).
  bool uses_postgres = false;
  std::function<std::unique_ptr<Scenario>()> factory = {};

  bool is_baseline() const { return payload_sizes.empty(); }
  // This scenario's own shape, and its baseline's, at `payload_bytes`.
  Shape ShapeAt(size_t payload_bytes) const {
    return {payload_bytes, items_per_op, 0};
  }
  Shape BaselineShapeAt(size_t payload_bytes) const {
    return baseline_shape ? baseline_shape(payload_bytes)
                          : ShapeAt(payload_bytes);
  }
  Shape RpcFloorShapeAt(size_t payload_bytes) const {
    return rpc_floor_shape ? rpc_floor_shape(payload_bytes)
                           : ShapeAt(payload_bytes);
  }
};

// Adds `spec` to the registry; names must be unique (a duplicate aborts at
// start-up, before any work). Not thread-safe: call from static
// initialization only, through ScenarioRegistrar.
void RegisterScenario(ScenarioSpec spec);

// Every registered scenario: Arca scenarios first, then baselines, each
// sorted by name.
std::vector<ScenarioSpec> RegisteredScenarios();

// Registers scenarios at static-initialization time:
//   const ScenarioRegistrar kRegistrar({spec1, spec2});
class ScenarioRegistrar {
 public:
  explicit ScenarioRegistrar(std::vector<ScenarioSpec> specs) {
    for (auto& s : specs) RegisterScenario(std::move(s));
  }
};

// UnaryOp adapts one unary RPC of a generated stub's callback interface
// (`stub->async()->Method(...)`) to AsyncOp. `prepare` fills the request
// before each call (e.g. picks the next key); `check`, if set, turns an OK
// answer that does not hold what was asked for into an error, so a baseline
// never measures empty answers; `metadata` is sent with every call. A fresh
// ClientContext per call, as gRPC requires.
template <typename Request, typename Response>
class UnaryOp : public AsyncOp {
 public:
  using Invoke = std::function<void(grpc::ClientContext*, const Request*,
                                    Response*, DoneCallback)>;
  using Check = std::function<grpc::Status(const Response&)>;
  UnaryOp(Invoke invoke, std::function<void(Request&)> prepare,
          std::vector<std::pair<std::string, std::string>> metadata,
          Check check = nullptr)
      : invoke_(std::move(invoke)),
        prepare_(std::move(prepare)),
        metadata_(std::move(metadata)),
        check_(std::move(check)) {}

  void Start(DoneCallback done) override {
    context_ = std::make_unique<grpc::ClientContext>();
    for (const auto& [key, value] : metadata_)
      context_->AddMetadata(key, value);
    context_->set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(30));
    if (prepare_) prepare_(request_);
    response_.Clear();
    if (!check_) {
      invoke_(context_.get(), &request_, &response_, std::move(done));
      return;
    }
    invoke_(context_.get(), &request_, &response_,
            [this, done = std::move(done)](const grpc::Status& status) {
              done(status.ok() ? check_(response_) : status);
            });
  }

  Request& request() { return request_; }

 private:
  Invoke invoke_;
  std::function<void(Request&)> prepare_;
  std::vector<std::pair<std::string, std::string>> metadata_;
  Check check_;
  std::unique_ptr<grpc::ClientContext> context_;
  Request request_;
  Response response_;
};

// Runs `issue(i, done)` for i in [0, count) with at most `in_flight`
// outstanding; returns the first error (with its index), or OK. For
// preloading data before a step.
absl::Status RunPipelined(int count, int in_flight,
                          std::function<void(int, DoneCallback)> issue);

// Runs `count` requests over a pool of reusable ops, one request in flight
// per op: `prepare(op, i)` readies `ops[op]` for request i, which is then
// started. An op is handed out again only after its request completed.
// Returns the first error, or OK. For preloading data.
absl::Status RunOverOpPool(int count, const std::vector<AsyncOp*>& ops,
                           const std::function<void(int op, int i)>& prepare);

// OK, or `status` as an absl::Status with `what` (the call) prefixed to its
// message. For the set-up calls of Prepare.
absl::Status StatusFromGrpc(const grpc::Status& status, const std::string& what);

// A printable random string of `size` bytes (valid UTF-8, as proto3 strings
// must be).
std::string RandomValue(size_t size, uint64_t seed);

// The key a slot uses for its n-th request: slots start far apart in the
// keyspace, so concurrent slots rarely touch the same key.
inline int KeyIndex(int slot, uint64_t n, int keyspace) {
  return static_cast<int>((static_cast<uint64_t>(slot) * 7919 + n) %
                          static_cast<uint64_t>(keyspace));
}

}  // namespace arca::bench

#endif  // ARCA_BENCH_ARCA_BENCH_SCENARIO_H_
