#ifndef ARCA_SERVER_BARRIER_BARRIER_H_
#define ARCA_SERVER_BARRIER_BARRIER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms/secret_bytes.h"
#include "server/storage/backend.h"

namespace arca::barrier {

// Options for a Barrier. Defaults are the production values; tests lower the
// limits to exercise rotation and counter persistence.
struct Options {
  // A term is rotated before this many encryptions under it (AES-GCM with
  // random 96-bit nonces: SP 800-38D limits one key to 2^32 invocations).
  uint64_t max_encryptions_per_term = (uint64_t{1} << 32) - (uint64_t{1} << 20);
  // Encryptions are counted in memory and persisted in blocks of this size:
  // the keyring records "up to N reserved" before the Nth encryption, so
  // after a crash the counter resumes at the reservation, never below.
  uint64_t counter_reservation = uint64_t{1} << 16;
};

// A barrier key term as reported to operators (no key material).
struct TermInfo {
  uint32_t term = 0;
  int64_t install_time_unix = 0;
  uint64_t encryptions = 0;
};

// Barrier is the cryptographic wall between Arca and its untrusted storage.
// Every value is encrypted before it reaches the Backend.
//
// Keys: a random 256-bit root key, stored at "barrier/root-key" encrypted
// with the unseal key; a keyring of terms (term number -> 256-bit AES-GCM key,
// install time, encryption counter reservation) stored at "barrier/keyring"
// encrypted with the root key. Paths under "barrier/" are reserved: Put, Get,
// Delete, List and Batch refuse them with INVALID_ARGUMENT.
//
// Record format of every value written through Put (documented wire format):
//   term (4 bytes, big-endian) ‖ version (1 byte, 0x01) ‖ nonce (12 bytes)
//   ‖ ciphertext ‖ tag (16 bytes)
// encrypted with AES-256-GCM under the term's key, with the full storage path
// as associated data, so a value copied to another path does not decrypt.
//
// Status codes: while sealed every data operation returns UNAVAILABLE
// (IsSealedError). A record that fails authentication, has an unknown term or
// version, or is truncated returns DATA_LOSS naming the path, never any
// plaintext. A wrong unseal key is INVALID_ARGUMENT.
//
// Seal() wipes the root key and every term key from memory.
// Thread-safe: data operations run concurrently; Seal, Unseal, Rotate and
// Rekey are exclusive. The Backend is not owned and must outlive the Barrier.
class Barrier {
 public:
  explicit Barrier(storage::Backend* backend, Options options = {});
  ~Barrier();
  Barrier(const Barrier&) = delete;
  Barrier& operator=(const Barrier&) = delete;

  // True once Initialize has succeeded on this storage.
  absl::StatusOr<bool> Initialized();

  // Creates a root key and term 1, and stores the root key encrypted under
  // `unseal_key` (32 bytes). FAILED_PRECONDITION if already initialized.
  // Leaves the barrier sealed.
  absl::Status Initialize(const kms::SecretBytes& unseal_key);

  // Decrypts the root key with `unseal_key` and loads the keyring.
  // INVALID_ARGUMENT if the key is wrong; OK if already unsealed.
  absl::Status Unseal(const kms::SecretBytes& unseal_key);

  // INVALID_ARGUMENT unless `unseal_key` decrypts the root key. Works sealed
  // or unsealed; changes nothing.
  absl::Status VerifyUnsealKey(const kms::SecretBytes& unseal_key);

  // Generates a new root key, re-encrypts the keyring under it and stores it
  // under `new_unseal_key`, in one atomic batch. Needs the barrier unsealed.
  // After it returns OK neither the old unseal key nor an old root-key record
  // (e.g. from a backup) opens the keyring.
  // `plain_records` (unencrypted, outside the barrier: the seal
  // configuration) are written in the same atomic batch, so a crash never
  // leaves a new root key record beside an old share configuration.
  absl::Status Rekey(const kms::SecretBytes& new_unseal_key,
                     std::vector<storage::Mutation> plain_records = {});

  // Wipes all key material. Idempotent.
  void Seal();
  bool Sealed() const;

  // Adds a new term and makes it active; old terms still decrypt.
  absl::StatusOr<TermInfo> Rotate();
  absl::StatusOr<TermInfo> ActiveTerm() const;

  absl::StatusOr<std::optional<std::string>> Get(std::string_view path);
  absl::Status Put(std::string_view path, std::string_view value);
  absl::Status Delete(std::string_view path);
  // Same contract as storage::Backend::List.
  absl::StatusOr<std::vector<std::string>> List(std::string_view prefix);
  // Encrypts every kPut value, then applies all mutations atomically.
  absl::Status Batch(const std::vector<storage::Mutation>& mutations);
  // Batch through Backend::BatchAsync: encrypts on the calling thread, then
  // `done` gets the result once the write is durable, possibly on another
  // thread (see Backend::BatchAsync). A sealed barrier or a bad path calls
  // `done` before this returns.
  void BatchAsync(std::vector<storage::Mutation> mutations,
                  std::function<void(absl::Status)> done);

 private:
  struct State;
  storage::Backend* backend_;
  Options options_;
  std::unique_ptr<State> state_;
};

// The status every data operation returns while sealed.
absl::Status SealedError();
bool IsSealedError(const absl::Status& status);

// View is a prefix-scoped handle on a Barrier (a "chroot"): every path is
// prefixed with `prefix` before it reaches the Barrier, and List results are
// relative to it. Each engine mount receives one View and cannot reach
// outside it. Cheap to copy; thread-safe as the Barrier is. The Barrier must
// outlive the View.
class View {
 public:
  View(Barrier* barrier, std::string prefix)
      : barrier_(barrier), prefix_(std::move(prefix)) {}

  absl::StatusOr<std::optional<std::string>> Get(std::string_view path) const;
  absl::Status Put(std::string_view path, std::string_view value) const;
  absl::Status Delete(std::string_view path) const;
  absl::StatusOr<std::vector<std::string>> List(std::string_view prefix) const;
  absl::Status Batch(std::vector<storage::Mutation> mutations) const;
  void BatchAsync(std::vector<storage::Mutation> mutations,
                  std::function<void(absl::Status)> done) const;

  // A View nested under this one.
  View SubView(std::string_view subprefix) const;
  const std::string& prefix() const { return prefix_; }

 private:
  Barrier* barrier_;
  std::string prefix_;
};

}  // namespace arca::barrier

#endif  // ARCA_SERVER_BARRIER_BARRIER_H_
