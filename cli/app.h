#ifndef ARCA_CLI_APP_H_
#define ARCA_CLI_APP_H_

#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace arca::cli {

// The process's standard streams, injectable so the whole CLI can be run
// in-process by tests.
struct Io {
  std::istream* in;
  std::ostream* out;
  std::ostream* err;
  bool stdin_is_tty = false;
  bool stdout_is_tty = false;
};

// Runs `arca` with `args` (argv without the program name) and returns the
// process exit code: 0 success, 1 error or usage error, 2 NOT_FOUND (or a
// sealed server for `operator status`). See docs/cli.md.
int RunArca(const std::vector<std::string>& args, const Io& io);

}  // namespace arca::cli

#endif  // ARCA_CLI_APP_H_
