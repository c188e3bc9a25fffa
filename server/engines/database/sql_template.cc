#include "server/engines/database/sql_template.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "kms/random.h"
#include "kms/status_macros.h"

namespace arca::engines::database {
namespace {

constexpr size_t kMaxNameLength = 128;
constexpr size_t kRolePrefixLength = 32;
constexpr size_t kRandomSuffixLength = 20;
constexpr size_t kPasswordLength = 32;

// One placeholder found at `begin` (the first '{'), ending before `end`.
struct Placeholder {
  size_t begin = 0;
  size_t end = 0;
  std::string_view name;
};

// Next placeholder at or after `from`; begin == npos when there is none.
// INVALID_ARGUMENT for "{{" without "}}".
absl::StatusOr<Placeholder> NextPlaceholder(std::string_view s, size_t from) {
  Placeholder p;
  p.begin = s.find("{{", from);
  if (p.begin == std::string_view::npos) return p;
  const size_t close = s.find("}}", p.begin + 2);
  if (close == std::string_view::npos) {
    return absl::InvalidArgumentError("statement has \"{{\" without \"}}\"");
  }
  p.end = close + 2;
  std::string_view inner = s.substr(p.begin + 2, close - p.begin - 2);
  while (!inner.empty() && absl::ascii_isspace(static_cast<unsigned char>(inner.front()))) {
    inner.remove_prefix(1);
  }
  while (!inner.empty() && absl::ascii_isspace(static_cast<unsigned char>(inner.back()))) {
    inner.remove_suffix(1);
  }
  p.name = inner;
  return p;
}

bool Known(std::string_view name) {
  return name == "name" || name == "password" || name == "expiration";
}

}  // namespace

absl::Status CheckTemplate(std::string_view statement) {
  if (std::all_of(statement.begin(), statement.end(), [](char c) {
        return absl::ascii_isspace(static_cast<unsigned char>(c));
      })) {
    return absl::InvalidArgumentError("a statement is empty");
  }
  size_t pos = 0;
  while (true) {
    ASSIGN_OR_RETURN(Placeholder p, NextPlaceholder(statement, pos));
    if (p.begin == std::string_view::npos) return absl::OkStatus();
    if (!Known(p.name)) {
      // The unknown text is the operator's own template, not a secret.
      return absl::InvalidArgumentError(
          absl::StrCat("unknown placeholder {{", std::string(p.name),
                       "}}; use {{name}}, {{password}} or {{expiration}}"));
    }
    pos = p.end;
  }
}

bool UsesPlaceholder(std::string_view statement, std::string_view name) {
  size_t pos = 0;
  while (true) {
    absl::StatusOr<Placeholder> p = NextPlaceholder(statement, pos);
    if (!p.ok() || p->begin == std::string_view::npos) return false;
    if (p->name == name) return true;
    pos = p->end;
  }
}

absl::StatusOr<std::string> ExpandTemplate(std::string_view statement,
                                           const TemplateValues& values,
                                           const Quoter& quoter) {
  std::string out;
  size_t pos = 0;
  while (true) {
    ASSIGN_OR_RETURN(Placeholder p, NextPlaceholder(statement, pos));
    if (p.begin == std::string_view::npos) {
      out.append(statement.substr(pos));
      return out;
    }
    out.append(statement.substr(pos, p.begin - pos));
    if (p.name == "name") {
      ASSIGN_OR_RETURN(std::string q, quoter.Identifier(values.name));
      out.append(q);
    } else if (p.name == "password") {
      if (values.password == nullptr) {
        return absl::InvalidArgumentError(
            "{{password}} is only available in creation statements");
      }
      ASSIGN_OR_RETURN(std::string q,
                       quoter.Literal(values.password->Reveal()));
      out.append(q);
    } else if (p.name == "expiration") {
      ASSIGN_OR_RETURN(std::string q,
                       quoter.Literal(ExpirationText(values.expiration)));
      out.append(q);
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown placeholder {{", std::string(p.name), "}}"));
    }
    pos = p.end;
  }
}

std::string ExpirationText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%E3S+00", t, absl::UTCTimeZone());
}

absl::Status CheckName(std::string_view what, std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), " name must be 1..128 characters"));
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != '-') {
      return absl::InvalidArgumentError(absl::StrCat(
          std::string(what), " name may only contain letters, digits, '.', '_' and '-'"));
    }
  }
  if (name == "." || name.find("..") != std::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), " name must not be \".\" or contain \"..\""));
  }
  return absl::OkStatus();
}

std::string NewUsername(std::string_view role) {
  std::string prefix;
  for (char c : role.substr(0, kRolePrefixLength)) {
    const char l = absl::ascii_tolower(static_cast<unsigned char>(c));
    const bool ok = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9');
    prefix.push_back(ok ? l : '-');
  }
  constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string suffix;
  while (suffix.size() < kRandomSuffixLength) {
    uint8_t b = 0;
    kms::RandomBytes(&b, 1);
    // 252 = 7 * 36: bytes at or above it would favour some characters.
    if (b < 252) suffix.push_back(kAlphabet[b % kAlphabet.size()]);
  }
  return absl::StrCat("v-", prefix, "-", suffix);
}

kms::SecretBytes NewPassword() {
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  kms::SecretBytes out(kPasswordLength);
  uint8_t* p = out.MutableReveal();
  // Drawn straight into the guarded buffer (no second secret allocation per
  // login); unbiased draws are mapped in place and the rest drawn again.
  // 248 = 4 * 62: bytes at or above it would favour some characters.
  size_t n = 0;
  while (n < kPasswordLength) {
    kms::RandomBytes(p + n, kPasswordLength - n);
    size_t kept = n;
    for (size_t i = n; i < kPasswordLength; ++i) {
      if (p[i] < 248) {
        p[kept++] = static_cast<uint8_t>(kAlphabet[p[i] % kAlphabet.size()]);
      }
    }
    n = kept;
  }
  return out;
}

const std::vector<std::string>& DefaultRevocationStatements() {
  // What the login owns goes to the connection's user (CURRENT_USER: the
  // admin running these); DROP OWNED also revokes every privilege granted
  // to it, in any schema. No REVOKE ... ON ALL TABLES: a non-superuser
  // admin gets 42501 for any table it holds no privilege on.
  static const auto* const kStatements = new std::vector<std::string>{
      // REASSIGN/DROP OWNED need membership in the login; an admin with
      // CREATEROLE but not SUPERUSER lacks it (42501 on PostgreSQL 15).
      "GRANT {{name}} TO CURRENT_USER",
      "REASSIGN OWNED BY {{name}} TO CURRENT_USER",
      "DROP OWNED BY {{name}}",
      "DROP ROLE IF EXISTS {{name}}",
  };
  return *kStatements;
}

const std::vector<std::string>& DefaultRenewStatements() {
  static const auto* const kStatements = new std::vector<std::string>{
      "ALTER ROLE {{name}} VALID UNTIL {{expiration}}",
  };
  return *kStatements;
}

}  // namespace arca::engines::database
