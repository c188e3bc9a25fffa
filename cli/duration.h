#ifndef ARCA_CLI_DURATION_H_
#define ARCA_CLI_DURATION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace arca::cli {

// Parses a TTL flag: "90" (seconds) or a Go-style duration ("1h", "30m",
// "1h30m", "45s"). Negative values are INVALID_ARGUMENT.
absl::StatusOr<absl::Duration> ParseTtl(const std::string& text);

// "1h0m0s" style rendering of whole seconds; "-" for 0 ("never").
std::string FormatTtl(int64_t seconds);

}  // namespace arca::cli

#endif  // ARCA_CLI_DURATION_H_
