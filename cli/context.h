#ifndef ARCA_CLI_CONTEXT_H_
#define ARCA_CLI_CONTEXT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cli/app.h"
#include "client/client.h"
#include "google/protobuf/message.h"

namespace CLI {
class App;
}  // namespace CLI

namespace arca::cli {

// State shared by every command of one `arca` run: global flags, streams
// and the action chosen by the parser. Single-threaded, lives for the run.
struct Context {
  Io io;
  std::string address = kDefaultAddress;
  std::string format = "table";
  // Transport security (file paths; see docs/cli.md).
  std::string ca_cert;
  std::string client_cert;
  std::string client_key;
  std::string tls_server_name;
  // Set by the parsed leaf command; run after parsing succeeds.
  std::function<int()> action;

  bool json() const { return format == "json"; }

  // A client for --address with the token from ARCA_TOKEN / ~/.arca-token
  // and the TLS files named by the flags. INVALID_ARGUMENT if one cannot be
  // read.
  absl::StatusOr<std::unique_ptr<Client>> Connect() const;

  // Prints the one-line error to stderr; returns the exit code for it.
  int Fail(const absl::Status& status) const;

  // Prints `msg` as one JSON document and a newline; returns the exit code.
  int PrintJson(const google::protobuf::Message& msg) const;
};

// Registers `arca operator ...`, `arca kv ...` and `arca tokenize ...`
// under `app`.
void AddOperatorCommands(CLI::App& app, Context& ctx);
void AddKvCommands(CLI::App& app, Context& ctx);
void AddTokenizeCommands(CLI::App& app, Context& ctx);
// Registers `arca login ...` and `arca auth approle|kubernetes ...`.
void AddLoginCommands(CLI::App& app, Context& ctx);
// Register `arca operator|kv|token|policy|audit|lease ...` under `app`.
void AddOperatorCommands(CLI::App& app, Context& ctx);
void AddKvCommands(CLI::App& app, Context& ctx);
void AddTokenCommands(CLI::App& app, Context& ctx);
void AddPolicyCommands(CLI::App& app, Context& ctx);
void AddAuditCommands(CLI::App& app, Context& ctx);
void AddLeaseCommands(CLI::App& app, Context& ctx);
// Registers `arca operator ...`, `arca kv ...` and `arca transit ...` under
// `app`.
void AddOperatorCommands(CLI::App& app, Context& ctx);
void AddKvCommands(CLI::App& app, Context& ctx);
void AddTransitCommands(CLI::App& app, Context& ctx);
// Registers `arca db ...` (connections, roles, credentials).
void AddDatabaseCommands(CLI::App& app, Context& ctx);

}  // namespace arca::cli

#endif  // ARCA_CLI_CONTEXT_H_
