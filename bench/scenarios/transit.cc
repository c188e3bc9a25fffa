// Transit scenarios: encrypt and decrypt at 64 B, 1 KiB and 16 KiB against
// the echo floor with the same request and response sizes, a batch of
// 1,000 x 1 KiB against in-process AES-256-GCM of 1,000 messages (and, for
// information, against the echo floor of the same batch), and data key
// generation.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "arca/v1/transit.grpc.pb.h"
#include "bench/arca_bench/scenario.h"
#include "kms/status_macros.h"

namespace arca::bench {
namespace {

constexpr char kMount[] = "transit";
constexpr char kKeyName[] = "arca-bench";
constexpr int kBatchItems = 1000;

using Metadata = std::vector<std::pair<std::string, std::string>>;
using EncryptOp =
    UnaryOp<v1::TransitEncryptRequest, v1::TransitEncryptResponse>;
using DecryptOp =
    UnaryOp<v1::TransitDecryptRequest, v1::TransitDecryptResponse>;
using BatchOp = UnaryOp<v1::TransitBatchRequest, v1::TransitBatchResponse>;
using DataKeyOp =
    UnaryOp<v1::TransitDataKeyRequest, v1::TransitDataKeyResponse>;

Metadata AuthMetadata(const std::string& token) {
  return {{"authorization", "Bearer " + token}};
}

// The size of transit's ciphertext string for an aes256-gcm96 key at
// version 1: "arca:v1:" + base64(12-byte nonce || ciphertext || 16-byte tag).
size_t CiphertextSize(size_t plaintext_bytes) {
  return 8 + (plaintext_bytes + 12 + 16 + 2) / 3 * 4;
}

// Creates the bench's key; an existing one (a rerun against --address) is
// fine.
absl::Status CreateKey(const ScenarioContext& context) {
  auto stub = v1::TransitService::NewStub(context.channel);
  grpc::ClientContext call;
  call.AddMetadata("authorization", "Bearer " + context.token);
  v1::TransitCreateKeyRequest request;
  request.set_mount(kMount);
  request.set_name(kKeyName);
  v1::TransitKey key;
  grpc::Status status = stub->CreateKey(&call, request, &key);
  if (status.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
    return absl::OkStatus();
  }
  return StatusFromGrpc(status, "transit CreateKey");
}

std::shared_ptr<v1::TransitService::Stub> NewStub(
    std::shared_ptr<grpc::Channel> channel) {
  return std::shared_ptr<v1::TransitService::Stub>(
      v1::TransitService::NewStub(std::move(channel)));
}

// transit-encrypt: Encrypt of the payload with the latest key version.
class TransitEncrypt : public Scenario {
 public:
  absl::Status Prepare(const ScenarioContext& context) override {
    context_ = context;
    plaintext_ = RandomValue(context.payload_bytes, 11);
    return CreateKey(context);
  }

  std::unique_ptr<AsyncOp> NewAsyncOp(
      int slot, std::shared_ptr<grpc::Channel> channel) override {
    auto stub = NewStub(std::move(channel));
    auto op = std::make_unique<EncryptOp>(
        [stub](grpc::ClientContext* c, const v1::TransitEncryptRequest* req,
               v1::TransitEncryptResponse* resp, DoneCallback done) {
          stub->async()->Encrypt(c, req, resp, std::move(done));
        },
        nullptr, AuthMetadata(context_.token),
        [size = CiphertextSize(plaintext_.size())](
            const v1::TransitEncryptResponse& resp) {
          if (resp.ciphertext().size() == size) return grpc::Status::OK;
          return grpc::Status(grpc::StatusCode::INTERNAL,
                              "Encrypt returned a ciphertext of another size");
        });
    op->request().set_mount(kMount);
    op->request().set_name(kKeyName);
    op->request().set_plaintext(plaintext_);
    return op;
  }

 private:
  ScenarioContext context_;
  std::string plaintext_;
};

// transit-decrypt: Decrypt of a ciphertext of the payload made in Prepare.
class TransitDecrypt : public Scenario {
 public:
  absl::Status Prepare(const ScenarioContext& context) override {
    context_ = context;
    RETURN_IF_ERROR(CreateKey(context));
    plaintext_ = RandomValue(context.payload_bytes, 12);
    auto stub = v1::TransitService::NewStub(context.channel);
    grpc::ClientContext call;
    call.AddMetadata("authorization", "Bearer " + context.token);
    v1::TransitEncryptRequest request;
    request.set_mount(kMount);
    request.set_name(kKeyName);
    request.set_plaintext(plaintext_);
    v1::TransitEncryptResponse response;
    if (absl::Status st =
            StatusFromGrpc(stub->Encrypt(&call, request, &response), "Encrypt");
        !st.ok()) {
      return st;
    }
    ciphertext_ = response.ciphertext();
    return absl::OkStatus();
  }

  std::unique_ptr<AsyncOp> NewAsyncOp(
      int slot, std::shared_ptr<grpc::Channel> channel) override {
    auto stub = NewStub(std::move(channel));
    auto op = std::make_unique<DecryptOp>(
        [stub](grpc::ClientContext* c, const v1::TransitDecryptRequest* req,
               v1::TransitDecryptResponse* resp, DoneCallback done) {
          stub->async()->Decrypt(c, req, resp, std::move(done));
        },
        nullptr, AuthMetadata(context_.token),
        [this](const v1::TransitDecryptResponse& resp) {
          if (resp.plaintext() == plaintext_) return grpc::Status::OK;
          return grpc::Status(grpc::StatusCode::INTERNAL,
                              "Decrypt did not return the plaintext");
        });
    op->request().set_mount(kMount);
    op->request().set_name(kKeyName);
    op->request().set_ciphertext(ciphertext_);
    return op;
  }

 private:
  ScenarioContext context_;
  std::string plaintext_;
  std::string ciphertext_;
};

// transit-batch: BatchEncrypt of `items` separate payloads in one call; every
// item must come back encrypted.
class TransitBatch : public Scenario {
 public:
  absl::Status Prepare(const ScenarioContext& context) override {
    context_ = context;
    plaintext_ = RandomValue(context.payload_bytes, 13);
    return CreateKey(context);
  }

  std::unique_ptr<AsyncOp> NewAsyncOp(
      int slot, std::shared_ptr<grpc::Channel> channel) override {
    auto stub = NewStub(std::move(channel));
    const int items = context_.items;
    auto op = std::make_unique<BatchOp>(
        [stub](grpc::ClientContext* c, const v1::TransitBatchRequest* req,
               v1::TransitBatchResponse* resp, DoneCallback done) {
          stub->async()->BatchEncrypt(c, req, resp, std::move(done));
        },
        nullptr, AuthMetadata(context_.token),
        [items](const v1::TransitBatchResponse& resp) {
          if (resp.results_size() != items) {
            return grpc::Status(grpc::StatusCode::INTERNAL,
                                "BatchEncrypt returned another item count");
          }
          for (const auto& r : resp.results()) {
            if (r.error_code() != 0 || r.output().empty()) {
              return grpc::Status(
                  grpc::StatusCode::INTERNAL,
                  absl::StrCat("batch item failed: ", r.error()));
            }
          }
          return grpc::Status::OK;
        });
    op->request().set_mount(kMount);
    op->request().set_name(kKeyName);
    for (int i = 0; i < items; ++i) {
      op->request().add_items()->set_input(plaintext_);
    }
    return op;
  }

 private:
  ScenarioContext context_;
  std::string plaintext_;
};

// datakey: GenerateDataKey of a 256-bit key, returned in plaintext and
// wrapped.
class DataKey : public Scenario {
 public:
  absl::Status Prepare(const ScenarioContext& context) override {
    context_ = context;
    return CreateKey(context);
  }

  std::unique_ptr<AsyncOp> NewAsyncOp(
      int slot, std::shared_ptr<grpc::Channel> channel) override {
    auto stub = NewStub(std::move(channel));
    auto op = std::make_unique<DataKeyOp>(
        [stub](grpc::ClientContext* c, const v1::TransitDataKeyRequest* req,
               v1::TransitDataKeyResponse* resp, DoneCallback done) {
          stub->async()->GenerateDataKey(c, req, resp, std::move(done));
        },
        nullptr, AuthMetadata(context_.token),
        [](const v1::TransitDataKeyResponse& resp) {
          if (resp.plaintext().size() == 32 && !resp.ciphertext().empty()) {
            return grpc::Status::OK;
          }
          return grpc::Status(grpc::StatusCode::INTERNAL,
                              "GenerateDataKey did not return a 256-bit key");
        });
    op->request().set_mount(kMount);
    op->request().set_name(kKeyName);
    op->request().set_bits(256);
    return op;
  }

 private:
  ScenarioContext context_;
};

const ScenarioRegistrar kRegistrar({
    {.name = "transit-encrypt",
     .description = "TransitService.Encrypt of the payload (aes256-gcm96)",
     .server = ServerKind::kArcad,
     .payload_sizes = {64, 1024, 16384},
     .baseline = "echo-floor",
     .baseline_shape =
         [](size_t payload) {
           return Shape{payload, 1, CiphertextSize(payload)};
         },
     .factory = [] { return std::make_unique<TransitEncrypt>(); }},
    {.name = "transit-decrypt",
     .description = "TransitService.Decrypt of a ciphertext of the payload",
     .server = ServerKind::kArcad,
     .payload_sizes = {64, 1024, 16384},
     .baseline = "echo-floor",
     .baseline_shape =
         [](size_t payload) {
           return Shape{CiphertextSize(payload), 1, payload};
         },
     .factory = [] { return std::make_unique<TransitDecrypt>(); }},
    {.name = "transit-batch",
     .description = "TransitService.BatchEncrypt of 1,000 x 1 KiB per call",
     .server = ServerKind::kArcad,
     .payload_sizes = {1024},
     .baseline = "aead-floor",
     .items_per_op = kBatchItems,
     // The same batch through gRPC alone: 1,000 ciphertext strings back.
     .rpc_floor = "echo-floor",
     .rpc_floor_shape =
         [](size_t payload) {
           return Shape{payload, kBatchItems, CiphertextSize(payload)};
         },
     .ratio_of_bytes = true,
     .factory = [] { return std::make_unique<TransitBatch>(); }},
    {.name = "datakey",
     .description = "TransitService.GenerateDataKey, 256 bits, plaintext too",
     .server = ServerKind::kArcad,
     .payload_sizes = {32},
     .reports_bytes = false,
     .factory = [] { return std::make_unique<DataKey>(); }},
});

}  // namespace
}  // namespace arca::bench
