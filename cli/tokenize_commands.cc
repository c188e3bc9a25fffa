// `arca tokenize ...`: templates, transformations, roles, and encode /
// decode / validate of values streamed through stdin.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "cli/context.h"
#include "cli/errors.h"
#include "cli/numeric_flags.h"
#include "cli/output.h"
#include "cli/secret_input.h"

namespace arca::cli {
namespace {

using Rows = std::vector<std::pair<std::string, std::string>>;

constexpr char kDefaultMount[] = "tokenize";
// Lines sent per batch RPC when stdin is not a terminal.
constexpr size_t kLinesPerBatch = 1000;

const char* Bool(bool b) { return b ? "true" : "false"; }

template <typename Fn>
int WithClient(const Context& ctx, Fn fn) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  return fn(**client);
}

// Prints a response as JSON or as a two-column table.
template <typename Msg>
int Print(const Context& ctx, const Msg& msg, const Rows& rows) {
  if (ctx.json()) return ctx.PrintJson(msg);
  *ctx.io.out << FormatTable(rows, {"Key", "Value"}) << std::flush;
  return kExitOk;
}

int PrintNames(const Context& ctx, const v1::TokenizeListResponse& r) {
  if (ctx.json()) return ctx.PrintJson(r);
  for (const auto& n : r.names()) *ctx.io.out << n << "\n";
  *ctx.io.out << std::flush;
  return kExitOk;
}

Rows TemplateRows(const v1::TokenizeTemplate& t) {
  return {{"name", t.name()},
          {"pattern", t.pattern()},
          {"alphabet", t.alphabet()},
          {"builtin", Bool(t.builtin())}};
}

Rows TransformationRows(const v1::TokenizeTransformation& t) {
  Rows rows = {{"name", t.name()},
               {"type", t.type()},
               {"template", t.template_()}};
  if (!t.alphabet().empty()) rows.emplace_back("alphabet", t.alphabet());
  if (!t.tweak_source().empty()) {
    rows.emplace_back("tweak_source", t.tweak_source());
  }
  if (!t.luhn().empty()) rows.emplace_back("luhn", t.luhn());
  if (t.type() == "tokenization") {
    rows.emplace_back("convergent", Bool(t.convergent()));
    rows.emplace_back("ttl", t.ttl_ms() == 0
                                 ? std::string("-")
                                 : absl::FormatDuration(
                                       absl::Milliseconds(t.ttl_ms())));
  }
  if (t.allow_ff3_1()) rows.emplace_back("algorithm", "ff3-1 (deprecated)");
  if (!t.mask_character().empty()) {
    rows.emplace_back("mask_character", t.mask_character());
  }
  rows.emplace_back("latest_version", absl::StrCat(t.latest_version()));
  rows.emplace_back("created_time", FormatUnixMillis(t.created_time_unix_ms()));
  rows.emplace_back("updated_time", FormatUnixMillis(t.updated_time_unix_ms()));
  return rows;
}

Rows RoleRows(const v1::TokenizeRole& r) {
  return {{"name", r.name()},
          {"transformations", absl::StrJoin(r.transformations(), ",")}};
}

// --- config commands ---------------------------------------------------------

struct NameArgs {
  std::string mount = kDefaultMount;
  std::string name;
};

v1::TokenizeNameRequest NameRequest(const NameArgs& a) {
  v1::TokenizeNameRequest r;
  r.set_mount(a.mount);
  r.set_name(a.name);
  return r;
}

v1::TokenizeListRequest ListRequest(const NameArgs& a) {
  v1::TokenizeListRequest r;
  r.set_mount(a.mount);
  return r;
}

struct TemplateArgs {
  NameArgs common;
  std::string pattern;
  std::string alphabet;
};

struct TransformationArgs {
  NameArgs common;
  std::string type;
  std::string template_name;
  std::string alphabet;
  std::string tweak_source;
  std::string luhn;
  bool convergent = false;
  std::string ttl;
  bool allow_ff3_1 = false;
  std::string mask_character;
};

int RunCreateTransformation(const Context& ctx, const TransformationArgs& a) {
  v1::TokenizeCreateTransformationRequest req;
  req.set_mount(a.common.mount);
  req.set_name(a.common.name);
  req.set_type(a.type);
  req.set_template_(a.template_name);
  req.set_alphabet(a.alphabet);
  req.set_tweak_source(a.tweak_source);
  req.set_luhn(a.luhn);
  req.set_convergent(a.convergent);
  req.set_allow_ff3_1(a.allow_ff3_1);
  req.set_mask_character(a.mask_character);
  if (!a.ttl.empty()) {
    absl::Duration d;
    if (!absl::ParseDuration(a.ttl, &d) || d < absl::ZeroDuration()) {
      return ctx.Fail(absl::InvalidArgumentError(
          "--ttl must be a duration such as 30m, 24h or 720h"));
    }
    req.set_ttl_ms(absl::ToInt64Milliseconds(d));
  }
  return WithClient(ctx, [&](Client& client) {
    auto r = client.TokenizeCreateTransformation(req);
    if (!r.ok()) return ctx.Fail(r.status());
    return Print(ctx, *r, TransformationRows(*r));
  });
}

struct RoleArgs {
  NameArgs common;
  std::vector<std::string> transformations;
};

// --- encode / decode / validate ----------------------------------------------

enum class Op { kEncode, kDecode, kValidate };

struct StreamArgs {
  std::string mount = kDefaultMount;
  std::string role;
  std::string transformation;
  std::string tweak_b64;
  uint32_t key_version = 0;
};

// One line of input. Decode and validate also accept "TOKEN<TAB>TWEAK" as
// printed by encode for generated tweaks.
struct Line {
  std::string value;
  std::string tweak;
  bool bad_tweak = false;
};

std::string ItemError(int code, const std::string& message) {
  return absl::StrCat(
      "error: ",
      FormatError(absl::Status(static_cast<absl::StatusCode>(code), message)));
}

std::string JsonLine(const google::protobuf::Message& m) {
  auto json = ProtoToJson(m);
  return json.ok() ? std::move(*json) : std::string("{}");
}

// Sends one chunk and prints one line per input line, in order. Returns the
// call's status (item errors are printed, not returned) and counts failed
// items in `failed`.
absl::Status SendChunk(const Context& ctx, Client& client, Op op,
                       const StreamArgs& a, std::vector<Line>& lines,
                       int& failed) {
  std::vector<std::string> printed(lines.size());
  std::vector<size_t> sent;  // index in `lines` of each item sent
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].bad_tweak) {
      printed[i] = ItemError(static_cast<int>(absl::StatusCode::kInvalidArgument),
                             "the tweak after the tab is not valid base64");
      ++failed;
    } else {
      sent.push_back(i);
    }
  }
  // Fills printed[sent[k]] for result k.
  auto place = [&](size_t k, int code, const std::string& error,
                   std::string ok_line) {
    if (k >= sent.size()) return;
    if (code != 0) {
      printed[sent[k]] = ItemError(code, error);
      ++failed;
    } else {
      printed[sent[k]] = std::move(ok_line);
    }
  };
  if (op == Op::kEncode) {
    v1::TokenizeBatchEncodeRequest req;
    req.set_mount(a.mount);
    req.set_role(a.role);
    req.set_transformation(a.transformation);
    for (size_t i : sent) {
      auto* item = req.add_items();
      item->set_value(lines[i].value);
      item->set_tweak(lines[i].tweak);
    }
    auto r = client.TokenizeBatchEncode(req);
    for (auto& item : *req.mutable_items()) Wipe(*item.mutable_value());
    if (!r.ok()) return r.status();
    for (int k = 0; k < r->results_size(); ++k) {
      const auto& res = r->results(k);
      std::string line =
          ctx.json() ? JsonLine(res)
          : res.tweak().empty()
              ? res.token()
              : absl::StrCat(res.token(), "\t",
                             absl::Base64Escape(res.tweak()));
      place(k, res.code(), res.error(), std::move(line));
    }
  } else {
    v1::TokenizeBatchDecodeRequest req;
    req.set_mount(a.mount);
    req.set_role(a.role);
    req.set_transformation(a.transformation);
    for (size_t i : sent) {
      auto* item = req.add_items();
      item->set_value(lines[i].value);
      item->set_tweak(lines[i].tweak);
      item->set_key_version(a.key_version);
    }
    if (op == Op::kValidate) {
      auto r = client.TokenizeBatchValidate(req);
      if (!r.ok()) return r.status();
      for (int k = 0; k < r->results_size(); ++k) {
        const auto& res = r->results(k);
        place(k, res.code(), res.error(),
              ctx.json() ? JsonLine(res) : std::string(Bool(res.valid())));
      }
    } else {
      auto r = client.TokenizeBatchDecode(req);
      if (!r.ok()) return r.status();
      for (int k = 0; k < r->results_size(); ++k) {
        auto& res = *r->mutable_results(k);
        place(k, res.code(), res.error(),
              ctx.json() ? JsonLine(res) : res.value());
        Wipe(*res.mutable_value());
      }
    }
  }
  std::ostream& out = *ctx.io.out;
  for (std::string& p : printed) {
    out << p << "\n";
    Wipe(p);
  }
  return absl::OkStatus();
}

int RunStream(const Context& ctx, Op op, const StreamArgs& a) {
  std::string tweak;
  if (!a.tweak_b64.empty() && !absl::Base64Unescape(a.tweak_b64, &tweak)) {
    return ctx.Fail(absl::InvalidArgumentError("--tweak is not valid base64"));
  }
  return WithClient(ctx, [&](Client& client) {
    const size_t chunk = ctx.io.stdin_is_tty ? 1 : kLinesPerBatch;
    std::vector<Line> lines;
    int failed = 0;
    std::string raw;
    auto flush = [&]() -> absl::Status {
      absl::Status st = SendChunk(ctx, client, op, a, lines, failed);
      *ctx.io.out << std::flush;
      for (Line& l : lines) Wipe(l.value);
      lines.clear();
      return st;
    };
    while (std::getline(*ctx.io.in, raw)) {
      if (!raw.empty() && raw.back() == '\r') raw.pop_back();
      Line line;
      const size_t tab = op == Op::kEncode ? std::string::npos : raw.find('\t');
      if (tab != std::string::npos) {
        line.value = raw.substr(0, tab);
        line.bad_tweak =
            !absl::Base64Unescape(raw.substr(tab + 1), &line.tweak);
      } else {
        line.value = raw;
        line.tweak = tweak;
      }
      Wipe(raw);
      lines.push_back(std::move(line));
      if (lines.size() >= chunk) {
        absl::Status st = flush();
        if (!st.ok()) return ctx.Fail(st);
      }
    }
    Wipe(raw);
    if (ctx.io.in->bad()) {
      return ctx.Fail(absl::InvalidArgumentError("cannot read standard input"));
    }
    if (!lines.empty()) {
      absl::Status st = flush();
      if (!st.ok()) return ctx.Fail(st);
    }
    return failed == 0 ? kExitOk : kExitError;
  });
}

// `lookup`: one Lookup call per stdin line, one output line each.
int RunLookup(const Context& ctx, const StreamArgs& a) {
  return WithClient(ctx, [&](Client& client) {
    int failed = 0;
    std::string raw;
    while (std::getline(*ctx.io.in, raw)) {
      if (!raw.empty() && raw.back() == '\r') raw.pop_back();
      v1::TokenizeLookupRequest req;
      req.set_mount(a.mount);
      req.set_role(a.role);
      req.set_transformation(a.transformation);
      req.set_value(raw);
      Wipe(raw);
      auto r = client.TokenizeLookup(req);
      Wipe(*req.mutable_value());
      if (r.ok()) {
        *ctx.io.out << (ctx.json() ? JsonLine(*r) : r->token()) << "\n";
      } else if (absl::IsNotFound(r.status()) ||
                 absl::IsInvalidArgument(r.status())) {
        *ctx.io.out << ItemError(static_cast<int>(r.status().code()),
                                 std::string(r.status().message()))
                    << "\n";
        ++failed;
      } else {
        return ctx.Fail(r.status());
      }
      *ctx.io.out << std::flush;
    }
    Wipe(raw);
    return failed == 0 ? kExitOk : kExitError;
  });
}

void AddMountOption(CLI::App* cmd, std::string* mount) {
  cmd->add_option("--mount", *mount, "Tokenize engine mount")
      ->capture_default_str();
}

}  // namespace

void AddTokenizeCommands(CLI::App& app, Context& ctx) {
  Context* c = &ctx;
  CLI::App* tk = app.add_subcommand(
      "tokenize", "Format-preserving encryption, vaulted tokens and masking");
  tk->require_subcommand(1);

  // --- template ---
  CLI::App* tmpl = tk->add_subcommand("template", "Manage templates");
  tmpl->require_subcommand(1);
  {
    auto a = std::make_shared<TemplateArgs>();
    CLI::App* cmd = tmpl->add_subcommand("create", "Create a template");
    cmd->add_option("name", a->common.name, "Template name")->required();
    cmd->add_option("--pattern", a->pattern,
                    "RE2 pattern; capture groups are transformed")
        ->required();
    cmd->add_option("--alphabet", a->alphabet,
                    "numeric, alphanumeric or custom:<characters>")
        ->required();
    AddMountOption(cmd, &a->common.mount);
    cmd->callback([c, a] {
      c->action = [c, a] {
        v1::TokenizeCreateTemplateRequest req;
        req.set_mount(a->common.mount);
        req.set_name(a->common.name);
        req.set_pattern(a->pattern);
        req.set_alphabet(a->alphabet);
        return WithClient(*c, [&](Client& client) {
          auto r = client.TokenizeCreateTemplate(req);
          if (!r.ok()) return c->Fail(r.status());
          return Print(*c, *r, TemplateRows(*r));
        });
      };
    });
  }

  // --- transformation ---
  CLI::App* tr =
      tk->add_subcommand("transformation", "Manage transformations");
  tr->require_subcommand(1);
  {
    auto a = std::make_shared<TransformationArgs>();
    CLI::App* cmd = tr->add_subcommand("create", "Create a transformation");
    cmd->add_option("name", a->common.name, "Transformation name")->required();
    cmd->add_option("--type", a->type, "fpe, tokenization or masking")
        ->required()
        ->check(CLI::IsMember({"fpe", "tokenization", "masking"}));
    cmd->add_option("--template", a->template_name,
                    "Template (built in: pan, ssn, iban)")
        ->required();
    cmd->add_option("--alphabet", a->alphabet,
                    "Override the template's alphabet");
    cmd->add_option("--tweak-source", a->tweak_source,
                    "fpe: supplied, internal (default) or generated")
        ->check(CLI::IsMember({"supplied", "internal", "generated"}));
    cmd->add_option("--luhn", a->luhn, "preserve or invalidate")
        ->check(CLI::IsMember({"preserve", "invalidate"}));
    cmd->add_flag("--convergent", a->convergent,
                  "tokenization: equal values get equal tokens");
    cmd->add_option("--ttl", a->ttl, "tokenization: token lifetime, e.g. 24h");
    cmd->add_flag("--allow-ff3-1", a->allow_ff3_1,
                  "fpe: use FF3-1 (deprecated by NIST; legacy data only)");
    cmd->add_option("--mask-character", a->mask_character,
                    "masking: replacement character (default *)");
    AddMountOption(cmd, &a->common.mount);
    cmd->callback([c, a] {
      c->action = [c, a] { return RunCreateTransformation(*c, *a); };
    });
  }
  {
    auto a = std::make_shared<NameArgs>();
    CLI::App* cmd = tr->add_subcommand(
        "rotate", "Add a key version; old tokens still decode");
    cmd->add_option("name", a->name, "Transformation name")->required();
    AddMountOption(cmd, &a->mount);
    cmd->callback([c, a] {
      c->action = [c, a] {
        return WithClient(*c, [&](Client& client) {
          auto r = client.TokenizeRotateTransformation(NameRequest(*a));
          if (!r.ok()) return c->Fail(r.status());
          return Print(*c, *r, TransformationRows(*r));
        });
      };
    });
  }

  // --- role ---
  CLI::App* role = tk->add_subcommand("role", "Manage roles");
  role->require_subcommand(1);
  {
    auto a = std::make_shared<RoleArgs>();
    CLI::App* cmd =
        role->add_subcommand("create", "Create or replace a role");
    cmd->add_option("name", a->common.name, "Role name")->required();
    cmd->add_option("--transformation", a->transformations,
                    "Transformation the role may use (repeatable)")
        ->required();
    AddMountOption(cmd, &a->common.mount);
    cmd->callback([c, a] {
      c->action = [c, a] {
        v1::TokenizeWriteRoleRequest req;
        req.set_mount(a->common.mount);
        req.set_name(a->common.name);
        for (const auto& t : a->transformations) req.add_transformations(t);
        return WithClient(*c, [&](Client& client) {
          auto r = client.TokenizeWriteRole(req);
          if (!r.ok()) return c->Fail(r.status());
          return Print(*c, *r, RoleRows(*r));
        });
      };
    });
  }

  // show / list / delete for each of the three.
  struct Kind {
    CLI::App* parent;
    const char* what;
    std::function<int(const Context&, Client&, const NameArgs&)> show;
    std::function<absl::StatusOr<v1::TokenizeListResponse>(
        Client&, const v1::TokenizeListRequest&)>
        list;
    std::function<absl::Status(Client&, const v1::TokenizeNameRequest&)> del;
  };
  const Kind kinds[] = {
      {tmpl, "template",
       [](const Context& x, Client& cl, const NameArgs& a) {
         auto r = cl.TokenizeReadTemplate(NameRequest(a));
         return r.ok() ? Print(x, *r, TemplateRows(*r)) : x.Fail(r.status());
       },
       [](Client& cl, const v1::TokenizeListRequest& r) {
         return cl.TokenizeListTemplates(r);
       },
       [](Client& cl, const v1::TokenizeNameRequest& r) {
         return cl.TokenizeDeleteTemplate(r).status();
       }},
      {tr, "transformation",
       [](const Context& x, Client& cl, const NameArgs& a) {
         auto r = cl.TokenizeReadTransformation(NameRequest(a));
         return r.ok() ? Print(x, *r, TransformationRows(*r))
                       : x.Fail(r.status());
       },
       [](Client& cl, const v1::TokenizeListRequest& r) {
         return cl.TokenizeListTransformations(r);
       },
       [](Client& cl, const v1::TokenizeNameRequest& r) {
         return cl.TokenizeDeleteTransformation(r).status();
       }},
      {role, "role",
       [](const Context& x, Client& cl, const NameArgs& a) {
         auto r = cl.TokenizeReadRole(NameRequest(a));
         return r.ok() ? Print(x, *r, RoleRows(*r)) : x.Fail(r.status());
       },
       [](Client& cl, const v1::TokenizeListRequest& r) {
         return cl.TokenizeListRoles(r);
       },
       [](Client& cl, const v1::TokenizeNameRequest& r) {
         return cl.TokenizeDeleteRole(r).status();
       }},
  };
  for (const Kind& k : kinds) {
    {
      auto a = std::make_shared<NameArgs>();
      CLI::App* cmd = k.parent->add_subcommand("show", "Show one");
      cmd->add_option("name", a->name, "Name")->required();
      AddMountOption(cmd, &a->mount);
      auto show = k.show;
      cmd->callback([c, a, show] {
        c->action = [c, a, show] {
          return WithClient(*c, [&](Client& cl) { return show(*c, cl, *a); });
        };
      });
    }
    {
      auto a = std::make_shared<NameArgs>();
      CLI::App* cmd = k.parent->add_subcommand("list", "List names");
      AddMountOption(cmd, &a->mount);
      auto list = k.list;
      cmd->callback([c, a, list] {
        c->action = [c, a, list] {
          return WithClient(*c, [&](Client& cl) {
            auto r = list(cl, ListRequest(*a));
            return r.ok() ? PrintNames(*c, *r) : c->Fail(r.status());
          });
        };
      });
    }
    {
      auto a = std::make_shared<NameArgs>();
      CLI::App* cmd = k.parent->add_subcommand("delete", "Delete one");
      cmd->add_option("name", a->name, "Name")->required();
      AddMountOption(cmd, &a->mount);
      auto del = k.del;
      cmd->callback([c, a, del] {
        c->action = [c, a, del] {
          return WithClient(*c, [&](Client& cl) {
            absl::Status st = del(cl, NameRequest(*a));
            return st.ok() ? kExitOk : c->Fail(st);
          });
        };
      });
    }
  }

  // --- encode / decode / validate ---
  const struct {
    const char* name;
    const char* help;
    Op op;
  } streams[] = {
      {"encode", "Encode values read from stdin, one per line", Op::kEncode},
      {"decode", "Decode tokens read from stdin, one per line", Op::kDecode},
      {"validate", "Check values read from stdin, one per line",
       Op::kValidate},
  };
  for (const auto& s : streams) {
    auto a = std::make_shared<StreamArgs>();
    CLI::App* cmd = tk->add_subcommand(s.name, s.help);
    cmd->add_option("role", a->role, "Role")->required();
    cmd->add_option("--transformation", a->transformation, "Transformation")
        ->required();
    cmd->add_option("--tweak", a->tweak_b64,
                    "Tweak (base64) for tweak source supplied or generated");
    if (s.op != Op::kEncode) {
      cmd->add_option("--key-version", a->key_version,
                      "fpe with internal/supplied tweak: the key version "
                      "encode reported (default: latest)")
          ->check(WholeNumberFor<uint32_t>("--key-version"));
    }
    AddMountOption(cmd, &a->mount);
    const Op op = s.op;
    cmd->callback([c, a, op] {
      c->action = [c, a, op] { return RunStream(*c, op, *a); };
    });
  }
  {
    auto a = std::make_shared<StreamArgs>();
    CLI::App* cmd = tk->add_subcommand(
        "lookup", "Print the live token of each stdin value (convergent only)");
    cmd->add_option("role", a->role, "Role")->required();
    cmd->add_option("--transformation", a->transformation, "Transformation")
        ->required();
    AddMountOption(cmd, &a->mount);
    cmd->callback([c, a] {
      c->action = [c, a] { return RunLookup(*c, *a); };
    });
  }
}

}  // namespace arca::cli
