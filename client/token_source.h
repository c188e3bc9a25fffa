#ifndef ARCA_CLIENT_TOKEN_SOURCE_H_
#define ARCA_CLIENT_TOKEN_SOURCE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace arca {

// Environment variable that holds a token.
inline constexpr char kTokenEnvVar[] = "ARCA_TOKEN";
// Token file name, relative to $HOME.
inline constexpr char kTokenFileName[] = ".arca-token";

// Reads a token file and returns its content with surrounding whitespace
// (including a trailing newline) removed. A missing file is NOT_FOUND; any
// other read failure is FAILED_PRECONDITION. Messages name the path only,
// never the content.
absl::StatusOr<std::string> LoadTokenFile(const std::string& path);

// Picks the token to send, first match wins:
//   1. `explicit_token` if non-empty;
//   2. the environment variable ARCA_TOKEN if set and non-empty;
//   3. the file $HOME/.arca-token, trimmed, if it exists.
// Returns "" when none is present (unauthenticated RPCs still work). An
// unreadable token file is an error rather than a silent fallback.
absl::StatusOr<std::string> ResolveToken(absl::string_view explicit_token);

// ResolveToken with its inputs made explicit, for tests: `env_token` is the
// value of ARCA_TOKEN (nullptr when unset) and `home_dir` the home directory
// ("" when unknown).
absl::StatusOr<std::string> ResolveTokenFrom(absl::string_view explicit_token,
                                             const char* env_token,
                                             const std::string& home_dir);

}  // namespace arca

#endif  // ARCA_CLIENT_TOKEN_SOURCE_H_
