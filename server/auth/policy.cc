#include "server/auth/policy.h"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/util/json_util.h"

namespace arca::auth {
namespace {

constexpr std::array<std::string_view, kNumCapabilities> kCapabilityNames = {
    "create", "read", "update", "delete", "list", "sudo", "deny"};

absl::string_view AV(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// Quotes user-supplied text for an error message; long text is cut so a
// 1 MiB pattern cannot produce a 1 MiB status.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 200;
  std::string out = "\"";
  absl::StrAppend(&out, absl::CHexEscape(AV(s.substr(0, kMax))));
  if (s.size() > kMax) out += "...";
  out += "\"";
  return out;
}

absl::Status PatternError(std::string_view pattern, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid policy: pattern ", Quote(pattern), ": ", AV(why)));
}

}  // namespace

std::string_view CapabilityName(Capability c) {
  auto i = static_cast<size_t>(c);
  return i < kCapabilityNames.size() ? kCapabilityNames[i] : "unknown";
}

absl::StatusOr<Capability> ParseCapability(std::string_view name) {
  for (size_t i = 0; i < kCapabilityNames.size(); ++i) {
    if (kCapabilityNames[i] == name) return static_cast<Capability>(i);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown capability ", Quote(name),
      " (expected one of create, read, update, delete, list, sudo, deny)"));
}

absl::Status CheckJsonLimits(std::string_view json) {
  if (json.size() > kMaxPolicyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid policy: document is ", json.size(),
                     " bytes; the limit is ", kMaxPolicyBytes));
  }
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // skip the escaped character, which may be a quote
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '{':
      case '[':
        if (++depth > kMaxPolicyDepth) {
          return absl::InvalidArgumentError(absl::StrCat(
              "invalid policy: objects and arrays nested deeper than ",
              kMaxPolicyDepth, " levels"));
        }
        break;
      case '}':
      case ']':
        // Unbalanced input is left for the JSON parser to reject.
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Policy> ParsePolicy(std::string_view json) {
  if (absl::Status s = CheckJsonLimits(json); !s.ok()) return s;
  Policy policy;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &policy,
      options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid policy JSON: ", std::string(status.message())));
  }
  if (absl::Status s = ValidatePolicy(policy); !s.ok()) return s;
  return policy;
}

absl::StatusOr<std::string> PolicyToJson(const Policy& policy) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  auto status =
      google::protobuf::util::MessageToJsonString(policy, &out, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print policy: ", std::string(status.message())));
  }
  return out;
}

absl::Status ValidatePattern(std::string_view pattern) {
  if (pattern.empty()) return PatternError(pattern, "pattern is empty");
  if (pattern.front() == '/') {
    return PatternError(pattern, "must not start with '/'");
  }
  size_t seg_start = 0;
  for (size_t i = 0; i <= pattern.size(); ++i) {
    if (i < pattern.size()) {
      unsigned char c = static_cast<unsigned char>(pattern[i]);
      if (c < 0x20 || c == 0x7f) {
        return PatternError(pattern, "contains a control character");
      }
      if (c == '*' && i + 1 != pattern.size()) {
        return PatternError(pattern,
                            "'*' is only allowed as the last character");
      }
      if (c != '/') continue;
    }
    // [seg_start, i) is one segment; it ended at a '/' or at the end.
    std::string_view seg = pattern.substr(seg_start, i - seg_start);
    bool at_end = i == pattern.size();
    if (seg.empty() && !at_end) {
      return PatternError(pattern, "has an empty segment ('//')");
    }
    if (seg == "." || seg == "..") {
      return PatternError(pattern,
                          "has a '.' or '..' segment, which no path has");
    }
    if (seg.find('+') != std::string_view::npos && seg != "+") {
      return PatternError(pattern,
                          "'+' must be a whole segment (as in 'a/+/b')");
    }
    seg_start = i + 1;
  }
  return absl::OkStatus();
}

absl::Status ValidatePolicy(const Policy& policy) {
  // Sorted, so that the first error reported does not depend on map order.
  std::vector<const std::string*> patterns;
  patterns.reserve(policy.path().size());
  for (const auto& [pattern, rule] : policy.path())
    patterns.push_back(&pattern);
  std::sort(patterns.begin(), patterns.end(),
            [](const std::string* a, const std::string* b) { return *a < *b; });
  for (const std::string* pattern : patterns) {
    if (absl::Status s = ValidatePattern(*pattern); !s.ok()) return s;
    const PathRule& rule = policy.path().at(*pattern);
    if (rule.capabilities().empty()) {
      return PatternError(*pattern, "no capabilities listed");
    }
    for (const std::string& cap : rule.capabilities()) {
      if (!ParseCapability(cap).ok()) {
        return PatternError(
            *pattern,
            absl::StrCat("unknown capability ", Quote(cap),
                         " (expected one of create, read, update, delete, "
                         "list, sudo, deny)"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateName(std::string_view name) {
  if (name.empty() || name.size() > 128) {
    return absl::InvalidArgumentError(
        "policy name must be 1 to 128 characters long");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("policy name ", Quote(name),
                       " may only contain a-z, 0-9, '_' and '-'"));
    }
  }
  if (name == kRootPolicyName) {
    return absl::InvalidArgumentError(
        "the root policy is built in and cannot be written or deleted");
  }
  return absl::OkStatus();
}

Policy RootPolicy() {
  Policy p;
  PathRule& rule = (*p.mutable_path())["*"];
  for (Capability c :
       {Capability::kCreate, Capability::kRead, Capability::kUpdate,
        Capability::kDelete, Capability::kList, Capability::kSudo}) {
    rule.add_capabilities(std::string(CapabilityName(c)));
  }
  return p;
}

Policy DefaultPolicy() {
  Policy p;
  auto& path = *p.mutable_path();
  path["auth/token/lookup-self"].add_capabilities("read");
  path["auth/token/lookup-self"].add_capabilities("update");
  path["auth/token/renew-self"].add_capabilities("update");
  path["auth/token/revoke-self"].add_capabilities("update");
  return p;
}

}  // namespace arca::auth
