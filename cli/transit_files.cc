// `arca transit encrypt-file` / `decrypt-file`: large files through the
// client library's EnvelopeEncryptor, streaming, in constant memory.

#include "cli/transit_files.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "cli/errors.h"
#include "client/envelope_encryptor.h"

namespace arca::cli {
namespace {

namespace fs = std::filesystem;

struct FileArgs {
  std::string mount = "transit";
  std::string name;
  std::string in;
  std::string out;
};

// Writes to "<out>.tmp-<pid>" and renames it over `out` only on success, so
// a failed decrypt leaves no partial plaintext behind.
int Run(const Context& ctx, const FileArgs& args, bool encrypt) {
  std::ifstream in(args.in, std::ios::binary);
  if (!in) {
    return ctx.Fail(absl::InvalidArgumentError(
        absl::StrCat("cannot open ", args.in, " for reading")));
  }
  const std::string tmp = absl::StrCat(args.out, ".tmp-", getpid());
  std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
  if (!out) {
    return ctx.Fail(absl::InvalidArgumentError(
        absl::StrCat("cannot open ", args.out, " for writing")));
  }
  fs::permissions(tmp, fs::perms::owner_read | fs::perms::owner_write);
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  EnvelopeOptions options;
  options.mount = args.mount;
  // decrypt-file takes the key name from the envelope's header.
  options.key_name = encrypt ? args.name : "-";
  auto envelope = EnvelopeEncryptor::New(client->get(), options);
  absl::Status st = envelope.status();
  if (st.ok()) {
    st =
        encrypt ? (*envelope)->Encrypt(in, out) : (*envelope)->Decrypt(in, out);
  }
  out.close();
  if (st.ok() && !out) st = absl::InvalidArgumentError("cannot write output");
  std::error_code ec;
  if (st.ok()) {
    fs::rename(tmp, args.out, ec);
    if (ec)
      st = absl::InvalidArgumentError(
          absl::StrCat("cannot rename the output to ", args.out));
  }
  if (!st.ok()) {
    fs::remove(tmp, ec);
    return ctx.Fail(st);
  }
  if (!ctx.json()) {
    *ctx.io.out << "Success! " << (encrypt ? "Encrypted " : "Decrypted ")
                << args.in << " to " << args.out << ".\n"
                << std::flush;
  } else {
    *ctx.io.out << "{}\n" << std::flush;
  }
  return kExitOk;
}

}  // namespace

void AddTransitFileCommands(CLI::App& transit, Context& ctx) {
  Context* c = &ctx;
  {
    auto args = std::make_shared<FileArgs>();
    CLI::App* cmd = transit.add_subcommand(
        "encrypt-file", "Encrypt file IN to OUT (envelope format)");
    cmd->add_option("name", args->name, "Key that wraps the data key")
        ->required();
    cmd->add_option("in", args->in, "Input file")->required();
    cmd->add_option("out", args->out, "Output file")->required();
    cmd->add_option("--mount", args->mount, "Transit engine mount")
        ->capture_default_str();
    cmd->callback(
        [c, args] { c->action = [c, args] { return Run(*c, *args, true); }; });
  }
  {
    auto args = std::make_shared<FileArgs>();
    CLI::App* cmd = transit.add_subcommand("decrypt-file",
                                           "Decrypt envelope file IN to OUT");
    cmd->add_option("in", args->in, "Envelope file")->required();
    cmd->add_option("out", args->out, "Output file")->required();
    cmd->add_option("--mount", args->mount, "Transit engine mount")
        ->capture_default_str();
    cmd->callback(
        [c, args] { c->action = [c, args] { return Run(*c, *args, false); }; });
  }
}

}  // namespace arca::cli
