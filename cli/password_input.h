#ifndef ARCA_CLI_PASSWORD_INPUT_H_
#define ARCA_CLI_PASSWORD_INPUT_H_

#include <string>

#include "absl/status/statusor.h"
#include "cli/app.h"

namespace arca::cli {

// Where a command's password comes from. It is never an argv value: argv is
// readable by every local user through /proc and ends up in shell history.
struct PasswordFlags {
  bool from_stdin = false;  // --password-stdin
  std::string file;         // --password-file FILE ("-": standard input)
  // Environment variable consulted when neither flag is given.
  std::string env_name;
};

// Reads the password: from standard input (all of it) with --password-stdin
// or --password-file -, from FILE, else from the environment variable, else
// from a no-echo prompt on stderr when stdin is a terminal. Trailing line
// breaks are removed (a file or `echo` adds one). INVALID_ARGUMENT when
// there is none, it is empty or both flags are given; the message never
// holds the password.
absl::StatusOr<std::string> ReadPassword(const PasswordFlags& flags,
                                         const Io& io);

}  // namespace arca::cli

#endif  // ARCA_CLI_PASSWORD_INPUT_H_
