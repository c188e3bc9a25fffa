#include "server/barrier/barrier.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "kms/aes_gcm.h"
#include "kms/random.h"
#include "kms/status_macros.h"

// Stored formats owned by this file (the value record format is in
// barrier.h):
//
//   "barrier/root-key":  0x01 ‖ AES-256-GCM(unseal key, root key (32 B),
//                                           AAD "barrier/root-key")
//   "barrier/keyring":   0x01 ‖ AES-256-GCM(root key, keyring,
//                                           AAD "barrier/keyring")
// where AES-256-GCM(...) is nonce (12 B) ‖ ciphertext ‖ tag (16 B) and the
// keyring plaintext is, all integers big-endian:
//   format (1 B, 0x01) ‖ active term (4 B) ‖ term count (4 B)
//   ‖ per term: term (4 B) ‖ install time, unix seconds (8 B)
//              ‖ reserved encryptions (8 B) ‖ key (32 B)
#include "spdlog/spdlog.h"

namespace arca::barrier {
namespace {

constexpr std::string_view kReservedPrefix = "barrier/";
constexpr std::string_view kRootKeyPath = "barrier/root-key";
constexpr std::string_view kKeyringPath = "barrier/keyring";

constexpr uint8_t kRecordVersion = 0x01;
constexpr uint8_t kKeyRecordVersion = 0x01;
constexpr uint8_t kKeyringFormat = 0x01;
constexpr size_t kKeySize = 32;
constexpr size_t kTermSize = 4;
constexpr size_t kHeaderSize = kTermSize + 1;
constexpr size_t kMinRecordSize =
    kHeaderSize + kms::AesGcm::kNonceSize + kms::AesGcm::kTagSize;
constexpr size_t kKeyringHeaderSize = 1 + 4 + 4;
constexpr size_t kKeyringEntrySize = 4 + 8 + 8 + kKeySize;

constexpr char kSealedMessage[] = "arca is sealed";

// absl::string_view is not std::string_view in this abseil build, so paths
// are turned into std::string before they meet absl string functions.
std::string Printable(std::string_view path) {
  return absl::CHexEscape(std::string(path));
}

// Integrity failures mean tampering or corruption of the store: the
// operator must see them even though only the client gets the status. The
// message names the path, never a value.
absl::Status DataLoss(std::string_view path, std::string_view why) {
  std::string message =
      absl::StrCat("integrity check failed: stored record at \"",
                   Printable(path), "\" ", std::string(why));
  spdlog::error("barrier: {}", message);
  return absl::DataLossError(std::move(message));
}

// Wipes a heap string that held key material (AesGcm::Decrypt returns
// plaintext in an ordinary std::string).
void WipeString(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
  s.clear();
}

void PutU32(uint8_t* out, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8) out[i] = static_cast<uint8_t>(v);
}
void PutU64(uint8_t* out, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<uint8_t>(v);
}
uint32_t GetU32(std::string_view in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}
uint64_t GetU64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

int64_t NowUnix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool IsReserved(std::string_view path) {
  return path.starts_with(kReservedPrefix);
}

absl::Status CheckPath(std::string_view path) {
  if (path.empty()) return absl::InvalidArgumentError("path is empty");
  if (IsReserved(path)) {
    return absl::InvalidArgumentError("paths under \"barrier/\" are reserved");
  }
  return absl::OkStatus();
}

absl::Status CheckUnsealKey(const kms::SecretBytes& key) {
  if (key.size() != kKeySize) {
    return absl::InvalidArgumentError("unseal key must be 32 bytes");
  }
  return absl::OkStatus();
}

// Encrypts `key` under `wrapping` as a key record (root key or keyring).
absl::StatusOr<std::string> SealKeyRecord(const kms::AesGcm& wrapping,
                                          std::string_view plaintext,
                                          std::string_view path) {
  ASSIGN_OR_RETURN(std::string sealed, wrapping.Encrypt(plaintext, path));
  std::string record(1, static_cast<char>(kKeyRecordVersion));
  record += sealed;
  return record;
}

// Inverse of SealKeyRecord. Authentication failure keeps AesGcm's
// INVALID_ARGUMENT; the caller decides what it means. Returns the plaintext
// in guarded memory.
absl::StatusOr<kms::SecretBytes> OpenKeyRecord(const kms::AesGcm& wrapping,
                                               std::string_view record,
                                               std::string_view path) {
  if (record.empty() || static_cast<uint8_t>(record[0]) != kKeyRecordVersion) {
    return DataLoss(path, "has an unknown version");
  }
  ASSIGN_OR_RETURN(std::string plain, wrapping.Decrypt(record.substr(1), path));
  kms::SecretBytes out = kms::SecretBytes::CopyFrom(plain);
  WipeString(plain);
  return out;
}

// One key term. `key` and `aead` are immutable after construction; the
// counters are guarded by Core::keyring_mu_.
struct Term {
  uint32_t number = 0;
  int64_t install_time_unix = 0;
  kms::SecretBytes key;
  std::unique_ptr<kms::AesGcm> aead;
  uint64_t encryptions = 0;  // used so far, in memory
  uint64_t reserved = 0;     // persisted upper bound on `encryptions`
};

absl::StatusOr<std::unique_ptr<Term>> NewTerm(uint32_t number,
                                              int64_t install_time,
                                              kms::SecretBytes key,
                                              uint64_t reserved) {
  auto term = std::make_unique<Term>();
  term->number = number;
  term->install_time_unix = install_time;
  ASSIGN_OR_RETURN(term->aead, kms::AesGcm::New(key));
  term->key = std::move(key);
  term->reserved = reserved;
  // After a restart the count resumes at the reservation, never below it.
  term->encryptions = reserved;
  return term;
}

using TermMap = std::map<uint32_t, std::unique_ptr<Term>>;

kms::SecretBytes SerializeKeyring(const TermMap& terms, uint32_t active) {
  kms::SecretBytes out(kKeyringHeaderSize + terms.size() * kKeyringEntrySize);
  uint8_t* p = out.MutableReveal();
  p[0] = kKeyringFormat;
  PutU32(p + 1, active);
  PutU32(p + 5, static_cast<uint32_t>(terms.size()));
  p += kKeyringHeaderSize;
  for (const auto& [number, term] : terms) {
    PutU32(p, number);
    PutU64(p + 4, static_cast<uint64_t>(term->install_time_unix));
    PutU64(p + 12, term->reserved);
    std::copy_n(term->key.Reveal().data(), kKeySize, p + 20);
    p += kKeyringEntrySize;
  }
  return out;
}

absl::Status ParseKeyring(const kms::SecretBytes& plain, TermMap* terms,
                          uint32_t* active) {
  std::string_view in = plain.Reveal();
  if (in.size() < kKeyringHeaderSize ||
      static_cast<uint8_t>(in[0]) != kKeyringFormat) {
    return DataLoss(kKeyringPath, "is malformed");
  }
  *active = GetU32(in.substr(1));
  const uint32_t count = GetU32(in.substr(5));
  in.remove_prefix(kKeyringHeaderSize);
  if (in.size() != uint64_t{count} * kKeyringEntrySize) {
    return DataLoss(kKeyringPath, "is malformed");
  }
  for (uint32_t i = 0; i < count; ++i) {
    std::string_view entry = in.substr(i * kKeyringEntrySize);
    const uint32_t number = GetU32(entry);
    auto term = NewTerm(number, static_cast<int64_t>(GetU64(entry.substr(4))),
                        kms::SecretBytes::CopyFrom(entry.substr(20, kKeySize)),
                        GetU64(entry.substr(12)));
    if (!term.ok()) return term.status();
    if (number == 0 || !terms->emplace(number, *std::move(term)).second) {
      return DataLoss(kKeyringPath, "is malformed");
    }
  }
  if (terms->find(*active) == terms->end()) {
    return DataLoss(kKeyringPath, "has no active term");
  }
  return absl::OkStatus();
}

TermInfo InfoOf(const Term& term) {
  return TermInfo{term.number, term.install_time_unix, term.encryptions};
}

}  // namespace

// All of the barrier's state and logic. Lock order: mu_ before keyring_mu_.
// mu_ guards the seal state and the lifetime of key material: data
// operations hold it shared, Seal/Unseal/Rotate/Rekey exclusively.
// keyring_mu_ guards the term map and counters, which data operations change
// while holding mu_ shared. Terms are only removed under mu_ exclusive, so a
// Term* found under keyring_mu_ stays valid while mu_ is held.
struct Barrier::State {
  State(storage::Backend* backend, Options options)
      : backend(backend), options(options) {}

  storage::Backend* const backend;
  const Options options;

  mutable absl::Mutex mu;
  bool sealed ABSL_GUARDED_BY(mu) = true;
  kms::SecretBytes root_key ABSL_GUARDED_BY(mu);
  std::unique_ptr<kms::AesGcm> root_aead ABSL_GUARDED_BY(mu);

  mutable absl::Mutex keyring_mu ABSL_ACQUIRED_AFTER(mu);
  TermMap terms ABSL_GUARDED_BY(keyring_mu);
  uint32_t active ABSL_GUARDED_BY(keyring_mu) = 0;

  // Reads and decrypts the root key record with `unseal_key`.
  absl::StatusOr<kms::SecretBytes> LoadRootKey(
      const kms::SecretBytes& unseal_key) {
    RETURN_IF_ERROR(CheckUnsealKey(unseal_key));
    ASSIGN_OR_RETURN(std::optional<std::string> record,
                     backend->Get(kRootKeyPath));
    if (!record.has_value()) {
      return absl::FailedPreconditionError("arca is not initialized");
    }
    ASSIGN_OR_RETURN(std::unique_ptr<kms::AesGcm> unseal_aead,
                     kms::AesGcm::New(unseal_key));
    auto root = OpenKeyRecord(*unseal_aead, *record, kRootKeyPath);
    if (absl::IsInvalidArgument(root.status())) {
      return absl::InvalidArgumentError("unseal key is not valid");
    }
    if (root.ok() && root->size() != kKeySize) {
      return DataLoss(kRootKeyPath, "holds a key of the wrong size");
    }
    return root;
  }

  // Writes the in-memory keyring, encrypted under the root key.
  absl::Status PersistKeyring() ABSL_SHARED_LOCKS_REQUIRED(mu)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(keyring_mu) {
    kms::SecretBytes plain = SerializeKeyring(terms, active);
    ASSIGN_OR_RETURN(std::string record,
                     SealKeyRecord(*root_aead, plain.Reveal(), kKeyringPath));
    return backend->Put(kKeyringPath, record);
  }

  // Adds a term one above the highest and makes it active, persisting the
  // keyring first; on failure nothing changes.
  absl::StatusOr<TermInfo> AddTerm() ABSL_SHARED_LOCKS_REQUIRED(mu)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(keyring_mu) {
    const uint32_t number = terms.empty() ? 1 : terms.rbegin()->first + 1;
    if (number == 0) return absl::ResourceExhaustedError("no terms left");
    ASSIGN_OR_RETURN(
        std::unique_ptr<Term> term,
        NewTerm(number, NowUnix(), kms::RandomSecret(kKeySize), 0));
    const uint32_t previous = active;
    terms.emplace(number, std::move(term));
    active = number;
    if (absl::Status s = PersistKeyring(); !s.ok()) {
      terms.erase(number);
      active = previous;
      return s;
    }
    return InfoOf(*terms.at(number));
  }

  // Claims one encryption under the active term, rotating at the limit and
  // persisting a new reservation before the count passes the old one.
  absl::StatusOr<const Term*> ClaimEncryption() ABSL_SHARED_LOCKS_REQUIRED(mu) {
    absl::MutexLock lock(&keyring_mu);
    Term* term = terms.at(active).get();
    if (term->encryptions >= options.max_encryptions_per_term) {
      RETURN_IF_ERROR(AddTerm().status());
      term = terms.at(active).get();
    }
    if (term->encryptions >= term->reserved) {
      const uint64_t previous = term->reserved;
      term->reserved = std::min(term->encryptions + options.counter_reservation,
                                options.max_encryptions_per_term);
      if (absl::Status s = PersistKeyring(); !s.ok()) {
        term->reserved = previous;
        return s;
      }
    }
    ++term->encryptions;
    return term;
  }

  absl::StatusOr<std::string> Encrypt(std::string_view path,
                                      std::string_view plaintext)
      ABSL_SHARED_LOCKS_REQUIRED(mu) {
    ASSIGN_OR_RETURN(const Term* term, ClaimEncryption());
    std::string record(kHeaderSize, '\0');
    PutU32(reinterpret_cast<uint8_t*>(record.data()), term->number);
    record[kTermSize] = static_cast<char>(kRecordVersion);
    ASSIGN_OR_RETURN(std::string sealed, term->aead->Encrypt(plaintext, path));
    record += sealed;
    return record;
  }

  absl::StatusOr<std::string> Decrypt(std::string_view path,
                                      std::string_view record)
      ABSL_SHARED_LOCKS_REQUIRED(mu) {
    if (record.size() < kMinRecordSize) return DataLoss(path, "is truncated");
    if (static_cast<uint8_t>(record[kTermSize]) != kRecordVersion) {
      return DataLoss(path, "has an unknown version");
    }
    const uint32_t number = GetU32(record);
    const kms::AesGcm* aead = nullptr;
    {
      absl::MutexLock lock(&keyring_mu);
      auto it = terms.find(number);
      if (it == terms.end()) return DataLoss(path, "has an unknown term");
      aead = it->second->aead.get();
    }
    auto plain = aead->Decrypt(record.substr(kHeaderSize), path);
    if (absl::IsInvalidArgument(plain.status())) {
      return DataLoss(path, "failed authentication");
    }
    return plain;
  }

  absl::Status CheckUnsealed() const ABSL_SHARED_LOCKS_REQUIRED(mu) {
    return sealed ? SealedError() : absl::OkStatus();
  }

  // `mutations` as they go to the backend: every path checked before any
  // value is encrypted (a refused batch claims no encryptions), then every
  // kPut value replaced by its record.
  absl::StatusOr<std::vector<storage::Mutation>> SealMutations(
      std::vector<storage::Mutation> mutations) ABSL_SHARED_LOCKS_REQUIRED(mu) {
    RETURN_IF_ERROR(CheckUnsealed());
    for (const storage::Mutation& m : mutations) {
      RETURN_IF_ERROR(CheckPath(m.key));
    }
    for (storage::Mutation& m : mutations) {
      if (m.kind != storage::Mutation::Kind::kPut) continue;
      ASSIGN_OR_RETURN(m.value, Encrypt(m.key, m.value));
    }
    return mutations;
  }
};

Barrier::Barrier(storage::Backend* backend, Options options)
    : backend_(backend), options_(options) {
  // Zero limits would make every encryption rotate or reserve forever.
  options_.max_encryptions_per_term =
      std::max<uint64_t>(options_.max_encryptions_per_term, 1);
  options_.counter_reservation =
      std::max<uint64_t>(options_.counter_reservation, 1);
  state_ = std::make_unique<State>(backend_, options_);
}

Barrier::~Barrier() { Seal(); }

absl::StatusOr<bool> Barrier::Initialized() {
  ASSIGN_OR_RETURN(std::optional<std::string> record,
                   backend_->Get(kRootKeyPath));
  return record.has_value();
}

absl::Status Barrier::Initialize(const kms::SecretBytes& unseal_key) {
  RETURN_IF_ERROR(CheckUnsealKey(unseal_key));
  absl::MutexLock lock(&state_->mu);
  ASSIGN_OR_RETURN(bool initialized, Initialized());
  if (initialized) {
    return absl::FailedPreconditionError("arca is already initialized");
  }
  kms::SecretBytes root_key = kms::RandomSecret(kKeySize);
  ASSIGN_OR_RETURN(std::unique_ptr<kms::AesGcm> root_aead,
                   kms::AesGcm::New(root_key));
  ASSIGN_OR_RETURN(std::unique_ptr<kms::AesGcm> unseal_aead,
                   kms::AesGcm::New(unseal_key));
  TermMap terms;
  ASSIGN_OR_RETURN(std::unique_ptr<Term> first,
                   NewTerm(1, NowUnix(), kms::RandomSecret(kKeySize), 0));
  terms.emplace(1, std::move(first));
  kms::SecretBytes keyring = SerializeKeyring(terms, 1);
  ASSIGN_OR_RETURN(std::string keyring_record,
                   SealKeyRecord(*root_aead, keyring.Reveal(), kKeyringPath));
  ASSIGN_OR_RETURN(
      std::string root_record,
      SealKeyRecord(*unseal_aead, root_key.Reveal(), kRootKeyPath));
  // Root key last in the batch is cosmetic: the batch is atomic, and
  // "initialized" means the root key exists.
  return backend_->Batch(
      {storage::Mutation::Put(std::string(kKeyringPath), keyring_record),
       storage::Mutation::Put(std::string(kRootKeyPath), root_record)});
}

absl::Status Barrier::Unseal(const kms::SecretBytes& unseal_key) {
  RETURN_IF_ERROR(CheckUnsealKey(unseal_key));
  State& s = *state_;
  absl::MutexLock lock(&s.mu);
  if (!s.sealed) return absl::OkStatus();
  ASSIGN_OR_RETURN(kms::SecretBytes root_key, s.LoadRootKey(unseal_key));
  ASSIGN_OR_RETURN(std::unique_ptr<kms::AesGcm> root_aead,
                   kms::AesGcm::New(root_key));
  ASSIGN_OR_RETURN(std::optional<std::string> record,
                   backend_->Get(kKeyringPath));
  if (!record.has_value()) return DataLoss(kKeyringPath, "is missing");
  auto plain = OpenKeyRecord(*root_aead, *record, kKeyringPath);
  if (absl::IsInvalidArgument(plain.status())) {
    return DataLoss(kKeyringPath, "failed authentication");
  }
  if (!plain.ok()) return plain.status();
  TermMap terms;
  uint32_t active = 0;
  RETURN_IF_ERROR(ParseKeyring(*plain, &terms, &active));

  absl::MutexLock keyring_lock(&s.keyring_mu);
  s.root_key = std::move(root_key);
  s.root_aead = std::move(root_aead);
  s.terms = std::move(terms);
  s.active = active;
  s.sealed = false;
  return absl::OkStatus();
}

absl::Status Barrier::VerifyUnsealKey(const kms::SecretBytes& unseal_key) {
  // Shared: excludes a concurrent Rekey swapping the root key record.
  absl::ReaderMutexLock lock(&state_->mu);
  return state_->LoadRootKey(unseal_key).status();
}

absl::Status Barrier::Rekey(const kms::SecretBytes& new_unseal_key,
                            std::vector<storage::Mutation> plain_records) {
  RETURN_IF_ERROR(CheckUnsealKey(new_unseal_key));
  for (const storage::Mutation& m : plain_records) {
    if (m.key == kRootKeyPath || m.key == kKeyringPath) {
      return absl::InvalidArgumentError("rekey: reserved barrier path");
    }
  }
  State& s = *state_;
  absl::MutexLock lock(&s.mu);
  RETURN_IF_ERROR(s.CheckUnsealed());
  absl::MutexLock keyring_lock(&s.keyring_mu);
  // A fresh root key, so that an old root-key record (from a backup) opened
  // with an old unseal key cannot decrypt the keyring written from now on.
  kms::SecretBytes root_key = kms::RandomSecret(kKeySize);
  ASSIGN_OR_RETURN(std::unique_ptr<kms::AesGcm> root_aead,
                   kms::AesGcm::New(root_key));
  ASSIGN_OR_RETURN(std::unique_ptr<kms::AesGcm> unseal_aead,
                   kms::AesGcm::New(new_unseal_key));
  kms::SecretBytes keyring = SerializeKeyring(s.terms, s.active);
  ASSIGN_OR_RETURN(std::string keyring_record,
                   SealKeyRecord(*root_aead, keyring.Reveal(), kKeyringPath));
  ASSIGN_OR_RETURN(
      std::string root_record,
      SealKeyRecord(*unseal_aead, root_key.Reveal(), kRootKeyPath));
  plain_records.push_back(storage::Mutation::Put(std::string(kKeyringPath),
                                                 std::move(keyring_record)));
  plain_records.push_back(storage::Mutation::Put(std::string(kRootKeyPath),
                                                 std::move(root_record)));
  RETURN_IF_ERROR(backend_->Batch(plain_records));
  // Only after the batch is durable: on failure the old root key stays valid.
  s.root_key = std::move(root_key);
  s.root_aead = std::move(root_aead);
  return absl::OkStatus();
}

void Barrier::Seal() {
  State& s = *state_;
  absl::MutexLock lock(&s.mu);
  absl::MutexLock keyring_lock(&s.keyring_mu);
  // Destroying each Term wipes its SecretBytes and frees its AesGcm.
  s.terms.clear();
  s.active = 0;
  s.root_aead.reset();
  s.root_key.Wipe();
  s.sealed = true;
}

bool Barrier::Sealed() const {
  absl::ReaderMutexLock lock(&state_->mu);
  return state_->sealed;
}

absl::StatusOr<TermInfo> Barrier::Rotate() {
  State& s = *state_;
  absl::MutexLock lock(&s.mu);
  RETURN_IF_ERROR(s.CheckUnsealed());
  absl::MutexLock keyring_lock(&s.keyring_mu);
  return s.AddTerm();
}

absl::StatusOr<TermInfo> Barrier::ActiveTerm() const {
  const State& s = *state_;
  absl::ReaderMutexLock lock(&s.mu);
  RETURN_IF_ERROR(s.CheckUnsealed());
  absl::MutexLock keyring_lock(&s.keyring_mu);
  return InfoOf(*s.terms.at(s.active));
}

absl::StatusOr<std::optional<std::string>> Barrier::Get(std::string_view path) {
  State& s = *state_;
  absl::ReaderMutexLock lock(&s.mu);
  RETURN_IF_ERROR(s.CheckUnsealed());
  RETURN_IF_ERROR(CheckPath(path));
  ASSIGN_OR_RETURN(std::optional<std::string> record, backend_->Get(path));
  if (!record.has_value()) return std::nullopt;
  ASSIGN_OR_RETURN(std::string plain, s.Decrypt(path, *record));
  return plain;
}

absl::Status Barrier::Put(std::string_view path, std::string_view value) {
  State& s = *state_;
  absl::ReaderMutexLock lock(&s.mu);
  RETURN_IF_ERROR(s.CheckUnsealed());
  RETURN_IF_ERROR(CheckPath(path));
  ASSIGN_OR_RETURN(std::string record, s.Encrypt(path, value));
  return backend_->Put(path, record);
}

absl::Status Barrier::Delete(std::string_view path) {
  State& s = *state_;
  absl::ReaderMutexLock lock(&s.mu);
  RETURN_IF_ERROR(s.CheckUnsealed());
  RETURN_IF_ERROR(CheckPath(path));
  return backend_->Delete(path);
}

absl::StatusOr<std::vector<std::string>> Barrier::List(
    std::string_view prefix) {
  State& s = *state_;
  absl::ReaderMutexLock lock(&s.mu);
  RETURN_IF_ERROR(s.CheckUnsealed());
  if (IsReserved(prefix)) {
    return absl::InvalidArgumentError("paths under \"barrier/\" are reserved");
  }
  ASSIGN_OR_RETURN(std::vector<std::string> children, backend_->List(prefix));
  // A prefix above "barrier/" (such as "") would otherwise show it.
  std::erase_if(children, [&](const std::string& child) {
    return IsReserved(std::string(prefix) + child);
  });
  return children;
}

absl::Status Barrier::Batch(const std::vector<storage::Mutation>& mutations) {
  State& s = *state_;
  absl::ReaderMutexLock lock(&s.mu);
  ASSIGN_OR_RETURN(std::vector<storage::Mutation> sealed,
                   s.SealMutations(mutations));
  return backend_->Batch(sealed);
}

void Barrier::BatchAsync(std::vector<storage::Mutation> mutations,
                         std::function<void(absl::Status)> done) {
  State& s = *state_;
  absl::StatusOr<std::vector<storage::Mutation>> sealed;
  {
    absl::ReaderMutexLock lock(&s.mu);
    sealed = s.SealMutations(std::move(mutations));
  }
  // `done` runs outside the lock: it may use the barrier again.
  if (!sealed.ok()) {
    done(sealed.status());
    return;
  }
  // Only ciphertext leaves the lock; old terms keep decrypting, so a write
  // that lands after a Rotate or Seal is still readable after unseal.
  backend_->BatchAsync(*std::move(sealed), std::move(done));
}

absl::Status SealedError() { return absl::UnavailableError(kSealedMessage); }

bool IsSealedError(const absl::Status& status) {
  return absl::IsUnavailable(status) && status.message() == kSealedMessage;
}

// View: every path gains the prefix on the way in; List results come back
// relative to the full prefix already, so nothing is stripped on the way out.

namespace {
absl::Status CheckViewPath(std::string_view path) {
  // An empty path would name the view's own prefix, a key List never shows.
  if (path.empty()) return absl::InvalidArgumentError("path is empty");
  return absl::OkStatus();
}
}  // namespace

absl::StatusOr<std::optional<std::string>> View::Get(
    std::string_view path) const {
  RETURN_IF_ERROR(CheckViewPath(path));
  return barrier_->Get(prefix_ + std::string(path));
}

absl::Status View::Put(std::string_view path, std::string_view value) const {
  RETURN_IF_ERROR(CheckViewPath(path));
  return barrier_->Put(prefix_ + std::string(path), value);
}

absl::Status View::Delete(std::string_view path) const {
  RETURN_IF_ERROR(CheckViewPath(path));
  return barrier_->Delete(prefix_ + std::string(path));
}

absl::StatusOr<std::vector<std::string>> View::List(
    std::string_view prefix) const {
  return barrier_->List(prefix_ + std::string(prefix));
}

absl::Status View::Batch(std::vector<storage::Mutation> mutations) const {
  for (storage::Mutation& m : mutations) {
    RETURN_IF_ERROR(CheckViewPath(m.key));
    m.key.insert(0, prefix_);
  }
  return barrier_->Batch(mutations);
}

void View::BatchAsync(std::vector<storage::Mutation> mutations,
                      std::function<void(absl::Status)> done) const {
  for (storage::Mutation& m : mutations) {
    if (absl::Status s = CheckViewPath(m.key); !s.ok()) {
      done(s);
      return;
    }
    m.key.insert(0, prefix_);
  }
  barrier_->BatchAsync(std::move(mutations), std::move(done));
}

View View::SubView(std::string_view subprefix) const {
  return View(barrier_, prefix_ + std::string(subprefix));
}

}  // namespace arca::barrier
