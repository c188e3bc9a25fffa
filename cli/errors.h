#ifndef ARCA_CLI_ERRORS_H_
#define ARCA_CLI_ERRORS_H_

#include <string>

#include "absl/status/status.h"

namespace arca::cli {

// Exit codes of `arca`.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;     // any error, including usage errors
inline constexpr int kExitNotFound = 2;  // NOT_FOUND from the server
inline constexpr int kExitSealed = 2;    // `operator status` on a sealed server

// The canonical upper-case name of a status code ("NOT_FOUND",
// "INVALID_ARGUMENT"); "UNKNOWN" for values outside the canonical set.
std::string StatusCodeName(absl::StatusCode code);

// The single stderr line for a failed command: "<STATUS_NAME>: <message>".
// Line breaks in the message become spaces so the result is one line; an
// empty message is shown as "(no message)".
std::string FormatError(const absl::Status& status);

// kExitOk for OK, kExitNotFound for NOT_FOUND, kExitError otherwise.
int ExitCodeFor(const absl::Status& status);

}  // namespace arca::cli

#endif  // ARCA_CLI_ERRORS_H_
