#include "cli/app.h"

#include <string.h>

#include <algorithm>
#include <fstream>
#include <iterator>
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

// The whole of `path`; `what` names it in the error (never the contents).
absl::Status ReadPemFile(const std::string& path, const char* what,
                         std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(std::string("cannot read ") + what +
                                      " file " + path);
  }
  out->assign(std::istreambuf_iterator<char>(in),
              std::istreambuf_iterator<char>());
  if (in.bad()) {
    return absl::InvalidArgumentError(std::string("cannot read ") + what +
                                      " file " + path);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> Context::Connect() const {
  ClientOptions options;
  options.address = address;
  options.token_from_environment = true;  // never from argv
  if (!ca_cert.empty()) {
    absl::Status s = ReadPemFile(ca_cert, "CA certificate", &options.tls.ca_cert_pem);
    if (!s.ok()) return s;
  }
  if (!client_cert.empty()) {
    absl::Status s = ReadPemFile(client_cert, "client certificate",
                                 &options.tls.client_cert_pem);
    if (!s.ok()) return s;
  }
  if (!client_key.empty()) {
    absl::Status s =
        ReadPemFile(client_key, "client key", &options.tls.client_key_pem);
    if (!s.ok()) return s;
  }
  options.tls.server_name = tls_server_name;
  absl::StatusOr<std::unique_ptr<Client>> client =
      Client::New(std::move(options));
  std::string& key = options.tls.client_key_pem;
  if (!key.empty()) explicit_bzero(key.data(), key.size());
  return client;
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
  app.add_option("--ca-cert", ctx.ca_cert,
                 "PEM CA certificate that signed arcad's certificate; turns "
                 "TLS on (env ARCA_CACERT)")
      ->envname("ARCA_CACERT");
  app.add_option("--client-cert", ctx.client_cert,
                 "PEM client certificate for mutual TLS (env ARCA_CLIENT_CERT)")
      ->envname("ARCA_CLIENT_CERT");
  app.add_option("--client-key", ctx.client_key,
                 "PEM private key of --client-cert (env ARCA_CLIENT_KEY)")
      ->envname("ARCA_CLIENT_KEY");
  app.add_option("--tls-server-name", ctx.tls_server_name,
                 "Name to check arcad's certificate against instead of the "
                 "address host (env ARCA_TLS_SERVER_NAME)")
      ->envname("ARCA_TLS_SERVER_NAME");
  app.footer(
      "The token is read from ARCA_TOKEN or ~/.arca-token, never from the "
      "command line. Without --ca-cert, a loopback or unix: address is "
      "spoken to in plaintext (arcad --dev) and any other address over TLS "
      "with the system trust store.");

  AddOperatorCommands(app, ctx);
  AddKvCommands(app, ctx);
  AddTokenizeCommands(app, ctx);
  AddLoginCommands(app, ctx);
  AddTokenCommands(app, ctx);
  AddPolicyCommands(app, ctx);
  AddAuditCommands(app, ctx);
  AddLeaseCommands(app, ctx);
  AddTransitCommands(app, ctx);
  AddDatabaseCommands(app, ctx);

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
