#include "cli/output.h"

#include <string.h>

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

void AppendHexByte(std::string* out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->append("\\x");
  out->push_back(kHex[c >> 4]);
  out->push_back(kHex[c & 0xf]);
}

// Length of the valid UTF-8 sequence at text[i] (0 if invalid), and its
// code point in *cp.
size_t Utf8SequenceAt(std::string_view text, size_t i, uint32_t* cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = b(i);
  size_t len = 0;
  uint32_t min = 0;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2, *cp = c & 0x1f, min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3, *cp = c & 0x0f, min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4, *cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    *cp = (*cp << 6) | (b(i + k) & 0x3f);
  }
  if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff)) {
    return 0;
  }
  return len;
}

}  // namespace

std::string EscapeForTerminal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c == '\n') {
        out.append("\\n");
      } else if (c == '\r') {
        out.append("\\r");
      } else if (c == '\t') {
        out.append("\\t");
      } else if (c == '\\') {
        out.append("\\\\");
      } else if (c < 0x20 || c == 0x7f) {
        AppendHexByte(&out, c);
      } else {
        out.push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const size_t len = Utf8SequenceAt(text, i, &cp);
    if (len == 0) {
      AppendHexByte(&out, c);
      ++i;
    } else if (cp <= 0x9f) {  // C1 control, e.g. U+009B (CSI)
      for (size_t k = 0; k < len; ++k) {
        AppendHexByte(&out, static_cast<unsigned char>(text[i + k]));
      }
      i += len;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

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
  std::vector<std::pair<std::string, std::string>> safe;
  safe.reserve(rows.size());
  for (const auto& [k, v] : rows) {
    safe.emplace_back(EscapeForTerminal(k), EscapeForTerminal(v));
  }
  size_t width = has_header ? header.first.size() : 0;
  for (const auto& [k, v] : safe) width = std::max(width, k.size());
  std::string out;
  auto line = [&](const std::string& k, const std::string& v) {
    absl::StrAppend(&out, k, std::string(width - k.size() + 3, ' '), v, "\n");
  };
  if (has_header) {
    line(header.first, header.second);
    line(std::string(header.first.size(), '-'),
         std::string(header.second.size(), '-'));
  }
  for (const auto& [k, v] : safe) line(k, v);
  // Cells may be secret values: wipe the escaped copies.
  for (auto& [k, v] : safe) explicit_bzero(v.data(), v.size());
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
