// `arca transit ...`: encryption as a service with keys that stay on the
// server. See docs/cli.md for the contract scripts rely on.

#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "cli/context.h"
#include "cli/errors.h"
#include "cli/numeric_flags.h"
#include "cli/output.h"
#include "cli/secret_input.h"
#include "cli/transit_files.h"

namespace arca::cli {
namespace {

using Rows = std::vector<std::pair<std::string, std::string>>;

constexpr char kDefaultMount[] = "transit";
// The server's per-call batch limit; longer inputs are sent in slices.
constexpr size_t kMaxBatchItems = 10'000;

const char* Bool(bool b) { return b ? "true" : "false"; }

template <typename Fn>
int WithClient(const Context& ctx, Fn fn) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  return fn(**client);
}

absl::StatusOr<std::string> ReadAll(std::istream& in) {
  std::string all((std::istreambuf_iterator<char>(in)),
                  std::istreambuf_iterator<char>());
  if (in.bad()) return absl::InvalidArgumentError("cannot read standard input");
  return all;
}

// --context / --aad are base64 on the command line, raw bytes on the wire.
absl::StatusOr<std::string> DecodeFlag(const std::string& value,
                                       std::string_view flag) {
  std::string out;
  if (!absl::Base64Unescape(value, &out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", std::string(flag), " is not valid base64"));
  }
  return out;
}

std::string FormatDurationMs(int64_t ms) {
  if (ms == 0) return "0 (off)";
  return absl::FormatDuration(absl::Milliseconds(ms));
}

int PrintKey(const Context& ctx, const v1::TransitKey& k) {
  if (ctx.json()) return ctx.PrintJson(k);
  Rows rows = {
      {"name", k.name()},
      {"type", k.type()},
      {"derived", Bool(k.derived())},
      {"convergent", Bool(k.convergent())},
      {"exportable", Bool(k.exportable())},
      {"deletion_allowed", Bool(k.deletion_allowed())},
      {"auto_rotate_period", FormatDurationMs(k.auto_rotate_period_ms())},
      {"latest_version", absl::StrCat(k.latest_version())},
      {"min_decryption_version", absl::StrCat(k.min_decryption_version())},
      {"min_encryption_version", absl::StrCat(k.min_encryption_version())},
      {"min_available_version", absl::StrCat(k.min_available_version())},
      {"created_time", FormatUnixMillis(k.created_time_unix_ms())},
      {"updated_time", FormatUnixMillis(k.updated_time_unix_ms())},
  };
  std::ostream& out = *ctx.io.out;
  out << "====== Key ======\n" << FormatTable(rows, {"Key", "Value"});
  out << "\n====== Versions ======\n";
  Rows versions;
  for (const v1::TransitKeyVersion& v : k.versions()) {
    versions.emplace_back(
        absl::StrCat(v.version()),
        absl::StrCat("created ", FormatUnixMillis(v.created_time_unix_ms()),
                     "  encryptions ", v.encryptions(), "  decryptions ",
                     v.decryptions(), "  last_used ",
                     FormatUnixMillis(v.last_used_unix_ms())));
  }
  out << FormatTable(versions, {"Version", "Usage"}) << std::flush;
  return kExitOk;
}

struct KeyArgs {
  std::string mount = kDefaultMount;
  std::string name;
};

void AddKeyArgs(CLI::App* cmd, KeyArgs* args, bool with_name = true) {
  if (with_name) cmd->add_option("name", args->name, "Key name")->required();
  cmd->add_option("--mount", args->mount, "Transit engine mount")
      ->capture_default_str();
}

// --- create
// -------------------------------------------------------------------

struct CreateArgs {
  KeyArgs key;
  std::string type = "aes256-gcm96";
  bool derived = false;
  bool convergent = false;
  bool exportable = false;
  bool deletion_allowed = false;
  std::string auto_rotate_period;
};

int RunCreate(const Context& ctx, const CreateArgs& args) {
  v1::TransitCreateKeyRequest req;
  req.set_mount(args.key.mount);
  req.set_name(args.key.name);
  req.set_type(args.type);
  req.set_derived(args.derived);
  req.set_convergent(args.convergent);
  req.set_exportable(args.exportable);
  req.set_deletion_allowed(args.deletion_allowed);
  if (!args.auto_rotate_period.empty()) {
    absl::Duration d;
    if (!absl::ParseDuration(args.auto_rotate_period, &d) ||
        d < absl::ZeroDuration()) {
      return ctx.Fail(absl::InvalidArgumentError(
          "--auto-rotate-period is not a duration such as 24h or 90m"));
    }
    req.set_auto_rotate_period_ms(absl::ToInt64Milliseconds(d));
  }
  return WithClient(ctx, [&](Client& client) {
    auto k = client.TransitCreateKey(req);
    if (!k.ok()) return ctx.Fail(k.status());
    return PrintKey(ctx, *k);
  });
}

// --- show / rotate / trim / delete / list
// -------------------------------------

enum class KeyOp { kShow, kRotate, kTrim, kDelete };

int RunKeyOp(const Context& ctx, const KeyArgs& args, KeyOp op) {
  return WithClient(ctx, [&](Client& client) {
    absl::StatusOr<v1::TransitKey> k;
    switch (op) {
      case KeyOp::kShow: {
        v1::TransitReadKeyRequest r;
        r.set_mount(args.mount);
        r.set_name(args.name);
        k = client.TransitReadKey(r);
        break;
      }
      case KeyOp::kRotate: {
        v1::TransitRotateKeyRequest r;
        r.set_mount(args.mount);
        r.set_name(args.name);
        k = client.TransitRotateKey(r);
        break;
      }
      case KeyOp::kTrim: {
        v1::TransitTrimKeyRequest r;
        r.set_mount(args.mount);
        r.set_name(args.name);
        k = client.TransitTrimKey(r);
        break;
      }
      case KeyOp::kDelete: {
        v1::TransitDeleteKeyRequest r;
        r.set_mount(args.mount);
        r.set_name(args.name);
        auto resp = client.TransitDeleteKey(r);
        if (!resp.ok()) return ctx.Fail(resp.status());
        if (ctx.json()) return ctx.PrintJson(*resp);
        *ctx.io.out << "Success! Deleted key " << args.name << ".\n"
                    << std::flush;
        return kExitOk;
      }
    }
    if (!k.ok()) return ctx.Fail(k.status());
    return PrintKey(ctx, *k);
  });
}

int RunList(const Context& ctx, const KeyArgs& args) {
  v1::TransitListKeysRequest r;
  r.set_mount(args.mount);
  return WithClient(ctx, [&](Client& client) {
    auto resp = client.TransitListKeys(r);
    if (!resp.ok()) return ctx.Fail(resp.status());
    if (ctx.json()) return ctx.PrintJson(*resp);
    *ctx.io.out << "Keys\n----\n";
    for (const std::string& k : resp->keys()) *ctx.io.out << k << "\n";
    *ctx.io.out << std::flush;
    return kExitOk;
  });
}

// --- config
// -------------------------------------------------------------------

struct ConfigArgs {
  KeyArgs key;
  uint32_t min_decryption_version = 0;
  uint32_t min_encryption_version = 0;
  bool deletion_allowed = false;
  CLI::Option* min_dec_opt = nullptr;
  CLI::Option* min_enc_opt = nullptr;
  CLI::Option* deletion_opt = nullptr;
};

int RunConfig(const Context& ctx, const ConfigArgs& args) {
  v1::TransitConfigureKeyRequest r;
  r.set_mount(args.key.mount);
  r.set_name(args.key.name);
  if (args.min_dec_opt->count() > 0) {
    r.set_min_decryption_version(args.min_decryption_version);
  }
  if (args.min_enc_opt->count() > 0) {
    r.set_min_encryption_version(args.min_encryption_version);
  }
  if (args.deletion_opt->count() > 0) {
    r.set_deletion_allowed(args.deletion_allowed);
  }
  return WithClient(ctx, [&](Client& client) {
    auto k = client.TransitConfigureKey(r);
    if (!k.ok()) return ctx.Fail(k.status());
    return PrintKey(ctx, *k);
  });
}

// --- encrypt / decrypt / rewrap
// -----------------------------------------------

enum class CryptoOp { kEncrypt, kDecrypt, kRewrap };

struct CryptoArgs {
  KeyArgs key;
  std::string context_b64;
  std::string aad_b64;
  bool batch = false;
};

std::string Trimmed(const std::string& s) {
  return std::string(absl::StripAsciiWhitespace(s));
}

int RunSingle(const Context& ctx, const CryptoArgs& args, CryptoOp op,
              const std::string& context, const std::string& aad,
              std::string& input) {
  return WithClient(ctx, [&](Client& client) {
    if (op == CryptoOp::kEncrypt) {
      v1::TransitEncryptRequest r;
      r.set_mount(args.key.mount);
      r.set_name(args.key.name);
      r.set_plaintext(input);
      r.set_context(context);
      r.set_associated_data(aad);
      auto resp = client.TransitEncrypt(r);
      Wipe(*r.mutable_plaintext());
      if (!resp.ok()) return ctx.Fail(resp.status());
      if (ctx.json()) return ctx.PrintJson(*resp);
      *ctx.io.out << resp->ciphertext() << "\n" << std::flush;
      return kExitOk;
    }
    if (op == CryptoOp::kDecrypt) {
      v1::TransitDecryptRequest r;
      r.set_mount(args.key.mount);
      r.set_name(args.key.name);
      r.set_ciphertext(Trimmed(input));
      r.set_context(context);
      r.set_associated_data(aad);
      auto resp = client.TransitDecrypt(r);
      if (!resp.ok()) return ctx.Fail(resp.status());
      if (ctx.json()) {
        int rc = ctx.PrintJson(*resp);
        Wipe(*resp->mutable_plaintext());
        return rc;
      }
      *ctx.io.out << resp->plaintext() << std::flush;
      Wipe(*resp->mutable_plaintext());
      return kExitOk;
    }
    v1::TransitRewrapRequest r;
    r.set_mount(args.key.mount);
    r.set_name(args.key.name);
    r.set_ciphertext(Trimmed(input));
    r.set_context(context);
    r.set_associated_data(aad);
    auto resp = client.TransitRewrap(r);
    if (!resp.ok()) return ctx.Fail(resp.status());
    if (ctx.json()) return ctx.PrintJson(*resp);
    *ctx.io.out << resp->ciphertext() << "\n" << std::flush;
    return kExitOk;
  });
}

// One item per input line: base64 plaintext (encrypt) or a ciphertext
// (decrypt, rewrap). One output line per item, in order: a ciphertext, a
// base64 plaintext (decrypt) or "error: <STATUS>: <message>". Exit 1 if any
// item failed.
int RunBatch(const Context& ctx, const CryptoArgs& args, CryptoOp op,
             const std::string& context, const std::string& aad,
             const std::string& input) {
  std::vector<std::string> lines = absl::StrSplit(input, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  // Per line: a local error, or the index of its item in the request.
  std::vector<absl::Status> local(lines.size());
  std::vector<v1::TransitBatchItem> items;
  std::vector<size_t> line_of_item;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string line = Trimmed(lines[i]);
    v1::TransitBatchItem item;
    if (op == CryptoOp::kEncrypt) {
      std::string plaintext;
      if (!absl::Base64Unescape(line, &plaintext)) {
        local[i] = absl::InvalidArgumentError(
            absl::StrCat("line ", i + 1, " is not valid base64"));
        continue;
      }
      item.set_input(std::move(plaintext));
    } else {
      item.set_input(std::move(line));
    }
    item.set_context(context);
    item.set_associated_data(aad);
    items.push_back(std::move(item));
    line_of_item.push_back(i);
    Wipe(lines[i]);
  }
  return WithClient(ctx, [&](Client& client) {
    std::vector<std::string> out(lines.size());
    bool any_error = false;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (!local[i].ok()) {
        out[i] = absl::StrCat("error: ", FormatError(local[i]));
        any_error = true;
      }
    }
    for (size_t start = 0; start < items.size(); start += kMaxBatchItems) {
      const size_t end = std::min(items.size(), start + kMaxBatchItems);
      v1::TransitBatchRequest r;
      r.set_mount(args.key.mount);
      r.set_name(args.key.name);
      for (size_t j = start; j < end; ++j) *r.add_items() = items[j];
      absl::StatusOr<v1::TransitBatchResponse> resp =
          op == CryptoOp::kEncrypt   ? client.TransitBatchEncrypt(r)
          : op == CryptoOp::kDecrypt ? client.TransitBatchDecrypt(r)
                                     : client.TransitBatchRewrap(r);
      for (auto& item : *r.mutable_items()) Wipe(*item.mutable_input());
      if (!resp.ok()) return ctx.Fail(resp.status());
      if (resp->results_size() != static_cast<int>(end - start)) {
        return ctx.Fail(absl::InternalError(
            "the server returned a different number of batch results"));
      }
      for (size_t j = start; j < end; ++j) {
        v1::TransitBatchResult* res =
            resp->mutable_results(static_cast<int>(j - start));
        std::string& line = out[line_of_item[j]];
        if (res->error_code() != 0) {
          any_error = true;
          line = absl::StrCat(
              "error: ", FormatError(absl::Status(
                             static_cast<absl::StatusCode>(res->error_code()),
                             res->error())));
        } else if (op == CryptoOp::kDecrypt) {
          line = absl::Base64Escape(res->output());
          Wipe(*res->mutable_output());
        } else {
          line = res->output();
        }
      }
    }
    for (auto& item : items) Wipe(*item.mutable_input());
    std::ostream& o = *ctx.io.out;
    for (std::string& line : out) {
      o << line << "\n";
      Wipe(line);
    }
    o << std::flush;
    return any_error ? kExitError : kExitOk;
  });
}

int RunCrypto(const Context& ctx, const CryptoArgs& args, CryptoOp op) {
  absl::StatusOr<std::string> context = DecodeFlag(args.context_b64, "context");
  if (!context.ok()) return ctx.Fail(context.status());
  absl::StatusOr<std::string> aad = DecodeFlag(args.aad_b64, "aad");
  if (!aad.ok()) return ctx.Fail(aad.status());
  absl::StatusOr<std::string> input = ReadAll(*ctx.io.in);
  if (!input.ok()) return ctx.Fail(input.status());
  const int rc = args.batch ? RunBatch(ctx, args, op, *context, *aad, *input)
                            : RunSingle(ctx, args, op, *context, *aad, *input);
  Wipe(*input);
  return rc;
}

// --- datakey
// ------------------------------------------------------------------

struct DataKeyArgs {
  KeyArgs key;
  int bits = 256;
  bool wrapped = false;
  std::string context_b64;
};

int RunDataKey(const Context& ctx, const DataKeyArgs& args) {
  absl::StatusOr<std::string> context = DecodeFlag(args.context_b64, "context");
  if (!context.ok()) return ctx.Fail(context.status());
  v1::TransitDataKeyRequest r;
  r.set_mount(args.key.mount);
  r.set_name(args.key.name);
  r.set_bits(args.bits);
  r.set_wrapped_only(args.wrapped);
  r.set_context(*context);
  return WithClient(ctx, [&](Client& client) {
    auto resp = client.TransitGenerateDataKey(r);
    if (!resp.ok()) return ctx.Fail(resp.status());
    int rc = kExitOk;
    if (ctx.json()) {
      rc = ctx.PrintJson(*resp);
    } else {
      Rows rows = {{"ciphertext", resp->ciphertext()},
                   {"key_version", absl::StrCat(resp->key_version())}};
      if (!args.wrapped) {
        rows.insert(rows.begin(),
                    {"plaintext", absl::Base64Escape(resp->plaintext())});
      }
      *ctx.io.out << FormatTable(rows, {"Key", "Value"}) << std::flush;
      for (auto& [k, v] : rows) Wipe(v);
    }
    Wipe(*resp->mutable_plaintext());
    return rc;
  });
}

// --- hmac / verify / sign
// -----------------------------------------------------

enum class TagOp { kHmac, kSign, kVerify };

struct TagArgs {
  KeyArgs key;
  std::string hmac;
  std::string signature;
};

int RunTag(const Context& ctx, const TagArgs& args, TagOp op) {
  absl::StatusOr<std::string> input = ReadAll(*ctx.io.in);
  if (!input.ok()) return ctx.Fail(input.status());
  int rc = WithClient(ctx, [&](Client& client) {
    if (op == TagOp::kHmac) {
      v1::TransitHmacRequest r;
      r.set_mount(args.key.mount);
      r.set_name(args.key.name);
      r.set_input(*input);
      auto resp = client.TransitHmac(r);
      Wipe(*r.mutable_input());
      if (!resp.ok()) return ctx.Fail(resp.status());
      if (ctx.json()) return ctx.PrintJson(*resp);
      *ctx.io.out << resp->hmac() << "\n" << std::flush;
      return kExitOk;
    }
    if (op == TagOp::kSign) {
      v1::TransitSignRequest r;
      r.set_mount(args.key.mount);
      r.set_name(args.key.name);
      r.set_input(*input);
      auto resp = client.TransitSign(r);
      Wipe(*r.mutable_input());
      if (!resp.ok()) return ctx.Fail(resp.status());
      if (ctx.json()) return ctx.PrintJson(*resp);
      *ctx.io.out << resp->signature() << "\n" << std::flush;
      return kExitOk;
    }
    v1::TransitVerifyRequest r;
    r.set_mount(args.key.mount);
    r.set_name(args.key.name);
    r.set_input(*input);
    if (!args.hmac.empty() == !args.signature.empty()) {
      return ctx.Fail(absl::InvalidArgumentError(
          "give exactly one of --hmac and --signature"));
    }
    if (!args.hmac.empty()) {
      r.set_hmac(args.hmac);
    } else {
      r.set_signature(args.signature);
    }
    auto resp = client.TransitVerify(r);
    Wipe(*r.mutable_input());
    if (!resp.ok()) return ctx.Fail(resp.status());
    if (ctx.json()) {
      ctx.PrintJson(*resp);
    } else {
      *ctx.io.out << (resp->valid() ? "valid" : "invalid") << "\n"
                  << std::flush;
    }
    return resp->valid() ? kExitOk : kExitError;
  });
  Wipe(*input);
  return rc;
}

// --- tune (mount options)
// -------------------------------------------------------

struct TuneArgs {
  std::string mount = kDefaultMount;
  std::string create_on_encrypt;
};

int RunTune(const Context& ctx, const TuneArgs& args) {
  v1::TuneMountRequest r;
  r.set_path(args.mount);
  r.set_transit_create_on_encrypt(args.create_on_encrypt == "true");
  return WithClient(ctx, [&](Client& client) {
    auto resp = client.TuneMount(r);
    if (!resp.ok()) return ctx.Fail(resp.status());
    if (ctx.json()) return ctx.PrintJson(*resp);
    *ctx.io.out << "Success! Tuned mount " << args.mount << ".\n" << std::flush;
    return kExitOk;
  });
}

}  // namespace

void AddTransitCommands(CLI::App& app, Context& ctx) {
  Context* c = &ctx;
  CLI::App* tr = app.add_subcommand(
      "transit",
      "Encrypt, decrypt, sign and HMAC with keys kept on the server");
  tr->require_subcommand(1);

  {
    auto args = std::make_shared<CreateArgs>();
    CLI::App* cmd = tr->add_subcommand("create", "Create a named key");
    AddKeyArgs(cmd, &args->key);
    cmd->add_option("--type", args->type, "Key type")
        ->check(CLI::IsMember(
            {"aes256-gcm96", "xchacha20-poly1305", "ed25519", "hmac"}))
        ->capture_default_str();
    cmd->add_flag("--derived", args->derived,
                  "Per-context keys (encrypt/decrypt need --context)");
    cmd->add_flag("--convergent", args->convergent,
                  "Equal plaintext and context give equal ciphertext "
                  "(needs --derived)");
    cmd->add_flag("--exportable", args->exportable,
                  "Allow exporting the key material");
    cmd->add_flag("--deletion-allowed", args->deletion_allowed,
                  "Allow deleting the key");
    cmd->add_option("--auto-rotate-period", args->auto_rotate_period,
                    "Rotate automatically, e.g. 720h (at least 1h)");
    cmd->callback(
        [c, args] { c->action = [c, args] { return RunCreate(*c, *args); }; });
  }
  const struct {
    const char* name;
    const char* help;
    KeyOp op;
  } key_ops[] = {
      {"show", "Show a key's config and per-version usage", KeyOp::kShow},
      {"rotate", "Add a new key version", KeyOp::kRotate},
      {"trim", "Delete versions below min_decryption_version", KeyOp::kTrim},
      {"delete", "Delete a key (needs deletion_allowed)", KeyOp::kDelete},
  };
  for (const auto& k : key_ops) {
    auto args = std::make_shared<KeyArgs>();
    CLI::App* cmd = tr->add_subcommand(k.name, k.help);
    AddKeyArgs(cmd, args.get());
    const KeyOp op = k.op;
    cmd->callback([c, args, op] {
      c->action = [c, args, op] { return RunKeyOp(*c, *args, op); };
    });
  }
  {
    auto args = std::make_shared<KeyArgs>();
    CLI::App* cmd = tr->add_subcommand("list", "List key names");
    AddKeyArgs(cmd, args.get(), /*with_name=*/false);
    cmd->callback(
        [c, args] { c->action = [c, args] { return RunList(*c, *args); }; });
  }
  {
    auto args = std::make_shared<ConfigArgs>();
    CLI::App* cmd = tr->add_subcommand("config", "Change a key's config");
    AddKeyArgs(cmd, &args->key);
    args->min_dec_opt = cmd->add_option("--min-decryption-version",
                                        args->min_decryption_version,
                                        "Oldest version allowed to decrypt")
                         ->check(WholeNumberFor<uint32_t>(
                             "--min-decryption-version"));
    args->min_enc_opt = cmd->add_option("--min-encryption-version",
                                        args->min_encryption_version,
                                        "Version used to encrypt (0: latest)")
                         ->check(WholeNumberFor<uint32_t>(
                             "--min-encryption-version"));
    args->deletion_opt = cmd->add_flag(
        "--deletion-allowed", args->deletion_allowed, "Allow deleting the key");
    cmd->callback(
        [c, args] { c->action = [c, args] { return RunConfig(*c, *args); }; });
  }
  const struct {
    const char* name;
    const char* help;
    CryptoOp op;
  } crypto_ops[] = {
      {"encrypt", "Encrypt stdin (raw bytes); print the ciphertext",
       CryptoOp::kEncrypt},
      {"decrypt", "Decrypt the ciphertext on stdin; write the raw plaintext",
       CryptoOp::kDecrypt},
      {"rewrap", "Re-encrypt the ciphertext on stdin under the latest version",
       CryptoOp::kRewrap},
  };
  for (const auto& k : crypto_ops) {
    auto args = std::make_shared<CryptoArgs>();
    CLI::App* cmd = tr->add_subcommand(k.name, k.help);
    AddKeyArgs(cmd, &args->key);
    cmd->add_option("--context", args->context_b64,
                    "Key-derivation context (base64), derived keys");
    cmd->add_option("--aad", args->aad_b64,
                    "Associated data (base64), bound to the ciphertext");
    cmd->add_flag("--batch", args->batch,
                  "One item per stdin line (base64 plaintext or ciphertext); "
                  "one result per line");
    const CryptoOp op = k.op;
    cmd->callback([c, args, op] {
      c->action = [c, args, op] { return RunCrypto(*c, *args, op); };
    });
  }
  {
    auto args = std::make_shared<DataKeyArgs>();
    CLI::App* cmd = tr->add_subcommand(
        "datakey", "Generate a data key and its wrapped (encrypted) form");
    AddKeyArgs(cmd, &args->key);
    cmd->add_option("--bits", args->bits, "Key size")
        ->check(CLI::IsMember({128, 256, 512}))
        ->capture_default_str();
    cmd->add_flag("--wrapped", args->wrapped,
                  "Return only the wrapped key, no plaintext");
    cmd->add_option("--context", args->context_b64,
                    "Key-derivation context (base64), derived keys");
    cmd->callback(
        [c, args] { c->action = [c, args] { return RunDataKey(*c, *args); }; });
  }
  const struct {
    const char* name;
    const char* help;
    TagOp op;
  } tag_ops[] = {
      {"hmac", "HMAC-SHA256 of stdin under the key", TagOp::kHmac},
      {"sign", "Ed25519 signature of stdin (ed25519 keys)", TagOp::kSign},
      {"verify", "Check --hmac or --signature over stdin (exit 1 if invalid)",
       TagOp::kVerify},
  };
  for (const auto& k : tag_ops) {
    auto args = std::make_shared<TagArgs>();
    CLI::App* cmd = tr->add_subcommand(k.name, k.help);
    AddKeyArgs(cmd, &args->key);
    if (k.op == TagOp::kVerify) {
      cmd->add_option("--hmac", args->hmac, "HMAC to check (arca:v<N>:...)");
      cmd->add_option("--signature", args->signature,
                      "Signature to check (arca:v<N>:...)");
    }
    const TagOp op = k.op;
    cmd->callback([c, args, op] {
      c->action = [c, args, op] { return RunTag(*c, *args, op); };
    });
  }
  {
    auto args = std::make_shared<TuneArgs>();
    CLI::App* cmd = tr->add_subcommand(
        "tune", "Change the transit mount's options (needs sudo)");
    cmd->add_option("--create-on-encrypt", args->create_on_encrypt,
                    "Whether encrypt may create a missing key")
        ->required()
        ->check(CLI::IsMember({"true", "false"}));
    cmd->add_option("--mount", args->mount, "Transit engine mount")
        ->capture_default_str();
    cmd->callback(
        [c, args] { c->action = [c, args] { return RunTune(*c, *args); }; });
  }
  AddTransitFileCommands(*tr, ctx);
}

}  // namespace arca::cli
