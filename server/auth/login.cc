#include "server/auth/login.h"

#include <string>

namespace arca::auth {

absl::Status ValidateRoleName(std::string_view name) {
  if (name.empty() || name.size() > 128) {
    return absl::InvalidArgumentError("role name must be 1..128 characters");
  }
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-')) {
      return absl::InvalidArgumentError(
          "role name may only hold a-z, 0-9, '_' and '-': " +
          std::string(name));
    }
  }
  return absl::OkStatus();
}

}  // namespace arca::auth
