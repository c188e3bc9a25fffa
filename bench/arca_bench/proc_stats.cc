#include "bench/arca_bench/proc_stats.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace arca::bench {
namespace {

// "VmRSS:	   12345 kB" -> MiB.
bool ParseKbLine(const std::string& line, std::string_view key, double* mib) {
  if (line.rfind(key, 0) != 0) return false;
  std::istringstream in(line.substr(key.size()));
  double kb = 0;
  in >> kb;
  *mib = kb / 1024.0;
  return true;
}

}  // namespace

absl::StatusOr<ProcSample> ReadProcSample(pid_t pid) {
  const std::string dir = absl::StrCat("/proc/", pid);
  std::ifstream stat_file(dir + "/stat");
  std::string stat;
  if (!std::getline(stat_file, stat)) {
    return absl::NotFoundError(absl::StrCat("no process ", pid));
  }
  // The command name (field 2) may hold spaces; fields after its ')' are
  // fixed. utime and stime are fields 14 and 15, i.e. the 12th and 13th
  // after the state field.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) {
    return absl::InternalError(absl::StrCat("malformed ", dir, "/stat"));
  }
  std::vector<std::string> fields =
      absl::StrSplit(stat.substr(close + 2), ' ', absl::SkipEmpty());
  // A server that died mid-step is a zombie until reaped: its figures are
  // gone, not zero.
  if (!fields.empty() && (fields[0] == "Z" || fields[0] == "X")) {
    return absl::NotFoundError(absl::StrCat("process ", pid, " has exited"));
  }
  uint64_t utime = 0, stime = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &utime) ||
      !absl::SimpleAtoi(fields[12], &stime)) {
    return absl::InternalError(absl::StrCat("malformed ", dir, "/stat"));
  }
  ProcSample sample;
  sample.cpu_seconds = static_cast<double>(utime + stime) /
                       static_cast<double>(sysconf(_SC_CLK_TCK));

  std::ifstream status_file(dir + "/status");
  std::string line;
  while (std::getline(status_file, line)) {
    ParseKbLine(line, "VmRSS:", &sample.rss_mib);
    ParseKbLine(line, "VmHWM:", &sample.peak_rss_mib);
  }
  return sample;
}

absl::StatusOr<ProcSample> ReadProcSampleWithChildren(pid_t pid) {
  absl::StatusOr<ProcSample> sample = ReadProcSample(pid);
  if (!sample.ok()) return sample;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(
           absl::StrCat("/proc/", pid, "/task"), ec)) {
    std::ifstream children(task.path() / "children");
    pid_t child = 0;
    while (children >> child) {
      // A child that exited meanwhile is simply not counted.
      if (auto c = ReadProcSample(child); c.ok()) {
        sample->cpu_seconds += c->cpu_seconds;
      }
    }
  }
  return sample;
}

absl::Status ResetPeakRss(pid_t pid) {
  std::ofstream out(absl::StrCat("/proc/", pid, "/clear_refs"));
  out << "5";
  out.flush();
  if (!out) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot reset the peak RSS of process ", pid));
  }
  return absl::OkStatus();
}

}  // namespace arca::bench
