#include "server/audit/entry.h"

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "kms/mac.h"

namespace arca::audit {

std::string HashForAudit(const kms::SecretBytes& salt, std::string_view value) {
  const std::string tag = kms::HmacSha256(salt, value);
  return std::string(kHashPrefix) +
         absl::BytesToHexString(absl::string_view(tag.data(), tag.size()));
}

std::string FormatAuditTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

std::string_view KindName(Entry::Kind kind) {
  return kind == Entry::Kind::kResponse ? "response" : "request";
}

std::string EntryToJson(const Entry& entry, const kms::SecretBytes& salt) {
  using Json = nlohmann::ordered_json;
  Json j = Json::object();
  j["type"] = std::string(KindName(entry.kind));
  j["time"] = FormatAuditTime(entry.time);
  j["request_id"] = entry.request_id;
  j["operation"] = entry.operation;
  j["path"] = entry.path;
  j["accessor"] = entry.token_accessor;
  Json auth = Json::object();
  auth["allowed"] = entry.decision.allowed;
  auth["policy"] = entry.decision.policy;
  j["auth"] = std::move(auth);
  j["status"] = entry.status;
  j["remote_address"] = entry.remote_address;
  Json data = Json::object();
  for (const auto& [name, field] : entry.payload) {
    data[name] =
        field.sensitive ? HashForAudit(salt, field.value) : field.value;
  }
  j["data"] = std::move(data);
  // `replace` never throws: invalid UTF-8 becomes U+FFFD.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace arca::audit
