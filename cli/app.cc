#include "cli/app.h"

#include <algorithm>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "cli/context.h"
#include "cli/errors.h"
#include "cli/output.h"

namespace arca::cli {
namespace {

void CollectNames(CLI::App* app, std::set<std::string>* names) {
  for (CLI::App* sub : app->get_subcommands([](CLI::App*) { return true; })) {
    names->insert(sub->get_name());
    CollectNames(sub, names);
  }
}

// CLI11's parse errors quote the offending arguments, and a mistyped command
// line may hold a share or token. Only option and subcommand names survive.
std::string RedactArguments(std::string message,
                            const std::vector<std::string>& args,
                            CLI::App& app) {
  std::set<std::string> names;
  CollectNames(&app, &names);
  std::vector<std::string> values;
  for (const std::string& arg : args) {
    std::string value = arg;
    if (arg.starts_with("-")) {
      const size_t eq = arg.find('=');
      if (eq == std::string::npos) continue;
      value = arg.substr(eq + 1);
    }
    if (value.size() >= 4 && !names.contains(value)) values.push_back(value);
  }
  // Longest first, so a value inside another is not half-replaced.
  std::sort(values.begin(), values.end(),
            [](const auto& a, const auto& b) { return a.size() > b.size(); });
  for (const std::string& v : values) {
    for (size_t at = message.find(v); at != std::string::npos;
         at = message.find(v, at)) {
      message.replace(at, v.size(), "<redacted>");
      at += 10;
    }
  }
  return message;
}

}  // namespace

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
  AddTransitCommands(app, ctx);

  // CLI11 takes its argument vector in reverse order.
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out, err;
    const int rc = app.exit(e, out, err);
    *io.out << out.str() << std::flush;
    *io.err << RedactArguments(err.str(), args, app) << std::flush;
    return rc == 0 ? kExitOk : kExitError;
  }
  if (!ctx.action) {
    *io.err << app.help() << std::flush;
    return kExitError;
  }
  return ctx.action();
}

}  // namespace arca::cli
