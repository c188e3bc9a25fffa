#ifndef ARCA_CLI_NUMERIC_FLAGS_H_
#define ARCA_CLI_NUMERIC_FLAGS_H_

#include <cstdint>
#include <limits>
#include <string>

#include "CLI/CLI.hpp"

namespace arca::cli {

// A CLI11 validator for an integer flag: the value must be plain decimal
// digits (no sign, no spaces) and lie in [min, max]. CLI11's own conversion
// wraps negatives into unsigned types and saturates out-of-range values;
// this runs before it. Failure message: "<flag> must be a whole number from
// <min> to <max>".
CLI::Validator WholeNumberIn(std::string flag, uint64_t min, uint64_t max);

// The validator for a flag stored in an integer of type T (at least 0).
template <typename T>
CLI::Validator WholeNumberFor(std::string flag, uint64_t min = 0) {
  return WholeNumberIn(std::move(flag), min,
                       static_cast<uint64_t>(std::numeric_limits<T>::max()));
}

}  // namespace arca::cli

#endif  // ARCA_CLI_NUMERIC_FLAGS_H_
