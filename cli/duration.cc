#include "cli/duration.h"

#include <cctype>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace arca::cli {

absl::StatusOr<absl::Duration> ParseTtl(const std::string& text) {
  int64_t seconds = 0;
  absl::Duration d;
  if (absl::SimpleAtoi(text, &seconds)) {
    d = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(text, &d)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid duration \"", text, "\"; use seconds or e.g. 1h, 30m, 1h30m"));
  }
  if (d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("a duration must not be negative");
  }
  return d;
}

std::string FormatTtl(int64_t seconds) {
  if (seconds <= 0) return "-";
  return absl::FormatDuration(absl::Seconds(seconds));
}

}  // namespace arca::cli
