#include "server/engines/transit/engine.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "kms/aes_gcm.h"
#include "kms/ed25519.h"
#include "kms/mac.h"
#include "kms/random.h"
#include "kms/status_macros.h"
#include "kms/xchacha20_poly1305.h"
#include "server/engines/transit/base64.h"
#include "server/engines/transit/batch_pool.h"
#include "server/engines/transit/transit_records.pb.h"

namespace arca::engines::transit {
namespace {

constexpr char kKeysPrefix[] = "keys/";
constexpr char kUsagePrefix[] = "usage/";
constexpr char kWirePrefix[] = "arca:v";
constexpr size_t kShards = 64;
constexpr size_t kKeySize = 32;
constexpr size_t kHmacTagSize = 32;
constexpr int kMaxAttempts = 8;

constexpr char kContextRequired[] = "context is required for derived keys";
constexpr char kContextNotDerived[] =
    "context is only accepted by derived keys";

// Info strings for HKDF; the trailing NUL separates them from the context.
constexpr std::string_view kDeriveKeyInfo("arca transit v1 key\0", 20);
constexpr std::string_view kDeriveNonceInfo("arca transit v1 nonce\0", 22);

// absl here has its own string_view type, distinct from std's.
absl::string_view AsAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

void Wipe(std::string* s) {
  if (!s->empty()) sodium_memzero(s->data(), s->size());
}

// Wipes a plaintext string on scope exit.
class ScopedWipe {
 public:
  explicit ScopedWipe(std::string* s) : s_(s) {}
  ~ScopedWipe() { Wipe(s_); }

 private:
  std::string* s_;
};

// Internal signal: the cached key changed under us; reload and retry.
absl::Status Retry() { return absl::AbortedError("transit: retry"); }
bool IsRetry(const absl::Status& s) {
  return s.code() == absl::StatusCode::kAborted &&
         s.message() == "transit: retry";
}

bool IsAead(KeyType t) {
  return t == KeyType::kAes256Gcm96 || t == KeyType::kXChaCha20Poly1305;
}

size_t NonceSize(KeyType t) {
  return t == KeyType::kAes256Gcm96 ? kms::AesGcm::kNonceSize
                                    : kms::XChaCha20Poly1305::kNonceSize;
}

std::string KeyPath(std::string_view name) {
  return absl::StrCat(kKeysPrefix, AsAbsl(name));
}
std::string UsagePath(std::string_view name) {
  return absl::StrCat(kUsagePrefix, AsAbsl(name));
}

absl::Status NotFound(std::string_view name) {
  return absl::NotFoundError(
      absl::StrCat("transit key \"", AsAbsl(name), "\" not found"));
}

absl::Status Unsupported(KeyType type, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("key type ", AsAbsl(KeyTypeName(type)), " does not support ",
                   AsAbsl(what)));
}

// "arca:v<version>:", the part of the wire format before the base64.
std::string WirePrefix(uint32_t version) {
  return absl::StrCat(kWirePrefix, version, ":");
}

// Writes `prefix` ‖ base64(body) into `out`, reusing its buffer.
void FormatTo(std::string_view prefix, std::string_view body,
              std::string* out) {
  out->resize(prefix.size() + Base64EncodedSize(body.size()));
  std::copy(prefix.begin(), prefix.end(), out->data());
  Base64EncodeTo(body, out->data() + prefix.size());
}

std::string Format(uint32_t version, std::string_view body) {
  std::string out;
  FormatTo(WirePrefix(version), body, &out);
  return out;
}

struct Parsed {
  uint32_t version = 0;
  std::string body;
};

// Parses "arca:v<N>:<base64>". `noun` names the thing in messages.
absl::StatusOr<Parsed> ParseWire(std::string_view in, std::string_view noun) {
  const absl::Status malformed =
      absl::InvalidArgumentError(absl::StrCat(AsAbsl(noun), " is malformed"));
  if (!in.starts_with(kWirePrefix)) return malformed;
  in.remove_prefix(sizeof(kWirePrefix) - 1);
  const size_t colon = in.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 10) {
    return malformed;
  }
  const std::string_view digits = in.substr(0, colon);
  if (digits[0] == '0') return malformed;
  uint64_t version = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return malformed;
    version = version * 10 + static_cast<uint64_t>(c - '0');
  }
  if (version > std::numeric_limits<uint32_t>::max()) return malformed;
  Parsed out;
  out.version = static_cast<uint32_t>(version);
  const std::string_view b64 = in.substr(colon + 1);
  if (b64.empty() || b64.size() % 4 != 0 ||
      !absl::Base64Unescape(AsAbsl(b64), &out.body)) {
    return malformed;
  }
  return out;
}

// One key version, parsed. Key material and cipher objects are immutable;
// the counters are atomics shared by every snapshot of the key.
struct Version {
  uint32_t number = 0;
  int64_t created_ms = 0;
  kms::SecretBytes key;       // AEAD key, Ed25519 seed, or empty (hmac)
  kms::SecretBytes hmac_key;  // every type
  // Built once for non-derived AEAD and ed25519 keys.
  std::unique_ptr<kms::AesGcm> aes;
  std::unique_ptr<kms::XChaCha20Poly1305> xchacha;
  std::unique_ptr<kms::Ed25519Signer> signer;

  std::atomic<uint64_t> encryptions{0};
  // Persisted bound on `encryptions`; stored to only under the key's write
  // lock, after the bound is durable.
  std::atomic<uint64_t> reserved{0};
  std::atomic<uint64_t> decryptions{0};
  std::atomic<int64_t> last_used_ms{0};
};

// Per key, shared by its snapshots: when usage was last written.
struct UsageState {
  std::atomic<int64_t> last_flush_ms{0};
  std::atomic<bool> dirty{false};
};

// An immutable snapshot of one key. Rotate/config/trim install a new
// snapshot that shares the unchanged Version objects, so counters carry
// over and in-flight operations keep using the snapshot they started with.
struct Key {
  std::string name;
  KeyType type = KeyType::kAes256Gcm96;
  records::KeyRecord config;  // `versions` left empty: no key material here
  std::map<uint32_t, std::shared_ptr<Version>> versions;
  std::shared_ptr<UsageState> usage;

  uint32_t latest() const { return config.latest_version(); }
  Version* Find(uint32_t v) const {
    auto it = versions.find(v);
    return it == versions.end() ? nullptr : it->second.get();
  }
};

using KeyPtr = std::shared_ptr<const Key>;

// The cipher for one (version, context): borrowed from the Version when the
// key is not derived, else derived and owned.
struct Cipher {
  std::unique_ptr<kms::AesGcm> owned_aes;
  std::unique_ptr<kms::XChaCha20Poly1305> owned_xchacha;
  const kms::AesGcm* aes = nullptr;
  const kms::XChaCha20Poly1305* xchacha = nullptr;
  kms::SecretBytes nonce_key;  // convergent only

  absl::StatusOr<std::string> Encrypt(std::string_view pt,
                                      std::string_view aad) const {
    return aes != nullptr ? aes->Encrypt(pt, aad) : xchacha->Encrypt(pt, aad);
  }
  absl::StatusOr<std::string> EncryptWithNonce(std::string_view nonce,
                                               std::string_view pt,
                                               std::string_view aad) const {
    return aes != nullptr ? aes->EncryptWithNonce(nonce, pt, aad)
                          : xchacha->EncryptWithNonce(nonce, pt, aad);
  }
  absl::StatusOr<std::string> Decrypt(std::string_view ct,
                                      std::string_view aad) const {
    return aes != nullptr ? aes->Decrypt(ct, aad) : xchacha->Decrypt(ct, aad);
  }
};

// The context check of CipherFor, without deriving anything.
absl::Status CheckContext(const Key& key, std::string_view context) {
  if (!key.config.derived() && !context.empty()) {
    return absl::InvalidArgumentError(kContextNotDerived);
  }
  if (key.config.derived() && context.empty()) {
    return absl::InvalidArgumentError(kContextRequired);
  }
  return absl::OkStatus();
}

absl::StatusOr<Cipher> CipherFor(const Key& key, const Version& v,
                                 std::string_view context) {
  Cipher c;
  if (!key.config.derived()) {
    if (!context.empty()) return absl::InvalidArgumentError(kContextNotDerived);
    c.aes = v.aes.get();
    c.xchacha = v.xchacha.get();
    return c;
  }
  if (context.empty()) return absl::InvalidArgumentError(kContextRequired);
  ASSIGN_OR_RETURN(
      kms::SecretBytes derived,
      kms::HkdfSha256(v.key, "",
                      absl::StrCat(AsAbsl(kDeriveKeyInfo), AsAbsl(context)),
                      kKeySize));
  if (key.type == KeyType::kAes256Gcm96) {
    ASSIGN_OR_RETURN(c.owned_aes, kms::AesGcm::New(derived));
    c.aes = c.owned_aes.get();
  } else {
    ASSIGN_OR_RETURN(c.owned_xchacha, kms::XChaCha20Poly1305::New(derived));
    c.xchacha = c.owned_xchacha.get();
  }
  if (key.config.convergent()) {
    ASSIGN_OR_RETURN(
        c.nonce_key,
        kms::HkdfSha256(v.key, "",
                        absl::StrCat(AsAbsl(kDeriveNonceInfo), AsAbsl(context)),
                        kKeySize));
  }
  return c;
}

// Key material for a new version of a key of `type`.
absl::StatusOr<std::shared_ptr<Version>> NewVersion(KeyType type, bool derived,
                                                    uint32_t number,
                                                    int64_t created_ms,
                                                    kms::SecretBytes key,
                                                    kms::SecretBytes hmac_key) {
  auto v = std::make_shared<Version>();
  v->number = number;
  v->created_ms = created_ms;
  if (hmac_key.size() != kKeySize) {
    return absl::DataLossError("transit: stored HMAC key has a bad size");
  }
  const size_t want = type == KeyType::kHmac ? 0 : kKeySize;
  if (key.size() != want) {
    return absl::DataLossError("transit: stored key has a bad size");
  }
  if (!derived) {
    switch (type) {
      case KeyType::kAes256Gcm96: {
        ASSIGN_OR_RETURN(v->aes, kms::AesGcm::New(key));
        break;
      }
      case KeyType::kXChaCha20Poly1305: {
        ASSIGN_OR_RETURN(v->xchacha, kms::XChaCha20Poly1305::New(key));
        break;
      }
      case KeyType::kEd25519: {
        ASSIGN_OR_RETURN(v->signer, kms::Ed25519Signer::FromSeed(key));
        break;
      }
      case KeyType::kHmac:
        break;
    }
  }
  v->key = std::move(key);
  v->hmac_key = std::move(hmac_key);
  return v;
}

absl::StatusOr<std::shared_ptr<Version>> GenerateVersion(KeyType type,
                                                         bool derived,
                                                         uint32_t number,
                                                         int64_t created_ms) {
  return NewVersion(
      type, derived, number, created_ms,
      type == KeyType::kHmac ? kms::SecretBytes() : kms::RandomSecret(kKeySize),
      kms::RandomSecret(kKeySize));
}

absl::Status ValidatePeriod(int64_t period_ms) {
  if (period_ms != 0 && period_ms < Engine::kMinAutoRotatePeriodMs) {
    return absl::InvalidArgumentError(
        "auto_rotate_period must be 0 (off) or at least one hour");
  }
  return absl::OkStatus();
}

KeyInfo InfoOf(const Key& k) {
  KeyInfo info;
  const records::KeyRecord& c = k.config;
  info.name = k.name;
  info.type = k.type;
  info.derived = c.derived();
  info.convergent = c.convergent();
  info.exportable = c.exportable();
  info.deletion_allowed = c.deletion_allowed();
  info.auto_rotate_period_ms = c.auto_rotate_period_ms();
  info.latest_version = c.latest_version();
  info.min_decryption_version = c.min_decryption_version();
  info.min_encryption_version = c.min_encryption_version();
  info.min_available_version = c.min_available_version();
  info.created_time_unix_ms = c.created_time_unix_ms();
  info.updated_time_unix_ms = c.updated_time_unix_ms();
  for (const auto& [number, v] : k.versions) {
    KeyVersionInfo vi;
    vi.version = number;
    vi.created_time_unix_ms = v->created_ms;
    vi.encryptions = v->encryptions.load();
    vi.decryptions = v->decryptions.load();
    vi.last_used_unix_ms = v->last_used_ms.load();
    if (v->signer != nullptr) vi.public_key = v->signer->public_key();
    info.versions.push_back(std::move(vi));
  }
  return info;
}

records::UsageRecord UsageOf(const Key& k) {
  records::UsageRecord r;
  for (const auto& [number, v] : k.versions) {
    auto* u = r.add_versions();
    u->set_version(number);
    u->set_decryptions(v->decryptions.load());
    u->set_last_used_unix_ms(v->last_used_ms.load());
  }
  return r;
}

}  // namespace

std::string_view KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kAes256Gcm96:
      return "aes256-gcm96";
    case KeyType::kXChaCha20Poly1305:
      return "xchacha20-poly1305";
    case KeyType::kEd25519:
      return "ed25519";
    case KeyType::kHmac:
      return "hmac";
  }
  return "unknown";
}

absl::StatusOr<KeyType> ParseKeyType(std::string_view name) {
  if (name.empty() || name == "aes256-gcm96") return KeyType::kAes256Gcm96;
  if (name == "xchacha20-poly1305") return KeyType::kXChaCha20Poly1305;
  if (name == "ed25519") return KeyType::kEd25519;
  if (name == "hmac") return KeyType::kHmac;
  return absl::InvalidArgumentError(
      "unknown key type; expected aes256-gcm96, xchacha20-poly1305, ed25519 "
      "or hmac");
}

struct Engine::Impl {
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, KeyPtr> keys ABSL_GUARDED_BY(mu);
  };

  Impl(barrier::View v, Options o) : view(std::move(v)), options(std::move(o)) {
    if (!options.now_ms) {
      options.now_ms = [] { return absl::ToUnixMillis(absl::Now()); };
    }
    if (options.counter_reservation == 0) options.counter_reservation = 1;
  }

  size_t Index(std::string_view name) const {
    return std::hash<std::string_view>{}(name) % kShards;
  }
  absl::Mutex& WriteLock(std::string_view name) {
    return write_locks[Index(name)];
  }

  KeyPtr Cached(std::string_view name) {
    Shard& s = shards[Index(name)];
    absl::ReaderMutexLock lock(&s.mu);
    auto it = s.keys.find(AsAbsl(name));
    return it == s.keys.end() ? nullptr : it->second;
  }

  void Install(std::string_view name, KeyPtr key) {
    Shard& s = shards[Index(name)];
    absl::MutexLock lock(&s.mu);
    if (key == nullptr) {
      s.keys.erase(AsAbsl(name));
    } else {
      s.keys[AsAbsl(name)] = std::move(key);
    }
  }

  uint64_t LimitFor(KeyType type) const {
    // Only AES-GCM's 96-bit random nonces need a bound; the others are
    // still counted (for statistics) but never run out.
    return type == KeyType::kAes256Gcm96
               ? options.max_encryptions_per_version
               : std::numeric_limits<uint64_t>::max() / 2;
  }

  // The key, from the cache or storage.
  absl::StatusOr<KeyPtr> Get(std::string_view name) {
    if (KeyPtr k = Cached(name)) return k;
    RETURN_IF_ERROR(ValidateName(name));
    absl::MutexLock lock(&WriteLock(name));
    return LoadLocked(name);
  }

  // Loads under the key's write lock, so there is only ever one Version
  // object (one counter) per stored version in this engine.
  absl::StatusOr<KeyPtr> LoadLocked(std::string_view name) {
    if (KeyPtr k = Cached(name)) return k;
    ASSIGN_OR_RETURN(std::optional<std::string> raw, view.Get(KeyPath(name)));
    if (!raw.has_value()) return NotFound(name);
    ScopedWipe wipe_raw(&*raw);
    records::KeyRecord record;
    if (!record.ParseFromString(*raw)) {
      return absl::DataLossError("transit: corrupt key record");
    }
    auto key = std::make_shared<Key>();
    key->name = std::string(name);
    if (record.type() > static_cast<uint32_t>(KeyType::kHmac)) {
      return absl::DataLossError("transit: key record has an unknown type");
    }
    key->type = static_cast<KeyType>(record.type());
    key->usage = std::make_shared<UsageState>();
    key->usage->last_flush_ms = options.now_ms();
    for (auto& vr : *record.mutable_versions()) {
      auto v = NewVersion(key->type, record.derived(), vr.version(),
                          vr.created_time_unix_ms(),
                          kms::SecretBytes::CopyFrom(vr.key()),
                          kms::SecretBytes::CopyFrom(vr.hmac_key()));
      Wipe(vr.mutable_key());
      Wipe(vr.mutable_hmac_key());
      if (!v.ok()) return v.status();
      // After a restart the count resumes at the reservation, never below.
      (*v)->encryptions = vr.reserved_encryptions();
      (*v)->reserved = vr.reserved_encryptions();
      key->versions.emplace(vr.version(), *std::move(v));
    }
    record.clear_versions();
    key->config = std::move(record);

    ASSIGN_OR_RETURN(std::optional<std::string> usage,
                     view.Get(UsagePath(name)));
    if (usage.has_value()) {
      records::UsageRecord u;
      if (!u.ParseFromString(*usage)) {
        return absl::DataLossError("transit: corrupt usage record");
      }
      for (const auto& vu : u.versions()) {
        auto it = key->versions.find(vu.version());
        if (it == key->versions.end()) continue;
        it->second->decryptions = vu.decryptions();
        it->second->last_used_ms = vu.last_used_unix_ms();
      }
    }
    KeyPtr out = std::move(key);
    Install(name, out);
    return out;
  }

  // The stored form of `k`, with `override` (if set) reserving
  // `override_reserved` encryptions.
  static std::string Serialize(const Key& k, const Version* override_version,
                               uint64_t override_reserved) {
    records::KeyRecord r = k.config;
    for (const auto& [number, v] : k.versions) {
      auto* vr = r.add_versions();
      vr->set_version(number);
      vr->set_created_time_unix_ms(v->created_ms);
      vr->set_key(std::string(v->key.Reveal()));
      vr->set_hmac_key(std::string(v->hmac_key.Reveal()));
      vr->set_reserved_encryptions(
          v.get() == override_version ? override_reserved : v->reserved.load());
    }
    std::string out = r.SerializeAsString();
    for (auto& vr : *r.mutable_versions()) {
      Wipe(vr.mutable_key());
      Wipe(vr.mutable_hmac_key());
    }
    return out;
  }

  absl::Status Persist(const Key& k, std::vector<storage::Mutation> extra = {},
                       const Version* override_version = nullptr,
                       uint64_t override_reserved = 0) {
    std::vector<storage::Mutation> mutations;
    mutations.push_back(storage::Mutation::Put(
        KeyPath(k.name), Serialize(k, override_version, override_reserved)));
    for (auto& m : extra) mutations.push_back(std::move(m));
    return view.Batch(std::move(mutations));
  }

  // A copy of `k` to modify and install.
  static std::shared_ptr<Key> Copy(const Key& k) {
    auto out = std::make_shared<Key>();
    out->name = k.name;
    out->type = k.type;
    out->config = k.config;
    out->versions = k.versions;
    out->usage = k.usage;
    return out;
  }

  // Adds a version to the current snapshot. Needs the write lock.
  absl::StatusOr<KeyPtr> RotateLocked(const Key& current, int64_t now) {
    if (current.latest() == std::numeric_limits<uint32_t>::max()) {
      return absl::ResourceExhaustedError("key has no more versions");
    }
    auto next = Copy(current);
    const uint32_t number = current.latest() + 1;
    ASSIGN_OR_RETURN(
        auto v,
        GenerateVersion(current.type, current.config.derived(), number, now));
    next->versions.emplace(number, std::move(v));
    next->config.set_latest_version(number);
    next->config.set_updated_time_unix_ms(now);
    RETURN_IF_ERROR(Persist(*next));
    Install(current.name, next);
    return KeyPtr(next);
  }

  // Rotates `name` unless someone already moved it past `seen_latest`.
  absl::Status RotateIfStill(std::string_view name, uint32_t seen_latest,
                             int64_t now) {
    absl::MutexLock lock(&WriteLock(name));
    ASSIGN_OR_RETURN(KeyPtr current, LoadLocked(name));
    if (current->latest() != seen_latest) return absl::OkStatus();
    return RotateLocked(*current, now).status();
  }

  // Makes sure encryption number `n` of `v` is covered by a durable
  // reservation. Retry() if `v` is no longer the cached one.
  absl::Status Reserve(const Key& seen, Version* v, uint64_t n) {
    absl::MutexLock lock(&WriteLock(seen.name));
    if (n <= v->reserved.load()) return absl::OkStatus();
    KeyPtr current = Cached(seen.name);
    if (current == nullptr || current->Find(v->number) != v) return Retry();
    const uint64_t target =
        std::min(n + options.counter_reservation, LimitFor(current->type));
    RETURN_IF_ERROR(Persist(*current, {}, v, target));
    v->reserved = target;
    return absl::OkStatus();
  }

  // Writes usage of the cached `name` if it is still `seen`. Needs the
  // write lock.
  absl::Status FlushLocked(const KeyPtr& seen) {
    KeyPtr current = Cached(seen->name);
    if (current == nullptr || current->usage != seen->usage) {
      return absl::OkStatus();  // deleted or reloaded meanwhile
    }
    if (!current->usage->dirty.exchange(false)) return absl::OkStatus();
    absl::Status s = view.Put(UsagePath(current->name),
                              UsageOf(*current).SerializeAsString());
    if (!s.ok()) {
      current->usage->dirty = true;
      return s;
    }
    current->usage->last_flush_ms = options.now_ms();
    return absl::OkStatus();
  }

  // Best effort, from the hot path: never blocks on the write lock and
  // never fails the caller's operation.
  void MaybeFlush(const KeyPtr& key, int64_t now) {
    if (now - key->usage->last_flush_ms.load() <
        options.usage_flush_interval_ms) {
      return;
    }
    absl::Mutex& mu = WriteLock(key->name);
    if (!mu.TryLock()) return;
    FlushLocked(key).IgnoreError();
    mu.Unlock();
  }

  static void Touch(const Key& k, Version* v, int64_t now) {
    v->last_used_ms.store(now, std::memory_order_relaxed);
    k.usage->dirty.store(true, std::memory_order_relaxed);
  }

  // The version used to encrypt, HMAC or sign with: `requested` or latest.
  static absl::StatusOr<Version*> ForUse(const Key& k, uint32_t requested) {
    if (requested == 0) requested = k.latest();
    if (requested > k.latest()) {
      return absl::InvalidArgumentError("requested key version does not exist");
    }
    const uint32_t floor = std::max({k.config.min_encryption_version(),
                                     k.config.min_decryption_version(),
                                     k.config.min_available_version()});
    Version* v = k.Find(requested);
    if (requested < floor || v == nullptr) {
      return absl::InvalidArgumentError(
          "requested key version is below min_encryption_version");
    }
    return v;
  }

  // The version named in a ciphertext/HMAC/signature, after policy checks.
  static absl::StatusOr<Version*> ForVerify(const Key& k, uint32_t version,
                                            std::string_view noun) {
    if (version > k.latest()) {
      return absl::InvalidArgumentError(
          absl::StrCat(AsAbsl(noun), " version is too new"));
    }
    Version* v = k.Find(version);
    if (version < k.config.min_decryption_version() || v == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(AsAbsl(noun), " version is disallowed by policy"));
    }
    return v;
  }

  // The version `count` encryptions use (`requested`, 0 = latest), and how
  // many of them it takes: all, or for the latest version only those up to
  // its encryption limit (the caller encrypts the rest after the rotation
  // this causes). The taken ones are counted and covered by a durable
  // reservation before this returns, with one write per reservation, not
  // per encryption. May rotate (auto-rotate period, limit) and so replace
  // `key`.
  absl::StatusOr<std::pair<Version*, uint64_t>> CountEncryptions(
      KeyPtr& key, uint32_t requested, uint64_t count) {
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
      const int64_t now = options.now_ms();
      const int64_t period = key->config.auto_rotate_period_ms();
      if (requested == 0 && period > 0) {
        const Version* latest = key->Find(key->latest());
        if (latest != nullptr && now - latest->created_ms >= period) {
          RETURN_IF_ERROR(RotateIfStill(key->name, key->latest(), now));
          ASSIGN_OR_RETURN(key, Get(key->name));
          continue;
        }
      }
      ASSIGN_OR_RETURN(Version * v, ForUse(*key, requested));
      const uint64_t limit = LimitFor(key->type);
      const uint64_t first = v->encryptions.fetch_add(count) + 1;
      if (first > limit) {
        if (v->number != key->latest()) {
          return absl::ResourceExhaustedError(
              "key version has reached its encryption limit; use the latest "
              "version");
        }
        RETURN_IF_ERROR(RotateIfStill(key->name, v->number, now));
        ASSIGN_OR_RETURN(key, Get(key->name));
        continue;
      }
      const uint64_t taken = std::min(count, limit - first + 1);
      const uint64_t last = first + taken - 1;
      if (last > v->reserved.load()) {
        absl::Status s = Reserve(*key, v, last);
        if (IsRetry(s)) {
          ASSIGN_OR_RETURN(key, Get(key->name));
          continue;
        }
        RETURN_IF_ERROR(s);
      }
      return std::make_pair(v, taken);
    }
    return absl::UnavailableError(
        "transit key changed during the request; retry");
  }

  // nonce ‖ ciphertext ‖ tag of one message, for a version already counted.
  static absl::StatusOr<std::string> Seal(const Key& key, const Cipher& cipher,
                                          std::string_view plaintext,
                                          std::string_view aad) {
    if (!key.config.convergent()) return cipher.Encrypt(plaintext, aad);
    std::string input(8, '\0');
    uint64_t aad_len = aad.size();
    for (int i = 7; i >= 0; --i, aad_len >>= 8) {
      input[i] = static_cast<char>(aad_len & 0xff);
    }
    input.append(aad);
    input.append(plaintext);
    std::string nonce = kms::HmacSha256(cipher.nonce_key, input);
    Wipe(&input);
    nonce.resize(NonceSize(key.type));
    ASSIGN_OR_RETURN(std::string sealed,
                     cipher.EncryptWithNonce(nonce, plaintext, aad));
    return nonce + sealed;
  }

  absl::StatusOr<EncryptResult> EncryptWith(KeyPtr key,
                                            std::string_view plaintext,
                                            const CryptoOptions& opts) {
    if (!IsAead(key->type)) return Unsupported(key->type, "encryption");
    RETURN_IF_ERROR(CheckContext(*key, opts.context));
    ASSIGN_OR_RETURN(auto counted, CountEncryptions(key, opts.key_version, 1));
    Version* v = counted.first;
    ASSIGN_OR_RETURN(Cipher cipher, CipherFor(*key, *v, opts.context));
    ASSIGN_OR_RETURN(std::string body,
                     Seal(*key, cipher, plaintext, opts.associated_data));
    Touch(*key, v, options.now_ms());
    return EncryptResult{Format(v->number, body), v->number};
  }

  // Encrypts items[begin, end) under `v` into out[begin, end).
  static void SealRange(const Key& key, const Version& v,
                        const std::vector<BatchInput>& items, size_t begin,
                        size_t end, std::vector<BatchResult>& out) {
    const std::string prefix = WirePrefix(v.number);
    if (key.config.derived()) {
      // A cipher per item: each context derives its own key.
      for (size_t i = begin; i < end; ++i) {
        BatchResult& r = out[i];
        auto sealed = [&]() -> absl::StatusOr<std::string> {
          RETURN_IF_ERROR(CheckContext(key, items[i].context));
          ASSIGN_OR_RETURN(Cipher cipher, CipherFor(key, v, items[i].context));
          return Seal(key, cipher, items[i].input, items[i].associated_data);
        }();
        if (!sealed.ok()) {
          r.status = sealed.status();
          continue;
        }
        FormatTo(prefix, *sealed, &r.output);
        r.key_version = v.number;
      }
      return;
    }
    // One cipher for the range: the items that pass the context check go
    // through EncryptEach (one context, one CSPRNG draw per many nonces).
    std::vector<size_t> good;
    good.reserve(end - begin);
    for (size_t i = begin; i < end; ++i) {
      if (!items[i].context.empty()) {
        out[i].status = absl::InvalidArgumentError(kContextNotDerived);
      } else {
        good.push_back(i);
      }
    }
    const kms::Aead* aead = v.aes != nullptr
                                ? static_cast<const kms::Aead*>(v.aes.get())
                                : v.xchacha.get();
    size_t sealed = 0;
    absl::Status s = aead->EncryptEach(
        good.size(),
        [&](size_t k) {
          const BatchInput& in = items[good[k]];
          return kms::Aead::Message{in.input, in.associated_data};
        },
        [&](size_t k, std::string_view body) {
          BatchResult& r = out[good[k]];
          FormatTo(prefix, body, &r.output);
          r.key_version = v.number;
          sealed = k + 1;
        });
    for (size_t k = sealed; k < good.size(); ++k) out[good[k]].status = s;
  }

  BatchPool& Pool() {
    return options.batch_pool != nullptr ? *options.batch_pool
                                         : BatchPool::Shared();
  }

  // Runs fn(i) for every item, in chunks on the batch pool.
  void ForEachItem(size_t n, absl::FunctionRef<void(size_t)> fn) {
    Pool().Run(n, options.batch_chunk_items, [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) fn(i);
    });
  }

  // BatchEncrypt after the key lookup: counts the batch, then seals it in
  // chunks on the batch pool. Results stay in input order because every
  // chunk writes only its own slots of `out`.
  absl::StatusOr<std::vector<BatchResult>> BatchEncryptWith(
      KeyPtr key, const std::vector<BatchInput>& items) {
    std::vector<BatchResult> out(items.size());
    if (!IsAead(key->type)) {
      for (BatchResult& r : out) {
        r.status = Unsupported(key->type, "encryption");
      }
      return out;
    }
    BatchPool& pool = Pool();
    size_t done = 0;
    while (done < items.size()) {
      ASSIGN_OR_RETURN(auto counted,
                       CountEncryptions(key, 0, items.size() - done));
      const Version& v = *counted.first;
      const size_t begin = done;
      const size_t n = static_cast<size_t>(counted.second);
      pool.Run(n, options.batch_chunk_items, [&](size_t b, size_t e) {
        SealRange(*key, v, items, begin + b, begin + e, out);
      });
      Touch(*key, counted.first, options.now_ms());
      done += n;
    }
    return out;
  }

  // `version`, if set, receives the version the ciphertext names.
  absl::StatusOr<std::string> DecryptWith(const KeyPtr& key,
                                          std::string_view ciphertext,
                                          const CryptoOptions& opts,
                                          uint32_t* version = nullptr) {
    if (!IsAead(key->type)) return Unsupported(key->type, "decryption");
    ASSIGN_OR_RETURN(Parsed parsed, ParseWire(ciphertext, "ciphertext"));
    if (version != nullptr) *version = parsed.version;
    ASSIGN_OR_RETURN(Version * v,
                     ForVerify(*key, parsed.version, "ciphertext"));
    ASSIGN_OR_RETURN(Cipher cipher, CipherFor(*key, *v, opts.context));
    if (parsed.body.size() < NonceSize(key->type) + kms::AesGcm::kTagSize) {
      return absl::InvalidArgumentError("ciphertext is malformed");
    }
    auto plaintext = cipher.Decrypt(parsed.body, opts.associated_data);
    if (!plaintext.ok()) {
      return absl::InvalidArgumentError("ciphertext authentication failed");
    }
    const int64_t now = options.now_ms();
    v->decryptions.fetch_add(1, std::memory_order_relaxed);
    Touch(*key, v, now);
    MaybeFlush(key, now);
    return plaintext;
  }

  // The key for an encrypt, created on demand when allowed.
  absl::StatusOr<KeyPtr> GetForEncrypt(Engine* engine, std::string_view name,
                                       bool create_if_missing,
                                       bool with_context) {
    auto key = Get(name);
    if (key.ok() || !create_if_missing ||
        key.status().code() != absl::StatusCode::kNotFound) {
      return key;
    }
    KeyOptions o;
    o.derived = with_context;
    auto created = engine->CreateKey(name, o);
    if (!created.ok() &&
        created.status().code() != absl::StatusCode::kAlreadyExists) {
      return created.status();
    }
    return Get(name);
  }

  barrier::View view;
  Options options;
  std::array<Shard, kShards> shards;
  std::array<absl::Mutex, kShards> write_locks;
};

Engine::Engine(barrier::View view, Options options)
    : impl_(std::make_unique<Impl>(std::move(view), std::move(options))) {
  kms::InitCrypto();
}

Engine::~Engine() = default;

absl::Status Engine::ValidateName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid key name: must be 1..", kMaxNameBytes, " bytes"));
  }
  if (name == "." || name == "..") {
    return absl::InvalidArgumentError("invalid key name: '.' and '..'");
  }
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(
          "invalid key name: only [A-Za-z0-9._-] allowed");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<KeyInfo> Engine::CreateKey(std::string_view name,
                                          const KeyOptions& options) {
  RETURN_IF_ERROR(ValidateName(name));
  if (options.convergent && !options.derived) {
    return absl::InvalidArgumentError(
        "convergent encryption requires derived keys");
  }
  if (options.derived && !IsAead(options.type)) {
    return Unsupported(options.type, "derived keys");
  }
  RETURN_IF_ERROR(ValidatePeriod(options.auto_rotate_period_ms));

  absl::MutexLock lock(&impl_->WriteLock(name));
  auto existing = impl_->LoadLocked(name);
  if (existing.ok()) {
    return absl::AlreadyExistsError(
        absl::StrCat("transit key \"", AsAbsl(name), "\" already exists"));
  }
  if (existing.status().code() != absl::StatusCode::kNotFound) {
    return existing.status();
  }
  const int64_t now = impl_->options.now_ms();
  auto key = std::make_shared<Key>();
  key->name = std::string(name);
  key->type = options.type;
  key->usage = std::make_shared<UsageState>();
  key->usage->last_flush_ms = now;
  records::KeyRecord& c = key->config;
  c.set_name(std::string(name));
  c.set_type(static_cast<uint32_t>(options.type));
  c.set_derived(options.derived);
  c.set_convergent(options.convergent);
  c.set_exportable(options.exportable);
  c.set_deletion_allowed(options.deletion_allowed);
  c.set_auto_rotate_period_ms(options.auto_rotate_period_ms);
  c.set_latest_version(1);
  c.set_min_decryption_version(1);
  c.set_min_encryption_version(0);
  c.set_min_available_version(1);
  c.set_created_time_unix_ms(now);
  c.set_updated_time_unix_ms(now);
  ASSIGN_OR_RETURN(auto v,
                   GenerateVersion(options.type, options.derived, 1, now));
  key->versions.emplace(1, std::move(v));
  RETURN_IF_ERROR(impl_->Persist(*key));
  impl_->Install(name, key);
  return InfoOf(*key);
}

absl::StatusOr<KeyInfo> Engine::ReadKey(std::string_view name) {
  ASSIGN_OR_RETURN(KeyPtr key, impl_->Get(name));
  return InfoOf(*key);
}

absl::StatusOr<std::vector<std::string>> Engine::ListKeys() {
  ASSIGN_OR_RETURN(std::vector<std::string> children,
                   impl_->view.List(kKeysPrefix));
  std::vector<std::string> out;
  for (auto& c : children) {
    if (!c.empty() && c.back() != '/') out.push_back(std::move(c));
  }
  return out;
}

absl::StatusOr<KeyInfo> Engine::RotateKey(std::string_view name) {
  RETURN_IF_ERROR(ValidateName(name));
  absl::MutexLock lock(&impl_->WriteLock(name));
  ASSIGN_OR_RETURN(KeyPtr current, impl_->LoadLocked(name));
  ASSIGN_OR_RETURN(KeyPtr next,
                   impl_->RotateLocked(*current, impl_->options.now_ms()));
  return InfoOf(*next);
}

absl::StatusOr<KeyInfo> Engine::ConfigureKey(std::string_view name,
                                             const KeyConfigUpdate& update) {
  RETURN_IF_ERROR(ValidateName(name));
  if (update.auto_rotate_period_ms.has_value()) {
    RETURN_IF_ERROR(ValidatePeriod(*update.auto_rotate_period_ms));
  }
  absl::MutexLock lock(&impl_->WriteLock(name));
  ASSIGN_OR_RETURN(KeyPtr current, impl_->LoadLocked(name));
  auto next = Impl::Copy(*current);
  records::KeyRecord& c = next->config;
  const uint32_t min_dec =
      update.min_decryption_version.value_or(c.min_decryption_version());
  const uint32_t min_enc =
      update.min_encryption_version.value_or(c.min_encryption_version());
  if (min_dec < 1 || min_dec > c.latest_version()) {
    return absl::InvalidArgumentError(
        "min_decryption_version must be between 1 and the latest version");
  }
  if (min_dec < c.min_available_version()) {
    return absl::InvalidArgumentError(
        "min_decryption_version cannot go below min_available_version: "
        "those versions were trimmed");
  }
  if (min_enc != 0 && (min_enc < min_dec || min_enc > c.latest_version())) {
    return absl::InvalidArgumentError(
        "min_encryption_version must be 0 (latest) or between "
        "min_decryption_version and the latest version");
  }
  if (update.exportable.has_value() && !*update.exportable && c.exportable()) {
    return absl::InvalidArgumentError(
        "exportable cannot be turned off once enabled");
  }
  c.set_min_decryption_version(min_dec);
  c.set_min_encryption_version(min_enc);
  if (update.deletion_allowed.has_value()) {
    c.set_deletion_allowed(*update.deletion_allowed);
  }
  if (update.exportable.has_value()) c.set_exportable(*update.exportable);
  if (update.auto_rotate_period_ms.has_value()) {
    c.set_auto_rotate_period_ms(*update.auto_rotate_period_ms);
  }
  c.set_updated_time_unix_ms(impl_->options.now_ms());
  RETURN_IF_ERROR(impl_->Persist(*next));
  impl_->Install(name, next);
  return InfoOf(*next);
}

absl::StatusOr<KeyInfo> Engine::TrimKey(std::string_view name,
                                        uint32_t min_available_version) {
  RETURN_IF_ERROR(ValidateName(name));
  absl::MutexLock lock(&impl_->WriteLock(name));
  ASSIGN_OR_RETURN(KeyPtr current, impl_->LoadLocked(name));
  const records::KeyRecord& c = current->config;
  const uint32_t target = min_available_version == 0
                              ? c.min_decryption_version()
                              : min_available_version;
  const uint32_t min_enc = c.min_encryption_version() == 0
                               ? c.latest_version()
                               : c.min_encryption_version();
  if (target > c.min_decryption_version() || target > min_enc) {
    return absl::InvalidArgumentError(
        "trim version must not exceed min_decryption_version or "
        "min_encryption_version");
  }
  if (target <= c.min_available_version()) return InfoOf(*current);
  auto next = Impl::Copy(*current);
  next->versions.erase(next->versions.begin(),
                       next->versions.lower_bound(target));
  next->config.set_min_available_version(target);
  next->config.set_updated_time_unix_ms(impl_->options.now_ms());
  std::vector<storage::Mutation> extra;
  extra.push_back(storage::Mutation::Put(UsagePath(name),
                                         UsageOf(*next).SerializeAsString()));
  RETURN_IF_ERROR(impl_->Persist(*next, std::move(extra)));
  impl_->Install(name, next);
  return InfoOf(*next);
}

absl::Status Engine::DeleteKey(std::string_view name) {
  RETURN_IF_ERROR(ValidateName(name));
  absl::MutexLock lock(&impl_->WriteLock(name));
  ASSIGN_OR_RETURN(KeyPtr current, impl_->LoadLocked(name));
  if (!current->config.deletion_allowed()) {
    return absl::FailedPreconditionError(
        "deletion is not allowed for this key; set deletion_allowed first");
  }
  RETURN_IF_ERROR(
      impl_->view.Batch({storage::Mutation::Delete(KeyPath(name)),
                         storage::Mutation::Delete(UsagePath(name))}));
  impl_->Install(name, nullptr);
  return absl::OkStatus();
}

absl::StatusOr<EncryptResult> Engine::Encrypt(std::string_view name,
                                              std::string_view plaintext,
                                              const CryptoOptions& options,
                                              bool create_if_missing) {
  ASSIGN_OR_RETURN(KeyPtr key,
                   impl_->GetForEncrypt(this, name, create_if_missing,
                                        !options.context.empty()));
  return impl_->EncryptWith(std::move(key), plaintext, options);
}

absl::StatusOr<std::string> Engine::Decrypt(std::string_view name,
                                            std::string_view ciphertext,
                                            const CryptoOptions& options) {
  ASSIGN_OR_RETURN(KeyPtr key, impl_->Get(name));
  return impl_->DecryptWith(key, ciphertext, options);
}

absl::StatusOr<EncryptResult> Engine::Rewrap(std::string_view name,
                                             std::string_view ciphertext,
                                             const CryptoOptions& options) {
  ASSIGN_OR_RETURN(KeyPtr key, impl_->Get(name));
  ASSIGN_OR_RETURN(std::string plaintext,
                   impl_->DecryptWith(key, ciphertext, options));
  ScopedWipe wipe(&plaintext);
  CryptoOptions latest = options;
  latest.key_version = 0;
  return impl_->EncryptWith(std::move(key), plaintext, latest);
}

namespace {

absl::Status CheckBatchSize(size_t n) {
  if (n > Engine::kMaxBatchItems) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a batch holds at most ", Engine::kMaxBatchItems, " items"));
  }
  return absl::OkStatus();
}

CryptoOptions OptionsOf(const BatchInput& item) {
  CryptoOptions o;
  o.context = std::string(item.context);
  o.associated_data = std::string(item.associated_data);
  return o;
}

std::vector<BatchInput> Inputs(const std::vector<BatchItem>& items) {
  std::vector<BatchInput> out;
  out.reserve(items.size());
  for (const BatchItem& i : items) {
    out.push_back({i.input, i.context, i.associated_data});
  }
  return out;
}

// The BatchItem overloads: the BatchInput one, then the references.
absl::StatusOr<std::vector<BatchResult>> WithReferences(
    absl::StatusOr<std::vector<BatchResult>> results,
    const std::vector<BatchItem>& items) {
  if (!results.ok()) return results;
  for (size_t i = 0; i < items.size(); ++i) {
    (*results)[i].reference = items[i].reference;
  }
  return results;
}

}  // namespace

absl::StatusOr<std::vector<BatchResult>> Engine::BatchEncrypt(
    std::string_view name, const std::vector<BatchInput>& items,
    bool create_if_missing) {
  RETURN_IF_ERROR(CheckBatchSize(items.size()));
  ASSIGN_OR_RETURN(
      KeyPtr key,
      impl_->GetForEncrypt(this, name, create_if_missing,
                           !items.empty() && !items[0].context.empty()));
  return impl_->BatchEncryptWith(std::move(key), items);
}

absl::StatusOr<std::vector<BatchResult>> Engine::BatchEncrypt(
    std::string_view name, const std::vector<BatchItem>& items,
    bool create_if_missing) {
  return WithReferences(BatchEncrypt(name, Inputs(items), create_if_missing),
                        items);
}

absl::StatusOr<std::vector<BatchResult>> Engine::BatchDecrypt(
    std::string_view name, const std::vector<BatchInput>& items) {
  RETURN_IF_ERROR(CheckBatchSize(items.size()));
  ASSIGN_OR_RETURN(KeyPtr key, impl_->Get(name));
  std::vector<BatchResult> out(items.size());
  impl_->ForEachItem(items.size(), [&](size_t i) {
    auto r = impl_->DecryptWith(key, items[i].input, OptionsOf(items[i]),
                                &out[i].key_version);
    if (!r.ok()) {
      out[i].status = r.status();
      out[i].key_version = 0;
      return;
    }
    out[i].output = *std::move(r);
  });
  return out;
}

absl::StatusOr<std::vector<BatchResult>> Engine::BatchDecrypt(
    std::string_view name, const std::vector<BatchItem>& items) {
  return WithReferences(BatchDecrypt(name, Inputs(items)), items);
}

absl::StatusOr<std::vector<BatchResult>> Engine::BatchRewrap(
    std::string_view name, const std::vector<BatchInput>& items) {
  RETURN_IF_ERROR(CheckBatchSize(items.size()));
  ASSIGN_OR_RETURN(KeyPtr key, impl_->Get(name));
  std::vector<BatchResult> out(items.size());
  impl_->ForEachItem(items.size(), [&](size_t i) {
    const CryptoOptions o = OptionsOf(items[i]);
    auto plaintext = impl_->DecryptWith(key, items[i].input, o);
    if (!plaintext.ok()) {
      out[i].status = plaintext.status();
      return;
    }
    ScopedWipe wipe(&*plaintext);
    auto r = impl_->EncryptWith(key, *plaintext, o);
    if (!r.ok()) {
      out[i].status = r.status();
      return;
    }
    out[i].output = std::move(r->ciphertext);
    out[i].key_version = r->key_version;
  });
  return out;
}

absl::StatusOr<std::vector<BatchResult>> Engine::BatchRewrap(
    std::string_view name, const std::vector<BatchItem>& items) {
  return WithReferences(BatchRewrap(name, Inputs(items)), items);
}

absl::StatusOr<DataKey> Engine::GenerateDataKey(std::string_view name, int bits,
                                                bool include_plaintext,
                                                const CryptoOptions& options) {
  if (bits != 128 && bits != 256 && bits != 512) {
    return absl::InvalidArgumentError("data key bits must be 128, 256 or 512");
  }
  ASSIGN_OR_RETURN(KeyPtr key, impl_->Get(name));
  kms::SecretBytes plaintext = kms::RandomSecret(static_cast<size_t>(bits / 8));
  ASSIGN_OR_RETURN(
      EncryptResult wrapped,
      impl_->EncryptWith(std::move(key), plaintext.Reveal(), options));
  DataKey out;
  if (include_plaintext) out.plaintext = std::move(plaintext);
  out.ciphertext = std::move(wrapped.ciphertext);
  out.key_version = wrapped.key_version;
  return out;
}

absl::StatusOr<std::string> Engine::Hmac(std::string_view name,
                                         std::string_view input,
                                         const CryptoOptions& options) {
  ASSIGN_OR_RETURN(KeyPtr key, impl_->Get(name));
  ASSIGN_OR_RETURN(Version * v, Impl::ForUse(*key, options.key_version));
  const std::string tag = kms::HmacSha256(v->hmac_key, input);
  Impl::Touch(*key, v, impl_->options.now_ms());
  return Format(v->number, tag);
}

absl::StatusOr<bool> Engine::VerifyHmac(std::string_view name,
                                        std::string_view input,
                                        std::string_view hmac) {
  ASSIGN_OR_RETURN(KeyPtr key, impl_->Get(name));
  ASSIGN_OR_RETURN(Parsed parsed, ParseWire(hmac, "hmac"));
  if (parsed.body.size() != kHmacTagSize) {
    return absl::InvalidArgumentError("hmac is malformed");
  }
  ASSIGN_OR_RETURN(Version * v, Impl::ForVerify(*key, parsed.version, "hmac"));
  return kms::HmacSha256Verify(v->hmac_key, input, parsed.body);
}

absl::StatusOr<std::string> Engine::Sign(std::string_view name,
                                         std::string_view input,
                                         const CryptoOptions& options) {
  ASSIGN_OR_RETURN(KeyPtr key, impl_->Get(name));
  if (key->type != KeyType::kEd25519) return Unsupported(key->type, "signing");
  ASSIGN_OR_RETURN(Version * v, Impl::ForUse(*key, options.key_version));
  const std::string sig = v->signer->Sign(input);
  Impl::Touch(*key, v, impl_->options.now_ms());
  return Format(v->number, sig);
}

absl::StatusOr<bool> Engine::VerifySignature(std::string_view name,
                                             std::string_view input,
                                             std::string_view signature) {
  ASSIGN_OR_RETURN(KeyPtr key, impl_->Get(name));
  if (key->type != KeyType::kEd25519) {
    return Unsupported(key->type, "signature verification");
  }
  ASSIGN_OR_RETURN(Parsed parsed, ParseWire(signature, "signature"));
  if (parsed.body.size() != kms::Ed25519Signer::kSignatureSize) {
    return absl::InvalidArgumentError("signature is malformed");
  }
  ASSIGN_OR_RETURN(Version * v,
                   Impl::ForVerify(*key, parsed.version, "signature"));
  return kms::Ed25519Verify(v->signer->public_key(), input, parsed.body).ok();
}

absl::StatusOr<std::map<uint32_t, kms::SecretBytes>> Engine::ExportKey(
    std::string_view name, ExportKind kind, uint32_t version) {
  ASSIGN_OR_RETURN(KeyPtr key, impl_->Get(name));
  if (!key->config.exportable()) {
    return absl::FailedPreconditionError("key is not exportable");
  }
  const bool fits =
      kind == ExportKind::kHmacKey ||
      (kind == ExportKind::kEncryptionKey && IsAead(key->type)) ||
      (kind == ExportKind::kSigningKey && key->type == KeyType::kEd25519);
  if (!fits) return Unsupported(key->type, "this export kind");
  std::map<uint32_t, kms::SecretBytes> out;
  for (const auto& [number, v] : key->versions) {
    if (version != 0 && number != version) continue;
    out.emplace(number, kind == ExportKind::kHmacKey ? v->hmac_key.Clone()
                                                     : v->key.Clone());
  }
  if (out.empty()) {
    return absl::InvalidArgumentError("requested key version does not exist");
  }
  return out;
}

absl::StatusOr<int> Engine::MaybeAutoRotate(int64_t now_unix_ms) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListKeys());
  int rotated = 0;
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(KeyPtr key, impl_->Get(name));
    const int64_t period = key->config.auto_rotate_period_ms();
    const Version* latest = key->Find(key->latest());
    if (period <= 0 || latest == nullptr ||
        now_unix_ms - latest->created_ms < period) {
      continue;
    }
    RETURN_IF_ERROR(impl_->RotateIfStill(name, key->latest(), now_unix_ms));
    ++rotated;
  }
  RETURN_IF_ERROR(FlushUsage());
  return rotated;
}

absl::Status Engine::FlushUsage() {
  std::vector<KeyPtr> keys;
  for (auto& shard : impl_->shards) {
    absl::ReaderMutexLock lock(&shard.mu);
    for (const auto& [name, key] : shard.keys) {
      if (key->usage->dirty.load()) keys.push_back(key);
    }
  }
  absl::Status first;
  for (const KeyPtr& key : keys) {
    absl::MutexLock lock(&impl_->WriteLock(key->name));
    absl::Status s = impl_->FlushLocked(key);
    if (first.ok()) first = s;
  }
  return first;
}

void Engine::DropCache() {
  for (auto& shard : impl_->shards) {
    absl::MutexLock lock(&shard.mu);
    shard.keys.clear();
  }
}

}  // namespace arca::engines::transit
