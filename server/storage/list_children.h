#ifndef ARCA_SERVER_STORAGE_LIST_CHILDREN_H_
#define ARCA_SERVER_STORAGE_LIST_CHILDREN_H_

#include <string>
#include <string_view>

namespace arca::storage::internal {

// Shared by every backend so List behaves identically everywhere.
//
// Given a key that starts with `prefix`, returns the child name it
// contributes to List(prefix): the remainder up to and including the first
// '/', or the whole remainder. Sets `*is_folder` when the child ends in '/'.
// An empty result means the key equals the prefix and contributes nothing.
inline std::string ChildOf(std::string_view prefix, std::string_view key,
                           bool* is_folder) {
  std::string_view rest = key.substr(prefix.size());
  size_t slash = rest.find('/');
  *is_folder = slash != std::string_view::npos;
  if (*is_folder) rest = rest.substr(0, slash + 1);
  return std::string(rest);
}

// The smallest key greater than every key that starts with `folder_path`
// (which ends in '/'): replacing the trailing '/' by '0', its successor byte.
// Seeking there skips a whole child folder in one step.
inline std::string PastFolder(std::string_view folder_path) {
  std::string out(folder_path);
  out.back() = '/' + 1;
  return out;
}

}  // namespace arca::storage::internal

#endif  // ARCA_SERVER_STORAGE_LIST_CHILDREN_H_
