#ifndef ARCA_SERVER_ENGINES_TRANSIT_ENGINE_H_
#define ARCA_SERVER_ENGINES_TRANSIT_ENGINE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kms/secret_bytes.h"
#include "server/barrier/barrier.h"

namespace arca::engines::transit {

// The kind of a transit key; fixed at creation.
enum class KeyType {
  kAes256Gcm96,        // "aes256-gcm96" (default)
  kXChaCha20Poly1305,  // "xchacha20-poly1305"
  kEd25519,            // "ed25519": Sign/VerifySignature only
  kHmac,               // "hmac": Hmac/VerifyHmac only
};

// "aes256-gcm96", ... ; ParseKeyType("") is the default, kAes256Gcm96.
std::string_view KeyTypeName(KeyType type);
absl::StatusOr<KeyType> ParseKeyType(std::string_view name);

struct KeyOptions {
  KeyType type = KeyType::kAes256Gcm96;
  // Per-context keys; encrypt/decrypt need a context. AEAD key types only.
  bool derived = false;
  bool convergent = false;  // needs derived
  bool exportable = false;  // one-way: can later be turned on, never off
  bool deletion_allowed = false;
  int64_t auto_rotate_period_ms = 0;  // 0: off; else at least one hour
};

struct KeyConfigUpdate {
  std::optional<uint32_t> min_decryption_version;  // >= 1, <= latest
  std::optional<uint32_t> min_encryption_version;  // 0 (latest) or
                                                   // min_decryption..latest
  std::optional<bool> deletion_allowed;
  std::optional<bool> exportable;  // false is refused once true
  std::optional<int64_t> auto_rotate_period_ms;
};

struct KeyVersionInfo {
  uint32_t version = 0;
  int64_t created_time_unix_ms = 0;
  uint64_t encryptions = 0;  // an upper bound (counts attempts)
  uint64_t decryptions = 0;
  int64_t last_used_unix_ms = 0;  // 0: never used
  std::string public_key;         // ed25519 only, 32 raw bytes
};

// Everything about a key except its key material.
struct KeyInfo {
  std::string name;
  KeyType type = KeyType::kAes256Gcm96;
  bool derived = false;
  bool convergent = false;
  bool exportable = false;
  bool deletion_allowed = false;
  int64_t auto_rotate_period_ms = 0;
  uint32_t latest_version = 0;
  uint32_t min_decryption_version = 1;
  uint32_t min_encryption_version = 0;  // 0: latest
  uint32_t min_available_version = 1;   // versions below were trimmed
  int64_t created_time_unix_ms = 0;
  int64_t updated_time_unix_ms = 0;
  std::vector<KeyVersionInfo> versions;  // ascending, retained ones
};

// Per-call inputs besides the data itself.
struct CryptoOptions {
  std::string context;          // derived keys only (required there)
  std::string associated_data;  // authenticated, not encrypted; may be empty
  uint32_t key_version = 0;     // Encrypt/Hmac/Sign: 0 = latest
};

struct EncryptResult {
  std::string ciphertext;  // wire format above
  uint32_t key_version = 0;
};

struct DataKey {
  kms::SecretBytes plaintext;  // empty when only the wrapped key was asked
  std::string ciphertext;      // an ordinary transit ciphertext of plaintext
  uint32_t key_version = 0;
};

// One item of a batch: `input` is the plaintext (encrypt) or the ciphertext
// (decrypt, rewrap); `reference` is echoed back untouched.
struct BatchItem {
  std::string input;
  std::string context;
  std::string associated_data;
  std::string reference;
};

// A batch item that borrows its bytes (e.g. from the request message), so a
// 1,000-item call copies nothing on the way in. The bytes must outlive the
// call.
struct BatchInput {
  std::string_view input;
  std::string_view context;
  std::string_view associated_data;
};

// The result of one batch item, in input order. On error only `status`
// and `reference` are set. `reference` is set by the BatchItem overloads
// only (callers of the BatchInput ones keep their own).
struct BatchResult {
  absl::Status status;
  std::string output;  // ciphertext (encrypt, rewrap) or plaintext (decrypt)
  uint32_t key_version = 0;
  std::string reference;
};

class BatchPool;

// Limits and test hooks. Defaults are the production values.
struct Options {
  uint64_t max_encryptions_per_version =
      (uint64_t{1} << 32) - (uint64_t{1} << 20);
  uint64_t counter_reservation = uint64_t{1} << 16;
  int64_t usage_flush_interval_ms = 10'000;
  // Batches longer than this are split into chunks of this many items that
  // run in parallel on `batch_pool` (nullptr: BatchPool::Shared()).
  size_t batch_chunk_items = 128;
  BatchPool* batch_pool = nullptr;
  // Current Unix time in milliseconds; nullptr for the real clock.
  std::function<int64_t()> now_ms;
};

// Transit ("encryption as a service") engine: named, versioned keys that
// never leave the server unless marked exportable.
//
// Wire formats (stable; clients store them):
//   ciphertext  arca:v<version>:<base64(nonce ‖ ciphertext ‖ tag)>
//               AES-256-GCM: 12-byte nonce, 16-byte tag;
//               XChaCha20-Poly1305: 24-byte nonce, 16-byte tag.
//               <version> is decimal without leading zeros (>= 1); base64 is
//               standard RFC 4648 with padding. Empty plaintext round-trips.
//   HMAC        arca:v<version>:<base64(HMAC-SHA256 tag, 32 bytes)>
//   signature   arca:v<version>:<base64(Ed25519 signature, 64 bytes)>
//
// Nonces: there is no nonce parameter anywhere; caller-chosen nonces are
// refused by construction. Random nonces come from the CSPRNG. Convergent
// keys derive the nonce as the first nonce-size bytes of
//   HMAC-SHA256(nonce_key, u64be(len(associated_data)) ‖ associated_data
//               ‖ plaintext)
// where nonce_key is derived (HKDF) from the version key and the context, so
// equal plaintext + context + associated_data give equal ciphertext, and a
// nonce is never reused with a different message or associated data.
//
// Derived keys: the per-context key is HKDF-SHA256(ikm = version key,
// salt = "", info = "arca transit v1 key\0" ‖ context, 32 bytes).
//
// Nonce safety: every AES-GCM version counts its encryptions. The count is
// persisted ahead of use in reservations of Options::counter_reservation
// (the stored record says "at most N used"), so after kill -9 it resumes at
// the reservation and never goes backwards. Encrypting under the latest
// version rotates the key first once the count reaches
// Options::max_encryptions_per_version (default just under 2^32, SP 800-38D);
// an older version that reaches it is RESOURCE_EXHAUSTED.
//
// Usage statistics (decrypt count, last-used time per version) are kept in
// memory and persisted lazily: a decrypt writes them when the last write is
// older than Options::usage_flush_interval_ms, and MaybeAutoRotate and
// FlushUsage write all pending ones. So the stored figures lag by at most
// the flush interval while a key is busy, otherwise by at most the period of
// the core's MaybeAutoRotate calls; a crash loses at most that window.
// ReadKey reports the in-memory (current) figures.
//
// Errors (messages never contain plaintext or key material):
//   INVALID_ARGUMENT "ciphertext is malformed", "ciphertext version is too
//     new", "ciphertext version is disallowed by policy", "ciphertext
//     authentication failed" (wrong key, context or associated_data, or
//     tampering), "context is required for derived keys", bad names,
//     options or operations the key type does not support;
//   NOT_FOUND for a missing key; ALREADY_EXISTS on CreateKey of an existing
//   key; FAILED_PRECONDITION for delete/export not allowed by the key's
//   config; RESOURCE_EXHAUSTED for an old version at its encryption limit;
//   barrier errors (UNAVAILABLE while sealed, DATA_LOSS) pass through.
//
// Storage (inside the mount's View, always through the barrier):
//   keys/<name>   KeyRecord: config and every version's key material,
//                 HMAC key and encryption-count reservation
//   usage/<name>  UsageRecord: per-version decrypt counts, last-used times
// Key material in memory lives only in kms::SecretBytes.
//
// Thread-safety: all methods are thread-safe. Encrypt/Decrypt and friends
// take no engine-wide lock: parsed keys and their AEAD objects are cached in
// a sharded map (a shard's reader lock is held only for the lookup) and
// replaced on rotate/config/trim/delete; writes to one key are serialized by
// a striped lock. The View's barrier must outlive the Engine.
class Engine {
 public:
  static constexpr size_t kMaxNameBytes = 128;
  static constexpr size_t kMaxBatchItems = 10'000;
  static constexpr int64_t kMinAutoRotatePeriodMs = 3600 * 1000;

  explicit Engine(barrier::View view, Options options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // --- Key management ---
  absl::StatusOr<KeyInfo> CreateKey(std::string_view name,
                                    const KeyOptions& options);
  absl::StatusOr<KeyInfo> ReadKey(std::string_view name);
  // Names of all keys, sorted.
  absl::StatusOr<std::vector<std::string>> ListKeys();
  // Adds version latest+1; old versions still decrypt.
  absl::StatusOr<KeyInfo> RotateKey(std::string_view name);
  absl::StatusOr<KeyInfo> ConfigureKey(std::string_view name,
                                       const KeyConfigUpdate& update);
  // Deletes the key material of versions below `min_available_version`
  // (0: the key's min_decryption_version), which must not exceed
  // min_decryption_version nor the effective min_encryption_version.
  absl::StatusOr<KeyInfo> TrimKey(std::string_view name,
                                  uint32_t min_available_version = 0);
  // FAILED_PRECONDITION unless the key has deletion_allowed.
  absl::Status DeleteKey(std::string_view name);

  // --- Encryption ---
  // With `create_if_missing`, a missing key is created with default options
  // (derived if a context is given; for BatchEncrypt, if the first item has
  // one); the core decides from policy. A context given for a key that is
  // not derived is INVALID_ARGUMENT rather than silently ignored.
  absl::StatusOr<EncryptResult> Encrypt(std::string_view name,
                                        std::string_view plaintext,
                                        const CryptoOptions& options,
                                        bool create_if_missing = false);
  absl::StatusOr<std::string> Decrypt(std::string_view name,
                                      std::string_view ciphertext,
                                      const CryptoOptions& options);
  // Decrypts and re-encrypts under the latest version, with the same
  // context and associated data.
  absl::StatusOr<EncryptResult> Rewrap(std::string_view name,
                                       std::string_view ciphertext,
                                       const CryptoOptions& options);

  // Batches: key-level failures (NOT_FOUND, bad name, sealed, more than
  // kMaxBatchItems, a failed counter reservation) fail the call; anything
  // about one item goes in its BatchResult, in input order, and the other
  // items still succeed. BatchEncrypt counts the whole batch against the
  // version's encryption limit at once (one reservation write at most, not
  // one check per item) and seals chunks of a long batch in parallel; a
  // batch that would cross the limit is split, its tail encrypted under the
  // next version after the rotation.
  absl::StatusOr<std::vector<BatchResult>> BatchEncrypt(
      std::string_view name, const std::vector<BatchItem>& items,
      bool create_if_missing = false);
  absl::StatusOr<std::vector<BatchResult>> BatchEncrypt(
      std::string_view name, const std::vector<BatchInput>& items,
      bool create_if_missing = false);
  absl::StatusOr<std::vector<BatchResult>> BatchDecrypt(
      std::string_view name, const std::vector<BatchItem>& items);
  absl::StatusOr<std::vector<BatchResult>> BatchDecrypt(
      std::string_view name, const std::vector<BatchInput>& items);
  absl::StatusOr<std::vector<BatchResult>> BatchRewrap(
      std::string_view name, const std::vector<BatchItem>& items);
  absl::StatusOr<std::vector<BatchResult>> BatchRewrap(
      std::string_view name, const std::vector<BatchInput>& items);

  // A fresh random key of `bits` (128, 256 or 512) and its encryption under
  // `name`. Without `include_plaintext` only the wrapped form is returned.
  absl::StatusOr<DataKey> GenerateDataKey(std::string_view name, int bits,
                                          bool include_plaintext,
                                          const CryptoOptions& options);

  // --- HMAC and signatures ---
  // HMAC-SHA256 of `input` under the version's HMAC key (every key type has
  // one per version).
  absl::StatusOr<std::string> Hmac(std::string_view name,
                                   std::string_view input,
                                   const CryptoOptions& options);
  // false if the tag does not match; INVALID_ARGUMENT if it is malformed,
  // too new or below min_decryption_version.
  absl::StatusOr<bool> VerifyHmac(std::string_view name, std::string_view input,
                                  std::string_view hmac);
  // ed25519 keys only.
  absl::StatusOr<std::string> Sign(std::string_view name,
                                   std::string_view input,
                                   const CryptoOptions& options);
  absl::StatusOr<bool> VerifySignature(std::string_view name,
                                       std::string_view input,
                                       std::string_view signature);

  // --- Export ---
  enum class ExportKind { kEncryptionKey, kSigningKey, kHmacKey };
  // Key material of one version (`version` 0 = every retained version),
  // keyed by version. FAILED_PRECONDITION unless the key is exportable;
  // INVALID_ARGUMENT if the kind does not fit the key type (encryption keys
  // for AEAD types, signing keys = the 32-byte Ed25519 seed).
  absl::StatusOr<std::map<uint32_t, kms::SecretBytes>> ExportKey(
      std::string_view name, ExportKind kind, uint32_t version = 0);

  // --- Maintenance (called by the core) ---
  // Rotates every key whose auto_rotate_period has elapsed since its latest
  // version was created, then writes pending usage statistics. Returns the
  // number of keys rotated.
  absl::StatusOr<int> MaybeAutoRotate(int64_t now_unix_ms);
  // Writes pending usage statistics of every cached key.
  absl::Status FlushUsage();
  // Drops every cached key (and so its key material) from memory; the core
  // calls it on seal, after FlushUsage. Later calls reload from storage.
  void DropCache();

  // OK if `name` is 1..kMaxNameBytes of [A-Za-z0-9._-], not "." or "..".
  static absl::Status ValidateName(std::string_view name);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace arca::engines::transit

#endif  // ARCA_SERVER_ENGINES_TRANSIT_ENGINE_H_
