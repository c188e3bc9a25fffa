// arca-bench's plan and echo floor at a batch shape: selecting transit-batch
// brings echo-floor at its exact shape (1,000 x 1 KiB answered by 1,000
// ciphertext strings), and the echo server answers N items of R bytes.

#include "bench/arca_bench/plan.h"

#include <algorithm>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "bench/arca_bench/scenario.h"
#include "bench/echo_server/echo_service.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace arca::bench {
namespace {

// "arca:v1:" + base64 (padded) of 12-byte nonce, 1,024 bytes and 16-byte tag.
constexpr size_t kCiphertextOf1KiB = 8 + (12 + 1024 + 16 + 2) / 3 * 4;
static_assert(kCiphertextOf1KiB == 1412);

const Shape kBatchFloor{1024, 1000, kCiphertextOf1KiB};

std::vector<ScenarioSpec> Select(const std::vector<std::string>& names) {
  std::vector<ScenarioSpec> selected;
  for (const auto& spec : RegisteredScenarios()) {
    if (std::find(names.begin(), names.end(), spec.name) != names.end())
      selected.push_back(spec);
  }
  EXPECT_EQ(selected.size(), names.size());
  return selected;
}

std::vector<Shape> ShapesOf(const std::vector<PlannedVariant>& plan,
                            const std::string& name) {
  std::vector<Shape> shapes;
  for (const auto& v : plan) {
    if (v.spec.name == name) shapes.push_back(v.shape);
  }
  return shapes;
}

TEST(BenchPlanTest, TransitBatchBringsTheEchoFloorAtItsBatchShape) {
  const auto plan = PlanVariants(Select({"transit-batch", "aead-floor"}),
                                 RegisteredScenarios());
  EXPECT_EQ(ShapesOf(plan, "transit-batch"),
            (std::vector<Shape>{{1024, 1000, 0}}));
  EXPECT_EQ(ShapesOf(plan, "aead-floor"),
            (std::vector<Shape>{{1024, 1000, 0}}));
  EXPECT_EQ(ShapesOf(plan, "echo-floor"), std::vector<Shape>{kBatchFloor});
  EXPECT_EQ(kBatchFloor.Label(), "1000 x 1 KiB -> 1412 B");
}

TEST(BenchPlanTest, ASelectedEchoFloorKeepsItsSingleShapesAndAddsTheBatch) {
  // Alone with transit-batch, echo-floor ran at 1 KiB before; it still does.
  auto plan = PlanVariants(
      Select({"transit-batch", "aead-floor", "echo-floor"}),
      RegisteredScenarios());
  EXPECT_EQ(ShapesOf(plan, "echo-floor"),
            (std::vector<Shape>{{1024, 1, 0}, kBatchFloor}));

  // With transit-encrypt, its single shapes plus the batch, each once.
  plan = PlanVariants(
      Select({"transit-encrypt", "transit-batch", "echo-floor"}),
      RegisteredScenarios());
  const auto echo = ShapesOf(plan, "echo-floor");
  EXPECT_EQ(echo.size(), 4u);
  EXPECT_EQ(std::count(echo.begin(), echo.end(), kBatchFloor), 1);
  EXPECT_EQ(std::count(echo.begin(), echo.end(),
                       Shape{1024, 1, kCiphertextOf1KiB}),
            1);
}

TEST(BenchPlanTest, AScenarioChosenAloneBringsItsBaselineAtItsShape) {
  // transit-batch alone: aead-floor (its baseline) at its batch shape, and
  // the echo floor at the batch shape only.
  auto plan = PlanVariants(Select({"transit-batch"}), RegisteredScenarios());
  EXPECT_EQ(ShapesOf(plan, "aead-floor"),
            (std::vector<Shape>{{1024, 1000, 0}}));
  EXPECT_EQ(ShapesOf(plan, "echo-floor"), std::vector<Shape>{kBatchFloor});
  // transit-encrypt alone: echo-floor at each of its three sizes, as when
  // both are chosen, and once each.
  plan = PlanVariants(Select({"transit-encrypt"}), RegisteredScenarios());
  const auto alone = ShapesOf(plan, "echo-floor");
  plan = PlanVariants(Select({"transit-encrypt", "echo-floor"}),
                      RegisteredScenarios());
  EXPECT_EQ(alone.size(), 3u);
  EXPECT_EQ(alone, ShapesOf(plan, "echo-floor"));
}

TEST(BenchPlanTest, WithoutTransitBatchNoBatchEchoRuns) {
  const auto plan =
      PlanVariants(Select({"transit-encrypt", "echo-floor"}),
                   RegisteredScenarios());
  for (const Shape& shape : ShapesOf(plan, "echo-floor")) {
    EXPECT_EQ(shape.items, 1);
  }
}

TEST(BenchEchoTest, FillEchoResponseAnswersNItemsOfRBytes) {
  v1::EchoMessage request;
  for (int i = 0; i < 1000; ++i) request.add_items(std::string(1024, 'p'));
  request.set_response_bytes(kCiphertextOf1KiB);
  v1::EchoMessage response;
  FillEchoResponse(request, &response);
  ASSERT_EQ(response.items_size(), 1000);
  for (const auto& item : response.items()) {
    EXPECT_EQ(item.size(), kCiphertextOf1KiB);
  }
  EXPECT_TRUE(response.payload().empty());

  // Without response_bytes, each item is echoed.
  request.set_response_bytes(0);
  request.mutable_items(7)->assign("seven");
  response.Clear();
  FillEchoResponse(request, &response);
  ASSERT_EQ(response.items_size(), 1000);
  EXPECT_EQ(response.items(7), "seven");
}

TEST(BenchEchoTest, SinglePayloadAnswersAreUnchanged) {
  v1::EchoMessage request;
  request.set_payload("hello");
  v1::EchoMessage response;
  FillEchoResponse(request, &response);
  EXPECT_EQ(response.payload(), "hello");
  EXPECT_EQ(response.items_size(), 0);

  request.set_response_bytes(1412);
  response.Clear();
  FillEchoResponse(request, &response);
  EXPECT_EQ(response.payload().size(), 1412u);
  EXPECT_EQ(response.items_size(), 0);
}

// The echo-floor scenario at the batch shape, against the echo service over
// a real gRPC channel: one call succeeds, so its size checks pass.
TEST(BenchEchoTest, EchoFloorScenarioRunsAtTheBatchShape) {
  EchoService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.SetMaxReceiveMessageSize(4 * 1024 * 1024);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ASSERT_GT(port, 0);
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                     grpc::InsecureChannelCredentials());

  auto specs = Select({"echo-floor"});
  ASSERT_EQ(specs.size(), 1u);
  for (const Shape& shape : {kBatchFloor, Shape{1024, 1, 0}}) {
    std::unique_ptr<Scenario> scenario = specs[0].factory();
    ScenarioContext context;
    context.channel = channel;
    context.token = std::string(48, 'x');
    context.payload_bytes = shape.payload_bytes;
    context.items = shape.items;
    context.response_bytes = shape.response_bytes;
    ASSERT_TRUE(scenario->Prepare(context).ok());
    std::unique_ptr<AsyncOp> op = scenario->NewAsyncOp(0, channel);
    ASSERT_NE(op, nullptr);
    std::promise<grpc::Status> done;
    op->Start([&](const grpc::Status& status) { done.set_value(status); });
    const grpc::Status status = done.get_future().get();
    EXPECT_TRUE(status.ok()) << shape.Label() << ": " << status.error_message();
  }
  server->Shutdown();
}

}  // namespace
}  // namespace arca::bench
