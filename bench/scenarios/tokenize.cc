// Tokenize scenarios: Encode of a 16-digit card number (the built-in `pan`
// template) with an FPE transformation (FF1, nothing stored) and with a
// vaulted tokenization transformation (a random token stored per value),
// one value per call and 1,000 per BatchEncode call.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "arca/v1/tokenize.grpc.pb.h"
#include "bench/arca_bench/scenario.h"
#include "kms/status_macros.h"

namespace arca::bench {
namespace {

constexpr char kMount[] = "tokenize";
constexpr char kRole[] = "arca-bench";
constexpr char kFpe[] = "arca-bench-fpe";
constexpr char kVault[] = "arca-bench-vault";
constexpr int kBatchItems = 1000;
constexpr size_t kPanBytes = 16;

using Metadata = std::vector<std::pair<std::string, std::string>>;
using EncodeOp = UnaryOp<v1::TokenizeEncodeRequest, v1::TokenizeEncodeResponse>;
using BatchEncodeOp =
    UnaryOp<v1::TokenizeBatchEncodeRequest, v1::TokenizeBatchEncodeResponse>;

// A 16-digit card number of one issuer (BIN 411111), distinct for each n
// below 10^6, with the last four digits spread as real cards' are: the
// `pan` template keeps the BIN and the last four, so cards that all ended in
// 1234 would share one space of 10^6 tokens and the run would measure that
// space filling up (collisions and retries) instead of tokenization.
std::string Pan(uint64_t n) {
  n %= 1000000;
  const uint64_t last4 = (n * 7919 + n / 10000) % 10000;
  return absl::StrFormat("411111%06d%04d", static_cast<int>(n),
                         static_cast<int>(last4));
}

// Creates both transformations and the role binding them; existing ones (a
// second scenario's Prepare, a rerun) are fine.
absl::Status CreateTransformations(const ScenarioContext& context) {
  auto stub = v1::TokenizeService::NewStub(context.channel);
  for (const auto& [name, type] :
       {std::pair{kFpe, "fpe"}, std::pair{kVault, "tokenization"}}) {
    grpc::ClientContext call;
    call.AddMetadata("authorization", "Bearer " + context.token);
    v1::TokenizeCreateTransformationRequest request;
    request.set_mount(kMount);
    request.set_name(name);
    request.set_type(type);
    request.set_template_("pan");
    v1::TokenizeTransformation created;
    grpc::Status status = stub->CreateTransformation(&call, request, &created);
    if (status.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
      RETURN_IF_ERROR(StatusFromGrpc(status, "tokenize CreateTransformation"));
    }
  }
  grpc::ClientContext call;
  call.AddMetadata("authorization", "Bearer " + context.token);
  v1::TokenizeWriteRoleRequest role;
  role.set_mount(kMount);
  role.set_name(kRole);
  role.add_transformations(kFpe);
  role.add_transformations(kVault);
  v1::TokenizeRole written;
  return StatusFromGrpc(stub->WriteRole(&call, role, &written),
                        "tokenize WriteRole");
}

// A token of an FPE transformation keeps the value's format; a vaulted one
// only has to exist.
grpc::Status CheckToken(bool fpe, const std::string& token) {
  if (fpe ? token.size() == kPanBytes : !token.empty()) {
    return grpc::Status::OK;
  }
  return grpc::Status(grpc::StatusCode::INTERNAL,
                      "Encode returned no token of the expected form");
}

class TokenizeEncode : public Scenario {
 public:
  TokenizeEncode(bool fpe, bool batch) : fpe_(fpe), batch_(batch) {}

  absl::Status Prepare(const ScenarioContext& context) override {
    context_ = context;
    return CreateTransformations(context);
  }

  std::unique_ptr<AsyncOp> NewAsyncOp(
      int slot, std::shared_ptr<grpc::Channel> channel) override {
    auto stub = std::shared_ptr<v1::TokenizeService::Stub>(
        v1::TokenizeService::NewStub(std::move(channel)));
    // Each slot encodes its own run of card numbers.
    auto counter = std::make_shared<uint64_t>(static_cast<uint64_t>(slot) *
                                              7919 * kBatchItems);
    const bool fpe = fpe_;
    const char* transformation = fpe_ ? kFpe : kVault;
    if (!batch_) {
      auto op = std::make_unique<EncodeOp>(
          [stub](grpc::ClientContext* c, const v1::TokenizeEncodeRequest* req,
                 v1::TokenizeEncodeResponse* resp, DoneCallback done) {
            stub->async()->Encode(c, req, resp, std::move(done));
          },
          [counter](v1::TokenizeEncodeRequest& req) {
            req.set_value(Pan((*counter)++));
          },
          Metadata{{"authorization", "Bearer " + context_.token}},
          [fpe](const v1::TokenizeEncodeResponse& resp) {
            return CheckToken(fpe, resp.token());
          });
      op->request().set_mount(kMount);
      op->request().set_role(kRole);
      op->request().set_transformation(transformation);
      return op;
    }
    const int items = context_.items;
    auto op = std::make_unique<BatchEncodeOp>(
        [stub](grpc::ClientContext* c,
               const v1::TokenizeBatchEncodeRequest* req,
               v1::TokenizeBatchEncodeResponse* resp, DoneCallback done) {
          stub->async()->BatchEncode(c, req, resp, std::move(done));
        },
        [counter](v1::TokenizeBatchEncodeRequest& req) {
          for (auto& item : *req.mutable_items()) {
            item.set_value(Pan((*counter)++));
          }
        },
        Metadata{{"authorization", "Bearer " + context_.token}},
        [fpe, items](const v1::TokenizeBatchEncodeResponse& resp) {
          if (resp.results_size() != items) {
            return grpc::Status(grpc::StatusCode::INTERNAL,
                                "BatchEncode returned another item count");
          }
          for (const auto& r : resp.results()) {
            if (r.code() != 0) {
              return grpc::Status(
                  grpc::StatusCode::INTERNAL,
                  absl::StrCat("batch item failed: ", r.error()));
            }
            if (grpc::Status st = CheckToken(fpe, r.token()); !st.ok()) {
              return st;
            }
          }
          return grpc::Status::OK;
        });
    op->request().set_mount(kMount);
    op->request().set_role(kRole);
    op->request().set_transformation(transformation);
    for (int i = 0; i < items; ++i) op->request().add_items();
    return op;
  }

 private:
  const bool fpe_;
  const bool batch_;
  ScenarioContext context_;
};

const ScenarioRegistrar kRegistrar({
    {.name = "tokenize-fpe",
     .description = "TokenizeService.Encode of a card number, FF1 (pan)",
     .server = ServerKind::kArcad,
     .payload_sizes = {kPanBytes},
     .factory = [] { return std::make_unique<TokenizeEncode>(true, false); }},
    {.name = "tokenize-fpe-batch",
     .description = "TokenizeService.BatchEncode of 1,000 card numbers, FF1",
     .server = ServerKind::kArcad,
     .payload_sizes = {kPanBytes},
     .items_per_op = kBatchItems,
     .factory = [] { return std::make_unique<TokenizeEncode>(true, true); }},
    {.name = "tokenize-vault",
     .description =
         "TokenizeService.Encode of a card number, vaulted random token",
     .server = ServerKind::kArcad,
     .payload_sizes = {kPanBytes},
     .factory = [] { return std::make_unique<TokenizeEncode>(false, false); }},
    {.name = "tokenize-vault-batch",
     .description =
         "TokenizeService.BatchEncode of 1,000 card numbers, vaulted tokens",
     .server = ServerKind::kArcad,
     .payload_sizes = {kPanBytes},
     .items_per_op = kBatchItems,
     .factory = [] { return std::make_unique<TokenizeEncode>(false, true); }},
});

}  // namespace
}  // namespace arca::bench
