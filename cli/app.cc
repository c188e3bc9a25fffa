#include "cli/app.h"

#include <algorithm>

#include "CLI/CLI.hpp"
#include "cli/context.h"
#include "cli/errors.h"
#include "cli/output.h"

namespace arca::cli {

absl::StatusOr<std::unique_ptr<Client>> Context::Connect() const {
  ClientOptions options;
  options.address = address;
  options.token_from_environment = true;  // never from argv
  return Client::New(std::move(options));
}

int Context::Fail(const absl::Status& status) const {
  *io.err << FormatError(status) << "\n" << std::flush;
  return ExitCodeFor(status);
}

int Context::PrintJson(const google::protobuf::Message& msg) const {
  absl::StatusOr<std::string> json = ProtoToJson(msg);
  if (!json.ok()) return Fail(json.status());
  *io.out << *json << "\n" << std::flush;
  return kExitOk;
}

int RunArca(const std::vector<std::string>& args, const Io& io) {
  Context ctx;
  ctx.io = io;

  CLI::App app("arca: operate an Arca server and read or write its secrets.",
               "arca");
  // Global flags may also follow the subcommands ("arca kv get x --format
  // json"): unknown options fall through to the parent.
  app.fallthrough();
  app.require_subcommand(1);
  app.add_option("--address", ctx.address, "arcad gRPC address (env ARCA_ADDR)")
      ->envname("ARCA_ADDR")
      ->capture_default_str();
  app.add_option("--format", ctx.format, "Output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  app.footer(
      "The token is read from ARCA_TOKEN or ~/.arca-token, never from the "
      "command line.");

  AddOperatorCommands(app, ctx);
  AddKvCommands(app, ctx);

  // CLI11 takes its argument vector in reverse order.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e, *io.out, *io.err);
    return rc == 0 ? kExitOk : kExitError;
  }
  if (!ctx.action) {
    *io.err << app.help() << std::flush;
    return kExitError;
  }
  return ctx.action();
}

}  // namespace arca::cli
