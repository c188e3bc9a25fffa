#ifndef ARCA_CLI_KV_ARGS_H_
#define ARCA_CLI_KV_ARGS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace arca::cli {

// Where `KEY=@FILE` and `KEY=-` values come from; injectable for tests.
struct ValueSources {
  // Returns the whole content of a file.
  std::function<absl::StatusOr<std::string>(const std::string& path)> read_file;
  // Returns everything on standard input.
  std::function<absl::StatusOr<std::string>()> read_stdin;
};

// ValueSources reading the real file system and std::cin.
ValueSources RealValueSources();

// Parses the data arguments of `arca kv put`:
//   KEY=VALUE   the literal VALUE (may be empty, may contain '=');
//   KEY=@FILE   the bytes of FILE, unchanged;
//   KEY=-       all of standard input (at most one key may use it).
// A missing '=' or empty key, a key given twice, a second '-' or a value that
// is not UTF-8 (proto strings must be) is INVALID_ARGUMENT. Error messages
// name the argument position or the key, never a value.
absl::StatusOr<std::map<std::string, std::string>> ParseKvPairs(
    const std::vector<std::string>& args, const ValueSources& sources);

// Parses a `--versions` list such as "1,2,5": positive integers separated by
// commas (spaces allowed). Duplicates are dropped, order kept. Anything else,
// including an empty list, is INVALID_ARGUMENT.
absl::StatusOr<std::vector<uint64_t>> ParseVersions(absl::string_view text);

// True if `s` is well-formed UTF-8 (no overlong forms, no surrogates,
// nothing above U+10FFFF).
bool IsValidUtf8(absl::string_view s);

}  // namespace arca::cli

#endif  // ARCA_CLI_KV_ARGS_H_
