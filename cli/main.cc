// arca: the operator CLI. See docs/cli.md.

#include <sys/resource.h>
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "cli/app.h"

int main(int argc, char** argv) {
  // Unseal shares, root tokens and secret values pass through this process:
  // keep them out of core dumps.
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);

  std::vector<std::string> args(argv + 1, argv + argc);
  arca::cli::Io io{&std::cin, &std::cout, &std::cerr, isatty(STDIN_FILENO) == 1,
                   isatty(STDOUT_FILENO) == 1};
  return arca::cli::RunArca(args, io);
}
