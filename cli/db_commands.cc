// `arca db ...`: PostgreSQL connections, roles and short-lived credentials
// of the database engine. The admin password never comes from argv.

#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/context.h"
#include "cli/duration.h"
#include "cli/errors.h"
#include "cli/numeric_flags.h"
#include "cli/output.h"
#include "cli/password_input.h"
#include "cli/secret_input.h"

namespace arca::cli {
namespace {

using Rows = std::vector<std::pair<std::string, std::string>>;

constexpr char kDefaultMount[] = "database";
constexpr char kPasswordEnv[] = "ARCA_DB_PASSWORD";

template <typename Fn>
int WithClient(const Context& ctx, Fn fn) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  return fn(**client);
}

template <typename Msg>
int Print(const Context& ctx, const Msg& msg, const Rows& rows) {
  if (ctx.json()) return ctx.PrintJson(msg);
  *ctx.io.out << FormatTable(rows, {"Key", "Value"}) << std::flush;
  return kExitOk;
}

int PrintNames(const Context& ctx, const v1::DatabaseListResponse& r) {
  if (ctx.json()) return ctx.PrintJson(r);
  for (const auto& n : r.names()) *ctx.io.out << EscapeForTerminal(n) << "\n";
  *ctx.io.out << std::flush;
  return kExitOk;
}

Rows ConnectionRows(const v1::DatabaseConnection& c) {
  return {{"name", c.name()},
          {"connection_url", c.connection_url()},
          {"username", c.username()},
          {"allowed_roles", absl::StrJoin(c.allowed_roles(), ",")},
          {"max_open_connections", absl::StrCat(c.max_open_connections())},
          {"root_rotated_time", FormatUnixMillis(c.root_rotated_unix_ms())}};
}

Rows RoleRows(const v1::DatabaseRole& r) {
  Rows rows = {{"name", r.name()}, {"db_name", r.db_name()}};
  auto add = [&rows](const char* key,
                     const google::protobuf::RepeatedPtrField<std::string>& s) {
    if (s.empty()) {
      rows.emplace_back(key, "(default)");
      return;
    }
    for (int i = 0; i < s.size(); ++i) {
      rows.emplace_back(
          s.size() == 1 ? std::string(key) : absl::StrCat(key, ".", i), s[i]);
    }
  };
  add("creation_statements", r.creation_statements());
  add("revocation_statements", r.revocation_statements());
  add("renew_statements", r.renew_statements());
  rows.emplace_back("default_ttl", FormatTtl(r.default_ttl_seconds()));
  rows.emplace_back("max_ttl", FormatTtl(r.max_ttl_seconds()));
  return rows;
}

// A connection string that carries a password would put it in argv, the
// request and the stored config; the server refuses it too, but the CLI
// stops before sending it anywhere.
bool UrlHoldsPassword(const std::string& url) {
  const std::string lower = absl::AsciiStrToLower(url);
  if (absl::StrContains(lower, "password=")) return true;
  const size_t scheme = lower.find("://");
  if (scheme == std::string::npos) return false;
  const size_t authority_end = lower.find_first_of("/?", scheme + 3);
  const std::string authority =
      lower.substr(scheme + 3, authority_end == std::string::npos
                                   ? std::string::npos
                                   : authority_end - scheme - 3);
  const size_t at = authority.rfind('@');
  return at != std::string::npos &&
         authority.substr(0, at).find(':') != std::string::npos;
}

// --- config write ------------------------------------------------------------

struct ConfigWriteArgs {
  std::string mount = kDefaultMount;
  std::string name;
  std::string connection_url;
  std::string username;
  std::vector<std::string> allowed_roles;
  int32_t max_open_connections = 0;
  bool no_verify = false;
  PasswordFlags password;  // env_name is set when it is read
};

int RunConfigWrite(const Context& ctx, const ConfigWriteArgs& a) {
  if (UrlHoldsPassword(a.connection_url)) {
    return ctx.Fail(absl::InvalidArgumentError(
        "--connection-url must not hold a password; give it with "
        "--password-stdin, --password-file or ARCA_DB_PASSWORD"));
  }
  PasswordFlags from = a.password;
  from.env_name = kPasswordEnv;
  absl::StatusOr<std::string> password = ReadPassword(from, ctx.io);
  if (!password.ok()) return ctx.Fail(password.status());
  v1::DatabaseWriteConnectionRequest req;
  req.set_mount(a.mount);
  req.set_name(a.name);
  req.set_connection_url(a.connection_url);
  req.set_username(a.username);
  req.set_password(*password);
  Wipe(*password);
  for (const auto& r : a.allowed_roles) req.add_allowed_roles(r);
  req.set_max_open_connections(a.max_open_connections);
  if (a.no_verify) req.set_verify_connection(false);
  return WithClient(ctx, [&](Client& client) {
    auto r = client.DatabaseWriteConnection(req);
    Wipe(*req.mutable_password());
    if (!r.ok()) return ctx.Fail(r.status());
    return Print(ctx, *r, ConnectionRows(*r));
  });
}

// --- role write --------------------------------------------------------------

struct RoleWriteArgs {
  std::string mount = kDefaultMount;
  std::string name;
  std::string db_name;
  std::vector<std::string> creation;
  std::vector<std::string> revocation;
  std::vector<std::string> renew;
  std::string default_ttl;
  std::string max_ttl;
};

// "@FILE" is the file's contents (one statement, surrounding whitespace
// trimmed); anything else is the statement itself.
absl::StatusOr<std::string> Statement(const std::string& arg) {
  if (!arg.starts_with("@")) return arg;
  const std::string path = arg.substr(1);
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::InvalidArgumentError("cannot read statement file " + path);
  std::string sql((std::istreambuf_iterator<char>(in)),
                  std::istreambuf_iterator<char>());
  if (in.bad()) {
    return absl::InvalidArgumentError("cannot read statement file " + path);
  }
  std::string trimmed(absl::StripAsciiWhitespace(sql));
  if (trimmed.empty()) {
    return absl::InvalidArgumentError("statement file " + path + " is empty");
  }
  return trimmed;
}

absl::Status AddStatements(
    const std::vector<std::string>& args,
    google::protobuf::RepeatedPtrField<std::string>* to) {
  for (const std::string& arg : args) {
    absl::StatusOr<std::string> s = Statement(arg);
    if (!s.ok()) return s.status();
    *to->Add() = *std::move(s);
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> TtlSeconds(const std::string& text, const char* flag) {
  if (text.empty()) return 0;
  absl::StatusOr<absl::Duration> d = ParseTtl(text);
  if (!d.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " must be a duration such as 10m, 1h or 24h"));
  }
  return absl::ToInt64Seconds(*d);
}

int RunRoleWrite(const Context& ctx, const RoleWriteArgs& a) {
  v1::DatabaseWriteRoleRequest req;
  req.set_mount(a.mount);
  req.set_name(a.name);
  req.set_db_name(a.db_name);
  for (auto [args, field] :
       {std::pair{&a.creation, req.mutable_creation_statements()},
        std::pair{&a.revocation, req.mutable_revocation_statements()},
        std::pair{&a.renew, req.mutable_renew_statements()}}) {
    if (absl::Status s = AddStatements(*args, field); !s.ok()) {
      return ctx.Fail(s);
    }
  }
  absl::StatusOr<int64_t> default_ttl =
      TtlSeconds(a.default_ttl, "--default-ttl");
  if (!default_ttl.ok()) return ctx.Fail(default_ttl.status());
  absl::StatusOr<int64_t> max_ttl = TtlSeconds(a.max_ttl, "--max-ttl");
  if (!max_ttl.ok()) return ctx.Fail(max_ttl.status());
  req.set_default_ttl_seconds(*default_ttl);
  req.set_max_ttl_seconds(*max_ttl);
  return WithClient(ctx, [&](Client& client) {
    auto r = client.DatabaseWriteRole(req);
    if (!r.ok()) return ctx.Fail(r.status());
    return Print(ctx, *r, RoleRows(*r));
  });
}

// --- creds -------------------------------------------------------------------

struct CredsArgs {
  std::string mount = kDefaultMount;
  std::string role;
  std::string ttl;
  std::string field;
  CLI::Option* field_opt = nullptr;
};

constexpr const char* kCredsFields[] = {"username", "password", "lease_id",
                                        "lease_duration"};

int RunCreds(const Context& ctx, const CredsArgs& a) {
  // Checked before the request: a typo must not issue a real login.
  if (a.field_opt->count() > 0 &&
      std::find(std::begin(kCredsFields), std::end(kCredsFields), a.field) ==
          std::end(kCredsFields)) {
    return ctx.Fail(absl::NotFoundError(
        absl::StrCat("no field \"", a.field,
                     "\" in credentials (username, password, lease_id, "
                     "lease_duration)")));
  }
  v1::DatabaseCredsRequest req;
  req.set_mount(a.mount);
  req.set_role(a.role);
  absl::StatusOr<int64_t> ttl = TtlSeconds(a.ttl, "--ttl");
  if (!ttl.ok()) return ctx.Fail(ttl.status());
  req.set_ttl_seconds(*ttl);
  return WithClient(ctx, [&](Client& client) {
    auto r = client.DatabaseCreds(req);
    if (!r.ok()) return ctx.Fail(r.status());
    int rc = kExitOk;
    const std::string duration = FormatTtl(r->lease_duration_seconds());
    if (a.field_opt->count() > 0) {
      const std::string seconds = absl::StrCat(r->lease_duration_seconds());
      const std::pair<const char*, const std::string*> fields[] = {
          {"username", &r->username()},
          {"password", &r->password()},
          {"lease_id", &r->lease_id()},
          {"lease_duration", &seconds},
      };
      const std::string* value = &seconds;  // a known field: checked above
      for (const auto& [name, v] : fields) {
        if (a.field == name) value = v;
      }
      // Raw for scripts; a newline only for a human at a terminal.
      *ctx.io.out << *value;
      if (ctx.io.stdout_is_tty) *ctx.io.out << "\n";
      *ctx.io.out << std::flush;
    } else {
      Rows rows = {{"lease_id", r->lease_id()},
                   {"lease_duration", duration},
                   {"lease_renewable", r->renewable() ? "true" : "false"},
                   {"username", r->username()},
                   {"password", r->password()}};
      rc = Print(ctx, *r, rows);
      Wipe(rows.back().second);
    }
    Wipe(*r->mutable_password());
    return rc;
  });
}

// --- name commands -----------------------------------------------------------

struct NameArgs {
  std::string mount = kDefaultMount;
  std::string name;
};

v1::DatabaseNameRequest NameRequest(const NameArgs& a) {
  v1::DatabaseNameRequest r;
  r.set_mount(a.mount);
  r.set_name(a.name);
  return r;
}

void AddMountOption(CLI::App* cmd, std::string* mount) {
  cmd->add_option("--mount", *mount, "Database engine mount")
      ->capture_default_str();
}

// read / list / delete of connections or roles.
struct Kind {
  CLI::App* parent;
  const char* what;
  std::function<int(const Context&, Client&, const v1::DatabaseNameRequest&)>
      read;
  std::function<absl::StatusOr<v1::DatabaseListResponse>(
      Client&, const v1::DatabaseListRequest&)>
      list;
  std::function<absl::Status(Client&, const v1::DatabaseNameRequest&)> del;
};

void AddReadListDelete(Context* c, const Kind& k) {
  {
    auto a = std::make_shared<NameArgs>();
    CLI::App* cmd =
        k.parent->add_subcommand("read", absl::StrCat("Show a ", k.what));
    cmd->add_option("name", a->name, "Name")->required();
    AddMountOption(cmd, &a->mount);
    auto read = k.read;
    cmd->callback([c, a, read] {
      c->action = [c, a, read] {
        return WithClient(
            *c, [&](Client& cl) { return read(*c, cl, NameRequest(*a)); });
      };
    });
  }
  {
    auto a = std::make_shared<NameArgs>();
    CLI::App* cmd =
        k.parent->add_subcommand("list", absl::StrCat("List ", k.what, "s"));
    AddMountOption(cmd, &a->mount);
    auto list = k.list;
    cmd->callback([c, a, list] {
      c->action = [c, a, list] {
        v1::DatabaseListRequest req;
        req.set_mount(a->mount);
        return WithClient(*c, [&](Client& cl) {
          auto r = list(cl, req);
          return r.ok() ? PrintNames(*c, *r) : c->Fail(r.status());
        });
      };
    });
  }
  {
    auto a = std::make_shared<NameArgs>();
    CLI::App* cmd =
        k.parent->add_subcommand("delete", absl::StrCat("Delete a ", k.what));
    cmd->add_option("name", a->name, "Name")->required();
    AddMountOption(cmd, &a->mount);
    auto del = k.del;
    cmd->callback([c, a, del] {
      c->action = [c, a, del] {
        return WithClient(*c, [&](Client& cl) {
          absl::Status st = del(cl, NameRequest(*a));
          if (!st.ok()) return c->Fail(st);
          if (c->json()) return c->PrintJson(v1::DatabaseDeleteResponse());
          *c->io.out << "deleted\n" << std::flush;
          return kExitOk;
        });
      };
    });
  }
}

}  // namespace

void AddDatabaseCommands(CLI::App& app, Context& ctx) {
  Context* c = &ctx;
  CLI::App* db = app.add_subcommand(
      "db", "PostgreSQL connections, roles and short-lived credentials");
  db->require_subcommand(1);

  // --- config ---
  CLI::App* config = db->add_subcommand("config", "Manage connections");
  config->require_subcommand(1);
  {
    auto a = std::make_shared<ConfigWriteArgs>();
    CLI::App* cmd = config->add_subcommand(
        "write",
        "Create or replace a connection; the admin password comes from "
        "stdin, a file, ARCA_DB_PASSWORD or a hidden prompt");
    cmd->add_option("name", a->name, "Connection name")->required();
    cmd->add_option("--connection-url", a->connection_url,
                    "libpq URI or key=value string, without a password")
        ->required();
    cmd->add_option("--username", a->username, "Admin user Arca logs in as")
        ->required();
    cmd->add_flag("--password-stdin", a->password.from_stdin,
                  "Read the admin password from standard input");
    cmd->add_option("--password-file", a->password.file,
                    "Read the admin password from FILE (- for stdin)");
    cmd->add_option("--allowed-roles", a->allowed_roles,
                    "Roles that may use it, comma-separated (* for any)")
        ->delimiter(',');
    cmd->add_option("--max-open-connections", a->max_open_connections,
                    "Connections kept open to PostgreSQL (0: server default "
                    "4, at most 64)")
        ->check(WholeNumberFor<int32_t>("--max-open-connections"));
    cmd->add_flag("--no-verify", a->no_verify,
                  "Store without connecting first");
    AddMountOption(cmd, &a->mount);
    cmd->callback(
        [c, a] { c->action = [c, a] { return RunConfigWrite(*c, *a); }; });
  }
  {
    auto a = std::make_shared<NameArgs>();
    CLI::App* cmd = db->add_subcommand(
        "rotate-root",
        "Give the connection's admin user a new password only Arca knows");
    cmd->add_option("name", a->name, "Connection name")->required();
    AddMountOption(cmd, &a->mount);
    cmd->callback([c, a] {
      c->action = [c, a] {
        return WithClient(*c, [&](Client& client) {
          auto r = client.DatabaseRotateRoot(NameRequest(*a));
          if (!r.ok()) return c->Fail(r.status());
          return Print(*c, *r, ConnectionRows(*r));
        });
      };
    });
  }

  // --- role ---
  CLI::App* role = db->add_subcommand("role", "Manage roles");
  role->require_subcommand(1);
  {
    auto a = std::make_shared<RoleWriteArgs>();
    CLI::App* cmd = role->add_subcommand("write", "Create or replace a role");
    cmd->add_option("name", a->name, "Role name")->required();
    cmd->add_option("--db-name", a->db_name, "Connection the role uses")
        ->required();
    cmd->add_option("--creation-statement", a->creation,
                    "SQL run to create the login, or @FILE (repeatable, run "
                    "in order in one transaction)")
        ->required();
    cmd->add_option("--revocation-statement", a->revocation,
                    "SQL run when the lease ends, or @FILE (repeatable; "
                    "default: revoke, reassign, drop)");
    cmd->add_option("--renew-statement", a->renew,
                    "SQL run on renewal, or @FILE (repeatable; default: "
                    "VALID UNTIL the new expiry)");
    cmd->add_option("--default-ttl", a->default_ttl,
                    "Lease TTL when creds asks for none (default 1h)");
    cmd->add_option("--max-ttl", a->max_ttl,
                    "Longest lease, renewals included (default 24h)");
    AddMountOption(cmd, &a->mount);
    cmd->callback(
        [c, a] { c->action = [c, a] { return RunRoleWrite(*c, *a); }; });
  }

  const Kind kinds[] = {
      {config, "connection",
       [](const Context& x, Client& cl, const v1::DatabaseNameRequest& r) {
         auto resp = cl.DatabaseReadConnection(r);
         return resp.ok() ? Print(x, *resp, ConnectionRows(*resp))
                          : x.Fail(resp.status());
       },
       [](Client& cl, const v1::DatabaseListRequest& r) {
         return cl.DatabaseListConnections(r);
       },
       [](Client& cl, const v1::DatabaseNameRequest& r) {
         return cl.DatabaseDeleteConnection(r).status();
       }},
      {role, "role",
       [](const Context& x, Client& cl, const v1::DatabaseNameRequest& r) {
         auto resp = cl.DatabaseReadRole(r);
         return resp.ok() ? Print(x, *resp, RoleRows(*resp))
                          : x.Fail(resp.status());
       },
       [](Client& cl, const v1::DatabaseListRequest& r) {
         return cl.DatabaseListRoles(r);
       },
       [](Client& cl, const v1::DatabaseNameRequest& r) {
         return cl.DatabaseDeleteRole(r).status();
       }},
  };
  for (const Kind& k : kinds) AddReadListDelete(c, k);

  // --- creds ---
  {
    auto a = std::make_shared<CredsArgs>();
    CLI::App* cmd = db->add_subcommand(
        "creds",
        "Create a PostgreSQL login for a role (renew and revoke it with "
        "arca lease)");
    cmd->add_option("role", a->role, "Role name")->required();
    cmd->add_option("--ttl", a->ttl,
                    "Lease TTL, e.g. 10m (default: the role's; capped by its "
                    "max)");
    a->field_opt = cmd->add_option(
        "--field", a->field,
        "Print only username, password, lease_id or lease_duration (seconds)");
    AddMountOption(cmd, &a->mount);
    cmd->callback([c, a] { c->action = [c, a] { return RunCreds(*c, *a); }; });
  }
}

}  // namespace arca::cli
