#include "cli/errors.h"

#include "absl/strings/str_cat.h"

namespace arca::cli {

std::string StatusCodeName(absl::StatusCode code) {
  std::string name = absl::StatusCodeToString(code);
  return name.empty() ? "UNKNOWN" : name;
}

std::string FormatError(const absl::Status& status) {
  std::string message(status.message());
  for (char& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  // Keep the "NAME: message" shape even when the server sent no message.
  if (message.empty()) message = "(no message)";
  return absl::StrCat(StatusCodeName(status.code()), ": ", message);
}

int ExitCodeFor(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  if (status.code() == absl::StatusCode::kNotFound) return kExitNotFound;
  return kExitError;
}

}  // namespace arca::cli
