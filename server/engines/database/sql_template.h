#ifndef ARCA_SERVER_ENGINES_DATABASE_SQL_TEMPLATE_H_
#define ARCA_SERVER_ENGINES_DATABASE_SQL_TEMPLATE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kms/secret_bytes.h"

namespace arca::engines::database {

// Quotes values for one PostgreSQL connection (its encoding and
// standard_conforming_strings decide the escaping). Implemented by the
// libpq edge with PQescapeIdentifier / PQescapeLiteral.
class Quoter {
 public:
  virtual ~Quoter() = default;
  // A quoted identifier, e.g. "v-app-x" (always double-quoted).
  virtual absl::StatusOr<std::string> Identifier(std::string_view s) const = 0;
  // A quoted string literal, e.g. 'x''y'.
  virtual absl::StatusOr<std::string> Literal(std::string_view s) const = 0;
};

// What the placeholders of a statement stand for.
struct TemplateValues {
  std::string_view name;                      // {{name}}: identifier
  const kms::SecretBytes* password = nullptr;  // {{password}}: literal
  absl::Time expiration;                       // {{expiration}}: literal
};

// Statement templates. Placeholders are {{name}}, {{password}} and
// {{expiration}} (spaces inside the braces allowed); anything else in
// double braces is INVALID_ARGUMENT. Values are inserted once, left to
// right: a value is never scanned for placeholders again.
absl::Status CheckTemplate(std::string_view statement);
// True if `statement` uses the placeholder `name` ("name", "password", ...).
bool UsesPlaceholder(std::string_view statement, std::string_view name);
absl::StatusOr<std::string> ExpandTemplate(std::string_view statement,
                                           const TemplateValues& values,
                                           const Quoter& quoter);

// {{expiration}}'s text before quoting: UTC, millisecond precision,
// "2026-12-04 10:00:00.123+00", which PostgreSQL reads as a timestamptz.
std::string ExpirationText(absl::Time t);

// Connection and role names: 1..128 of [A-Za-z0-9._-], not "." or ".."
// and without "..". INVALID_ARGUMENT naming `what` otherwise.
absl::Status CheckName(std::string_view what, std::string_view name);

// A fresh login name "v-<role>-<20 random [a-z0-9]>": the role name
// lowercased, every character outside [a-z0-9-] turned into '-', trimmed to
// 32 characters. At most 55 bytes (PostgreSQL's limit is 63), only
// [a-z0-9-], so it never needs more than identifier quoting.
std::string NewUsername(std::string_view role);

// A fresh password: 32 characters of [A-Za-z0-9] from the CSPRNG (about 190
// bits), made by rejection sampling so every character is equally likely.
kms::SecretBytes NewPassword();

// The statements used when a role gives none.
const std::vector<std::string>& DefaultRevocationStatements();
const std::vector<std::string>& DefaultRenewStatements();

}  // namespace arca::engines::database

#endif  // ARCA_SERVER_ENGINES_DATABASE_SQL_TEMPLATE_H_
