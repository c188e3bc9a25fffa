// `arca operator ...`: init, unseal, seal, status, rotate, key-status, rekey.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "cli/context.h"
#include "cli/errors.h"
#include "cli/numeric_flags.h"
#include "cli/output.h"
#include "cli/secret_input.h"

namespace arca::cli {
namespace {

using Rows = std::vector<std::pair<std::string, std::string>>;

const char* Bool(bool b) { return b ? "true" : "false"; }

int PrintSealStatus(const Context& ctx, const v1::SealStatusResponse& s) {
  if (ctx.json()) return ctx.PrintJson(s);
  const Rows rows = {
      {"Initialized", Bool(s.initialized())},
      {"Sealed", Bool(s.sealed())},
      {"Total Shares", absl::StrCat(s.secret_shares())},
      {"Threshold", absl::StrCat(s.secret_threshold())},
      {"Unseal Progress",
       absl::StrCat(s.progress(), "/", s.secret_threshold())},
      {"Version", s.version()},
  };
  *ctx.io.out << FormatTable(rows, {"Key", "Value"}) << std::flush;
  return kExitOk;
}

int PrintKeyStatus(const Context& ctx, const v1::KeyStatusResponse& s) {
  if (ctx.json()) return ctx.PrintJson(s);
  const Rows rows = {
      {"Key Term", absl::StrCat(s.term())},
      {"Install Time", FormatUnixSeconds(s.install_time_unix())},
      {"Encryptions", absl::StrCat(s.encryptions())},
  };
  *ctx.io.out << FormatTable(rows, {"Key", "Value"}) << std::flush;
  return kExitOk;
}

int PrintRekeyStatus(const Context& ctx, const v1::RekeyStatusResponse& s) {
  if (ctx.json()) return ctx.PrintJson(s);
  const Rows rows = {
      {"Started", Bool(s.started())},
      {"Nonce", s.nonce().empty() ? "-" : s.nonce()},
      {"New Shares", absl::StrCat(s.secret_shares())},
      {"New Threshold", absl::StrCat(s.secret_threshold())},
      {"Progress", absl::StrCat(s.progress(), "/", s.required())},
  };
  *ctx.io.out << FormatTable(rows, {"Key", "Value"}) << std::flush;
  return kExitOk;
}

int PrintDone(const Context& ctx, const google::protobuf::Message& empty,
              const std::string& message) {
  if (ctx.json()) return ctx.PrintJson(empty);
  *ctx.io.out << message << "\n" << std::flush;
  return kExitOk;
}

// Shares typed as arguments are caught here, so they are refused with our
// own message instead of a parser error that would echo them.
constexpr char kNoSharesInArgv[] =
    "unseal shares are never read from the command line; pipe them on "
    "standard input, one per line, or enter them at the prompt";

CLI::Option* AddArgvShareTrap(CLI::App* cmd,
                              std::vector<std::string>* trapped) {
  return cmd->add_option("shares", *trapped)->group("");
}

int RefuseArgvShares(const Context& ctx, std::vector<std::string>& trapped) {
  for (std::string& s : trapped) Wipe(s);
  return ctx.Fail(absl::InvalidArgumentError(kNoSharesInArgv));
}

// --- init -----------------------------------------------------------------

int RunInit(const Context& ctx, uint32_t shares, uint32_t threshold) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  v1::InitRequest request;
  request.set_secret_shares(shares);
  request.set_secret_threshold(threshold);
  absl::StatusOr<v1::InitResponse> response = (*client)->Init(request);
  if (!response.ok()) return ctx.Fail(response.status());
  int rc = kExitOk;
  if (ctx.json()) {
    rc = ctx.PrintJson(*response);
  } else {
    std::ostream& out = *ctx.io.out;
    for (int i = 0; i < response->keys_base64_size(); ++i) {
      out << "Unseal Key " << (i + 1) << ": " << response->keys_base64(i)
          << "\n";
    }
    out << "\nInitial Root Token: " << response->root_token() << "\n\n"
        << "Arca initialized with " << response->keys_base64_size()
        << " key shares and a key threshold of " << threshold << ".\n"
        << "Give each share to a different operator; " << threshold
        << " of them are needed to unseal after every restart.\n"
        << std::flush;
  }
  for (std::string& k : *response->mutable_keys_base64()) Wipe(k);
  Wipe(*response->mutable_root_token());
  return rc;
}

// --- unseal -----------------------------------------------------------------

int RunUnseal(const Context& ctx, bool reset) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  if (reset) {
    v1::UnsealRequest request;
    request.set_reset(true);
    auto status = (*client)->Unseal(request);
    if (!status.ok()) return ctx.Fail(status.status());
    return PrintSealStatus(ctx, *status);
  }
  // One share per run at a terminal (each key holder types their own);
  // every non-empty line when piped.
  std::unique_ptr<ShareSource> shares =
      ctx.io.stdin_is_tty
          ? NewPromptShareSource(*ctx.io.in, *ctx.io.err,
                                 "Unseal share (input hidden): ", 1)
          : NewLineShareSource(*ctx.io.in);
  std::optional<v1::SealStatusResponse> last;
  while (std::optional<std::string> share = shares->Next()) {
    v1::UnsealRequest request;
    request.set_key(*share);
    Wipe(*share);
    absl::StatusOr<v1::SealStatusResponse> status = (*client)->Unseal(request);
    Wipe(*request.mutable_key());
    if (!status.ok()) return ctx.Fail(status.status());
    last = *status;
    if (!status->sealed()) break;
  }
  if (!last.has_value()) {
    absl::StatusOr<v1::SealStatusResponse> status = (*client)->SealStatus();
    if (!status.ok()) return ctx.Fail(status.status());
    if (status->sealed()) {
      return ctx.Fail(absl::InvalidArgumentError(
          ctx.io.stdin_is_tty ? "no unseal share entered"
                              : "no unseal share on standard input"));
    }
    last = *status;
  }
  return PrintSealStatus(ctx, *last);
}

// --- status -----------------------------------------------------------------

int RunStatus(const Context& ctx) {
  auto client = ctx.Connect();
  if (!client.ok()) {
    ctx.Fail(client.status());
    return kExitError;
  }
  absl::StatusOr<v1::SealStatusResponse> status = (*client)->SealStatus();
  if (!status.ok()) {
    ctx.Fail(status.status());
    return kExitError;  // 2 is reserved for "sealed" here
  }
  const int rc = PrintSealStatus(ctx, *status);
  if (rc != kExitOk) return kExitError;
  return status->sealed() ? kExitSealed : kExitOk;
}

// --- rekey ------------------------------------------------------------------

struct RekeyArgs {
  uint32_t shares = 0;
  uint32_t threshold = 0;
  bool status = false;
  bool cancel = false;
  std::string nonce;
  std::vector<std::string> trapped;  // shares wrongly given as arguments
  CLI::Option* shares_opt = nullptr;
  CLI::Option* threshold_opt = nullptr;
};

int RunRekey(const Context& ctx, const RekeyArgs& args) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  if (args.status) {
    auto status = (*client)->RekeyStatus();
    if (!status.ok()) return ctx.Fail(status.status());
    return PrintRekeyStatus(ctx, *status);
  }
  if (args.cancel) {
    v1::RekeyCancelRequest request;
    request.set_nonce(args.nonce);
    auto done = (*client)->RekeyCancel(request);
    if (!done.ok()) return ctx.Fail(done.status());
    return PrintDone(ctx, *done, "Success! Rekey canceled.");
  }

  std::string nonce = args.nonce;
  if (nonce.empty()) {
    // Start a new rekey. Both numbers are required: silently defaulting the
    // new share layout would be a surprise an operator finds too late.
    if (args.shares_opt->count() == 0 || args.threshold_opt->count() == 0) {
      return ctx.Fail(absl::InvalidArgumentError(
          "--key-shares and --key-threshold are required to start a rekey "
          "(or --nonce to continue one)"));
    }
    v1::RekeyInitRequest request;
    request.set_secret_shares(args.shares);
    request.set_secret_threshold(args.threshold);
    auto started = (*client)->RekeyInit(request);
    if (!started.ok()) return ctx.Fail(started.status());
    nonce = started->nonce();
    *ctx.io.err << "Rekey nonce: " << nonce << "\n";
    if (ctx.io.stdin_is_tty) {
      *ctx.io.err << "Enter " << started->required()
                  << " current unseal shares.\n";
    }
    *ctx.io.err << std::flush;
  }

  std::unique_ptr<ShareSource> shares =
      ctx.io.stdin_is_tty
          ? NewPromptShareSource(*ctx.io.in, *ctx.io.err,
                                 "Current unseal share (input hidden): ", 0)
          : NewLineShareSource(*ctx.io.in);
  uint32_t progress = 0;
  uint32_t required = 0;
  while (std::optional<std::string> share = shares->Next()) {
    v1::RekeyUpdateRequest request;
    request.set_nonce(nonce);
    request.set_key(*share);
    Wipe(*share);
    absl::StatusOr<v1::RekeyUpdateResponse> update =
        (*client)->RekeyUpdate(request);
    Wipe(*request.mutable_key());
    if (!update.ok()) return ctx.Fail(update.status());
    progress = update->progress();
    required = update->required();
    if (!update->complete()) continue;

    int rc = kExitOk;
    if (ctx.json()) {
      rc = ctx.PrintJson(*update);
    } else {
      std::ostream& out = *ctx.io.out;
      for (int i = 0; i < update->keys_base64_size(); ++i) {
        out << "Key " << (i + 1) << ": " << update->keys_base64(i) << "\n";
      }
      out << "\nArca rekeyed with " << update->keys_base64_size()
          << " key shares";
      if (args.threshold_opt->count() > 0) {
        out << " and a key threshold of " << args.threshold;
      }
      out << ". The old shares no longer work.\n" << std::flush;
    }
    for (std::string& k : *update->mutable_keys_base64()) Wipe(k);
    return rc;
  }
  if (required == 0) {
    // No share was accepted in this run: report the server's own count.
    absl::StatusOr<v1::RekeyStatusResponse> status = (*client)->RekeyStatus();
    if (status.ok()) {
      progress = status->progress();
      required = status->required();
    }
  }
  return ctx.Fail(absl::FailedPreconditionError(absl::StrCat(
      "rekey not complete: ", progress, " of ", required,
      " current shares submitted; continue with `arca operator rekey "
      "--nonce ",
      nonce, "` or cancel with `arca operator rekey --cancel --nonce ", nonce,
      "`")));
}

// --- simple sudo operations -------------------------------------------------

int RunSeal(const Context& ctx) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  auto done = (*client)->Seal();
  if (!done.ok()) return ctx.Fail(done.status());
  return PrintDone(ctx, *done, "Success! Arca is sealed.");
}

int RunRotate(const Context& ctx) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  auto status = (*client)->Rotate();
  if (!status.ok()) return ctx.Fail(status.status());
  return PrintKeyStatus(ctx, *status);
}

int RunKeyStatus(const Context& ctx) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  auto status = (*client)->KeyStatus();
  if (!status.ok()) return ctx.Fail(status.status());
  return PrintKeyStatus(ctx, *status);
}

}  // namespace

void AddOperatorCommands(CLI::App& app, Context& ctx) {
  Context* c = &ctx;
  CLI::App* op = app.add_subcommand(
      "operator", "Initialize, unseal, seal, rotate and rekey the server");
  op->require_subcommand(1);

  {
    auto shares = std::make_shared<uint32_t>(5);
    auto threshold = std::make_shared<uint32_t>(3);
    CLI::App* cmd = op->add_subcommand(
        "init",
        "Initialize a new server; prints the unseal shares and root "
        "token");
    cmd->add_option("--key-shares", *shares, "Number of unseal shares")
        ->check(WholeNumberIn("--key-shares", 1, 255))
        ->capture_default_str();
    cmd->add_option("--key-threshold", *threshold, "Shares needed to unseal")
        ->check(WholeNumberIn("--key-threshold", 1, 255))
        ->capture_default_str();
    cmd->callback([c, shares, threshold] {
      c->action = [c, shares, threshold] {
        return RunInit(*c, *shares, *threshold);
      };
    });
  }
  {
    auto reset = std::make_shared<bool>(false);
    CLI::App* cmd = op->add_subcommand(
        "unseal",
        "Submit unseal shares: one per line on stdin, or at a hidden prompt");
    cmd->add_flag("--reset", *reset, "Discard the shares submitted so far");
    auto trapped = std::make_shared<std::vector<std::string>>();
    AddArgvShareTrap(cmd, trapped.get());
    cmd->callback([c, reset, trapped] {
      c->action = [c, reset, trapped] {
        if (!trapped->empty()) return RefuseArgvShares(*c, *trapped);
        return RunUnseal(*c, *reset);
      };
    });
  }
  op->add_subcommand("seal", "Seal the server and wipe its keys from memory")
      ->callback([c] { c->action = [c] { return RunSeal(*c); }; });
  op->add_subcommand("status",
                     "Seal status; exit 0 unsealed, 2 sealed, 1 error")
      ->callback([c] { c->action = [c] { return RunStatus(*c); }; });
  op->add_subcommand("rotate", "Add a new barrier key term")->callback([c] {
    c->action = [c] { return RunRotate(*c); };
  });
  op->add_subcommand("key-status", "The active barrier key term")
      ->callback([c] { c->action = [c] { return RunKeyStatus(*c); }; });
  {
    auto args = std::make_shared<RekeyArgs>();
    CLI::App* cmd = op->add_subcommand(
        "rekey",
        "Replace the unseal shares; current shares are read from stdin or "
        "a hidden prompt");
    args->shares_opt =
        cmd->add_option("--key-shares", args->shares, "New number of shares")
            ->check(WholeNumberIn("--key-shares", 1, 255));
    args->threshold_opt =
        cmd->add_option("--key-threshold", args->threshold,
                        "New number of shares needed to unseal")
            ->check(WholeNumberIn("--key-threshold", 1, 255));
    CLI::Option* nonce = cmd->add_option(
        "--nonce", args->nonce,
        "Nonce of the rekey in progress (to continue or cancel it)");
    CLI::Option* status =
        cmd->add_flag("--status", args->status, "Show the rekey in progress");
    CLI::Option* cancel =
        cmd->add_flag("--cancel", args->cancel, "Cancel the rekey in progress");
    cancel->needs(nonce);
    status->excludes(cancel)
        ->excludes(nonce)
        ->excludes(args->shares_opt)
        ->excludes(args->threshold_opt);
    cancel->excludes(args->shares_opt)->excludes(args->threshold_opt);
    nonce->excludes(args->shares_opt)->excludes(args->threshold_opt);
    AddArgvShareTrap(cmd, &args->trapped);
    cmd->callback([c, args] {
      c->action = [c, args] {
        if (!args->trapped.empty()) return RefuseArgvShares(*c, args->trapped);
        return RunRekey(*c, *args);
      };
    });
  }
}

}  // namespace arca::cli
