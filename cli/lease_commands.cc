// `arca lease ...`: look up, renew and revoke leases by id.

#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "cli/context.h"
#include "cli/duration.h"
#include "cli/errors.h"
#include "cli/output.h"

namespace arca::cli {
namespace {

int PrintLease(const Context& ctx, const v1::LeaseInfo& l) {
  if (ctx.json()) return ctx.PrintJson(l);
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"lease_id", l.lease_id()},
      {"kind", l.kind()},
      {"issue_time", FormatUnixMillis(l.issue_time_unix_ms())},
      {"expire_time", FormatUnixMillis(l.expire_time_unix_ms())},
      {"ttl", FormatTtl(l.ttl_seconds())},
      {"renewable", l.renewable() ? "true" : "false"},
      {"failed_revocations", absl::StrCat(l.failed_revocations())},
      {"irrevocable", l.irrevocable() ? "true" : "false"},
      {"last_error", l.last_error().empty() ? "-" : l.last_error()},
  };
  *ctx.io.out << FormatTable(rows, {"Key", "Value"}) << std::flush;
  return kExitOk;
}

template <typename Fn>
int WithClient(const Context& ctx, Fn fn) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  return fn(**client);
}

}  // namespace

void AddLeaseCommands(CLI::App& app, Context& ctx) {
  Context* c = &ctx;
  CLI::App* lease = app.add_subcommand("lease", "Look up, renew and revoke leases");
  lease->require_subcommand(1);
  {
    auto id = std::make_shared<std::string>();
    CLI::App* cmd = lease->add_subcommand("lookup", "Show a lease");
    cmd->add_option("lease_id", *id, "Lease id")->required();
    cmd->callback([c, id] {
      c->action = [c, id] {
        v1::LookupLeaseRequest request;
        request.set_lease_id(*id);
        return WithClient(*c, [&](Client& client) {
          auto r = client.LookupLease(request);
          if (!r.ok()) return c->Fail(r.status());
          return PrintLease(*c, *r);
        });
      };
    });
  }
  {
    auto id = std::make_shared<std::string>();
    auto increment = std::make_shared<std::string>();
    CLI::App* cmd = lease->add_subcommand("renew", "Extend a lease");
    cmd->add_option("lease_id", *id, "Lease id")->required();
    cmd->add_option("--increment", *increment,
                    "New time to live from now (default: the lease's ttl)");
    cmd->callback([c, id, increment] {
      c->action = [c, id, increment] {
        v1::RenewLeaseRequest request;
        request.set_lease_id(*id);
        if (!increment->empty()) {
          auto inc = ParseTtl(*increment);
          if (!inc.ok()) return c->Fail(inc.status());
          request.set_increment_seconds(absl::ToInt64Seconds(*inc));
        }
        return WithClient(*c, [&](Client& client) {
          auto r = client.RenewLease(request);
          if (!r.ok()) return c->Fail(r.status());
          return PrintLease(*c, *r);
        });
      };
    });
  }
  {
    auto id = std::make_shared<std::string>();
    CLI::App* cmd = lease->add_subcommand("revoke", "Revoke a lease now");
    cmd->add_option("lease_id", *id, "Lease id")->required();
    cmd->callback([c, id] {
      c->action = [c, id] {
        v1::RevokeLeaseRequest request;
        request.set_lease_id(*id);
        return WithClient(*c, [&](Client& client) {
          auto r = client.RevokeLease(request);
          if (!r.ok()) return c->Fail(r.status());
          if (c->json()) return c->PrintJson(*r);
          *c->io.out << "revoked\n" << std::flush;
          return kExitOk;
        });
      };
    });
  }
}

}  // namespace arca::cli
