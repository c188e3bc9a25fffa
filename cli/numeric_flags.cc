#include "cli/numeric_flags.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace arca::cli {

CLI::Validator WholeNumberIn(std::string flag, uint64_t min, uint64_t max) {
  return CLI::Validator(
      [flag = std::move(flag), min, max](std::string& value) -> std::string {
        uint64_t n = 0;
        const bool digits =
            !value.empty() &&
            std::all_of(value.begin(), value.end(),
                        [](char c) { return c >= '0' && c <= '9'; });
        // SimpleAtoi fails on overflow instead of saturating.
        if (digits && absl::SimpleAtoi(value, &n) && n >= min && n <= max) {
          return "";
        }
        return absl::StrCat(flag, " must be a whole number from ", min,
                            " to ", max);
      },
      "N");
}

}  // namespace arca::cli
