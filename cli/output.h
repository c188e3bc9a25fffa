#ifndef ARCA_CLI_OUTPUT_H_
#define ARCA_CLI_OUTPUT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"

namespace arca::cli {

// Renders a response as one JSON document (single line, no trailing
// newline): proto field names (snake_case), every primitive field printed
// even when zero/empty, 64-bit integers as strings (the proto3 JSON
// mapping), fields in field-number order and map entries sorted by key so
// the same response always prints the same bytes.
absl::StatusOr<std::string> ProtoToJson(const google::protobuf::Message& msg);

// `text` made safe for a terminal: control characters (C0, DEL and the C1
// range U+0080..U+009F) become \n, \r, \t or \xNN, bytes that are not valid
// UTF-8 become \xNN, and a backslash becomes \\ so the escaping is
// unambiguous. Printable UTF-8 is unchanged.
std::string EscapeForTerminal(std::string_view text);

// Two aligned columns, one row per pair, each line ending in '\n'. With a
// non-empty header pair, the header and a dashed rule come first. Cells are
// passed through EscapeForTerminal: a secret value or key name cannot move
// the cursor, recolour or rewrite the terminal.
std::string FormatTable(
    const std::vector<std::pair<std::string, std::string>>& rows,
    const std::pair<std::string, std::string>& header = {});

// RFC 3339 UTC time with milliseconds ("2026-12-03T18:54:36.123Z"); "-" for
// 0, the proto's "not set".
std::string FormatUnixMillis(int64_t ms);
std::string FormatUnixSeconds(int64_t s);

}  // namespace arca::cli

#endif  // ARCA_CLI_OUTPUT_H_
