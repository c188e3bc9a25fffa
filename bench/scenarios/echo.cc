// echo-floor: the gRPC round trip alone, against bench/echo_server, at the
// payload sizes of the Arca scenarios, and at a batch call's shape (items of
// payload_bytes answered by as many of response_bytes). Arca cannot be faster
// than this.

#include "bench/arca_bench/scenario.h"
#include "bench/echo_server/echo.grpc.pb.h"

namespace arca::bench {
namespace {

using EchoOp = UnaryOp<v1::EchoMessage, v1::EchoMessage>;

grpc::Status CheckPayload(const v1::EchoMessage& resp, size_t expected) {
  if (resp.payload().size() == expected) return grpc::Status::OK;
  return grpc::Status(grpc::StatusCode::INTERNAL,
                      "echo answered with the wrong size");
}

// Every item is looked at, so a short answer never counts as a batch.
grpc::Status CheckItems(const v1::EchoMessage& resp, int items,
                        size_t expected) {
  if (resp.items_size() != items) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        "echo answered with another item count");
  }
  for (const std::string& item : resp.items()) {
    if (item.size() != expected) {
      return grpc::Status(grpc::StatusCode::INTERNAL,
                          "echo answered an item of the wrong size");
    }
  }
  return grpc::Status::OK;
}

// Sends `payload_bytes` and gets them (or `response_bytes`) back, with the same
// authorization metadata as an arcad request so the headers weigh the same.
// With items > 1, sends that many items of `payload_bytes` in `items` and
// expects as many back, each of `response_bytes` (0: the item's size).
class EchoScenario : public Scenario {
 public:
  absl::Status Prepare(const ScenarioContext& context) override {
    context_ = context;
    payload_ = RandomValue(context.payload_bytes, 2);
    return absl::OkStatus();
  }

  std::unique_ptr<AsyncOp> NewAsyncOp(
      int slot, std::shared_ptr<grpc::Channel> channel) override {
    auto stub = std::shared_ptr<v1::EchoService::Stub>(
        v1::EchoService::NewStub(channel));
    const size_t expected = context_.response_bytes > 0
                                ? context_.response_bytes
                                : context_.payload_bytes;
    const int items = context_.items > 1 ? context_.items : 0;
    auto op = std::make_unique<EchoOp>(
        [stub, items](grpc::ClientContext* c, const v1::EchoMessage* req,
                      v1::EchoMessage* resp, DoneCallback done) {
          if (items > 0) {
            stub->async()->EchoBatch(c, req, resp, std::move(done));
          } else {
            stub->async()->Echo(c, req, resp, std::move(done));
          }
        },
        nullptr,
        std::vector<std::pair<std::string, std::string>>{
            {"authorization", "Bearer " + context_.token}},
        [expected, items](const v1::EchoMessage& resp) {
          return items > 0 ? CheckItems(resp, items, expected)
                           : CheckPayload(resp, expected);
        });
    if (items > 0) {
      for (int i = 0; i < items; ++i) op->request().add_items(payload_);
    } else {
      op->request().set_payload(payload_);
    }
    op->request().set_response_bytes(
        static_cast<uint32_t>(context_.response_bytes));
    return op;
  }

 private:
  ScenarioContext context_;
  std::string payload_;
};

const ScenarioRegistrar kRegistrar({
    {.name = "echo-floor",
     .description = "gRPC echo of the payload by bench/echo_server (RPC floor)",
     .server = ServerKind::kEcho,
     .factory = [] { return std::make_unique<EchoScenario>(); }},
});

}  // namespace
}  // namespace arca::bench
