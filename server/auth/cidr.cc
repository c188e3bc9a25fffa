#include "server/auth/cidr.h"

#include <arpa/inet.h>

#include <cstring>
#include <string>

namespace arca::auth {

std::optional<IpAddress> ParseIpAddress(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  const std::string s(text);
  IpAddress out;
  if (inet_pton(AF_INET, s.c_str(), out.bytes.data()) == 1) {
    out.v4 = true;
    return out;
  }
  if (inet_pton(AF_INET6, s.c_str(), out.bytes.data()) != 1) {
    return std::nullopt;
  }
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0,
                                          0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(out.bytes.data(), kMapped, 12) == 0) {
    std::memmove(out.bytes.data(), out.bytes.data() + 12, 4);
    std::memset(out.bytes.data() + 4, 0, 12);
    out.v4 = true;
    return out;
  }
  out.v4 = false;
  return out;
}

absl::StatusOr<Cidr> Cidr::Parse(std::string_view text) {
  const size_t slash = text.find('/');
  std::optional<IpAddress> base = ParseIpAddress(text.substr(0, slash));
  if (!base.has_value()) {
    return absl::InvalidArgumentError("not an IP address block: " +
                                      std::string(text));
  }
  const int max = base->v4 ? 32 : 128;
  int prefix = max;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) {
      return absl::InvalidArgumentError("bad prefix length in " +
                                        std::string(text));
    }
    prefix = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') {
        return absl::InvalidArgumentError("bad prefix length in " +
                                          std::string(text));
      }
      prefix = prefix * 10 + (c - '0');
    }
    if (prefix > max) {
      return absl::InvalidArgumentError("prefix length too long in " +
                                        std::string(text));
    }
  }
  for (int bit = prefix; bit < max; ++bit) {
    if (base->bytes[bit / 8] & (0x80 >> (bit % 8))) {
      return absl::InvalidArgumentError("host bits set below the prefix in " +
                                        std::string(text));
    }
  }
  Cidr cidr;
  cidr.base_ = *base;
  cidr.prefix_ = prefix;
  return cidr;
}

bool Cidr::Contains(const IpAddress& address) const {
  if (address.v4 != base_.v4) return false;
  for (int bit = 0; bit < prefix_; ++bit) {
    const uint8_t mask = 0x80 >> (bit % 8);
    if ((address.bytes[bit / 8] & mask) != (base_.bytes[bit / 8] & mask)) {
      return false;
    }
  }
  return true;
}

}  // namespace arca::auth
