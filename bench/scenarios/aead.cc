// aead-floor: AES-256-GCM encryption of the payload in arca-bench's own
// process, through kms::AesGcm (the same code and OpenSSL context reuse the
// server uses). The crypto ceiling for bulk scenarios.

#include "bench/arca_bench/scenario.h"
#include "kms/aes_gcm.h"
#include "kms/random.h"
#include "kms/status_macros.h"

namespace arca::bench {
namespace {

class AeadScenario : public Scenario {
 public:
  absl::Status Prepare(const ScenarioContext& context) override {
    kms::SecretBytes key = kms::RandomSecret(32);
    ASSIGN_OR_RETURN(aead_, kms::AesGcm::New(key));
    plaintext_ = RandomValue(context.payload_bytes, 3);
    items_ = context.items;
    return absl::OkStatus();
  }

  // One operation encrypts `items` separate messages, each with its own
  // nonce and tag, as a batch call does (not one message of items x size).
  absl::Status RunOnce(int worker) override {
    for (int i = 0; i < items_; ++i) {
      ASSIGN_OR_RETURN(std::string ciphertext,
                       aead_->Encrypt(plaintext_, "arca-bench/aead-floor"));
      // A ciphertext of the wrong size would mean nothing was measured.
      if (ciphertext.size() !=
          plaintext_.size() + kms::AesGcm::kNonceSize + kms::AesGcm::kTagSize) {
        return absl::InternalError("unexpected ciphertext size");
      }
    }
    return absl::OkStatus();
  }

 private:
  std::unique_ptr<kms::AesGcm> aead_;
  std::string plaintext_;
  int items_ = 1;
};

const ScenarioRegistrar kRegistrar({
    {.name = "aead-floor",
     .description =
         "in-process AES-256-GCM encryption of the payload (crypto ceiling)",
     .server = ServerKind::kInProcess,
     .factory = [] { return std::make_unique<AeadScenario>(); }},
});

}  // namespace
}  // namespace arca::bench
