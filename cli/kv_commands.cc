// `arca kv ...`: versioned key/value secrets.

#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/context.h"
#include "cli/errors.h"
#include "cli/kv_args.h"
#include "cli/numeric_flags.h"
#include "cli/output.h"
#include "cli/secret_input.h"

namespace arca::cli {
namespace {

using Rows = std::vector<std::pair<std::string, std::string>>;

constexpr char kDefaultMount[] = "kv";

const char* Bool(bool b) { return b ? "true" : "false"; }

Rows VersionRows(const v1::KvVersionMetadata& m) {
  return {
      {"version", absl::StrCat(m.version())},
      {"created_time", FormatUnixMillis(m.created_time_unix_ms())},
      {"deletion_time", FormatUnixMillis(m.deletion_time_unix_ms())},
      {"destroyed", Bool(m.destroyed())},
  };
}

// Options every kv command has.
struct KvCommon {
  std::string mount = kDefaultMount;
  std::string path;
};

void AddMount(CLI::App* cmd, KvCommon* common) {
  cmd->add_option("--mount", common->mount, "KV engine mount")
      ->capture_default_str();
}

void AddPath(CLI::App* cmd, KvCommon* common) {
  cmd->add_option("path", common->path, "Secret path")->required();
}

std::string Where(const KvCommon& k) { return k.mount + "/" + k.path; }

// Runs `fn(client)` after connecting; reports connection errors.
template <typename Fn>
int WithClient(const Context& ctx, Fn fn) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  return fn(**client);
}

// --- put --------------------------------------------------------------------

struct PutArgs {
  KvCommon common;
  std::vector<std::string> pairs;
  uint64_t cas = 0;
  CLI::Option* cas_opt = nullptr;
};

int RunPut(const Context& ctx, PutArgs& args) {
  ValueSources sources = RealValueSources();
  std::istream* in = ctx.io.in;
  std::ostream* prompt_out = ctx.io.err;
  const bool tty = ctx.io.stdin_is_tty;
  sources.read_stdin = [in, prompt_out, tty]() -> absl::StatusOr<std::string> {
    if (tty) {
      // Typed at a terminal: one hidden line without its newline, rather
      // than echoing the secret and waiting silently for end of input.
      std::optional<std::string> value =
          NewPromptShareSource(*in, *prompt_out, "Value (input hidden): ", 1)
              ->Next();
      if (!value.has_value()) {
        return absl::InvalidArgumentError("no value was entered");
      }
      return *std::move(value);
    }
    std::string all((std::istreambuf_iterator<char>(*in)),
                    std::istreambuf_iterator<char>());
    if (in->bad()) {
      return absl::InvalidArgumentError("cannot read standard input");
    }
    return all;
  };
  absl::StatusOr<std::map<std::string, std::string>> data =
      ParseKvPairs(args.pairs, sources);
  for (std::string& p : args.pairs) Wipe(p);
  if (!data.ok()) return ctx.Fail(data.status());

  v1::KvPutRequest request;
  request.set_mount(args.common.mount);
  request.set_path(args.common.path);
  for (auto& [k, v] : *data) {
    (*request.mutable_data())[k] = v;
    Wipe(v);
  }
  if (args.cas_opt->count() > 0) request.set_cas(args.cas);
  return WithClient(ctx, [&](Client& client) {
    absl::StatusOr<v1::KvPutResponse> response = client.KvPut(request);
    for (auto& [k, v] : *request.mutable_data()) Wipe(v);
    if (!response.ok()) return ctx.Fail(response.status());
    if (ctx.json()) return ctx.PrintJson(*response);
    *ctx.io.out << FormatTable(VersionRows(response->metadata()),
                               {"Key", "Value"})
                << std::flush;
    return kExitOk;
  });
}

// --- get --------------------------------------------------------------------

struct GetArgs {
  KvCommon common;
  std::string field;
  uint64_t version = 0;
  CLI::Option* field_opt = nullptr;
};

int RunGet(const Context& ctx, const GetArgs& args) {
  v1::KvGetRequest request;
  request.set_mount(args.common.mount);
  request.set_path(args.common.path);
  request.set_version(args.version);
  return WithClient(ctx, [&](Client& client) {
    absl::StatusOr<v1::KvGetResponse> response = client.KvGet(request);
    if (!response.ok()) return ctx.Fail(response.status());
    int rc = kExitOk;
    if (args.field_opt->count() > 0) {
      auto it = response->data().find(args.field);
      if (it == response->data().end()) {
        rc = ctx.Fail(absl::NotFoundError(
            absl::StrCat("no field \"", args.field, "\" in secret at ",
                         Where(args.common))));
      } else {
        // Raw bytes for scripts; a newline only for a human at a terminal.
        *ctx.io.out << it->second;
        if (ctx.io.stdout_is_tty) *ctx.io.out << "\n";
        *ctx.io.out << std::flush;
      }
    } else if (ctx.json()) {
      rc = ctx.PrintJson(*response);
    } else {
      std::map<std::string, std::string> sorted(response->data().begin(),
                                                response->data().end());
      Rows data_rows(sorted.begin(), sorted.end());
      *ctx.io.out << "====== Metadata ======\n"
                  << FormatTable(VersionRows(response->metadata()),
                                 {"Key", "Value"})
                  << "\n====== Data ======\n"
                  << FormatTable(data_rows, {"Key", "Value"}) << std::flush;
      for (auto& [k, v] : data_rows) Wipe(v);
      for (auto& [k, v] : sorted) Wipe(v);
    }
    for (auto& [k, v] : *response->mutable_data()) Wipe(v);
    return rc;
  });
}

// --- list -------------------------------------------------------------------

int RunList(const Context& ctx, const KvCommon& args) {
  v1::KvListRequest request;
  request.set_mount(args.mount);
  request.set_path(args.path);
  return WithClient(ctx, [&](Client& client) {
    absl::StatusOr<v1::KvListResponse> response = client.KvList(request);
    if (!response.ok()) return ctx.Fail(response.status());
    if (ctx.json()) return ctx.PrintJson(*response);
    std::ostream& out = *ctx.io.out;
    out << "Keys\n----\n";
    for (const std::string& key : response->keys()) {
      out << EscapeForTerminal(key) << "\n";
    }
    out << std::flush;
    return kExitOk;
  });
}

// --- delete / undelete / destroy ---------------------------------------------

enum class VersionOp { kDelete, kUndelete, kDestroy };

struct VersionArgs {
  KvCommon common;
  std::string versions;
  CLI::Option* versions_opt = nullptr;
};

template <typename Request>
void FillVersionRequest(const VersionArgs& args,
                        const std::vector<uint64_t>& versions, Request* r) {
  r->set_mount(args.common.mount);
  r->set_path(args.common.path);
  for (uint64_t v : versions) r->add_versions(v);
}

int RunVersionOp(const Context& ctx, const VersionArgs& args, VersionOp op) {
  std::vector<uint64_t> versions;
  if (args.versions_opt->count() > 0) {
    absl::StatusOr<std::vector<uint64_t>> parsed = ParseVersions(args.versions);
    if (!parsed.ok()) return ctx.Fail(parsed.status());
    versions = *std::move(parsed);
  }
  return WithClient(ctx, [&](Client& client) {
    absl::Status status;
    std::unique_ptr<google::protobuf::Message> empty;
    std::string done;
    switch (op) {
      case VersionOp::kDelete: {
        v1::KvDeleteRequest r;
        FillVersionRequest(args, versions, &r);
        auto resp = client.KvDelete(r);
        status = resp.status();
        if (resp.ok()) empty = std::make_unique<v1::KvDeleteResponse>(*resp);
        done = "deleted";
        break;
      }
      case VersionOp::kUndelete: {
        v1::KvUndeleteRequest r;
        FillVersionRequest(args, versions, &r);
        auto resp = client.KvUndelete(r);
        status = resp.status();
        if (resp.ok()) {
          empty = std::make_unique<v1::KvUndeleteResponse>(*resp);
        }
        done = "undeleted";
        break;
      }
      case VersionOp::kDestroy: {
        v1::KvDestroyRequest r;
        FillVersionRequest(args, versions, &r);
        auto resp = client.KvDestroy(r);
        status = resp.status();
        if (resp.ok()) empty = std::make_unique<v1::KvDestroyResponse>(*resp);
        done = "destroyed";
        break;
      }
    }
    if (!status.ok()) return ctx.Fail(status);
    if (ctx.json()) return ctx.PrintJson(*empty);
    *ctx.io.out << "Success! Data " << done << " at " << Where(args.common)
                << ".\n"
                << std::flush;
    return kExitOk;
  });
}

// --- metadata
// -----------------------------------------------------------------

int RunMetadataGet(const Context& ctx, const KvCommon& args) {
  v1::KvGetMetadataRequest request;
  request.set_mount(args.mount);
  request.set_path(args.path);
  return WithClient(ctx, [&](Client& client) {
    absl::StatusOr<v1::KvMetadata> m = client.KvGetMetadata(request);
    if (!m.ok()) return ctx.Fail(m.status());
    if (ctx.json()) return ctx.PrintJson(*m);
    Rows rows = {
        {"path", m->path()},
        {"current_version", absl::StrCat(m->current_version())},
        {"oldest_version", absl::StrCat(m->oldest_version())},
        {"max_versions", absl::StrCat(m->max_versions())},
        {"cas_required", Bool(m->cas_required())},
        {"created_time", FormatUnixMillis(m->created_time_unix_ms())},
        {"updated_time", FormatUnixMillis(m->updated_time_unix_ms())},
    };
    std::map<std::string, std::string> custom(m->custom_metadata().begin(),
                                              m->custom_metadata().end());
    for (const auto& [k, v] : custom) {
      rows.emplace_back(absl::StrCat("custom_metadata.", k), v);
    }
    std::ostream& out = *ctx.io.out;
    out << "====== Metadata ======\n" << FormatTable(rows, {"Key", "Value"});
    out << "\n====== Versions ======\n";
    Rows versions;
    for (const v1::KvVersionMetadata& v : m->versions()) {
      versions.emplace_back(
          absl::StrCat(v.version()),
          absl::StrCat(
              FormatUnixMillis(v.created_time_unix_ms()), "   ",
              v.destroyed() ? "destroyed"
              : v.deletion_time_unix_ms() != 0
                  ? absl::StrCat("deleted ",
                                 FormatUnixMillis(v.deletion_time_unix_ms()))
                  : "live"));
    }
    out << FormatTable(versions, {"Version", "Created / State"}) << std::flush;
    return kExitOk;
  });
}

struct MetadataPutArgs {
  KvCommon common;
  uint32_t max_versions = 0;
  std::string cas_required;
  CLI::Option* max_versions_opt = nullptr;
  CLI::Option* cas_required_opt = nullptr;
};

int RunMetadataPut(const Context& ctx, const MetadataPutArgs& args) {
  v1::KvPutMetadataRequest request;
  request.set_mount(args.common.mount);
  request.set_path(args.common.path);
  if (args.max_versions_opt->count() > 0) {
    request.set_max_versions(args.max_versions);
  }
  if (args.cas_required_opt->count() > 0) {
    request.set_cas_required(args.cas_required == "true");
  }
  return WithClient(ctx, [&](Client& client) {
    auto resp = client.KvPutMetadata(request);
    if (!resp.ok()) return ctx.Fail(resp.status());
    if (ctx.json()) return ctx.PrintJson(*resp);
    *ctx.io.out << "Success! Metadata written at " << Where(args.common)
                << ".\n"
                << std::flush;
    return kExitOk;
  });
}

int RunMetadataDelete(const Context& ctx, const KvCommon& args) {
  v1::KvDeleteMetadataRequest request;
  request.set_mount(args.mount);
  request.set_path(args.path);
  return WithClient(ctx, [&](Client& client) {
    auto resp = client.KvDeleteMetadata(request);
    if (!resp.ok()) return ctx.Fail(resp.status());
    if (ctx.json()) return ctx.PrintJson(*resp);
    *ctx.io.out << "Success! Metadata and all versions deleted at "
                << Where(args) << ".\n"
                << std::flush;
    return kExitOk;
  });
}

}  // namespace

void AddKvCommands(CLI::App& app, Context& ctx) {
  Context* c = &ctx;
  CLI::App* kv =
      app.add_subcommand("kv", "Read and write versioned key/value secrets");
  kv->require_subcommand(1);

  {
    auto args = std::make_shared<PutArgs>();
    CLI::App* cmd = kv->add_subcommand(
        "put", "Write a new version: KEY=VALUE, KEY=@FILE or KEY=- (stdin)");
    AddPath(cmd, &args->common);
    cmd->add_option("data", args->pairs,
                    "KEY=VALUE, KEY=@FILE (file bytes) or KEY=- (all of "
                    "stdin)")
        ->required();
    args->cas_opt = cmd->add_option(
        "--cas", args->cas,
        "Write only if the current version is N (0: only if new)")
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
              uint64_t n = 0;
              return absl::SimpleAtoi(v, &n) && !v.empty() && v[0] != '-'
                         ? ""
                         : "--cas must be a version number (0, 1, 2, ...)";
            },
            "N"));
    AddMount(cmd, &args->common);
    cmd->callback(
        [c, args] { c->action = [c, args] { return RunPut(*c, *args); }; });
  }
  {
    auto args = std::make_shared<GetArgs>();
    CLI::App* cmd = kv->add_subcommand("get", "Read a secret");
    AddPath(cmd, &args->common);
    args->field_opt = cmd->add_option("--field", args->field,
                                      "Print only this field's raw value");
    cmd->add_option("--version", args->version,
                    "Version to read (default: latest)")
        ->check(WholeNumberFor<uint64_t>("--version"));
    AddMount(cmd, &args->common);
    cmd->callback(
        [c, args] { c->action = [c, args] { return RunGet(*c, *args); }; });
  }
  {
    auto args = std::make_shared<KvCommon>();
    CLI::App* cmd =
        kv->add_subcommand("list", "List the direct children of a prefix");
    cmd->add_option("prefix", args->path, "Prefix (default: the root)");
    AddMount(cmd, args.get());
    cmd->callback(
        [c, args] { c->action = [c, args] { return RunList(*c, *args); }; });
  }
  const struct {
    const char* name;
    const char* help;
    VersionOp op;
  } version_ops[] = {
      {"delete", "Soft-delete the latest version, or --versions",
       VersionOp::kDelete},
      {"undelete", "Restore soft-deleted --versions", VersionOp::kUndelete},
      {"destroy", "Permanently remove the data of --versions",
       VersionOp::kDestroy},
  };
  for (const auto& v : version_ops) {
    auto args = std::make_shared<VersionArgs>();
    CLI::App* cmd = kv->add_subcommand(v.name, v.help);
    AddPath(cmd, &args->common);
    args->versions_opt = cmd->add_option("--versions", args->versions,
                                         "Comma-separated versions, e.g. 1,2");
    AddMount(cmd, &args->common);
    const VersionOp op = v.op;
    cmd->callback([c, args, op] {
      c->action = [c, args, op] { return RunVersionOp(*c, *args, op); };
    });
  }

  CLI::App* md =
      kv->add_subcommand("metadata", "Read and write a secret's metadata");
  md->require_subcommand(1);
  {
    auto args = std::make_shared<KvCommon>();
    CLI::App* cmd = md->add_subcommand("get", "Show metadata and versions");
    AddPath(cmd, args.get());
    AddMount(cmd, args.get());
    cmd->callback([c, args] {
      c->action = [c, args] { return RunMetadataGet(*c, *args); };
    });
  }
  {
    auto args = std::make_shared<MetadataPutArgs>();
    CLI::App* cmd =
        md->add_subcommand("put", "Set max versions or CAS requirement");
    AddPath(cmd, &args->common);
    args->max_versions_opt =
        cmd->add_option("--max-versions", args->max_versions,
                        "Versions kept (0: server default)")
            ->check(WholeNumberFor<uint32_t>("--max-versions"));
    args->cas_required_opt =
        cmd->add_option("--cas-required", args->cas_required,
                        "Require --cas on every write")
            ->check(CLI::IsMember({"true", "false"}));
    AddMount(cmd, &args->common);
    cmd->callback([c, args] {
      c->action = [c, args] { return RunMetadataPut(*c, *args); };
    });
  }
  {
    auto args = std::make_shared<KvCommon>();
    CLI::App* cmd = md->add_subcommand(
        "delete", "Delete the metadata and every version of a secret");
    AddPath(cmd, args.get());
    AddMount(cmd, args.get());
    cmd->callback([c, args] {
      c->action = [c, args] { return RunMetadataDelete(*c, *args); };
    });
  }
}

}  // namespace arca::cli
