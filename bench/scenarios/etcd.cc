// etcd baselines: etcd-range and etcd-put through etcd's v3 KV gRPC API
// (bench/etcd/etcd_kv.proto), 1 KiB values, against Debian's etcd started by
// the bench. etcd is what Kubernetes Secrets live in.

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench/arca_bench/scenario.h"
#include "bench/etcd/etcd_kv.grpc.pb.h"
#include "client/status.h"

namespace arca::bench {
namespace {

using RangeOp =
    UnaryOp<etcdserverpb::RangeRequest, etcdserverpb::RangeResponse>;
using PutOp = UnaryOp<etcdserverpb::PutRequest, etcdserverpb::PutResponse>;

std::string Key(std::string_view area, int index) {
  return absl::StrFormat("arca-bench/%s/%06d", area, index);
}

std::unique_ptr<PutOp> NewPutOp(
    std::shared_ptr<etcdserverpb::KV::Stub> stub,
    std::function<void(etcdserverpb::PutRequest&)> prepare) {
  return std::make_unique<PutOp>(
      [stub](grpc::ClientContext* c, const etcdserverpb::PutRequest* req,
             etcdserverpb::PutResponse* resp, DoneCallback done) {
        stub->async()->Put(c, req, resp, std::move(done));
      },
      std::move(prepare), std::vector<std::pair<std::string, std::string>>{});
}

// Range (etcd's default linearizable read) of one preloaded key, or Put of
// one key (etcd fsyncs its WAL before acknowledging, as arcad does).
class EtcdScenario : public Scenario {
 public:
  explicit EtcdScenario(bool writes) : writes_(writes) {}

  absl::Status Prepare(const ScenarioContext& context) override {
    context_ = context;
    value_ = RandomValue(context.payload_bytes, 4);
    auto stub = std::shared_ptr<etcdserverpb::KV::Stub>(
        etcdserverpb::KV::NewStub(context.channel));
    // etcd listens before its single member has elected itself leader; the
    // first write waits for that.
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    for (;;) {
      grpc::ClientContext ctx;
      ctx.set_wait_for_ready(true);
      ctx.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
      etcdserverpb::PutRequest req;
      req.set_key("arca-bench/ready");
      req.set_value("1");
      etcdserverpb::PutResponse resp;
      grpc::Status status = stub->Put(&ctx, req, &resp);
      if (status.ok()) break;
      if (absl::Now() > deadline) return FromGrpcStatus(status);
      absl::SleepFor(absl::Milliseconds(100));
    }
    if (writes_) return absl::OkStatus();
    std::vector<std::unique_ptr<PutOp>> ops;
    std::vector<AsyncOp*> pool;
    for (int i = 0; i < 64; ++i) {
      ops.push_back(NewPutOp(stub, nullptr));
      ops.back()->request().set_value(value_);
      pool.push_back(ops.back().get());
    }
    return RunOverOpPool(context.keyspace, pool, [&](int op, int i) {
      ops[op]->request().set_key(Key("get", i));
    });
  }

  std::unique_ptr<AsyncOp> NewAsyncOp(
      int slot, std::shared_ptr<grpc::Channel> channel) override {
    auto stub = std::shared_ptr<etcdserverpb::KV::Stub>(
        etcdserverpb::KV::NewStub(channel));
    auto counter = std::make_shared<uint64_t>(0);
    const int keyspace = context_.keyspace;
    if (writes_) {
      auto op = NewPutOp(stub, [=](etcdserverpb::PutRequest& req) {
        req.set_key(Key("put", KeyIndex(slot, (*counter)++, keyspace)));
      });
      op->request().set_value(value_);
      return op;
    }
    return std::make_unique<RangeOp>(
        [stub](grpc::ClientContext* c, const etcdserverpb::RangeRequest* req,
               etcdserverpb::RangeResponse* resp, DoneCallback done) {
          stub->async()->Range(c, req, resp, std::move(done));
        },
        [=](etcdserverpb::RangeRequest& req) {
          req.set_key(Key("get", KeyIndex(slot, (*counter)++, keyspace)));
        },
        std::vector<std::pair<std::string, std::string>>{},
        [size = value_.size()](const etcdserverpb::RangeResponse& resp) {
          if (resp.kvs_size() == 1 && resp.kvs(0).value().size() == size) {
            return grpc::Status::OK;
          }
          return grpc::Status(grpc::StatusCode::NOT_FOUND,
                              "etcd Range did not return the preloaded value");
        });
  }

 private:
  const bool writes_;
  ScenarioContext context_;
  std::string value_;
};

const ScenarioRegistrar kRegistrar({
    {.name = "etcd-range",
     .description =
         "etcd v3 KV.Range of one 1 KiB key (linearizable, etcd's default)",
     .server = ServerKind::kEtcd,
     .factory = [] { return std::make_unique<EtcdScenario>(false); }},
    {.name = "etcd-put",
     .description = "etcd v3 KV.Put of one 1 KiB key (WAL fsync)",
     .server = ServerKind::kEtcd,
     .factory = [] { return std::make_unique<EtcdScenario>(true); }},
});

}  // namespace
}  // namespace arca::bench
