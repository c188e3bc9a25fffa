// `arca policy ...`: write, read, list, delete and explain ACL policies.

#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/context.h"
#include "cli/errors.h"
#include "cli/output.h"

namespace arca::cli {
namespace {

using Rows = std::vector<std::pair<std::string, std::string>>;

absl::StatusOr<std::string> ReadDocument(const Context& ctx,
                                         const std::string& file) {
  if (file == "-") {
    std::string all((std::istreambuf_iterator<char>(*ctx.io.in)),
                    std::istreambuf_iterator<char>());
    if (ctx.io.in->bad()) {
      return absl::InvalidArgumentError("cannot read standard input");
    }
    return all;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", file));
  }
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

template <typename Fn>
int WithClient(const Context& ctx, Fn fn) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  return fn(**client);
}

struct ExplainArgs {
  std::string token_accessor;
  std::string policy;
  std::string path;
  std::string capability;
};

int RunExplain(const Context& ctx, const ExplainArgs& args) {
  if (args.token_accessor.empty() == args.policy.empty()) {
    return ctx.Fail(absl::InvalidArgumentError(
        "name exactly one of --token-accessor or --policy"));
  }
  v1::ExplainPolicyRequest request;
  if (!args.token_accessor.empty()) {
    request.set_token_accessor(args.token_accessor);
  } else {
    request.set_policy(args.policy);
  }
  request.set_path(args.path);
  request.set_capability(args.capability);
  return WithClient(ctx, [&](Client& client) {
    auto r = client.ExplainPolicy(request);
    if (!r.ok()) return ctx.Fail(r.status());
    if (ctx.json()) return ctx.PrintJson(*r);
    const Rows rows = {
        {"decision", r->allowed() ? "allowed" : "denied"},
        {"policy", r->policy().empty() ? "-" : r->policy()},
        {"rule", r->pattern().empty() ? "-" : r->pattern()},
        {"reason", r->reason()},
        {"policies", absl::StrJoin(r->policies(), ",")},
    };
    *ctx.io.out << FormatTable(rows, {"Key", "Value"}) << std::flush;
    return kExitOk;
  });
}

}  // namespace

void AddPolicyCommands(CLI::App& app, Context& ctx) {
  Context* c = &ctx;
  CLI::App* policy = app.add_subcommand(
      "policy", "Write, read, list, delete and explain ACL policies");
  policy->require_subcommand(1);
  {
    auto name = std::make_shared<std::string>();
    auto file = std::make_shared<std::string>();
    CLI::App* cmd = policy->add_subcommand(
        "write", "Create or replace a policy from a JSON file (- for stdin)");
    cmd->add_option("name", *name, "Policy name")->required();
    cmd->add_option("file", *file, "JSON document, or - for stdin")->required();
    cmd->callback([c, name, file] {
      c->action = [c, name, file] {
        absl::StatusOr<std::string> doc = ReadDocument(*c, *file);
        if (!doc.ok()) return c->Fail(doc.status());
        v1::WritePolicyRequest request;
        request.set_name(*name);
        request.set_policy(*doc);
        return WithClient(*c, [&](Client& client) {
          auto r = client.WritePolicy(request);
          if (!r.ok()) return c->Fail(r.status());
          if (c->json()) return c->PrintJson(*r);
          *c->io.out << "policy " << *name << " written\n" << std::flush;
          return kExitOk;
        });
      };
    });
  }
  {
    auto name = std::make_shared<std::string>();
    CLI::App* cmd = policy->add_subcommand("read", "Print a policy document");
    cmd->add_option("name", *name, "Policy name")->required();
    cmd->callback([c, name] {
      c->action = [c, name] {
        v1::ReadPolicyRequest request;
        request.set_name(*name);
        return WithClient(*c, [&](Client& client) {
          auto r = client.ReadPolicy(request);
          if (!r.ok()) return c->Fail(r.status());
          if (c->json()) return c->PrintJson(*r);
          *c->io.out << r->policy() << "\n" << std::flush;
          return kExitOk;
        });
      };
    });
  }
  policy->add_subcommand("list", "List policy names")->callback([c] {
    c->action = [c] {
      return WithClient(*c, [&](Client& client) {
        auto r = client.ListPolicies();
        if (!r.ok()) return c->Fail(r.status());
        if (c->json()) return c->PrintJson(*r);
        for (const auto& n : r->names()) *c->io.out << n << "\n";
        *c->io.out << std::flush;
        return kExitOk;
      });
    };
  });
  {
    auto name = std::make_shared<std::string>();
    CLI::App* cmd = policy->add_subcommand("delete", "Delete a policy");
    cmd->add_option("name", *name, "Policy name")->required();
    cmd->callback([c, name] {
      c->action = [c, name] {
        v1::DeletePolicyRequest request;
        request.set_name(*name);
        return WithClient(*c, [&](Client& client) {
          auto r = client.DeletePolicy(request);
          if (!r.ok()) return c->Fail(r.status());
          if (c->json()) return c->PrintJson(*r);
          *c->io.out << "policy " << *name << " deleted\n" << std::flush;
          return kExitOk;
        });
      };
    });
  }
  {
    auto args = std::make_shared<ExplainArgs>();
    CLI::App* cmd = policy->add_subcommand(
        "explain",
        "Show which rule of which policy decides CAPABILITY on PATH, and why");
    cmd->add_option("--token-accessor", args->token_accessor,
                    "Explain for the policies of the token with this accessor");
    cmd->add_option("--policy", args->policy, "Explain for one policy");
    cmd->add_option("path", args->path, "Resource path")->required();
    cmd->add_option("capability", args->capability,
                    "create read update delete list sudo")
        ->required();
    cmd->callback([c, args] {
      c->action = [c, args] { return RunExplain(*c, *args); };
    });
  }
}

}  // namespace arca::cli
