// `arca token ...`: create, lookup, renew and revoke tokens. A token is
// never taken from argv: lookup/renew/revoke act on the token read from
// stdin ("-"), on --accessor, or on --self.

#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/context.h"
#include "cli/duration.h"
#include "cli/errors.h"
#include "cli/numeric_flags.h"
#include "cli/output.h"
#include "cli/secret_input.h"

namespace arca::cli {
namespace {

using Rows = std::vector<std::pair<std::string, std::string>>;

const char* Bool(bool b) { return b ? "true" : "false"; }

Rows InfoRows(const v1::TokenInfo& t) {
  Rows rows = {
      {"accessor", t.accessor()},
      {"policies", absl::StrJoin(t.policies(), ",")},
      {"display_name", t.display_name().empty() ? "-" : t.display_name()},
      {"creation_time", FormatUnixSeconds(t.creation_time_unix())},
      {"expire_time", FormatUnixMillis(t.expire_time_unix_ms())},
      {"ttl", FormatTtl(t.ttl_seconds())},
      {"explicit_max_ttl", FormatTtl(t.explicit_max_ttl_seconds())},
      {"renewable", Bool(t.renewable())},
      {"num_uses", t.num_uses() == 0 ? "unlimited" : absl::StrCat(t.num_uses())},
      {"orphan", Bool(t.orphan())},
      {"parent_accessor", t.parent_accessor().empty() ? "-" : t.parent_accessor()},
  };
  // Sorted: proto map order is unspecified.
  const std::map<std::string, std::string> metadata(t.metadata().begin(),
                                                    t.metadata().end());
  for (const auto& [k, v] : metadata) rows.emplace_back("metadata." + k, v);
  return rows;
}

int PrintInfo(const Context& ctx, const v1::TokenInfo& info) {
  if (ctx.json()) return ctx.PrintJson(info);
  *ctx.io.out << FormatTable(InfoRows(info), {"Key", "Value"}) << std::flush;
  return kExitOk;
}

// --- create -----------------------------------------------------------------

struct CreateArgs {
  std::vector<std::string> policies;
  std::string ttl;
  std::string max_ttl;
  int64_t num_uses = 0;
  bool orphan = false;
  bool no_renew = false;
  std::string display_name;
};

int RunCreate(const Context& ctx, const CreateArgs& args) {
  v1::CreateTokenRequest request;
  for (const auto& p : args.policies) request.add_policies(p);
  if (!args.ttl.empty()) {
    absl::StatusOr<absl::Duration> ttl = ParseTtl(args.ttl);
    if (!ttl.ok()) return ctx.Fail(ttl.status());
    request.set_ttl_seconds(absl::ToInt64Seconds(*ttl));
  }
  if (!args.max_ttl.empty()) {
    absl::StatusOr<absl::Duration> max = ParseTtl(args.max_ttl);
    if (!max.ok()) return ctx.Fail(max.status());
    request.set_explicit_max_ttl_seconds(absl::ToInt64Seconds(*max));
  }
  request.set_num_uses(args.num_uses);
  request.set_orphan(args.orphan);
  request.set_no_renew(args.no_renew);
  request.set_display_name(args.display_name);
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  absl::StatusOr<v1::CreateTokenResponse> response =
      (*client)->CreateToken(request);
  if (!response.ok()) return ctx.Fail(response.status());
  int rc = kExitOk;
  if (ctx.json()) {
    rc = ctx.PrintJson(*response);
  } else {
    Rows rows = {{"token", response->token()}};
    for (auto& row : InfoRows(response->info())) rows.push_back(row);
    *ctx.io.out << FormatTable(rows, {"Key", "Value"}) << std::flush;
  }
  Wipe(*response->mutable_token());
  return rc;
}

// --- lookup / renew / revoke ------------------------------------------------

struct TargetArgs {
  std::vector<std::string> positional;  // only "-" is accepted
  std::string accessor;
  bool self = false;
  std::string increment;  // renew only
};

constexpr char kNoTokenInArgv[] =
    "a token is never accepted on the command line; pass - and write the "
    "token to standard input, or use --accessor or --self";

// Fills the request's target from the arguments (reading stdin for "-").
template <typename Req>
absl::Status SetTarget(const Context& ctx, TargetArgs& args, Req* request) {
  const bool dash = args.positional.size() == 1 && args.positional[0] == "-";
  if (!args.positional.empty() && !dash) {
    for (std::string& s : args.positional) Wipe(s);
    return absl::InvalidArgumentError(kNoTokenInArgv);
  }
  const int chosen = (dash ? 1 : 0) + (args.accessor.empty() ? 0 : 1) +
                     (args.self ? 1 : 0);
  if (chosen != 1) {
    return absl::InvalidArgumentError(
        "name exactly one token: - (read from stdin), --accessor A or --self");
  }
  if (args.self) {
    request->set_self(true);
  } else if (!args.accessor.empty()) {
    request->set_accessor(args.accessor);
  } else {
    std::string all((std::istreambuf_iterator<char>(*ctx.io.in)),
                    std::istreambuf_iterator<char>());
    std::string token(absl::StripAsciiWhitespace(all));
    Wipe(all);
    if (token.empty()) {
      return absl::InvalidArgumentError("no token on standard input");
    }
    request->set_token(token);
    Wipe(token);
  }
  return absl::OkStatus();
}

void AddTargetOptions(CLI::App* cmd, TargetArgs* args) {
  cmd->add_option("token", args->positional,
                  "- to read the token from standard input");
  cmd->add_option("--accessor", args->accessor, "The token's accessor");
  cmd->add_flag("--self", args->self, "The token this command runs with");
}

int RunLookup(const Context& ctx, TargetArgs& args) {
  v1::LookupTokenRequest request;
  if (absl::Status st = SetTarget(ctx, args, &request); !st.ok()) {
    return ctx.Fail(st);
  }
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  absl::StatusOr<v1::TokenInfo> info = (*client)->LookupToken(request);
  if (request.has_token()) Wipe(*request.mutable_token());
  if (!info.ok()) return ctx.Fail(info.status());
  return PrintInfo(ctx, *info);
}

int RunRenew(const Context& ctx, TargetArgs& args) {
  v1::RenewTokenRequest request;
  if (!args.increment.empty()) {
    absl::StatusOr<absl::Duration> inc = ParseTtl(args.increment);
    if (!inc.ok()) return ctx.Fail(inc.status());
    request.set_increment_seconds(absl::ToInt64Seconds(*inc));
  }
  if (absl::Status st = SetTarget(ctx, args, &request); !st.ok()) {
    return ctx.Fail(st);
  }
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  absl::StatusOr<v1::TokenInfo> info = (*client)->RenewToken(request);
  if (request.has_token()) Wipe(*request.mutable_token());
  if (!info.ok()) return ctx.Fail(info.status());
  return PrintInfo(ctx, *info);
}

int RunRevoke(const Context& ctx, TargetArgs& args) {
  v1::RevokeTokenRequest request;
  if (absl::Status st = SetTarget(ctx, args, &request); !st.ok()) {
    return ctx.Fail(st);
  }
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  absl::StatusOr<v1::RevokeTokenResponse> r = (*client)->RevokeToken(request);
  if (request.has_token()) Wipe(*request.mutable_token());
  if (!r.ok()) return ctx.Fail(r.status());
  if (ctx.json()) return ctx.PrintJson(*r);
  *ctx.io.out << "revoked\n" << std::flush;
  return kExitOk;
}

}  // namespace

void AddTokenCommands(CLI::App& app, Context& ctx) {
  Context* c = &ctx;
  CLI::App* token = app.add_subcommand(
      "token", "Create, look up, renew and revoke tokens");
  token->require_subcommand(1);
  {
    auto args = std::make_shared<CreateArgs>();
    CLI::App* cmd = token->add_subcommand(
        "create", "Create a child token of the current token");
    cmd->add_option("--policy", args->policies,
                    "A policy for the new token (repeatable); default: the "
                    "current token's");
    cmd->add_option("--ttl", args->ttl, "Time to live, e.g. 1h (default 768h)");
    cmd->add_option("--max-ttl", args->max_ttl, "Renewals never go past this");
    cmd->add_option("--num-uses", args->num_uses,
                    "Requests the token may make (0: unlimited)")
        ->check(WholeNumberFor<int64_t>("--num-uses"));
    cmd->add_flag("--orphan", args->orphan,
                  "No parent: the token survives the current token's "
                  "revocation (needs sudo on auth/token/create)");
    cmd->add_flag("--no-renew", args->no_renew, "The token cannot be renewed");
    cmd->add_option("--display-name", args->display_name, "A label");
    cmd->callback([c, args] {
      c->action = [c, args] { return RunCreate(*c, *args); };
    });
  }
  {
    auto args = std::make_shared<TargetArgs>();
    CLI::App* cmd = token->add_subcommand(
        "lookup", "Show a token's properties (never the token)");
    AddTargetOptions(cmd, args.get());
    cmd->callback([c, args] {
      c->action = [c, args] { return RunLookup(*c, *args); };
    });
  }
  {
    auto args = std::make_shared<TargetArgs>();
    CLI::App* cmd = token->add_subcommand("renew", "Extend a token's life");
    AddTargetOptions(cmd, args.get());
    cmd->add_option("--increment", args->increment,
                    "New time to live from now (default: the token's ttl)");
    cmd->callback([c, args] {
      c->action = [c, args] { return RunRenew(*c, *args); };
    });
  }
  {
    auto args = std::make_shared<TargetArgs>();
    CLI::App* cmd = token->add_subcommand(
        "revoke", "Revoke a token, its children and their leases");
    AddTargetOptions(cmd, args.get());
    cmd->callback([c, args] {
      c->action = [c, args] { return RunRevoke(*c, *args); };
    });
  }
}

}  // namespace arca::cli
