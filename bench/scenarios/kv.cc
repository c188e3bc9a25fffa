// KV scenarios: kv-get and kv-put against arcad's KvService, 1 KiB values,
// compared with etcd Range and Put.

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "arca/v1/kv.grpc.pb.h"
#include "bench/arca_bench/scenario.h"

namespace arca::bench {
namespace {

constexpr char kMount[] = "kv";
constexpr char kField[] = "value";

std::string SecretPath(std::string_view area, int index) {
  return absl::StrFormat("arca-bench/%s/%06d", area, index);
}

std::vector<std::pair<std::string, std::string>> AuthMetadata(
    const std::string& token) {
  return {{"authorization", "Bearer " + token}};
}

using KvGetOp = UnaryOp<v1::KvGetRequest, v1::KvGetResponse>;
using KvPutOp = UnaryOp<v1::KvPutRequest, v1::KvPutResponse>;

// Shared by kv-get (which reads what Prepare wrote) and kv-put.
class KvScenario : public Scenario {
 public:
  explicit KvScenario(bool writes) : writes_(writes) {}

  absl::Status Prepare(const ScenarioContext& context) override {
    context_ = context;
    value_ = RandomValue(context.payload_bytes, 1);
    if (writes_) return absl::OkStatus();
    // kv-get reads `keyspace` secrets that exist.
    auto stub = v1::KvService::NewStub(context.channel);
    std::vector<std::unique_ptr<KvPutOp>> ops;
    std::vector<AsyncOp*> pool;
    for (int i = 0; i < 64; ++i) {
      ops.push_back(NewPut(stub.get()));
      pool.push_back(ops.back().get());
    }
    return RunOverOpPool(context.keyspace, pool, [&](int op, int i) {
      ops[op]->request().set_path(SecretPath("get", i));
    });
  }

  std::unique_ptr<AsyncOp> NewAsyncOp(
      int slot, std::shared_ptr<grpc::Channel> channel) override {
    auto stub =
        std::shared_ptr<v1::KvService::Stub>(v1::KvService::NewStub(channel));
    auto counter = std::make_shared<uint64_t>(0);
    const int keyspace = context_.keyspace;
    if (writes_) {
      return std::make_unique<KvPutOp>(
          [stub](grpc::ClientContext* c, const v1::KvPutRequest* req,
                 v1::KvPutResponse* resp, DoneCallback done) {
            stub->async()->Put(c, req, resp, std::move(done));
          },
          [=, value = value_](v1::KvPutRequest& req) {
            req.set_mount(kMount);
            req.set_path(
                SecretPath("put", KeyIndex(slot, (*counter)++, keyspace)));
            if (req.data().empty()) (*req.mutable_data())[kField] = value;
          },
          AuthMetadata(context_.token));
    }
    return std::make_unique<KvGetOp>(
        [stub](grpc::ClientContext* c, const v1::KvGetRequest* req,
               v1::KvGetResponse* resp, DoneCallback done) {
          stub->async()->Get(c, req, resp, std::move(done));
        },
        [=](v1::KvGetRequest& req) {
          req.set_mount(kMount);
          req.set_path(
              SecretPath("get", KeyIndex(slot, (*counter)++, keyspace)));
        },
        AuthMetadata(context_.token),
        [size = value_.size()](const v1::KvGetResponse& resp) {
          auto it = resp.data().find(kField);
          if (it != resp.data().end() && it->second.size() == size) {
            return grpc::Status::OK;
          }
          return grpc::Status(grpc::StatusCode::NOT_FOUND,
                              "KvGet did not return the preloaded value");
        });
  }

 private:
  // A put op for preloading; the caller sets the path before each Start.
  std::unique_ptr<KvPutOp> NewPut(v1::KvService::Stub* stub) {
    auto op = std::make_unique<KvPutOp>(
        [stub](grpc::ClientContext* c, const v1::KvPutRequest* req,
               v1::KvPutResponse* resp, DoneCallback done) {
          stub->async()->Put(c, req, resp, std::move(done));
        },
        nullptr, AuthMetadata(context_.token));
    op->request().set_mount(kMount);
    (*op->request().mutable_data())[kField] = value_;
    return op;
  }

  const bool writes_;
  ScenarioContext context_;
  std::string value_;
};

const ScenarioRegistrar kRegistrar({
    {.name = "kv-get",
     .description = "KvService.Get of a 1 KiB secret (latest version)",
     .server = ServerKind::kArcad,
     .payload_sizes = {1024},
     .baseline = "etcd-range",
     .factory = [] { return std::make_unique<KvScenario>(false); }},
    {.name = "kv-put",
     .description = "KvService.Put of a 1 KiB secret (new version, synced)",
     .server = ServerKind::kArcad,
     .payload_sizes = {1024},
     .baseline = "etcd-put",
     .factory = [] { return std::make_unique<KvScenario>(true); }},
});

}  // namespace
}  // namespace arca::bench
