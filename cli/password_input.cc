#include "cli/password_input.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>

#include "absl/strings/str_cat.h"
#include "cli/secret_input.h"

namespace arca::cli {
namespace {

void StripTrailingLineBreaks(std::string& s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
}

absl::StatusOr<std::string> ReadAll(std::istream& in, const std::string& what) {
  std::string all((std::istreambuf_iterator<char>(in)),
                  std::istreambuf_iterator<char>());
  if (in.bad()) {
    Wipe(all);
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", what));
  }
  return all;
}

}  // namespace

absl::StatusOr<std::string> ReadPassword(const PasswordFlags& flags,
                                         const Io& io) {
  if (flags.from_stdin && !flags.file.empty()) {
    return absl::InvalidArgumentError(
        "give either --password-stdin or --password-file, not both");
  }
  std::string password;
  std::string where;
  if (flags.from_stdin || flags.file == "-") {
    where = "standard input";
    absl::StatusOr<std::string> all = ReadAll(*io.in, where);
    if (!all.ok()) return all.status();
    password = *std::move(all);
  } else if (!flags.file.empty()) {
    where = "password file " + flags.file;
    std::ifstream in(flags.file, std::ios::binary);
    if (!in) return absl::InvalidArgumentError("cannot read " + where);
    absl::StatusOr<std::string> all = ReadAll(in, where);
    if (!all.ok()) return all.status();
    password = *std::move(all);
  } else if (const char* env = flags.env_name.empty()
                                   ? nullptr
                                   : std::getenv(flags.env_name.c_str());
             env != nullptr && *env != '\0') {
    where = flags.env_name;
    password = env;
  } else if (io.stdin_is_tty) {
    where = "the prompt";
    std::optional<std::string> typed =
        NewPromptShareSource(*io.in, *io.err, "Password (input hidden): ", 1)
            ->Next();
    password = typed.value_or("");
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "no password: pipe it with --password-stdin, name a file with "
        "--password-file, or set ",
        flags.env_name, " (it is never taken from the command line)"));
  }
  StripTrailingLineBreaks(password);
  if (password.empty()) {
    return absl::InvalidArgumentError("the password from " + where +
                                      " is empty");
  }
  return password;
}

}  // namespace arca::cli
