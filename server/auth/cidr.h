#ifndef ARCA_SERVER_AUTH_CIDR_H_
#define ARCA_SERVER_AUTH_CIDR_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace arca::auth {

// An IPv4 or IPv6 address; IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are
// treated as the IPv4 address. Value type.
struct IpAddress {
  bool v4 = true;
  std::array<uint8_t, 16> bytes{};  // v4 uses the first 4
};

// Parses "10.1.2.3" or "2001:db8::1"; nullopt for anything else.
std::optional<IpAddress> ParseIpAddress(std::string_view text);

// An address block such as "10.0.0.0/8" or "2001:db8::/32" (a bare address
// is a /32 or /128). Value type.
class Cidr {
 public:
  // INVALID_ARGUMENT for a malformed block or host bits set below the
  // prefix ("10.0.0.1/8" is a typo more often than not).
  static absl::StatusOr<Cidr> Parse(std::string_view text);
  bool Contains(const IpAddress& address) const;

 private:
  IpAddress base_;
  int prefix_ = 0;
};

}  // namespace arca::auth

#endif  // ARCA_SERVER_AUTH_CIDR_H_
