// `arca login approle|kubernetes` and `arca auth approle|kubernetes ...`.
// Secrets (secret_id, JWT) come from stdin or a file, never from argv.

#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "cli/context.h"
#include "cli/errors.h"
#include "cli/numeric_flags.h"
#include "cli/output.h"
#include "cli/secret_input.h"
#include "nlohmann/json.hpp"

namespace arca::cli {
namespace {

constexpr char kDefaultJwtFile[] =
    "/var/run/secrets/kubernetes.io/serviceaccount/token";

// "90s", "15m", "1h", "0" -> seconds; INVALID_ARGUMENT otherwise.
absl::StatusOr<int64_t> ParseSeconds(const std::string& text,
                                     const char* flag) {
  if (text.empty()) return 0;
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(std::string(flag) +
                                      " must be a duration such as 90s, 15m "
                                      "or 1h");
  }
  return absl::ToInt64Seconds(d);
}

absl::StatusOr<std::string> ReadFileArg(const std::string& path,
                                        const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(std::string("cannot read ") + what +
                                      " file " + path);
  }
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

int PrintLogin(const Context& ctx, v1::LoginResponse& response) {
  int rc = kExitOk;
  if (ctx.json()) {
    rc = ctx.PrintJson(response);
  } else {
    std::vector<std::pair<std::string, std::string>> rows = {
        {"token", response.token()},
        {"token_accessor", response.accessor()},
        {"token_policies", absl::StrJoin(response.policies(), ",")},
        {"token_ttl", response.ttl_seconds() == 0
                          ? "never expires"
                          : std::to_string(response.ttl_seconds()) + "s"}};
    for (const auto& [k, v] : response.metadata()) {
      rows.emplace_back("metadata." + k, v);
    }
    *ctx.io.out << FormatTable(rows, {"Key", "Value"}) << std::flush;
  }
  Wipe(*response.mutable_token());
  return rc;
}

int PrintNames(const Context& ctx, const v1::NameList& names) {
  if (ctx.json()) return ctx.PrintJson(names);
  for (const std::string& n : names.names()) *ctx.io.out << n << "\n";
  *ctx.io.out << std::flush;
  return kExitOk;
}

// A Key/Value table of a response's top-level fields: lists joined with
// ",", maps as "k=v" pairs. Nothing for an empty response.
int PrintTable(const Context& ctx, const google::protobuf::Message& msg) {
  absl::StatusOr<std::string> json = ProtoToJson(msg);
  if (!json.ok()) return ctx.Fail(json.status());
  const nlohmann::json doc = nlohmann::json::parse(*json, nullptr, false);
  if (!doc.is_object() || doc.empty()) return kExitOk;
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& [key, value] : doc.items()) {
    std::vector<std::string> parts;
    if (value.is_array()) {
      for (const auto& v : value) {
        parts.push_back(v.is_string() ? v.get<std::string>() : v.dump());
      }
    } else if (value.is_object()) {
      for (const auto& [k, v] : value.items()) {
        parts.push_back(k + "=" +
                        (v.is_string() ? v.get<std::string>() : v.dump()));
      }
    } else {
      parts.push_back(value.is_string() ? value.get<std::string>()
                                        : value.dump());
    }
    rows.emplace_back(key, absl::StrJoin(parts, ","));
  }
  *ctx.io.out << FormatTable(rows, {"Key", "Value"}) << std::flush;
  return kExitOk;
}

// Runs `call` on a connected client and prints its response.
template <typename Fn>
int RunAndPrint(const Context& ctx, Fn call) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  auto response = call(**client);
  if (!response.ok()) return ctx.Fail(response.status());
  if (ctx.json()) return ctx.PrintJson(*response);
  return PrintTable(ctx, *response);
}

// --- arca login --------------------------------------------------------------

void AddLoginApprole(CLI::App& login, Context& ctx) {
  auto* cmd = login.add_subcommand(
      "approle", "Log in with a role_id (flag) and a secret_id (stdin)");
  auto role_id = std::make_shared<std::string>();
  cmd->add_option("--role-id", *role_id, "The role's role_id")->required();
  cmd->callback([&ctx, role_id] {
    ctx.action = [&ctx, role_id] {
      // A no-echo prompt at a terminal, else the first non-empty line.
      std::unique_ptr<ShareSource> source =
          ctx.io.stdin_is_tty
              ? NewPromptShareSource(*ctx.io.in, *ctx.io.err, "secret_id: ", 1)
              : NewLineShareSource(*ctx.io.in);
      std::string secret_id = source->Next().value_or("");
      if (secret_id.empty()) {
        return ctx.Fail(absl::InvalidArgumentError(
            "no secret_id on standard input (it is never taken from the "
            "command line)"));
      }
      auto client = ctx.Connect();
      if (!client.ok()) return ctx.Fail(client.status());
      v1::AppRoleLoginRequest request;
      request.set_role_id(*role_id);
      request.set_secret_id(secret_id);
      Wipe(secret_id);
      auto response = (*client)->AppRoleLogin(request);
      Wipe(*request.mutable_secret_id());
      if (!response.ok()) return ctx.Fail(response.status());
      return PrintLogin(ctx, *response);
    };
  });
}

void AddLoginKubernetes(CLI::App& login, Context& ctx) {
  auto* cmd = login.add_subcommand(
      "kubernetes", "Log in with the pod's service-account token");
  auto role = std::make_shared<std::string>();
  auto jwt_file = std::make_shared<std::string>(kDefaultJwtFile);
  cmd->add_option("--role", *role, "Kubernetes login role")->required();
  cmd->add_option("--jwt-file", *jwt_file, "File holding the JWT")
      ->capture_default_str();
  cmd->callback([&ctx, role, jwt_file] {
    ctx.action = [&ctx, role, jwt_file] {
      absl::StatusOr<std::string> jwt = ReadFileArg(*jwt_file, "JWT");
      if (!jwt.ok()) return ctx.Fail(jwt.status());
      auto client = ctx.Connect();
      if (!client.ok()) return ctx.Fail(client.status());
      v1::KubernetesLoginRequest request;
      request.set_role(*role);
      request.set_jwt(std::string(absl::StripAsciiWhitespace(*jwt)));
      Wipe(*jwt);
      auto response = (*client)->KubernetesLogin(request);
      Wipe(*request.mutable_jwt());
      if (!response.ok()) return ctx.Fail(response.status());
      return PrintLogin(ctx, *response);
    };
  });
}

// --- arca auth approle -------------------------------------------------------

struct ApproleRoleFlags {
  std::string name;
  std::vector<std::string> policies;
  std::string token_ttl, token_max_ttl, secret_id_ttl;
  int secret_id_num_uses = 0;
  std::vector<std::string> cidrs;
};

void AddAuthApprole(CLI::App& auth, Context& ctx) {
  auto* approle = auth.add_subcommand("approle", "Manage AppRole roles");
  approle->require_subcommand(1);
  auto* role = approle->add_subcommand("role", "Roles");
  role->require_subcommand(1);

  auto f = std::make_shared<ApproleRoleFlags>();
  auto* write = role->add_subcommand("write", "Create or update a role");
  write->add_option("name", f->name, "Role name")->required();
  write->add_option("--policy", f->policies, "Policy (repeatable)");
  write->add_option("--token-ttl", f->token_ttl, "Token TTL, e.g. 1h");
  write->add_option("--token-max-ttl", f->token_max_ttl, "Token max TTL");
  write->add_option("--secret-id-ttl", f->secret_id_ttl,
                    "Default secret_id lifetime (none: never expires)");
  write->add_option("--secret-id-num-uses", f->secret_id_num_uses,
                    "Default secret_id uses (0: unlimited)")
      ->check(WholeNumberFor<int>("--secret-id-num-uses"));
  write->add_option("--secret-id-bound-cidr", f->cidrs,
                    "Logins only from this CIDR block (repeatable)");
  write->callback([&ctx, f] {
    ctx.action = [&ctx, f] {
      v1::AppRoleWriteRoleRequest request;
      v1::AppRoleRole* r = request.mutable_role();
      r->set_name(f->name);
      for (const auto& p : f->policies) r->add_policies(p);
      for (const auto& c : f->cidrs) r->add_secret_id_bound_cidrs(c);
      auto ttl = ParseSeconds(f->token_ttl, "--token-ttl");
      auto max_ttl = ParseSeconds(f->token_max_ttl, "--token-max-ttl");
      auto sid_ttl = ParseSeconds(f->secret_id_ttl, "--secret-id-ttl");
      for (const auto* s : {&ttl, &max_ttl, &sid_ttl}) {
        if (!s->ok()) return ctx.Fail(s->status());
      }
      r->set_token_ttl_seconds(*ttl);
      r->set_token_max_ttl_seconds(*max_ttl);
      r->set_secret_id_ttl_seconds(*sid_ttl);
      r->set_secret_id_num_uses(f->secret_id_num_uses);
      return RunAndPrint(ctx, [&](Client& c) { return c.AppRoleWriteRole(request); });
    };
  });

  auto name = std::make_shared<std::string>();
  auto* read = role->add_subcommand("read", "Show a role");
  read->add_option("name", *name, "Role name")->required();
  read->callback([&ctx, name] {
    ctx.action = [&ctx, name] {
      v1::AppRoleRoleRequest request;
      request.set_name(*name);
      return RunAndPrint(ctx, [&](Client& c) { return c.AppRoleReadRole(request); });
    };
  });
  auto* del = role->add_subcommand("delete", "Delete a role and its secret_ids");
  del->add_option("name", *name, "Role name")->required();
  del->callback([&ctx, name] {
    ctx.action = [&ctx, name] {
      v1::AppRoleRoleRequest request;
      request.set_name(*name);
      return RunAndPrint(ctx, [&](Client& c) { return c.AppRoleDeleteRole(request); });
    };
  });
  auto* list = role->add_subcommand("list", "List roles");
  list->callback([&ctx] {
    ctx.action = [&ctx] {
      auto client = ctx.Connect();
      if (!client.ok()) return ctx.Fail(client.status());
      auto names = (*client)->AppRoleListRoles();
      if (!names.ok()) return ctx.Fail(names.status());
      return PrintNames(ctx, *names);
    };
  });

  auto* role_id = approle->add_subcommand("role-id", "Print a role's role_id");
  role_id->add_option("name", *name, "Role name")->required();
  role_id->callback([&ctx, name] {
    ctx.action = [&ctx, name] {
      auto client = ctx.Connect();
      if (!client.ok()) return ctx.Fail(client.status());
      v1::AppRoleRoleRequest request;
      request.set_name(*name);
      auto role = (*client)->AppRoleReadRole(request);
      if (!role.ok()) return ctx.Fail(role.status());
      if (ctx.json()) return ctx.PrintJson(*role);
      *ctx.io.out << role->role_id() << "\n" << std::flush;
      return kExitOk;
    };
  });

  auto* sid = approle->add_subcommand("secret-id", "Manage secret_ids");
  sid->require_subcommand(1);
  struct GenerateFlags {
    std::string name, ttl;
    int num_uses = 0;
    std::vector<std::string> cidrs, metadata;
  };
  auto g = std::make_shared<GenerateFlags>();
  auto* gen = sid->add_subcommand("generate", "Issue a new secret_id");
  gen->add_option("name", g->name, "Role name")->required();
  gen->add_option("--ttl", g->ttl, "Lifetime (default: the role's)");
  gen->add_option("--num-uses", g->num_uses, "Uses (default: the role's)")
      ->check(WholeNumberFor<int>("--num-uses"));
  gen->add_option("--cidr", g->cidrs, "Only from this CIDR (repeatable)");
  gen->add_option("--metadata", g->metadata, "KEY=VALUE (repeatable)");
  gen->callback([&ctx, g] {
    ctx.action = [&ctx, g] {
      v1::AppRoleGenerateSecretIdRequest request;
      request.set_name(g->name);
      auto ttl = ParseSeconds(g->ttl, "--ttl");
      if (!ttl.ok()) return ctx.Fail(ttl.status());
      request.set_ttl_seconds(*ttl);
      request.set_num_uses(g->num_uses);
      for (const auto& c : g->cidrs) request.add_cidrs(c);
      for (const auto& kv : g->metadata) {
        const size_t eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) {
          return ctx.Fail(
              absl::InvalidArgumentError("--metadata must be KEY=VALUE"));
        }
        (*request.mutable_metadata())[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
      auto client = ctx.Connect();
      if (!client.ok()) return ctx.Fail(client.status());
      auto response = (*client)->AppRoleGenerateSecretId(request);
      if (!response.ok()) return ctx.Fail(response.status());
      int rc = kExitOk;
      if (ctx.json()) {
        rc = ctx.PrintJson(*response);
      } else {
        *ctx.io.out << FormatTable(
                           {{"secret_id", response->secret_id()},
                            {"secret_id_accessor", response->accessor()},
                            {"expires", FormatUnixSeconds(
                                            response->expires_unix())}},
                           {"Key", "Value"})
                    << std::flush;
      }
      Wipe(*response->mutable_secret_id());
      return rc;
    };
  });

  auto* sid_list = sid->add_subcommand("list", "Accessors of live secret_ids");
  sid_list->add_option("name", *name, "Role name")->required();
  sid_list->callback([&ctx, name] {
    ctx.action = [&ctx, name] {
      auto client = ctx.Connect();
      if (!client.ok()) return ctx.Fail(client.status());
      v1::AppRoleRoleRequest request;
      request.set_name(*name);
      auto names = (*client)->AppRoleListSecretIds(request);
      if (!names.ok()) return ctx.Fail(names.status());
      return PrintNames(ctx, *names);
    };
  });
  auto accessor = std::make_shared<std::string>();
  auto* lookup = sid->add_subcommand("lookup", "Show a secret_id by accessor");
  lookup->add_option("name", *name, "Role name")->required();
  lookup->add_option("--accessor", *accessor, "secret_id accessor")
      ->required();
  lookup->callback([&ctx, name, accessor] {
    ctx.action = [&ctx, name, accessor] {
      v1::AppRoleAccessorRequest request;
      request.set_name(*name);
      request.set_accessor(*accessor);
      return RunAndPrint(
          ctx, [&](Client& c) { return c.AppRoleLookupSecretId(request); });
    };
  });
  auto* destroy =
      sid->add_subcommand("destroy", "Destroy a secret_id by accessor");
  destroy->add_option("name", *name, "Role name")->required();
  destroy->add_option("--accessor", *accessor, "secret_id accessor")
      ->required();
  destroy->callback([&ctx, name, accessor] {
    ctx.action = [&ctx, name, accessor] {
      v1::AppRoleAccessorRequest request;
      request.set_name(*name);
      request.set_accessor(*accessor);
      return RunAndPrint(
          ctx, [&](Client& c) { return c.AppRoleDestroySecretId(request); });
    };
  });
}

// --- arca auth kubernetes ----------------------------------------------------

void AddAuthKubernetes(CLI::App& auth, Context& ctx) {
  auto* k8s = auth.add_subcommand("kubernetes", "Manage Kubernetes login");
  k8s->require_subcommand(1);
  auto* config = k8s->add_subcommand("config", "Issuer, keys and audience");
  config->require_subcommand(1);
  struct ConfigFlags {
    std::string issuer, audience, jwks_file;
    std::vector<std::string> pem_files;
  };
  auto cf = std::make_shared<ConfigFlags>();
  auto* cwrite = config->add_subcommand("write", "Set the configuration");
  cwrite->add_option("--issuer", cf->issuer, "Service-account issuer")
      ->required();
  cwrite->add_option("--audience", cf->audience, "Required audience")
      ->required();
  cwrite->add_option("--pem-file", cf->pem_files,
                     "PEM public key or certificate file (repeatable)");
  cwrite->add_option("--jwks-file", cf->jwks_file, "JWKS document file");
  cwrite->callback([&ctx, cf] {
    ctx.action = [&ctx, cf] {
      v1::KubernetesConfig request;
      request.set_issuer(cf->issuer);
      request.set_audience(cf->audience);
      for (const auto& path : cf->pem_files) {
        auto pem = ReadFileArg(path, "PEM");
        if (!pem.ok()) return ctx.Fail(pem.status());
        request.add_pem_keys(*pem);
      }
      if (!cf->jwks_file.empty()) {
        auto jwks = ReadFileArg(cf->jwks_file, "JWKS");
        if (!jwks.ok()) return ctx.Fail(jwks.status());
        request.set_jwks(*jwks);
      }
      return RunAndPrint(
          ctx, [&](Client& c) { return c.KubernetesWriteConfig(request); });
    };
  });
  auto* cread = config->add_subcommand("read", "Show the configuration");
  cread->callback([&ctx] {
    ctx.action = [&ctx] {
      return RunAndPrint(ctx,
                         [&](Client& c) { return c.KubernetesReadConfig(); });
    };
  });

  auto* role = k8s->add_subcommand("role", "Roles");
  role->require_subcommand(1);
  struct RoleFlags {
    std::string name, ttl, max_ttl;
    std::vector<std::string> names, namespaces, policies;
  };
  auto rf = std::make_shared<RoleFlags>();
  auto* rwrite = role->add_subcommand("write", "Create or update a role");
  rwrite->add_option("name", rf->name, "Role name")->required();
  rwrite->add_option("--bound-service-account-name", rf->names,
                     "Service account name or * (repeatable)")
      ->required();
  rwrite->add_option("--bound-namespace", rf->namespaces,
                     "Namespace or * (repeatable)")
      ->required();
  rwrite->add_option("--policy", rf->policies, "Policy (repeatable)");
  rwrite->add_option("--token-ttl", rf->ttl, "Token TTL, e.g. 1h");
  rwrite->add_option("--token-max-ttl", rf->max_ttl, "Token max TTL");
  rwrite->callback([&ctx, rf] {
    ctx.action = [&ctx, rf] {
      v1::KubernetesRole request;
      request.set_name(rf->name);
      for (const auto& n : rf->names) request.add_bound_service_account_names(n);
      for (const auto& n : rf->namespaces) {
        request.add_bound_service_account_namespaces(n);
      }
      for (const auto& p : rf->policies) request.add_policies(p);
      auto ttl = ParseSeconds(rf->ttl, "--token-ttl");
      auto max_ttl = ParseSeconds(rf->max_ttl, "--token-max-ttl");
      if (!ttl.ok()) return ctx.Fail(ttl.status());
      if (!max_ttl.ok()) return ctx.Fail(max_ttl.status());
      request.set_token_ttl_seconds(*ttl);
      request.set_token_max_ttl_seconds(*max_ttl);
      return RunAndPrint(
          ctx, [&](Client& c) { return c.KubernetesWriteRole(request); });
    };
  });
  auto name = std::make_shared<std::string>();
  auto* rread = role->add_subcommand("read", "Show a role");
  rread->add_option("name", *name, "Role name")->required();
  rread->callback([&ctx, name] {
    ctx.action = [&ctx, name] {
      v1::KubernetesRoleRequest request;
      request.set_name(*name);
      return RunAndPrint(
          ctx, [&](Client& c) { return c.KubernetesReadRole(request); });
    };
  });
  auto* rdel = role->add_subcommand("delete", "Delete a role");
  rdel->add_option("name", *name, "Role name")->required();
  rdel->callback([&ctx, name] {
    ctx.action = [&ctx, name] {
      v1::KubernetesRoleRequest request;
      request.set_name(*name);
      return RunAndPrint(
          ctx, [&](Client& c) { return c.KubernetesDeleteRole(request); });
    };
  });
  auto* rlist = role->add_subcommand("list", "List roles");
  rlist->callback([&ctx] {
    ctx.action = [&ctx] {
      auto client = ctx.Connect();
      if (!client.ok()) return ctx.Fail(client.status());
      auto names = (*client)->KubernetesListRoles();
      if (!names.ok()) return ctx.Fail(names.status());
      return PrintNames(ctx, *names);
    };
  });
}

}  // namespace

void AddLoginCommands(CLI::App& app, Context& ctx) {
  auto* login = app.add_subcommand("login", "Log in and print a token");
  login->require_subcommand(1);
  AddLoginApprole(*login, ctx);
  AddLoginKubernetes(*login, ctx);

  auto* auth = app.add_subcommand("auth", "Manage login methods");
  auth->require_subcommand(1);
  AddAuthApprole(*auth, ctx);
  AddAuthKubernetes(*auth, ctx);
}

}  // namespace arca::cli
