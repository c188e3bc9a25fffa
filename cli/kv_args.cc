#include "cli/kv_args.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <iterator>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace arca::cli {
namespace {

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  std::string content;
  char buf[8192];
  int err = 0;
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = errno;
      break;
    }
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
  }
  explicit_bzero(buf, sizeof(buf));
  close(fd);
  if (err != 0) {
    explicit_bzero(content.data(), content.size());
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(err)));
  }
  return content;
}

absl::StatusOr<std::string> ReadAllStdin() {
  std::string content((std::istreambuf_iterator<char>(std::cin)),
                      std::istreambuf_iterator<char>());
  if (std::cin.bad()) {
    return absl::InvalidArgumentError("cannot read standard input");
  }
  return content;
}

}  // namespace

ValueSources RealValueSources() {
  return ValueSources{ReadWholeFile, ReadAllStdin};
}

absl::StatusOr<std::map<std::string, std::string>> ParseKvPairs(
    const std::vector<std::string>& args, const ValueSources& sources) {
  std::map<std::string, std::string> data;
  bool stdin_used = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0) {
      // Do not echo the argument: it may be a secret typed without its key.
      return absl::InvalidArgumentError(absl::StrCat(
          "data argument ", i + 1, " is not KEY=VALUE, KEY=@FILE or KEY=-"));
    }
    std::string key = arg.substr(0, eq);
    if (data.contains(key)) {
      return absl::InvalidArgumentError(
          absl::StrCat("key \"", key, "\" is given more than once"));
    }
    absl::string_view spec = absl::string_view(arg).substr(eq + 1);
    std::string value;
    if (spec == "-") {
      if (stdin_used) {
        return absl::InvalidArgumentError(
            "only one key can read its value from standard input ('-')");
      }
      stdin_used = true;
      absl::StatusOr<std::string> in = sources.read_stdin();
      if (!in.ok()) return in.status();
      value = *std::move(in);
    } else if (!spec.empty() && spec.front() == '@') {
      const std::string path(spec.substr(1));
      if (path.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("key \"", key, "\": '@' needs a file name"));
      }
      absl::StatusOr<std::string> file = sources.read_file(path);
      if (!file.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("key \"", key, "\": ", file.status().message()));
      }
      value = *std::move(file);
    } else {
      value = std::string(spec);
    }
    if (!IsValidUtf8(value)) {
      explicit_bzero(value.data(), value.size());
      return absl::InvalidArgumentError(absl::StrCat(
          "value of key \"", key,
          "\" is not valid UTF-8; encode binary data (e.g. base64) first"));
    }
    data.emplace(std::move(key), std::move(value));
  }
  return data;
}

absl::StatusOr<std::vector<uint64_t>> ParseVersions(absl::string_view text) {
  std::vector<uint64_t> versions;
  if (absl::StripAsciiWhitespace(text).empty()) {
    return absl::InvalidArgumentError("--versions: empty version list");
  }
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    part = absl::StripAsciiWhitespace(part);
    uint64_t v = 0;
    const bool digits_only =
        !part.empty() && std::all_of(part.begin(), part.end(), [](char c) {
          return c >= '0' && c <= '9';
        });
    if (!digits_only || !absl::SimpleAtoi(part, &v) || v == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--versions: \"", part, "\" is not a version number (1, 2, ...)"));
    }
    if (std::find(versions.begin(), versions.end(), v) == versions.end()) {
      versions.push_back(v);
    }
  }
  return versions;
}

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;  // continuation byte, overlong lead (c0/c1) or > f4
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace arca::cli
