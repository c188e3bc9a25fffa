// `arca audit ...`: enable, disable, list audit devices; verify a log's
// hash chain; hash a known value to find it in a log.

#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "cli/context.h"
#include "cli/errors.h"
#include "cli/output.h"
#include "cli/secret_input.h"

namespace arca::cli {
namespace {

template <typename Fn>
int WithClient(const Context& ctx, Fn fn) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  return fn(**client);
}

}  // namespace

void AddAuditCommands(CLI::App& app, Context& ctx) {
  Context* c = &ctx;
  CLI::App* audit = app.add_subcommand(
      "audit", "Manage audit devices, verify logs, hash known values");
  audit->require_subcommand(1);
  {
    CLI::App* enable = audit->add_subcommand("enable", "Enable an audit device");
    enable->require_subcommand(1);
    auto path = std::make_shared<std::string>();
    auto name = std::make_shared<std::string>("file");
    CLI::App* file = enable->add_subcommand(
        "file", "Append a hash-chained JSON line per request to a file");
    file->add_option("--path", *path, "Absolute path of the log on the server")
        ->required();
    file->add_option("--name", *name, "Device name")->capture_default_str();
    file->callback([c, path, name] {
      c->action = [c, path, name] {
        v1::EnableDeviceRequest request;
        request.set_name(*name);
        request.set_type("file");
        request.set_path(*path);
        return WithClient(*c, [&](Client& client) {
          auto r = client.EnableAuditDevice(request);
          if (!r.ok()) return c->Fail(r.status());
          if (c->json()) return c->PrintJson(*r);
          *c->io.out << "audit device " << *name << " enabled\n" << std::flush;
          return kExitOk;
        });
      };
    });
  }
  {
    auto name = std::make_shared<std::string>();
    CLI::App* cmd = audit->add_subcommand("disable", "Disable an audit device");
    cmd->add_option("name", *name, "Device name")->required();
    cmd->callback([c, name] {
      c->action = [c, name] {
        v1::DisableDeviceRequest request;
        request.set_name(*name);
        return WithClient(*c, [&](Client& client) {
          auto r = client.DisableAuditDevice(request);
          if (!r.ok()) return c->Fail(r.status());
          if (c->json()) return c->PrintJson(*r);
          *c->io.out << "audit device " << *name << " disabled\n" << std::flush;
          return kExitOk;
        });
      };
    });
  }
  audit->add_subcommand("list", "List enabled audit devices")->callback([c] {
    c->action = [c] {
      return WithClient(*c, [&](Client& client) {
        auto r = client.ListAuditDevices();
        if (!r.ok()) return c->Fail(r.status());
        if (c->json()) return c->PrintJson(*r);
        std::vector<std::pair<std::string, std::string>> rows;
        for (const auto& d : r->devices()) {
          rows.emplace_back(d.name(), d.type() + " " + d.path());
        }
        *c->io.out << FormatTable(rows, {"Name", "Device"}) << std::flush;
        return kExitOk;
      });
    };
  });
  {
    auto file = std::make_shared<std::string>();
    auto device = std::make_shared<std::string>();
    CLI::App* cmd = audit->add_subcommand(
        "verify",
        "Check a log's hash chain with the server (FILE, or the device's live "
        "file when FILE is left out); exit 1 at the first bad line");
    cmd->add_option("file", *file, "The log file (streamed to the server)");
    cmd->add_option("--device", *device,
                    "Device whose salt signed the log (default: the only one)");
    cmd->callback([c, file, device] {
      c->action = [c, file, device] {
        return WithClient(*c, [&](Client& client) {
          absl::StatusOr<v1::VerifyLogResponse> r;
          std::string what;
          if (file->empty()) {
            v1::VerifyDeviceRequest request;
            request.set_device(*device);
            r = client.VerifyAuditDevice(request);
            what = device->empty() ? "of the audit device" : "of " + *device;
          } else {
            std::ifstream in(*file, std::ios::binary);
            if (!in) {
              return c->Fail(absl::InvalidArgumentError(
                  absl::StrCat("cannot read ", *file)));
            }
            r = client.VerifyAuditLog(*device, in);
            what = *file;
          }
          if (!r.ok()) return c->Fail(r.status());
          if (c->json()) {
            c->PrintJson(*r);
            return r->ok() ? kExitOk : kExitError;
          }
          if (!r->ok()) {
            return c->Fail(absl::DataLossError(absl::StrCat(
                "audit log ", what, " is broken at line ", r->first_bad_line(),
                ": ", r->reason())));
          }
          *c->io.out << "audit log " << what << " verified: " << r->lines()
                     << " lines\n"
                     << std::flush;
          return kExitOk;
        });
      };
    });
  }
  {
    auto device = std::make_shared<std::string>();
    auto trapped = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = audit->add_subcommand(
        "hash", "Print how a device writes a value (read from stdin)");
    cmd->add_option("--device", *device, "Device (default: the only one)");
    cmd->add_option("value", *trapped)->group("");
    cmd->callback([c, device, trapped] {
      c->action = [c, device, trapped] {
        if (!trapped->empty()) {
          for (std::string& s : *trapped) Wipe(s);
          return c->Fail(absl::InvalidArgumentError(
              "the value is read from standard input, never from the command "
              "line"));
        }
        std::string value((std::istreambuf_iterator<char>(*c->io.in)),
                          std::istreambuf_iterator<char>());
        // One trailing newline is how `echo` ends a line, not the value.
        if (!value.empty() && value.back() == '\n') value.pop_back();
        if (!value.empty() && value.back() == '\r') value.pop_back();
        v1::HashRequest request;
        request.set_device(*device);
        request.set_value(value);
        Wipe(value);
        return WithClient(*c, [&](Client& client) {
          auto r = client.AuditHash(request);
          Wipe(*request.mutable_value());
          if (!r.ok()) return c->Fail(r.status());
          if (c->json()) return c->PrintJson(*r);
          *c->io.out << r->hash() << "\n" << std::flush;
          return kExitOk;
        });
      };
    });
  }
}

}  // namespace arca::cli
