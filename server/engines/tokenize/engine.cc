#include "server/engines/tokenize/engine.h"

#include <algorithm>
#include <limits>
#include <atomic>
#include <array>
#include <optional>
#include <set>
#include <span>
#include <type_traits>
#include <utility>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "kms/fpe/ff1.h"
#include "kms/fpe/ff3_1.h"
#include "kms/mac.h"
#include "kms/random.h"
#include "kms/secret_bytes.h"
#include "kms/status_macros.h"
#include "kms/xchacha20_poly1305.h"
#include "re2/re2.h"
#include "server/engines/tokenize/tokenize_records.pb.h"

namespace arca::engines::tokenize {
namespace {

using records::RoleRecord;
using records::TemplateRecord;
using records::TokenRecord;
using records::TransformationRecord;
using records::ValueIndexRecord;

// absl::StrCat for std::string_view too (this abseil's string_view is its
// own type) and for integers.
inline void AppendPiece(std::string& out, std::string_view s) { out.append(s); }
inline void AppendPiece(std::string& out, char c) { out.push_back(c); }
template <typename N>
requires std::is_integral_v<N>
inline void AppendPiece(std::string& out, N n) {
  out.append(std::to_string(n));
}
template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (AppendPiece(out, args), ...);
  return out;
}

constexpr size_t kShards = 64;
constexpr size_t kKeyBytes = 32;
constexpr size_t kInternalTweakBytes = 7;
constexpr size_t kGeneratedTweakBytes = 16;
constexpr uint8_t kGeneratedTweakFormat = 0x01;
constexpr size_t kMaxSuppliedTweakBytes = kms::fpe::Ff1::kMaxTweakSize;
constexpr int kMaxTokenAttempts = 100;

constexpr char kNumeric[] = "0123456789";
constexpr char kAlphanumeric[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

struct Builtin {
  const char* name;
  const char* pattern;
  const char* alphabet;
};
// pan: 16..19 digits, first 6 and last 4 kept. ssn: the dashes kept.
// iban: country code and check digits kept, the BBAN transformed over
// upper-case alphanumerics.
constexpr Builtin kBuiltins[] = {
    {"iban", R"([A-Z]{2}[0-9]{2}([A-Z0-9]{11,30}))",
     "custom:0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
    {"pan", R"([0-9]{6}([0-9]{6,9})[0-9]{4})", "numeric"},
    {"ssn", R"(([0-9]{3})-([0-9]{2})-([0-9]{4}))", "numeric"},
};

std::optional<TemplateInfo> BuiltinTemplate(std::string_view name) {
  for (const Builtin& b : kBuiltins) {
    if (name != b.name) continue;
    TemplateInfo info;
    info.name = b.name;
    info.pattern = b.pattern;
    info.alphabet = b.alphabet;
    info.builtin = true;
    return info;
  }
  return std::nullopt;
}

std::string TemplatePath(std::string_view n) { return Cat("template/", n); }
std::string TransformationPath(std::string_view n) {
  return Cat("transformation/", n);
}
std::string RolePath(std::string_view n) { return Cat("role/", n); }
std::string VaultPrefix(std::string_view t) { return Cat("vault/", t, "/"); }

absl::Status DataLoss(std::string_view what, std::string_view name) {
  return absl::DataLossError(Cat(what, " ", name, " is corrupt"));
}

// The characters of an alphabet and the reverse map byte -> numeral.
struct Alphabet {
  std::string chars;
  std::array<int16_t, 256> index;
};

absl::StatusOr<Alphabet> ParseAlphabet(std::string_view spec) {
  std::string chars;
  if (spec == "numeric") {
    chars = kNumeric;
  } else if (spec == "alphanumeric") {
    chars = kAlphanumeric;
  } else if (spec.substr(0, 7) == "custom:") {
    chars = std::string(spec.substr(7));
  } else {
    return absl::InvalidArgumentError(
        "alphabet must be numeric, alphanumeric or custom:<characters>");
  }
  if (chars.size() < 2 || chars.size() > 94) {
    return absl::InvalidArgumentError(
        "a custom alphabet has 2 to 94 characters");
  }
  Alphabet a;
  a.index.fill(-1);
  for (size_t i = 0; i < chars.size(); ++i) {
    const auto c = static_cast<unsigned char>(chars[i]);
    if (c <= 0x20 || c >= 0x7f) {
      return absl::InvalidArgumentError(
          "alphabet characters must be printable ASCII other than space");
    }
    if (a.index[c] != -1) {
      return absl::InvalidArgumentError("alphabet has a duplicate character");
    }
    a.index[c] = static_cast<int16_t>(i);
  }
  a.chars = std::move(chars);
  return a;
}

absl::StatusOr<std::unique_ptr<RE2>> CompilePattern(std::string_view pattern) {
  if (pattern.empty() || pattern.size() > Engine::kMaxPatternBytes) {
    return absl::InvalidArgumentError(
        Cat("pattern must be 1..", Engine::kMaxPatternBytes, " bytes"));
  }
  RE2::Options opts;
  opts.set_log_errors(false);
  opts.set_max_mem(1 << 20);  // bounds the compiled program
  auto re = std::make_unique<RE2>(
      re2::StringPiece(pattern.data(), pattern.size()), opts);
  if (!re->ok()) {
    return absl::InvalidArgumentError(
        Cat("pattern is not a valid RE2 expression: ", re->error()));
  }
  if (re->NumberOfCapturingGroups() < 1) {
    return absl::InvalidArgumentError(
        "pattern needs at least one capture group (the part to transform)");
  }
  return re;
}

// A template ready to match: RE2 (linear time, no backtracking, so a
// user's pattern cannot stall the server) plus its alphabet.
struct CompiledTemplate {
  std::string name;
  std::unique_ptr<RE2> re;
  Alphabet alphabet;
};

// Where the captured characters are, and their numerals.
struct Parsed {
  std::vector<size_t> positions;  // byte offsets into the value
  std::vector<uint16_t> numerals;
};

absl::StatusOr<Parsed> Parse(const CompiledTemplate& t,
                             std::string_view value) {
  if (value.size() > Engine::kMaxValueBytes) {
    return absl::InvalidArgumentError(
        Cat("value is longer than ", Engine::kMaxValueBytes, " bytes"));
  }
  const int groups = t.re->NumberOfCapturingGroups();
  std::vector<re2::StringPiece> sub(groups + 1);
  const re2::StringPiece input(value.data(), value.size());
  if (!t.re->Match(input, 0, input.size(), RE2::ANCHOR_BOTH, sub.data(),
                   groups + 1)) {
    return absl::InvalidArgumentError(
        Cat("value does not match template ", t.name));
  }
  Parsed p;
  size_t end = 0;
  for (int g = 1; g <= groups; ++g) {
    if (sub[g].data() == nullptr) continue;  // optional group not taken
    const size_t begin = static_cast<size_t>(sub[g].data() - value.data());
    if (begin < end) {
      return absl::InvalidArgumentError(Cat(
          "template ", t.name, " has nested or overlapping capture groups"));
    }
    for (size_t i = 0; i < sub[g].size(); ++i) {
      const int16_t n =
          t.alphabet.index[static_cast<unsigned char>(value[begin + i])];
      if (n < 0) {
        return absl::InvalidArgumentError(Cat(
            "value has a character outside the alphabet of template ", t.name));
      }
      p.positions.push_back(begin + i);
      p.numerals.push_back(static_cast<uint16_t>(n));
    }
    end = begin + sub[g].size();
  }
  return p;
}

std::string Render(std::string_view value, const Parsed& p,
                   std::span<const uint16_t> numerals,
                   const Alphabet& alphabet) {
  std::string out(value);
  for (size_t i = 0; i < p.positions.size(); ++i) {
    out[p.positions[i]] = alphabet.chars[numerals[i]];
  }
  return out;
}

// Luhn sum (mod 10) over the digits of `s`, right to left, doubling every
// second digit; non-digits are skipped.
int LuhnSum(std::string_view s) {
  int sum = 0;
  bool dbl = false;
  for (size_t i = s.size(); i > 0; --i) {
    const char c = s[i - 1];
    if (c < '0' || c > '9') continue;
    int d = c - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10;
}
bool LuhnValid(std::string_view s) { return LuhnSum(s) == 0; }

int64_t RealNowMs() { return absl::ToUnixMillis(absl::Now()); }

// One key version with the ciphers built from it.
struct Version {
  uint32_t version = 0;
  kms::SecretBytes key;
  std::unique_ptr<kms::fpe::Ff1> ff1;
  std::unique_ptr<kms::fpe::Ff3_1> ff3;
  std::unique_ptr<kms::XChaCha20Poly1305> aead;  // vaulted values
};

// A transformation parsed from its record, immutable once built.
struct Compiled {
  std::string name;
  TransformationOptions options;
  std::shared_ptr<const CompiledTemplate> tmpl;
  std::string internal_tweak;
  kms::SecretBytes index_key;
  kms::SecretBytes token_key;
  uint32_t latest_version = 0;
  absl::flat_hash_map<uint32_t, std::unique_ptr<Version>> versions;
  TransformationInfo info;

  absl::StatusOr<const Version*> GetVersion(uint32_t v) const {
    auto it = versions.find(v == 0 ? latest_version : v);
    if (it == versions.end()) {
      return absl::InvalidArgumentError("key version does not exist");
    }
    return it->second.get();
  }
};

// A map name -> immutable entry, split in shards so that readers of
// different names do not meet on one lock.
template <typename T>
class ShardedCache {
 public:
  std::shared_ptr<const T> Find(std::string_view name) {
    Shard& s = shards_[Index(name)];
    absl::ReaderMutexLock lock(&s.mu);
    auto it = s.map.find(std::string(name));
    return it == s.map.end() ? nullptr : it->second;
  }
  void Put(std::string_view name, std::shared_ptr<const T> value) {
    Shard& s = shards_[Index(name)];
    absl::MutexLock lock(&s.mu);
    s.map[std::string(name)] = std::move(value);
  }
  void Erase(std::string_view name) {
    Shard& s = shards_[Index(name)];
    absl::MutexLock lock(&s.mu);
    s.map.erase(std::string(name));
  }
  void Clear() {
    for (Shard& s : shards_) {
      absl::MutexLock lock(&s.mu);
      s.map.clear();
    }
  }

 private:
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, std::shared_ptr<const T>> map
        ABSL_GUARDED_BY(mu);
  };
  static size_t Index(std::string_view name) {
    return std::hash<std::string_view>{}(name) % kShards;
  }
  std::array<Shard, kShards> shards_;
};

// Runs `one` over every item of a batch, in order: an item's failure is its
// result's status; a sealed barrier fails the whole call.
template <typename Result, typename Item, typename Fn>
absl::StatusOr<std::vector<Result>> EachItem(const std::vector<Item>& items,
                                             Fn one) {
  std::vector<Result> out;
  out.reserve(items.size());
  for (const Item& item : items) {
    absl::StatusOr<Result> r = one(item);
    if (barrier::IsSealedError(r.status())) return r.status();
    if (r.ok()) {
      out.push_back(*std::move(r));
    } else {
      out.emplace_back();
      out.back().status = r.status();
    }
    out.back().reference = item.reference;
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------

std::string_view TransformationTypeName(TransformationType t) {
  switch (t) {
    case TransformationType::kFpe:
      return "fpe";
    case TransformationType::kTokenization:
      return "tokenization";
    case TransformationType::kMasking:
      return "masking";
  }
  return "";
}
absl::StatusOr<TransformationType> ParseTransformationType(std::string_view s) {
  if (s == "fpe") return TransformationType::kFpe;
  if (s == "tokenization") return TransformationType::kTokenization;
  if (s == "masking") return TransformationType::kMasking;
  return absl::InvalidArgumentError(
      "transformation type must be fpe, tokenization or masking");
}
std::string_view TweakSourceName(TweakSource t) {
  switch (t) {
    case TweakSource::kInternal:
      return "internal";
    case TweakSource::kSupplied:
      return "supplied";
    case TweakSource::kGenerated:
      return "generated";
  }
  return "";
}
absl::StatusOr<TweakSource> ParseTweakSource(std::string_view s) {
  if (s.empty() || s == "internal") return TweakSource::kInternal;
  if (s == "supplied") return TweakSource::kSupplied;
  if (s == "generated") return TweakSource::kGenerated;
  return absl::InvalidArgumentError(
      "tweak source must be supplied, internal or generated");
}
std::string_view LuhnModeName(LuhnMode m) {
  switch (m) {
    case LuhnMode::kNone:
      return "none";
    case LuhnMode::kPreserve:
      return "preserve";
    case LuhnMode::kInvalidate:
      return "invalidate";
  }
  return "";
}
absl::StatusOr<LuhnMode> ParseLuhnMode(std::string_view s) {
  if (s.empty() || s == "none") return LuhnMode::kNone;
  if (s == "preserve") return LuhnMode::kPreserve;
  if (s == "invalidate") return LuhnMode::kInvalidate;
  return absl::InvalidArgumentError("luhn must be preserve or invalidate");
}

absl::Status Engine::ValidateName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes || name == "." ||
      name == "..") {
    return absl::InvalidArgumentError(Cat("name must be 1..", kMaxNameBytes,
                                          " characters of [A-Za-z0-9._-]"));
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(Cat("name must be 1..", kMaxNameBytes,
                                            " characters of [A-Za-z0-9._-]"));
    }
  }
  return absl::OkStatus();
}

struct Engine::Impl {
  Impl(barrier::View v, Options o) : view(std::move(v)), options(std::move(o)) {
    if (!options.now_ms) options.now_ms = RealNowMs;
  }

  barrier::View view;
  Options options;
  ShardedCache<Compiled> transformations;
  ShardedCache<RoleInfo> roles;
  absl::Mutex config_mu;  // serializes config writes (rare)
  // Held shared by vaulted encodes and exclusively by DeleteTransformation,
  // so no token is written under a transformation being deleted.
  absl::Mutex vault_mu;
  // Nothing in any expiry index is due before this (ms); lowered by every
  // write of an expiring token, so idle purges skip the index scan.
  std::atomic<int64_t> next_purge_ms{std::numeric_limits<int64_t>::min()};
  absl::Mutex in_flight_mu;
  // Token and value-index paths of vaulted encodes not yet committed.
  absl::flat_hash_set<std::string> in_flight ABSL_GUARDED_BY(in_flight_mu);

  // --- templates ---

  absl::StatusOr<TemplateInfo> LoadTemplate(std::string_view name) {
    if (auto b = BuiltinTemplate(name)) return *b;
    RETURN_IF_ERROR(Engine::ValidateName(name));
    ASSIGN_OR_RETURN(auto raw, view.Get(TemplatePath(name)));
    if (!raw.has_value()) {
      return absl::NotFoundError(Cat("template ", name, " not found"));
    }
    TemplateRecord r;
    if (!r.ParseFromString(*raw)) return DataLoss("template", name);
    TemplateInfo info;
    info.name = r.name();
    info.pattern = r.pattern();
    info.alphabet = r.alphabet();
    return info;
  }

  static absl::StatusOr<std::shared_ptr<const CompiledTemplate>> Compile(
      const TemplateInfo& info) {
    auto t = std::make_shared<CompiledTemplate>();
    t->name = info.name;
    ASSIGN_OR_RETURN(t->re, CompilePattern(info.pattern));
    ASSIGN_OR_RETURN(t->alphabet, ParseAlphabet(info.alphabet));
    return t;
  }

  // --- transformations ---

  absl::StatusOr<std::optional<TransformationRecord>> LoadRecord(
      std::string_view name) {
    ASSIGN_OR_RETURN(auto raw, view.Get(TransformationPath(name)));
    if (!raw.has_value()) return std::nullopt;
    TransformationRecord r;
    if (!r.ParseFromString(*raw)) return DataLoss("transformation", name);
    return r;
  }

  absl::StatusOr<std::shared_ptr<const Compiled>> Build(
      const TransformationRecord& r) {
    auto c = std::make_shared<Compiled>();
    c->name = r.name();
    TransformationOptions& o = c->options;
    o.type = static_cast<TransformationType>(r.type());
    o.template_name = r.template_name();
    o.tweak_source = static_cast<TweakSource>(r.tweak_source());
    o.luhn = static_cast<LuhnMode>(r.luhn());
    o.convergent = r.convergent();
    o.ttl_ms = r.ttl_ms();
    o.allow_ff3_1 = r.allow_ff3_1();
    o.mask_character = r.mask_character().empty() ? '*' : r.mask_character()[0];
    o.alphabet = r.alphabet();
    ASSIGN_OR_RETURN(TemplateInfo ti, LoadTemplate(r.template_name()));
    if (!o.alphabet.empty()) ti.alphabet = o.alphabet;
    ASSIGN_OR_RETURN(c->tmpl, Compile(ti));
    const uint32_t radix =
        static_cast<uint32_t>(c->tmpl->alphabet.chars.size());
    c->internal_tweak = r.internal_tweak();
    c->index_key = kms::SecretBytes::CopyFrom(r.index_key());
    c->token_key = kms::SecretBytes::CopyFrom(r.token_key());
    c->latest_version = r.latest_version();
    for (const auto& vr : r.versions()) {
      auto v = std::make_unique<Version>();
      v->version = vr.version();
      v->key = kms::SecretBytes::CopyFrom(vr.key());
      if (o.type == TransformationType::kFpe) {
        if (o.allow_ff3_1) {
          ASSIGN_OR_RETURN(v->ff3, kms::fpe::Ff3_1::New(v->key, radix));
        } else {
          ASSIGN_OR_RETURN(v->ff1, kms::fpe::Ff1::New(v->key, radix));
        }
      } else if (o.type == TransformationType::kTokenization) {
        ASSIGN_OR_RETURN(v->aead, kms::XChaCha20Poly1305::New(v->key));
      }
      c->versions[v->version] = std::move(v);
    }
    c->info.name = r.name();
    c->info.options = o;
    c->info.latest_version = r.latest_version();
    c->info.created_time_unix_ms = r.created_time_unix_ms();
    c->info.updated_time_unix_ms = r.updated_time_unix_ms();
    return std::shared_ptr<const Compiled>(std::move(c));
  }

  absl::StatusOr<std::shared_ptr<const Compiled>> GetTransformation(
      std::string_view name) {
    RETURN_IF_ERROR(Engine::ValidateName(name));
    if (auto c = transformations.Find(name)) return c;
    ASSIGN_OR_RETURN(auto r, LoadRecord(name));
    if (!r.has_value()) {
      return absl::NotFoundError(Cat("transformation ", name, " not found"));
    }
    ASSIGN_OR_RETURN(auto c, Build(*r));
    transformations.Put(name, c);
    return c;
  }

  // --- roles ---

  absl::StatusOr<std::shared_ptr<const RoleInfo>> GetRole(
      std::string_view name) {
    RETURN_IF_ERROR(Engine::ValidateName(name));
    if (auto r = roles.Find(name)) return r;
    ASSIGN_OR_RETURN(auto raw, view.Get(RolePath(name)));
    if (!raw.has_value()) {
      return absl::NotFoundError(Cat("role ", name, " not found"));
    }
    RoleRecord rec;
    if (!rec.ParseFromString(*raw)) return DataLoss("role", name);
    auto info = std::make_shared<RoleInfo>();
    info->name = rec.name();
    info->transformations.assign(rec.transformations().begin(),
                                 rec.transformations().end());
    roles.Put(name, info);
    return std::shared_ptr<const RoleInfo>(info);
  }

  // The role's transformation, or why the caller cannot use it.
  absl::StatusOr<std::shared_ptr<const Compiled>> Prepare(
      std::string_view role, std::string_view transformation) {
    ASSIGN_OR_RETURN(auto r, GetRole(role));
    RETURN_IF_ERROR(Engine::ValidateName(transformation));
    if (!std::binary_search(r->transformations.begin(),
                            r->transformations.end(),
                            std::string(transformation))) {
      return absl::InvalidArgumentError(Cat("transformation ", transformation,
                                            " is not bound to role ", role));
    }
    return GetTransformation(transformation);
  }

  // --- FPE ---

  absl::Status Cipher(const Version& v, bool encrypt, std::string_view tweak,
                      std::span<uint16_t> x) {
    if (v.ff1) {
      return encrypt ? v.ff1->EncryptTo(x, tweak, x)
                     : v.ff1->DecryptTo(x, tweak, x);
    }
    return encrypt ? v.ff3->EncryptTo(x, tweak, x)
                   : v.ff3->DecryptTo(x, tweak, x);
  }

  // Applies the cipher (forward or backward) until the rendered value
  // satisfies `in_class`: a permutation of that class (cycle walking).
  template <typename Pred>
  absl::Status CycleWalk(const Compiled& c, const Version& v, bool encrypt,
                         std::string_view tweak, std::string_view value,
                         const Parsed& p, std::vector<uint16_t>& x,
                         Pred in_class) {
    do {
      RETURN_IF_ERROR(Cipher(v, encrypt, tweak, x));
    } while (!in_class(Render(value, p, x, c.tmpl->alphabet)));
    return absl::OkStatus();
  }

  // Sets the last transformed digit so that the Luhn sum is `target`.
  static void FixLuhn(const Compiled& c, std::string_view value,
                      const Parsed& p, std::vector<uint16_t>& x, int target) {
    for (uint16_t d = 0; d < 10; ++d) {
      x.back() = d;
      if (LuhnSum(Render(value, p, x, c.tmpl->alphabet)) == target) return;
    }
  }

  absl::Status CheckFpeLength(const Compiled& c, const Version& v, size_t n) {
    const size_t min = v.ff1 ? v.ff1->min_length() : v.ff3->min_length();
    const size_t max = v.ff1 ? v.ff1->max_length() : v.ff3->max_length();
    if (n < min) {
      return absl::InvalidArgumentError(
          Cat("value is too short for format-preserving encryption under "
              "template ",
              c.tmpl->name, " (", n, " characters transformed, at least ", min,
              " needed)"));
    }
    if (n > max) {
      return absl::InvalidArgumentError(
          Cat("value is too long for format-preserving encryption under "
              "template ",
              c.tmpl->name));
    }
    return absl::OkStatus();
  }

  absl::Status CheckSuppliedTweak(const Compiled& c, std::string_view tweak) {
    if (tweak.empty()) {
      return absl::InvalidArgumentError(
          Cat("transformation ", c.name, " needs a tweak"));
    }
    if (c.options.allow_ff3_1 && tweak.size() != kms::fpe::Ff3_1::kTweakSize) {
      return absl::InvalidArgumentError("an FF3-1 tweak is exactly 7 bytes");
    }
    if (tweak.size() > kMaxSuppliedTweakBytes) {
      return absl::InvalidArgumentError(
          Cat("tweak is longer than ", kMaxSuppliedTweakBytes, " bytes"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<EncodeResult> FpeEncode(const Compiled& c,
                                         const EncodeItem& item) {
    ASSIGN_OR_RETURN(Parsed p, Parse(*c.tmpl, item.value));
    ASSIGN_OR_RETURN(const Version* v, c.GetVersion(0));
    RETURN_IF_ERROR(CheckFpeLength(c, *v, p.numerals.size()));
    EncodeResult out;
    out.key_version = v->version;
    std::string tweak;
    switch (c.options.tweak_source) {
      case TweakSource::kInternal:
        tweak = c.internal_tweak;
        break;
      case TweakSource::kSupplied:
        RETURN_IF_ERROR(CheckSuppliedTweak(c, item.tweak));
        tweak = item.tweak;
        break;
      case TweakSource::kGenerated:
        if (v->ff3) {
          tweak = kms::RandomString(kms::fpe::Ff3_1::kTweakSize);
        } else {
          tweak.push_back(static_cast<char>(kGeneratedTweakFormat));
          for (int shift = 24; shift >= 0; shift -= 8) {
            tweak.push_back(static_cast<char>((v->version >> shift) & 0xff));
          }
          tweak += kms::RandomString(kGeneratedTweakBytes - 5);
        }
        out.tweak = tweak;
        break;
    }
    std::vector<uint16_t> x = p.numerals;
    switch (c.options.luhn) {
      case LuhnMode::kNone:
        RETURN_IF_ERROR(Cipher(*v, true, tweak, x));
        break;
      case LuhnMode::kPreserve: {
        const bool valid = LuhnValid(item.value);
        RETURN_IF_ERROR(CycleWalk(
            c, *v, true, tweak, item.value, p, x,
            [valid](std::string_view s) { return LuhnValid(s) == valid; }));
        break;
      }
      case LuhnMode::kInvalidate:
        if (!LuhnValid(item.value)) {
          return absl::InvalidArgumentError(
              "value fails the Luhn check (luhn=invalidate needs valid card "
              "numbers)");
        }
        RETURN_IF_ERROR(
            CycleWalk(c, *v, true, tweak, item.value, p, x,
                      [](std::string_view s) { return LuhnValid(s); }));
        FixLuhn(c, item.value, p, x, 1);
        break;
    }
    out.token = Render(item.value, p, x, c.tmpl->alphabet);
    return out;
  }

  absl::StatusOr<DecodeResult> FpeDecode(const Compiled& c,
                                         const DecodeItem& item) {
    ASSIGN_OR_RETURN(Parsed p, Parse(*c.tmpl, item.value));
    uint32_t version = item.key_version;
    std::string tweak;
    switch (c.options.tweak_source) {
      case TweakSource::kInternal:
        tweak = c.internal_tweak;
        break;
      case TweakSource::kSupplied:
        RETURN_IF_ERROR(CheckSuppliedTweak(c, item.tweak));
        tweak = item.tweak;
        break;
      case TweakSource::kGenerated:
        tweak = item.tweak;
        if (c.options.allow_ff3_1) {
          if (tweak.size() != kms::fpe::Ff3_1::kTweakSize) {
            return absl::InvalidArgumentError(
                "the tweak returned by encode is required");
          }
        } else {
          if (tweak.size() != kGeneratedTweakBytes ||
              static_cast<uint8_t>(tweak[0]) != kGeneratedTweakFormat) {
            return absl::InvalidArgumentError(
                "the tweak returned by encode is required");
          }
          version = 0;
          for (int i = 1; i <= 4; ++i) {
            version = (version << 8) | static_cast<uint8_t>(tweak[i]);
          }
          if (version == 0) {
            return absl::InvalidArgumentError("tweak is malformed");
          }
        }
        break;
    }
    ASSIGN_OR_RETURN(const Version* v, c.GetVersion(version));
    RETURN_IF_ERROR(CheckFpeLength(c, *v, p.numerals.size()));
    std::vector<uint16_t> x = p.numerals;
    switch (c.options.luhn) {
      case LuhnMode::kNone:
        RETURN_IF_ERROR(Cipher(*v, false, tweak, x));
        break;
      case LuhnMode::kPreserve: {
        const bool valid = LuhnValid(item.value);
        RETURN_IF_ERROR(CycleWalk(
            c, *v, false, tweak, item.value, p, x,
            [valid](std::string_view s) { return LuhnValid(s) == valid; }));
        break;
      }
      case LuhnMode::kInvalidate:
        if (LuhnSum(item.value) != 1) {
          return absl::InvalidArgumentError(
              "token is not from this transformation");
        }
        FixLuhn(c, item.value, p, x, 0);
        RETURN_IF_ERROR(
            CycleWalk(c, *v, false, tweak, item.value, p, x,
                      [](std::string_view s) { return LuhnValid(s); }));
        break;
    }
    DecodeResult out;
    out.value = Render(item.value, p, x, c.tmpl->alphabet);
    return out;
  }

  // --- vaulted tokens ---

  std::string TokenPath(const Compiled& c, std::string_view token) {
    return Cat(VaultPrefix(c.name), "token/",
               absl::BytesToHexString(kms::HmacSha256(c.token_key, token)));
  }
  std::string ValuePath(const Compiled& c, std::string_view value) {
    return Cat(VaultPrefix(c.name), "value/",
               absl::BytesToHexString(kms::HmacSha256(c.index_key, value)));
  }

  // The expiry index entry of a token that expires; the 16-digit time
  // sorts the index by expiry. `token_path` is TokenPath(c, token).
  static std::string ExpiryPath(std::string_view transformation,
                                int64_t expire_ms,
                                std::string_view token_path) {
    const size_t slash = token_path.rfind('/');
    return Cat(VaultPrefix(transformation), "expiry/",
               absl::StrFormat("%016d", expire_ms), ".",
               token_path.substr(slash + 1));
  }

  void LowerNextPurge(int64_t due_ms) {
    int64_t cur = next_purge_ms.load();
    while (due_ms < cur && !next_purge_ms.compare_exchange_weak(cur, due_ms)) {
    }
  }

  // The live record at `path`, or nullopt if missing or expired.
  absl::StatusOr<std::optional<TokenRecord>> LiveToken(std::string_view path) {
    ASSIGN_OR_RETURN(auto raw, view.Get(path));
    if (!raw.has_value()) return std::nullopt;
    TokenRecord r;
    if (!r.ParseFromString(*raw)) {
      return absl::DataLossError("a token record is corrupt");
    }
    if (r.expire_time_unix_ms() != 0 &&
        r.expire_time_unix_ms() <= options.now_ms()) {
      return std::nullopt;
    }
    return r;
  }

  // Fills `x` with uniform numerals below `radix`: one CSPRNG draw for all
  // of them (one per numeral was a quarter of a vaulted batch's CPU, each
  // taking the DRBG's lock), and rejection sampling keeps each uniform.
  static void RandomNumerals(uint32_t radix, std::vector<uint16_t>& x) {
    const uint32_t limit = 65536 - (65536 % radix);
    // Drawn straight into `x`, 16 bits per numeral, then reduced in place.
    kms::RandomBytes(reinterpret_cast<uint8_t*>(x.data()),
                     x.size() * sizeof(uint16_t));
    for (uint16_t& n : x) {
      while (n >= limit) {
        kms::RandomBytes(reinterpret_cast<uint8_t*>(&n), sizeof(n));
      }
      n = static_cast<uint16_t>(n % radix);
    }
  }

  absl::Status CheckMetadata(const std::map<std::string, std::string>& m) {
    size_t total = 0;
    for (const auto& [k, v] : m) total += k.size() + v.size();
    if (total > Engine::kMaxMetadataBytes) {
      return absl::ResourceExhaustedError(Cat("token metadata is larger than ",
                                              Engine::kMaxMetadataBytes,
                                              " bytes"));
    }
    return absl::OkStatus();
  }

  // Writes of vaulted encodes not yet committed, so that a batch pays for
  // one synced write instead of one per item. Paths in `reserved` are held
  // in Impl::in_flight until Flush: no other call may take those tokens
  // (or, for convergent transformations, tokenize those values) meanwhile.
  struct VaultWrites {
    std::vector<storage::Mutation> writes;
    std::vector<std::string> reserved;
    std::vector<size_t> pending;  // result indexes that depend on `writes`
    absl::flat_hash_map<std::string, std::string> tokens_by_value_path;
  };

  bool TryReserve(const std::string& path) {
    absl::MutexLock lock(&in_flight_mu);
    return in_flight.insert(path).second;
  }
  void Release(const std::vector<std::string>& paths) {
    absl::MutexLock lock(&in_flight_mu);
    for (const auto& p : paths) in_flight.erase(p);
  }

  // Commits `w` in one batch and releases its reservations. If the commit
  // fails, every pending result gets the error; a sealed barrier fails the
  // call.
  absl::Status Flush(VaultWrites& w, std::vector<EncodeResult>& out) {
    absl::Status s = absl::OkStatus();
    if (!w.writes.empty()) s = view.Batch(std::move(w.writes));
    Release(w.reserved);
    if (!s.ok()) {
      for (size_t i : w.pending) {
        std::string reference = std::move(out[i].reference);
        out[i] = EncodeResult{};
        out[i].status = s;
        out[i].reference = std::move(reference);
      }
    }
    w = VaultWrites{};
    return barrier::IsSealedError(s) ? s : absl::OkStatus();
  }

  // Reserves the convergent index path of a value. Another call holding it
  // is about to commit a token for the same value, so this waits for it;
  // it commits its own pending writes first so that two batches never
  // wait on each other.
  absl::Status ReserveValuePath(const std::string& value_path, VaultWrites& w,
                                std::vector<EncodeResult>& out) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!TryReserve(value_path)) {
      if (!w.writes.empty() || !w.reserved.empty()) {
        RETURN_IF_ERROR(Flush(w, out));
      }
      if (absl::Now() > deadline) {
        return absl::UnavailableError(
            "another request is tokenizing the same value; retry");
      }
      absl::SleepFor(absl::Microseconds(200));
    }
    w.reserved.push_back(value_path);
    return absl::OkStatus();
  }

  // Encodes items[i] into out[i], adding its records to `w`.
  absl::Status VaultEncode(const Compiled& c, const EncodeItem& item,
                           size_t i, VaultWrites& w,
                           std::vector<EncodeResult>& out) {
    auto fail = [&](absl::Status s) {
      out[i].status = std::move(s);
      return absl::OkStatus();
    };
    auto p = Parse(*c.tmpl, item.value);
    if (!p.ok()) return fail(p.status());
    if (auto s = CheckMetadata(item.metadata); !s.ok()) return fail(s);
    if (item.ttl_ms < 0) {
      return fail(absl::InvalidArgumentError("ttl must not be negative"));
    }
    const bool value_valid = LuhnValid(item.value);
    if (c.options.luhn == LuhnMode::kInvalidate && !value_valid) {
      return fail(absl::InvalidArgumentError(
          "value fails the Luhn check (luhn=invalidate needs valid card "
          "numbers)"));
    }
    auto v = c.GetVersion(0);
    if (!v.ok()) return fail(v.status());

    std::string value_path;
    if (c.options.convergent) {
      value_path = ValuePath(c, item.value);
      if (auto it = w.tokens_by_value_path.find(value_path);
          it != w.tokens_by_value_path.end()) {
        out[i].token = it->second;  // the same value earlier in this call
        out[i].key_version = (*v)->version;
        w.pending.push_back(i);
        return absl::OkStatus();
      }
      RETURN_IF_ERROR(ReserveValuePath(value_path, w, out));
      ASSIGN_OR_RETURN(auto raw, view.Get(value_path));
      if (raw.has_value()) {
        ValueIndexRecord idx;
        if (!idx.ParseFromString(*raw)) {
          return fail(absl::DataLossError("a token index record is corrupt"));
        }
        ASSIGN_OR_RETURN(auto live, LiveToken(TokenPath(c, idx.token())));
        if (live.has_value()) {
          out[i].token = idx.token();
          out[i].key_version = live->key_version();
          return absl::OkStatus();
        }
      }
    }

    const uint32_t radix = static_cast<uint32_t>(c.tmpl->alphabet.chars.size());
    const int64_t now = options.now_ms();
    const int64_t ttl = item.ttl_ms != 0 ? item.ttl_ms : c.options.ttl_ms;
    std::vector<uint16_t> x(p->numerals.size());
    for (int attempt = 0; attempt < kMaxTokenAttempts; ++attempt) {
      RandomNumerals(radix, x);
      std::string token = Render(item.value, *p, x, c.tmpl->alphabet);
      if (token == item.value) continue;
      if (c.options.luhn == LuhnMode::kPreserve &&
          LuhnValid(token) != value_valid) {
        continue;
      }
      if (c.options.luhn == LuhnMode::kInvalidate && LuhnValid(token)) continue;
      std::string path = TokenPath(c, token);
      if (!TryReserve(path)) continue;  // another item is taking it now
      auto existing = view.Get(path);
      if (!existing.ok() || existing->has_value()) {
        Release({path});
        RETURN_IF_ERROR(existing.status());
        continue;  // taken, even if expired
      }
      w.reserved.push_back(path);
      TokenRecord rec;
      rec.set_key_version((*v)->version);
      ASSIGN_OR_RETURN(std::string sealed,
                       (*v)->aead->Encrypt(item.value, path));
      rec.set_sealed_value(std::move(sealed));
      rec.set_created_time_unix_ms(now);
      if (ttl > 0) {
        rec.set_expire_time_unix_ms(now + ttl);
        w.writes.push_back(storage::Mutation::Put(
            ExpiryPath(c.name, now + ttl, path), ""));
        LowerNextPurge(now + ttl);
      }
      for (const auto& [k, val] : item.metadata)
        (*rec.mutable_metadata())[k] = val;
      w.writes.push_back(
          storage::Mutation::Put(std::move(path), rec.SerializeAsString()));
      if (c.options.convergent) {
        ValueIndexRecord idx;
        idx.set_token(token);
        w.writes.push_back(
            storage::Mutation::Put(value_path, idx.SerializeAsString()));
        w.tokens_by_value_path[value_path] = token;
      }
      out[i].token = std::move(token);
      out[i].key_version = (*v)->version;
      w.pending.push_back(i);
      return absl::OkStatus();
    }
    return fail(absl::ResourceExhaustedError(
        Cat("no unused token found for template ", c.tmpl->name,
            "; the token space is nearly full")));
  }

  // Vaulted encodes of a whole call, committed in one synced batch.
  absl::StatusOr<std::vector<EncodeResult>> VaultEncodeAll(
      const Compiled& c, const std::vector<EncodeItem>& items) {
    std::vector<EncodeResult> out(items.size());
    absl::ReaderMutexLock vault_lock(&vault_mu);
    VaultWrites w;
    absl::Status s = absl::OkStatus();
    for (size_t i = 0; i < items.size(); ++i) {
      out[i].reference = items[i].reference;
      s = VaultEncode(c, items[i], i, w, out);
      if (barrier::IsSealedError(s)) break;
      if (!s.ok()) out[i].status = std::exchange(s, absl::OkStatus());
    }
    // Flush even after a failure: it releases the reservations.
    absl::Status flushed = Flush(w, out);
    if (!s.ok()) return s;
    RETURN_IF_ERROR(flushed);
    return out;
  }

  absl::StatusOr<DecodeResult> VaultDecode(const Compiled& c,
                                           const DecodeItem& item) {
    RETURN_IF_ERROR(Parse(*c.tmpl, item.value).status());
    const std::string path = TokenPath(c, item.value);
    ASSIGN_OR_RETURN(auto rec, LiveToken(path));
    if (!rec.has_value()) return absl::NotFoundError("token not found");
    auto vit = c.versions.find(rec->key_version());
    if (vit == c.versions.end()) {
      return absl::DataLossError("a token's key version is missing");
    }
    auto value = vit->second->aead->Decrypt(rec->sealed_value(), path);
    if (!value.ok()) return absl::DataLossError("a token record is corrupt");
    DecodeResult out;
    out.value = std::move(*value);
    out.metadata.insert(rec->metadata().begin(), rec->metadata().end());
    out.expire_time_unix_ms = rec->expire_time_unix_ms();
    return out;
  }

  // --- dispatch ---

  absl::StatusOr<EncodeResult> EncodeOne(const Compiled& c,
                                         const EncodeItem& item) {
    switch (c.options.type) {
      case TransformationType::kFpe:
        return FpeEncode(c, item);
      case TransformationType::kTokenization: {
        ASSIGN_OR_RETURN(auto all, VaultEncodeAll(c, {item}));
        if (!all[0].status.ok()) return all[0].status;
        return std::move(all[0]);
      }
      case TransformationType::kMasking: {
        ASSIGN_OR_RETURN(Parsed p, Parse(*c.tmpl, item.value));
        EncodeResult out;
        out.token = item.value;
        for (size_t pos : p.positions)
          out.token[pos] = c.options.mask_character;
        return out;
      }
    }
    return absl::InternalError("unknown transformation type");
  }

  absl::StatusOr<DecodeResult> DecodeOne(const Compiled& c,
                                         const DecodeItem& item) {
    switch (c.options.type) {
      case TransformationType::kFpe:
        return FpeDecode(c, item);
      case TransformationType::kTokenization:
        return VaultDecode(c, item);
      case TransformationType::kMasking:
        return absl::InvalidArgumentError(
            "masking is irreversible; nothing to decode");
    }
    return absl::InternalError("unknown transformation type");
  }

  absl::StatusOr<ValidateResult> ValidateOne(const Compiled& c,
                                             const DecodeItem& item) {
    ValidateResult out;
    auto p = Parse(*c.tmpl, item.value);
    if (!p.ok()) {
      if (!absl::IsInvalidArgument(p.status())) return p.status();
      return out;  // not of the format: not valid
    }
    switch (c.options.type) {
      case TransformationType::kTokenization: {
        ASSIGN_OR_RETURN(auto rec, LiveToken(TokenPath(c, item.value)));
        out.valid = rec.has_value();
        break;
      }
      case TransformationType::kFpe:
        out.valid =
            c.options.luhn != LuhnMode::kInvalidate || LuhnSum(item.value) == 1;
        break;
      case TransformationType::kMasking:
        out.valid = true;
        break;
    }
    return out;
  }

  static absl::Status CheckBatch(size_t n) {
    if (n > Engine::kMaxBatchItems) {
      return absl::ResourceExhaustedError(
          Cat("a batch has at most ", Engine::kMaxBatchItems, " items"));
    }
    return absl::OkStatus();
  }
};

Engine::Engine(barrier::View view, Options options)
    : impl_(std::make_unique<Impl>(std::move(view), std::move(options))) {
  kms::InitCrypto();
}
Engine::~Engine() = default;

// --- Templates ---------------------------------------------------------------

absl::StatusOr<TemplateInfo> Engine::CreateTemplate(std::string_view name,
                                                    const TemplateSpec& spec) {
  RETURN_IF_ERROR(ValidateName(name));
  if (BuiltinTemplate(name)) {
    return absl::AlreadyExistsError(Cat("template ", name, " is built in"));
  }
  TemplateInfo info;
  info.name = std::string(name);
  info.pattern = spec.pattern;
  info.alphabet = spec.alphabet;
  RETURN_IF_ERROR(Impl::Compile(info).status());
  absl::MutexLock lock(&impl_->config_mu);
  ASSIGN_OR_RETURN(auto existing, impl_->view.Get(TemplatePath(name)));
  if (existing.has_value()) {
    return absl::AlreadyExistsError(Cat("template ", name, " already exists"));
  }
  TemplateRecord r;
  r.set_name(info.name);
  r.set_pattern(info.pattern);
  r.set_alphabet(info.alphabet);
  r.set_created_time_unix_ms(impl_->options.now_ms());
  RETURN_IF_ERROR(impl_->view.Put(TemplatePath(name), r.SerializeAsString()));
  return info;
}

absl::StatusOr<TemplateInfo> Engine::ReadTemplate(std::string_view name) {
  return impl_->LoadTemplate(name);
}

absl::StatusOr<std::vector<std::string>> Engine::ListTemplates() {
  ASSIGN_OR_RETURN(auto stored, impl_->view.List("template/"));
  std::set<std::string> names(stored.begin(), stored.end());
  for (const Builtin& b : kBuiltins) names.insert(b.name);
  return std::vector<std::string>(names.begin(), names.end());
}

absl::Status Engine::DeleteTemplate(std::string_view name) {
  RETURN_IF_ERROR(ValidateName(name));
  if (BuiltinTemplate(name)) {
    return absl::InvalidArgumentError(
        Cat("template ", name, " is built in and cannot be deleted"));
  }
  absl::MutexLock lock(&impl_->config_mu);
  ASSIGN_OR_RETURN(auto existing, impl_->view.Get(TemplatePath(name)));
  if (!existing.has_value()) {
    return absl::NotFoundError(Cat("template ", name, " not found"));
  }
  ASSIGN_OR_RETURN(auto names, impl_->view.List("transformation/"));
  for (const std::string& t : names) {
    ASSIGN_OR_RETURN(auto r, impl_->LoadRecord(t));
    if (r.has_value() && r->template_name() == name) {
      return absl::FailedPreconditionError(
          Cat("template ", name, " is used by transformation ", t));
    }
  }
  return impl_->view.Delete(TemplatePath(name));
}

// --- Transformations ---------------------------------------------------------

absl::StatusOr<TransformationInfo> Engine::CreateTransformation(
    std::string_view name, const TransformationOptions& o) {
  RETURN_IF_ERROR(ValidateName(name));
  if (o.template_name.empty()) {
    return absl::InvalidArgumentError("a transformation needs a template");
  }
  const bool fpe = o.type == TransformationType::kFpe;
  const bool vault = o.type == TransformationType::kTokenization;
  if (!fpe && (o.tweak_source != TweakSource::kInternal || o.allow_ff3_1)) {
    return absl::InvalidArgumentError(
        "tweak source and allow_ff3_1 apply to fpe transformations only");
  }
  if (!vault && (o.convergent || o.ttl_ms != 0)) {
    return absl::InvalidArgumentError(
        "convergent and ttl apply to tokenization transformations only");
  }
  if (o.ttl_ms < 0)
    return absl::InvalidArgumentError("ttl must not be negative");
  if (o.type == TransformationType::kMasking && o.luhn != LuhnMode::kNone) {
    return absl::InvalidArgumentError("luhn does not apply to masking");
  }
  ASSIGN_OR_RETURN(TemplateInfo ti, impl_->LoadTemplate(o.template_name));
  if (!o.alphabet.empty()) ti.alphabet = o.alphabet;
  ASSIGN_OR_RETURN(auto tmpl, Impl::Compile(ti));
  if (o.luhn != LuhnMode::kNone && tmpl->alphabet.chars != kNumeric) {
    return absl::InvalidArgumentError(
        "luhn needs a template with the numeric alphabet");
  }
  if (o.type == TransformationType::kMasking) {
    const auto m = static_cast<unsigned char>(o.mask_character);
    if (m <= 0x20 || m >= 0x7f || tmpl->alphabet.index[m] >= 0) {
      return absl::InvalidArgumentError(
          "mask character must be printable ASCII outside the alphabet");
    }
  }

  absl::MutexLock lock(&impl_->config_mu);
  ASSIGN_OR_RETURN(auto existing, impl_->LoadRecord(name));
  if (existing.has_value()) {
    return absl::AlreadyExistsError(
        Cat("transformation ", name, " already exists"));
  }
  const int64_t now = impl_->options.now_ms();
  TransformationRecord r;
  r.set_name(std::string(name));
  r.set_type(static_cast<uint32_t>(o.type));
  r.set_template_name(o.template_name);
  r.set_alphabet(o.alphabet);
  r.set_tweak_source(static_cast<uint32_t>(o.tweak_source));
  r.set_luhn(static_cast<uint32_t>(o.luhn));
  r.set_convergent(o.convergent);
  r.set_ttl_ms(o.ttl_ms);
  r.set_allow_ff3_1(o.allow_ff3_1);
  if (o.type == TransformationType::kMasking) {
    r.set_mask_character(std::string(1, o.mask_character));
  }
  r.set_internal_tweak(kms::RandomString(kInternalTweakBytes));
  {
    kms::SecretBytes k = kms::RandomSecret(kKeyBytes);
    r.set_index_key(std::string(k.Reveal()));
    kms::SecretBytes t = kms::RandomSecret(kKeyBytes);
    r.set_token_key(std::string(t.Reveal()));
  }
  r.set_latest_version(1);
  r.set_created_time_unix_ms(now);
  r.set_updated_time_unix_ms(now);
  auto* v = r.add_versions();
  v->set_version(1);
  v->set_created_time_unix_ms(now);
  {
    kms::SecretBytes k = kms::RandomSecret(kKeyBytes);
    v->set_key(std::string(k.Reveal()));
  }
  ASSIGN_OR_RETURN(auto compiled, impl_->Build(r));
  RETURN_IF_ERROR(
      impl_->view.Put(TransformationPath(name), r.SerializeAsString()));
  impl_->transformations.Put(name, compiled);
  return compiled->info;
}

absl::StatusOr<TransformationInfo> Engine::ReadTransformation(
    std::string_view name) {
  ASSIGN_OR_RETURN(auto c, impl_->GetTransformation(name));
  return c->info;
}

absl::StatusOr<std::vector<std::string>> Engine::ListTransformations() {
  return impl_->view.List("transformation/");
}

absl::Status Engine::DeleteTransformation(std::string_view name) {
  RETURN_IF_ERROR(ValidateName(name));
  absl::MutexLock lock(&impl_->config_mu);
  ASSIGN_OR_RETURN(auto existing, impl_->LoadRecord(name));
  if (!existing.has_value()) {
    return absl::NotFoundError(Cat("transformation ", name, " not found"));
  }
  ASSIGN_OR_RETURN(auto roles, impl_->view.List("role/"));
  for (const std::string& role : roles) {
    ASSIGN_OR_RETURN(auto info, impl_->GetRole(role));
    if (absl::c_binary_search(info->transformations, name)) {
      return absl::FailedPreconditionError(
          Cat("transformation ", name, " is bound to role ", role));
    }
  }
  absl::MutexLock vault_lock(&impl_->vault_mu);
  std::vector<storage::Mutation> deletes;
  const std::string prefix = VaultPrefix(name);
  for (const char* kind : {"token/", "value/"}) {
    const std::string dir = Cat(prefix, kind);
    ASSIGN_OR_RETURN(auto keys, impl_->view.List(dir));
    for (const auto& k : keys) {
      deletes.push_back(storage::Mutation::Delete(Cat(dir, k)));
    }
  }
  deletes.push_back(storage::Mutation::Delete(TransformationPath(name)));
  impl_->transformations.Erase(name);
  RETURN_IF_ERROR(impl_->view.Batch(std::move(deletes)));
  impl_->transformations.Erase(name);
  return absl::OkStatus();
}

absl::StatusOr<TransformationInfo> Engine::RotateTransformation(
    std::string_view name) {
  RETURN_IF_ERROR(ValidateName(name));
  absl::MutexLock lock(&impl_->config_mu);
  ASSIGN_OR_RETURN(auto r, impl_->LoadRecord(name));
  if (!r.has_value()) {
    return absl::NotFoundError(Cat("transformation ", name, " not found"));
  }
  if (r->type() == static_cast<uint32_t>(TransformationType::kMasking)) {
    return absl::InvalidArgumentError("masking has no key to rotate");
  }
  const int64_t now = impl_->options.now_ms();
  const uint32_t next = r->latest_version() + 1;
  auto* v = r->add_versions();
  v->set_version(next);
  v->set_created_time_unix_ms(now);
  {
    kms::SecretBytes k = kms::RandomSecret(kKeyBytes);
    v->set_key(std::string(k.Reveal()));
  }
  r->set_latest_version(next);
  r->set_updated_time_unix_ms(now);
  ASSIGN_OR_RETURN(auto compiled, impl_->Build(*r));
  RETURN_IF_ERROR(
      impl_->view.Put(TransformationPath(name), r->SerializeAsString()));
  impl_->transformations.Put(name, compiled);
  return compiled->info;
}

// --- Roles -------------------------------------------------------------------

absl::StatusOr<RoleInfo> Engine::WriteRole(
    std::string_view name, const std::vector<std::string>& transformations) {
  RETURN_IF_ERROR(ValidateName(name));
  if (transformations.empty()) {
    return absl::InvalidArgumentError(
        "a role needs at least one transformation");
  }
  std::set<std::string> names(transformations.begin(), transformations.end());
  absl::MutexLock lock(&impl_->config_mu);
  for (const auto& t : names) {
    RETURN_IF_ERROR(ValidateName(t));
    ASSIGN_OR_RETURN(auto r, impl_->LoadRecord(t));
    if (!r.has_value()) {
      return absl::NotFoundError(Cat("transformation ", t, " not found"));
    }
  }
  RoleRecord rec;
  rec.set_name(std::string(name));
  for (const auto& t : names) rec.add_transformations(t);
  RETURN_IF_ERROR(impl_->view.Put(RolePath(name), rec.SerializeAsString()));
  impl_->roles.Erase(name);
  RoleInfo info;
  info.name = std::string(name);
  info.transformations.assign(names.begin(), names.end());
  return info;
}

absl::StatusOr<RoleInfo> Engine::ReadRole(std::string_view name) {
  ASSIGN_OR_RETURN(auto r, impl_->GetRole(name));
  return *r;
}

absl::StatusOr<std::vector<std::string>> Engine::ListRoles() {
  return impl_->view.List("role/");
}

absl::Status Engine::DeleteRole(std::string_view name) {
  RETURN_IF_ERROR(ValidateName(name));
  absl::MutexLock lock(&impl_->config_mu);
  ASSIGN_OR_RETURN(auto existing, impl_->view.Get(RolePath(name)));
  if (!existing.has_value()) {
    return absl::NotFoundError(Cat("role ", name, " not found"));
  }
  impl_->roles.Erase(name);
  RETURN_IF_ERROR(impl_->view.Delete(RolePath(name)));
  impl_->roles.Erase(name);
  return absl::OkStatus();
}

// --- Encode, decode, validate ------------------------------------------------

absl::StatusOr<EncodeResult> Engine::Encode(std::string_view role,
                                            std::string_view transformation,
                                            const EncodeItem& item) {
  ASSIGN_OR_RETURN(auto c, impl_->Prepare(role, transformation));
  ASSIGN_OR_RETURN(EncodeResult r, impl_->EncodeOne(*c, item));
  r.reference = item.reference;
  return r;
}

absl::StatusOr<std::vector<EncodeResult>> Engine::BatchEncode(
    std::string_view role, std::string_view transformation,
    const std::vector<EncodeItem>& items) {
  RETURN_IF_ERROR(Impl::CheckBatch(items.size()));
  ASSIGN_OR_RETURN(auto c, impl_->Prepare(role, transformation));
  if (c->options.type == TransformationType::kTokenization) {
    return impl_->VaultEncodeAll(*c, items);
  }
  return EachItem<EncodeResult>(items, [&](const EncodeItem& item) {
    return impl_->EncodeOne(*c, item);
  });
}

absl::StatusOr<DecodeResult> Engine::Decode(std::string_view role,
                                            std::string_view transformation,
                                            const DecodeItem& item) {
  ASSIGN_OR_RETURN(auto c, impl_->Prepare(role, transformation));
  ASSIGN_OR_RETURN(DecodeResult r, impl_->DecodeOne(*c, item));
  r.reference = item.reference;
  return r;
}

absl::StatusOr<std::vector<DecodeResult>> Engine::BatchDecode(
    std::string_view role, std::string_view transformation,
    const std::vector<DecodeItem>& items) {
  RETURN_IF_ERROR(Impl::CheckBatch(items.size()));
  ASSIGN_OR_RETURN(auto c, impl_->Prepare(role, transformation));
  return EachItem<DecodeResult>(items, [&](const DecodeItem& item) {
    return impl_->DecodeOne(*c, item);
  });
}

absl::StatusOr<ValidateResult> Engine::Validate(std::string_view role,
                                                std::string_view transformation,
                                                const DecodeItem& item) {
  ASSIGN_OR_RETURN(auto c, impl_->Prepare(role, transformation));
  ASSIGN_OR_RETURN(ValidateResult r, impl_->ValidateOne(*c, item));
  r.reference = item.reference;
  return r;
}

absl::StatusOr<std::vector<ValidateResult>> Engine::BatchValidate(
    std::string_view role, std::string_view transformation,
    const std::vector<DecodeItem>& items) {
  RETURN_IF_ERROR(Impl::CheckBatch(items.size()));
  ASSIGN_OR_RETURN(auto c, impl_->Prepare(role, transformation));
  return EachItem<ValidateResult>(items, [&](const DecodeItem& item) {
    return impl_->ValidateOne(*c, item);
  });
}

absl::StatusOr<std::string> Engine::Lookup(std::string_view role,
                                           std::string_view transformation,
                                           std::string_view value) {
  ASSIGN_OR_RETURN(auto c, impl_->Prepare(role, transformation));
  if (c->options.type != TransformationType::kTokenization ||
      !c->options.convergent) {
    return absl::FailedPreconditionError(
        "lookup by value needs a convergent tokenization transformation");
  }
  RETURN_IF_ERROR(Parse(*c->tmpl, value).status());
  ASSIGN_OR_RETURN(auto raw, impl_->view.Get(impl_->ValuePath(*c, value)));
  if (!raw.has_value()) return absl::NotFoundError("token not found");
  ValueIndexRecord idx;
  if (!idx.ParseFromString(*raw)) {
    return absl::DataLossError("a token index record is corrupt");
  }
  ASSIGN_OR_RETURN(auto live,
                   impl_->LiveToken(impl_->TokenPath(*c, idx.token())));
  if (!live.has_value()) return absl::NotFoundError("token not found");
  return idx.token();
}

absl::StatusOr<int> Engine::PurgeExpired(int64_t now_ms) {
  if (now_ms < impl_->next_purge_ms.load()) return 0;
  absl::ReaderMutexLock vault_lock(&impl_->vault_mu);
  int64_t next_due = std::numeric_limits<int64_t>::max();
  int purged = 0;
  ASSIGN_OR_RETURN(auto transformations, impl_->view.List("vault/"));
  for (std::string t : transformations) {
    if (!t.ends_with('/')) continue;
    t.pop_back();
    const std::string dir = Cat(VaultPrefix(t), "expiry/");
    ASSIGN_OR_RETURN(auto entries, impl_->view.List(dir));
    std::vector<storage::Mutation> writes;
    for (const std::string& e : entries) {
      int64_t due = 0;
      if (e.size() < 18 || !absl::SimpleAtoi(e.substr(0, 16), &due)) {
        writes.push_back(storage::Mutation::Delete(Cat(dir, e)));
        continue;
      }
      if (due > now_ms || purged >= kMaxPurgePerCall) {
        next_due = std::min(next_due, due);
        break;
      }
      const std::string token_path = Cat(VaultPrefix(t), "token/", e.substr(17));
      ASSIGN_OR_RETURN(auto raw, impl_->view.Get(token_path));
      TokenRecord rec;
      if (raw.has_value() && rec.ParseFromString(*raw) &&
          rec.expire_time_unix_ms() != 0 && rec.expire_time_unix_ms() <= now_ms) {
        // A tombstone: the value and metadata are gone, the token stays
        // taken so it is never issued again for another value.
        TokenRecord tombstone;
        tombstone.set_key_version(rec.key_version());
        tombstone.set_created_time_unix_ms(rec.created_time_unix_ms());
        tombstone.set_expire_time_unix_ms(rec.expire_time_unix_ms());
        writes.push_back(storage::Mutation::Put(token_path,
                                                tombstone.SerializeAsString()));
        ++purged;
      }
      writes.push_back(storage::Mutation::Delete(Cat(dir, e)));
    }
    if (!writes.empty()) RETURN_IF_ERROR(impl_->view.Batch(std::move(writes)));
  }
  impl_->next_purge_ms.store(next_due);
  return purged;
}

void Engine::DropCache() {
  impl_->transformations.Clear();
  impl_->roles.Clear();
}

}  // namespace arca::engines::tokenize
