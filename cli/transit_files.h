#ifndef ARCA_CLI_TRANSIT_FILES_H_
#define ARCA_CLI_TRANSIT_FILES_H_

#include "cli/context.h"

namespace arca::cli {

// Registers `arca transit encrypt-file NAME IN OUT` and `decrypt-file IN OUT`
// (the envelope format of client/envelope_encryptor.h) under `transit`.
void AddTransitFileCommands(CLI::App& transit, Context& ctx);

}  // namespace arca::cli

#endif  // ARCA_CLI_TRANSIT_FILES_H_
