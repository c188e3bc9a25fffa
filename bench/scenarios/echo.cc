// echo-floor: the gRPC round trip alone, against bench/echo_server, at the
// payload sizes of the Arca scenarios. Arca cannot be faster than this.

#include "bench/arca_bench/scenario.h"
#include "bench/echo_server/echo.grpc.pb.h"

namespace arca::bench {
namespace {

using EchoOp = UnaryOp<v1::EchoMessage, v1::EchoMessage>;

// Sends `payload_bytes` and gets them (or `response_bytes`) back, with the same
// authorization metadata as an arcad request so the headers weigh the same.
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
    auto op = std::make_unique<EchoOp>(
        [stub](grpc::ClientContext* c, const v1::EchoMessage* req,
               v1::EchoMessage* resp, DoneCallback done) {
          stub->async()->Echo(c, req, resp, std::move(done));
        },
        nullptr,
        std::vector<std::pair<std::string, std::string>>{
            {"authorization", "Bearer " + context_.token}},
        [expected](const v1::EchoMessage& resp) {
          if (resp.payload().size() == expected) return grpc::Status::OK;
          return grpc::Status(grpc::StatusCode::INTERNAL,
                              "echo answered with the wrong size");
        });
    op->request().set_payload(payload_);
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
