#ifndef ARCA_SERVER_ENGINES_TOKENIZE_ENGINE_H_
#define ARCA_SERVER_ENGINES_TOKENIZE_ENGINE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/barrier/barrier.h"

namespace arca::engines::tokenize {

// What a transformation does to the template's capture groups.
enum class TransformationType {
  kFpe,           // "fpe": FF1 (or FF3-1 with allow_ff3_1), reversible
  kTokenization,  // "tokenization": random vaulted token, reversible
  kMasking,       // "masking": every character replaced, irreversible
};
// Where the FPE tweak comes from (fpe only).
enum class TweakSource {
  kInternal,   // "internal" (default): fixed, random, per transformation
  kSupplied,   // "supplied": the caller passes it on encode and decode
  kGenerated,  // "generated": random per encode, returned to the caller
};
// Luhn handling for card numbers (numeric templates only).
enum class LuhnMode {
  kNone,        // "" / "none"
  kPreserve,    // "preserve": a token passes Luhn exactly if the value did
  kInvalidate,  // "invalidate": values must pass Luhn, tokens never do
};

std::string_view TransformationTypeName(TransformationType t);
absl::StatusOr<TransformationType> ParseTransformationType(std::string_view s);
std::string_view TweakSourceName(TweakSource t);
absl::StatusOr<TweakSource> ParseTweakSource(std::string_view s);  // "": internal
std::string_view LuhnModeName(LuhnMode m);
absl::StatusOr<LuhnMode> ParseLuhnMode(std::string_view s);  // "": none

// A template: an RE2 pattern matched against the whole value; its capture
// groups are the parts transformed, everything else is kept. `alphabet` is
// "numeric" (0-9), "alphanumeric" (0-9A-Za-z) or "custom:<chars>" (2..94
// distinct printable ASCII characters, no space). Captured characters must
// be in the alphabet.
struct TemplateSpec {
  std::string pattern;
  std::string alphabet;
};

struct TemplateInfo {
  std::string name;
  std::string pattern;
  std::string alphabet;
  bool builtin = false;
};

struct TransformationOptions {
  TransformationType type = TransformationType::kFpe;
  std::string template_name;  // required
  // Overrides the template's alphabet (same syntax); "" keeps it.
  std::string alphabet;
  TweakSource tweak_source = TweakSource::kInternal;
  LuhnMode luhn = LuhnMode::kNone;
  bool convergent = false;  // tokenization only
  int64_t ttl_ms = 0;       // tokenization only; 0: tokens never expire
  bool allow_ff3_1 = false;  // fpe only; deprecated, see Engine
  char mask_character = '*';  // masking only; must not be in the alphabet
};

struct TransformationInfo {
  std::string name;
  TransformationOptions options;
  uint32_t latest_version = 0;
  int64_t created_time_unix_ms = 0;
  int64_t updated_time_unix_ms = 0;
};

struct RoleInfo {
  std::string name;
  std::vector<std::string> transformations;  // sorted
};

// One value to encode. `tweak` is raw bytes (supplied tweak source only).
// `metadata` and `ttl_ms` (0: the transformation's) apply to vaulted tokens.
// `reference` is echoed back untouched.
struct EncodeItem {
  std::string value;
  std::string tweak;
  std::map<std::string, std::string> metadata;
  int64_t ttl_ms = 0;
  std::string reference;
};

// The result of one encode, in input order; on error only `status` and
// `reference` are set.
struct EncodeResult {
  absl::Status status;
  std::string token;
  std::string tweak;  // generated tweak source: pass it back to decode
  uint32_t key_version = 0;
  std::string reference;
};

// One token (or, for Validate of fpe/masking, one value) to decode.
// `tweak` is needed for supplied and generated tweak sources; `key_version`
// (0: latest) only for FPE tokens whose tweak does not carry it.
struct DecodeItem {
  std::string value;
  std::string tweak;
  uint32_t key_version = 0;
  std::string reference;
};

struct DecodeResult {
  absl::Status status;
  std::string value;
  std::map<std::string, std::string> metadata;  // vaulted tokens
  int64_t expire_time_unix_ms = 0;              // vaulted tokens; 0: never
  std::string reference;
};

struct ValidateResult {
  absl::Status status;
  bool valid = false;
  std::string reference;
};

// Limits and test hooks. Defaults are the production values.
struct Options {
  // Current Unix time in milliseconds; nullptr for the real clock.
  std::function<int64_t()> now_ms;
};

// Tokenization engine: format-preserving encryption, vaulted random tokens
// and masking of card numbers, account numbers and national IDs. Callers
// name a role (which binds a set of transformations) and a transformation.
//
// Formats. A template's RE2 pattern must match the whole value; the
// characters of its capture groups (concatenated, in order; nested groups
// are refused) are mapped to numerals 0..radix-1 by their index in the
// alphabet, transformed, and written back; the rest of the value is kept.
// Built-in templates (read-only): `pan` 16..19 digits keeping the first 6
// and last 4 (FF1 with radix 10 needs at least 6 transformed digits, so
// shorter card numbers need a custom template that transforms more);
// `ssn` ddd-dd-dddd keeping the dashes; `iban` keeping the country code and
// the check digits, transforming the BBAN over 0-9A-Z.
//
// fpe: FF1 (SP 800-38G rev 1) with a 256-bit key per version. Tweaks:
//   internal   7 random bytes fixed at creation;
//   supplied   the caller's bytes (1..256; FF3-1: exactly 7);
//   generated  FF1: 0x01 ‖ u32be(key version) ‖ 11 random bytes (16 bytes),
//              so decode finds the version in the tweak; FF3-1: 7 random
//              bytes. Returned by encode, required by decode.
//   With internal or supplied tweaks the token cannot carry the version:
//   encode reports key_version and decode takes it back (0: latest), so
//   after a rotation callers keep the version beside the token.
//   FF3-1 (allow_ff3_1) exists only for data already tokenized with it:
//   NIST's draft second revision of SP 800-38G withdraws FF3-1.
// Luhn (numeric alphabets; the check runs over all digits of the value):
//   preserve   FF1 is cycle-walked within the input's class (Luhn-valid or
//              not), so the class is kept and decode walks back the same way.
//              Like any format-preserving permutation it has fixed points:
//              for a 16-digit `pan` (6 digits transformed, 10^5 of them
//              Luhn-valid) about one value in 10^5 is its own token.
//   invalidate the input must pass Luhn; it is cycle-walked within the
//              valid class, then the last transformed digit is changed so
//              the Luhn sum becomes 1 mod 10 (a bijection onto that class):
//              no token passes Luhn, and decode undoes both steps.
// tokenization: each captured character is replaced by a uniformly random
//   one of the alphabet (redrawn until the Luhn mode holds and the token is
//   unused). The value is stored encrypted (XChaCha20-Poly1305 under the
//   version key, associated data = storage path; 192-bit random nonces, so
//   no per-key message limit to count, unlike AES-GCM's 2^32) with optional
//   TTL and metadata.
//   `convergent` keeps an index keyed by HMAC-SHA256(index key, value) so
//   equal values get equal tokens; nothing is ever indexed by plaintext.
//   A token is reserved in memory until its record is committed, and a
//   token whose record exists (even expired) is never drawn again, so
//   concurrent encodes never share a token (arcad is the only writer of
//   its storage). A batch commits all its tokens in one write. Expired
//   tokens become tombstones (PurgeExpired): their values are deleted.
//   Expired and unknown tokens are the same NOT_FOUND "token not found".
// masking: captured characters become `mask_character`; decode refuses.
//
// Errors never contain a value or token (a card number is a secret):
//   INVALID_ARGUMENT "value does not match template <t>", "value has a
//     character outside the alphabet of template <t>", "value is too short
//     for format-preserving encryption under template <t>", "value fails the
//     Luhn check (luhn=invalidate needs valid card numbers)", "token is not
//     from this transformation", a missing or malformed tweak, transformation
//     not bound to the role, operations the type does not support, bad
//     names, patterns or options;
//   NOT_FOUND for a missing role, transformation or template, and "token not
//   found"; ALREADY_EXISTS on creating an existing template/transformation;
//   FAILED_PRECONDITION for Lookup on a non-convergent transformation and
//   deleting a template in use; barrier errors pass through.
//
// Storage (inside the mount's View):
//   template/<name>, transformation/<name>, role/<name>      config records
//   vault/<transformation>/token/<hex HMAC(token key, token)>  TokenRecord
//   vault/<transformation>/value/<hex HMAC(index key, value)>  convergent index
//   vault/<transformation>/expiry/<16-digit ms>.<hex HMAC(token key, token)>
//                                     "" (expiry index of tokens with a TTL)
// Key material in memory lives only in kms::SecretBytes and the FF1 key
// schedules.
//
// Thread-safety: all methods are thread-safe. Compiled transformations
// (RE2 program, alphabet, ciphers per version) and roles are cached in
// sharded maps and replaced on every write. The View's barrier must outlive
// the Engine.
class Engine {
 public:
  static constexpr size_t kMaxNameBytes = 128;
  static constexpr size_t kMaxBatchItems = 10'000;
  static constexpr size_t kMaxPatternBytes = 1024;
  static constexpr size_t kMaxValueBytes = 1024;
  static constexpr size_t kMaxMetadataBytes = 4096;

  explicit Engine(barrier::View view, Options options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // --- Templates ---
  absl::StatusOr<TemplateInfo> CreateTemplate(std::string_view name,
                                              const TemplateSpec& spec);
  absl::StatusOr<TemplateInfo> ReadTemplate(std::string_view name);
  // Built-ins and stored templates, sorted.
  absl::StatusOr<std::vector<std::string>> ListTemplates();
  absl::Status DeleteTemplate(std::string_view name);

  // --- Transformations ---
  absl::StatusOr<TransformationInfo> CreateTransformation(
      std::string_view name, const TransformationOptions& options);
  absl::StatusOr<TransformationInfo> ReadTransformation(std::string_view name);
  absl::StatusOr<std::vector<std::string>> ListTransformations();
  // Deletes the key and, for tokenization, every stored token.
  absl::Status DeleteTransformation(std::string_view name);
  // Adds key version latest+1 for new encodes; old versions still decode.
  absl::StatusOr<TransformationInfo> RotateTransformation(
      std::string_view name);

  // --- Roles ---
  // Creates or replaces the role. Every transformation must exist.
  absl::StatusOr<RoleInfo> WriteRole(
      std::string_view name, const std::vector<std::string>& transformations);
  absl::StatusOr<RoleInfo> ReadRole(std::string_view name);
  absl::StatusOr<std::vector<std::string>> ListRoles();
  absl::Status DeleteRole(std::string_view name);

  // --- Encode, decode, validate ---
  // The single forms return the item's error as the call's status. In the
  // batch forms role/transformation failures (NOT_FOUND, not bound, sealed,
  // more than kMaxBatchItems) fail the call; anything about one item goes
  // in its result, in input order, and the other items still succeed.
  absl::StatusOr<EncodeResult> Encode(std::string_view role,
                                      std::string_view transformation,
                                      const EncodeItem& item);
  absl::StatusOr<std::vector<EncodeResult>> BatchEncode(
      std::string_view role, std::string_view transformation,
      const std::vector<EncodeItem>& items);
  absl::StatusOr<DecodeResult> Decode(std::string_view role,
                                      std::string_view transformation,
                                      const DecodeItem& item);
  absl::StatusOr<std::vector<DecodeResult>> BatchDecode(
      std::string_view role, std::string_view transformation,
      const std::vector<DecodeItem>& items);
  // tokenization: `value` is a live token of the transformation.
  // fpe, masking: `value` matches the template (and, with luhn=invalidate,
  // is a possible token: fails Luhn).
  absl::StatusOr<ValidateResult> Validate(std::string_view role,
                                          std::string_view transformation,
                                          const DecodeItem& item);
  absl::StatusOr<std::vector<ValidateResult>> BatchValidate(
      std::string_view role, std::string_view transformation,
      const std::vector<DecodeItem>& items);
  // The live token of `value` (convergent tokenization only).
  absl::StatusOr<std::string> Lookup(std::string_view role,
                                     std::string_view transformation,
                                     std::string_view value);

  // Replaces vaulted tokens that expired at or before `now_ms` with
  // tombstones (value and metadata deleted; the token is never reissued),
  // at most kMaxPurgePerCall per transformation a call. Returns how many.
  // Cheap when nothing is due. The core calls it from its maintenance
  // thread.
  absl::StatusOr<int> PurgeExpired(int64_t now_ms);
  static constexpr int kMaxPurgePerCall = 10'000;

  // Drops every cached key from memory; the core calls it on seal.
  void DropCache();

  // OK if `name` is 1..kMaxNameBytes of [A-Za-z0-9._-], not "." or "..".
  static absl::Status ValidateName(std::string_view name);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace arca::engines::tokenize

#endif  // ARCA_SERVER_ENGINES_TOKENIZE_ENGINE_H_
