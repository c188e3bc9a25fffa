#include "client/envelope_encryptor.h"

#include <string.h>

#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "kms/aes_gcm.h"
#include "kms/mac.h"
#include "kms/random.h"

namespace arca {
namespace {

constexpr std::string_view kMagic = "ARCAENV1";
constexpr std::string_view kMessageKeyInfo = "arca envelope v1";
constexpr size_t kSaltSize = 16;
constexpr size_t kTagSize = kms::AesGcm::kTagSize;
constexpr size_t kMinChunk = 1024;
constexpr size_t kMaxChunk = 16 * 1024 * 1024;
constexpr size_t kMaxKeyName = 128;
constexpr size_t kMaxWrapped = 4096;

void PutU16(std::string* s, uint16_t v) {
  s->push_back(static_cast<char>(v >> 8));
  s->push_back(static_cast<char>(v));
}
void PutU32(std::string* s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU64(std::string* s, uint64_t v) {
  for (int i = 7; i >= 0; --i) s->push_back(static_cast<char>(v >> (8 * i)));
}
uint64_t GetBE(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

absl::Status Truncated() {
  return absl::InvalidArgumentError("envelope is truncated");
}
absl::Status NotEnvelope() {
  return absl::InvalidArgumentError("input is not an arca envelope");
}

// Reads exactly n bytes; false on a short read.
bool ReadExact(std::istream& in, size_t n, std::string* out) {
  out->resize(n);
  in.read(out->data(), static_cast<std::streamsize>(n));
  return static_cast<size_t>(in.gcount()) == n;
}

absl::StatusOr<uint64_t> ReadBE(std::istream& in, int n) {
  std::string buf;
  if (!ReadExact(in, n, &buf)) return Truncated();
  return GetBE(buf.data(), n);
}

std::string Nonce(uint64_t index) {
  std::string n;
  PutU64(&n, index);
  PutU32(&n, 0);
  return n;
}

std::string ChunkAad(const std::string& header_hash, uint64_t index,
                     bool final) {
  std::string aad = header_hash;
  PutU64(&aad, index);
  aad.push_back(final ? 1 : 0);
  return aad;
}

absl::StatusOr<std::unique_ptr<kms::AesGcm>> MessageCipher(
    const kms::SecretBytes& data_key, std::string_view salt) {
  absl::StatusOr<kms::SecretBytes> key =
      kms::HkdfSha256(data_key, salt, kMessageKeyInfo, 32);
  if (!key.ok()) return key.status();
  return kms::AesGcm::New(*key);
}

}  // namespace

struct EnvelopeEncryptor::DataKey {
  kms::SecretBytes plaintext;
  std::string wrapped;
  std::string key_name;
  uint32_t key_version = 0;
};

absl::StatusOr<std::unique_ptr<EnvelopeEncryptor>> EnvelopeEncryptor::New(
    Client* client, EnvelopeOptions options) {
  if (client == nullptr) {
    return absl::InvalidArgumentError("envelope encryptor needs a client");
  }
  if (options.key_name.empty() || options.key_name.size() > kMaxKeyName) {
    return absl::InvalidArgumentError("envelope key name must be 1..128 bytes");
  }
  if (options.chunk_size < kMinChunk || options.chunk_size > kMaxChunk) {
    return absl::InvalidArgumentError(
        "envelope chunk size must be 1 KiB .. 16 MiB");
  }
  if (options.max_messages_per_data_key == 0 ||
      options.max_data_key_age <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("data key reuse limits must be positive");
  }
  kms::InitCrypto();
  return std::unique_ptr<EnvelopeEncryptor>(
      new EnvelopeEncryptor(client, std::move(options)));
}

EnvelopeEncryptor::EnvelopeEncryptor(Client* client, EnvelopeOptions options)
    : client_(client), options_(std::move(options)) {}

EnvelopeEncryptor::~EnvelopeEncryptor() = default;

absl::StatusOr<std::shared_ptr<const EnvelopeEncryptor::DataKey>>
EnvelopeEncryptor::CurrentDataKey() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  if (current_ != nullptr &&
      current_uses_ < options_.max_messages_per_data_key &&
      now - current_fetched_ < options_.max_data_key_age) {
    ++current_uses_;
    return current_;
  }
  v1::TransitDataKeyRequest req;
  req.set_mount(options_.mount);
  req.set_name(options_.key_name);
  req.set_bits(256);
  absl::StatusOr<v1::TransitDataKeyResponse> resp =
      client_->TransitGenerateDataKey(req);
  if (!resp.ok()) return resp.status();
  auto key = std::make_shared<DataKey>();
  key->plaintext = kms::SecretBytes::CopyFrom(resp->plaintext());
  explicit_bzero(resp->mutable_plaintext()->data(), resp->plaintext().size());
  if (key->plaintext.size() != 32 || resp->ciphertext().size() > kMaxWrapped) {
    return absl::InternalError("server returned a malformed data key");
  }
  key->wrapped = resp->ciphertext();
  key->key_name = options_.key_name;
  key->key_version = resp->key_version();
  current_ = key;
  current_uses_ = 1;
  current_fetched_ = now;
  return current_;
}

absl::StatusOr<std::shared_ptr<const EnvelopeEncryptor::DataKey>>
EnvelopeEncryptor::Unwrap(const std::string& key_name,
                          const std::string& wrapped) {
  {
    absl::MutexLock lock(&mu_);
    for (const auto& k : {current_, last_unwrapped_}) {
      if (k != nullptr && k->key_name == key_name && k->wrapped == wrapped) {
        return k;
      }
    }
  }
  v1::TransitDecryptRequest req;
  req.set_mount(options_.mount);
  req.set_name(key_name);
  req.set_ciphertext(wrapped);
  absl::StatusOr<v1::TransitDecryptResponse> resp =
      client_->TransitDecrypt(req);
  if (!resp.ok()) return resp.status();
  auto key = std::make_shared<DataKey>();
  key->plaintext = kms::SecretBytes::CopyFrom(resp->plaintext());
  explicit_bzero(resp->mutable_plaintext()->data(), resp->plaintext().size());
  if (key->plaintext.size() != 32) {
    return absl::InvalidArgumentError(
        "envelope's wrapped data key is not a 256-bit key");
  }
  key->wrapped = wrapped;
  key->key_name = key_name;
  absl::MutexLock lock(&mu_);
  last_unwrapped_ = key;
  return key;
}

absl::Status EnvelopeEncryptor::Encrypt(std::istream& in, std::ostream& out) {
  absl::StatusOr<std::shared_ptr<const DataKey>> key = CurrentDataKey();
  if (!key.ok()) return key.status();
  const DataKey& dk = **key;
  const std::string salt = kms::RandomString(kSaltSize);

  std::string header(kMagic);
  PutU16(&header, static_cast<uint16_t>(dk.key_name.size()));
  header += dk.key_name;
  PutU32(&header, dk.key_version);
  PutU32(&header, static_cast<uint32_t>(dk.wrapped.size()));
  header += dk.wrapped;
  PutU32(&header, static_cast<uint32_t>(options_.chunk_size));
  header += salt;
  const std::string header_hash = kms::Sha256(header);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));

  absl::StatusOr<std::unique_ptr<kms::AesGcm>> cipher =
      MessageCipher(dk.plaintext, salt);
  if (!cipher.ok()) return cipher.status();

  std::string chunk(options_.chunk_size, '\0');
  for (uint64_t index = 0;; ++index) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const size_t n = static_cast<size_t>(in.gcount());
    if (in.bad()) return absl::InvalidArgumentError("cannot read the input");
    const bool final =
        n < chunk.size() || in.peek() == std::char_traits<char>::eof();
    absl::StatusOr<std::string> ct = (*cipher)->EncryptWithNonce(
        Nonce(index), std::string_view(chunk.data(), n),
        ChunkAad(header_hash, index, final));
    if (!ct.ok()) return ct.status();
    std::string frame;
    frame.push_back(final ? 1 : 0);
    PutU32(&frame, static_cast<uint32_t>(ct->size()));
    out.write(frame.data(), static_cast<std::streamsize>(frame.size()));
    out.write(ct->data(), static_cast<std::streamsize>(ct->size()));
    if (!out) return absl::InvalidArgumentError("cannot write the output");
    if (final) break;
  }
  explicit_bzero(chunk.data(), chunk.size());
  out.flush();
  if (!out) return absl::InvalidArgumentError("cannot write the output");
  return absl::OkStatus();
}

absl::Status EnvelopeEncryptor::Decrypt(std::istream& in, std::ostream& out) {
  std::string header;
  if (!ReadExact(in, kMagic.size(), &header) || header != kMagic) {
    return NotEnvelope();
  }
  std::string buf;
  absl::StatusOr<uint64_t> name_len = ReadBE(in, 2);
  if (!name_len.ok()) return name_len.status();
  if (*name_len == 0 || *name_len > kMaxKeyName) return NotEnvelope();
  std::string key_name;
  if (!ReadExact(in, *name_len, &key_name)) return Truncated();
  absl::StatusOr<uint64_t> version = ReadBE(in, 4);
  if (!version.ok()) return version.status();
  absl::StatusOr<uint64_t> wrapped_len = ReadBE(in, 4);
  if (!wrapped_len.ok()) return wrapped_len.status();
  if (*wrapped_len == 0 || *wrapped_len > kMaxWrapped) return NotEnvelope();
  std::string wrapped;
  if (!ReadExact(in, *wrapped_len, &wrapped)) return Truncated();
  absl::StatusOr<uint64_t> chunk_size = ReadBE(in, 4);
  if (!chunk_size.ok()) return chunk_size.status();
  if (*chunk_size < kMinChunk || *chunk_size > kMaxChunk) return NotEnvelope();
  std::string salt;
  if (!ReadExact(in, kSaltSize, &salt)) return Truncated();

  PutU16(&header, static_cast<uint16_t>(key_name.size()));
  header += key_name;
  PutU32(&header, static_cast<uint32_t>(*version));
  PutU32(&header, static_cast<uint32_t>(wrapped.size()));
  header += wrapped;
  PutU32(&header, static_cast<uint32_t>(*chunk_size));
  header += salt;
  const std::string header_hash = kms::Sha256(header);

  absl::StatusOr<std::shared_ptr<const DataKey>> key =
      Unwrap(key_name, wrapped);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::unique_ptr<kms::AesGcm>> cipher =
      MessageCipher((*key)->plaintext, salt);
  if (!cipher.ok()) return cipher.status();

  std::string ct;
  for (uint64_t index = 0;; ++index) {
    std::string frame;
    if (!ReadExact(in, 5, &frame)) return Truncated();
    const uint8_t flag = static_cast<uint8_t>(frame[0]);
    const uint64_t len = GetBE(frame.data() + 1, 4);
    if (flag > 1 || len < kTagSize || len > *chunk_size + kTagSize ||
        (flag == 0 && len != *chunk_size + kTagSize)) {
      return absl::InvalidArgumentError(
          absl::StrCat("envelope chunk ", index, " is malformed"));
    }
    if (!ReadExact(in, len, &ct)) return Truncated();
    absl::StatusOr<std::string> pt = (*cipher)->DecryptWithNonce(
        Nonce(index), ct, ChunkAad(header_hash, index, flag == 1));
    if (!pt.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "envelope chunk ", index,
          " failed authentication (tampered, reordered or truncated)"));
    }
    out.write(pt->data(), static_cast<std::streamsize>(pt->size()));
    explicit_bzero(pt->data(), pt->size());
    if (!out) return absl::InvalidArgumentError("cannot write the output");
    if (flag == 1) break;
  }
  if (in.peek() != std::char_traits<char>::eof()) {
    return absl::InvalidArgumentError(
        "envelope has trailing data after its final chunk");
  }
  out.flush();
  if (!out) return absl::InvalidArgumentError("cannot write the output");
  return absl::OkStatus();
}

absl::StatusOr<std::string> EnvelopeEncryptor::EncryptString(
    std::string_view plaintext) {
  std::istringstream in{std::string(plaintext)};
  std::ostringstream out;
  absl::Status st = Encrypt(in, out);
  if (!st.ok()) return st;
  return std::move(out).str();
}

absl::StatusOr<std::string> EnvelopeEncryptor::DecryptString(
    std::string_view envelope) {
  std::istringstream in{std::string(envelope)};
  std::ostringstream out;
  absl::Status st = Decrypt(in, out);
  if (!st.ok()) return st;
  return std::move(out).str();
}

}  // namespace arca
