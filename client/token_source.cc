#include "client/token_source.h"

#include <fcntl.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace arca {

absl::StatusOr<std::string> LoadTokenFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) {
      return absl::NotFoundError(absl::StrCat("no token file at ", path));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot read token file ", path, ": ", std::strerror(err)));
  }
  std::string content;
  struct stat st;
  int err = 0;
  if (fstat(fd, &st) != 0) {
    err = errno;
  } else if (!S_ISREG(st.st_mode)) {
    err = EINVAL;
  } else {
    char buf[4096];
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
  }
  close(fd);
  if (err != 0) {
    explicit_bzero(content.data(), content.size());
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot read token file ", path, ": ",
        err == EINVAL ? "not a regular file" : std::strerror(err)));
  }
  std::string token(absl::StripAsciiWhitespace(content));
  explicit_bzero(content.data(), content.size());
  return token;
}

absl::StatusOr<std::string> ResolveTokenFrom(absl::string_view explicit_token,
                                             const char* env_token,
                                             const std::string& home_dir) {
  if (!explicit_token.empty()) return std::string(explicit_token);
  if (env_token != nullptr) {
    std::string token(absl::StripAsciiWhitespace(env_token));
    if (!token.empty()) return token;
  }
  if (home_dir.empty()) return std::string();
  std::string path = home_dir;
  if (path.back() != '/') path += '/';
  path += kTokenFileName;
  absl::StatusOr<std::string> token = LoadTokenFile(path);
  if (absl::IsNotFound(token.status())) return std::string();
  return token;
}

namespace {

std::string HomeDir() {
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] != '\0') return home;
  struct passwd* pw = getpwuid(getuid());
  if (pw != nullptr && pw->pw_dir != nullptr) return pw->pw_dir;
  return std::string();
}

}  // namespace

absl::StatusOr<std::string> ResolveToken(absl::string_view explicit_token) {
  if (!explicit_token.empty()) return std::string(explicit_token);
  return ResolveTokenFrom(explicit_token, std::getenv(kTokenEnvVar), HomeDir());
}

}  // namespace arca
