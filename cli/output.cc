#include "cli/output.h"

#include <algorithm>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/type_resolver.h"
#include "google/protobuf/util/type_resolver_util.h"

namespace arca::cli {
namespace {

constexpr char kTypeUrlPrefix[] = "type.googleapis.com";

google::protobuf::util::TypeResolver* GeneratedPoolResolver() {
  static google::protobuf::util::TypeResolver* const resolver =
      google::protobuf::util::NewTypeResolverForDescriptorPool(
          kTypeUrlPrefix, google::protobuf::DescriptorPool::generated_pool());
  return resolver;
}

}  // namespace

absl::StatusOr<std::string> ProtoToJson(const google::protobuf::Message& msg) {
  // MessageToJsonString serializes maps in hash order; serialize
  // deterministically ourselves so map keys come out sorted.
  std::string binary;
  {
    google::protobuf::io::StringOutputStream sos(&binary);
    google::protobuf::io::CodedOutputStream cos(&sos);
    cos.SetSerializationDeterministic(true);
    if (!msg.SerializeToCodedStream(&cos)) {
      return absl::InternalError("cannot serialize response");
    }
  }
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  const auto status = google::protobuf::util::BinaryToJsonString(
      GeneratedPoolResolver(),
      absl::StrCat(kTypeUrlPrefix, "/", msg.GetDescriptor()->full_name()),
      binary, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot render JSON: ", status.message().as_string()));
  }
  return json;
}

std::string FormatTable(
    const std::vector<std::pair<std::string, std::string>>& rows,
    const std::pair<std::string, std::string>& header) {
  const bool has_header = !header.first.empty() || !header.second.empty();
  size_t width = has_header ? header.first.size() : 0;
  for (const auto& [k, v] : rows) width = std::max(width, k.size());
  std::string out;
  auto line = [&](const std::string& k, const std::string& v) {
    absl::StrAppend(&out, k, std::string(width - k.size() + 3, ' '), v, "\n");
  };
  if (has_header) {
    line(header.first, header.second);
    line(std::string(header.first.size(), '-'),
         std::string(header.second.size(), '-'));
  }
  for (const auto& [k, v] : rows) line(k, v);
  return out;
}

std::string FormatUnixMillis(int64_t ms) {
  if (ms == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMillis(ms),
                          absl::UTCTimeZone());
}

std::string FormatUnixSeconds(int64_t s) {
  if (s == 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(s),
                          absl::UTCTimeZone());
}

}  // namespace arca::cli
